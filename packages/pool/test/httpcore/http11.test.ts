// Ports of httpcore's tests/_async/test_http11.py (httpcore 1.0.9): a bare HTTP11Connection
// over a scripted stream. A bare connection adds no headers, so each request names its Host.
import { describe, expect, it } from "vitest";
import {
  ConnectionNotAvailable,
  HTTP11Connection,
  LocalProtocolError,
  Origin,
  RemoteProtocolError,
  Request,
} from "../../src/index.js";
import { HELLO, host, mockStream, REUSABLE, states, text } from "./helpers.js";

const ORIGIN = new Origin("https", "example.com", 443);

async function connect(
  chunks: ReadonlyArray<string>,
  origin = ORIGIN,
  keepaliveExpiry?: number,
): Promise<HTTP11Connection & AsyncDisposable> {
  return new HTTP11Connection(origin, await mockStream(chunks), { keepaliveExpiry });
}

const get = (url = "https://example.com/", headers: Record<string, string> = {}) =>
  new Request("GET", url, { headers: { ...host(), ...headers } });

/** Sends `request` and reads the whole body (httpcore's `conn.request()`). */
async function request(conn: HTTP11Connection, req: Request) {
  const response = await conn.handleRequest(req);
  const body = await response.read();
  return { status: response.status, body: text(body) };
}

/** httpcore's four state assertions and repr, for a connection that may not be used again. */
function expectClosed(conn: HTTP11Connection): void {
  expect(states(conn)).toEqual({ idle: false, closed: true, available: false, expired: false });
  expect(String(conn)).toBe(
    "<HTTP11Connection ['https://example.com:443', CLOSED, Request Count: 1]>",
  );
}

const UPGRADE = { Connection: "upgrade", Upgrade: "custom" };

describe("httpcore test_http11.py", () => {
  // httpcore: tests/_async/test_http11.py::test_http11_connection
  it("a request, then the connection is IDLE and reusable", async () => {
    await using conn = await connect(HELLO, ORIGIN, 5000);
    expect(await request(conn, get())).toEqual({ status: 200, body: "Hello, world!" });
    expect(states(conn)).toEqual(REUSABLE);
    expect(String(conn)).toBe(
      "<HTTP11Connection ['https://example.com:443', IDLE, Request Count: 1]>",
    );
  });

  // httpcore: tests/_async/test_http11.py::test_http11_connection_unread_response
  it("a response closed before its body was read closes the connection", async () => {
    await using conn = await connect(HELLO);
    {
      await using response = await conn.handleRequest(get());
      expect(response.status).toBe(200);
    }
    expectClosed(conn);
  });

  // httpcore: tests/_async/test_http11.py::test_http11_connection_with_remote_protocol_error
  it("a response that is not HTTP is a RemoteProtocolError and closes the connection", async () => {
    await using conn = await connect(["Wait, this isn't valid HTTP!", ""]);
    await expect(request(conn, get())).rejects.toBeInstanceOf(RemoteProtocolError);
    expectClosed(conn);
  });

  // httpcore: tests/_async/test_http11.py::test_http11_connection_with_incomplete_response
  it("a body cut short is a RemoteProtocolError and closes the connection", async () => {
    await using conn = await connect([...HELLO.slice(0, 4), "Hello, wor"]);
    await expect(request(conn, get())).rejects.toBeInstanceOf(RemoteProtocolError);
    expectClosed(conn);
  });

  // httpcore: tests/_async/test_http11.py::test_http11_connection_with_local_protocol_error
  it("an illegal header value is a LocalProtocolError; the connection stays usable", async () => {
    // httpcore refuses `Host: "\0"` when it sends, and closes the connection (CLOSED,
    // Request Count 1). Here the Request is refused when it is made, before any connection
    // is used (README, "Where this differs from httpcore": a request that cannot be sent
    // leaves its connection usable).
    await using conn = await connect(HELLO);
    expect(() => get("https://example.com/", { Host: "\0" })).toThrow(LocalProtocolError);
    expect(conn.state).toBe("NEW");
    expect(conn.isClosed()).toBe(false);

    // Headers changed after the Request was made reach h11, which refuses them when
    // sending: nothing is written, and the connection is IDLE with Request Count 0 (the
    // same difference), so the next request goes on it.
    const late = get();
    late.headers[0] = ["Host", "\0"];
    await expect(conn.handleRequest(late)).rejects.toBeInstanceOf(LocalProtocolError);
    expect(conn.isClosed()).toBe(false);
    expect(String(conn)).toBe(
      "<HTTP11Connection ['https://example.com:443', IDLE, Request Count: 0]>",
    );
    expect(await request(conn, get())).toEqual({ status: 200, body: "Hello, world!" });
  });

  // httpcore: tests/_async/test_http11.py::test_http11_connection_handles_one_active_request
  it("a second request while one is in flight is ConnectionNotAvailable", async () => {
    await using conn = await connect(HELLO);
    await using _inFlight = await conn.handleRequest(get());
    await expect(conn.handleRequest(get())).rejects.toBeInstanceOf(ConnectionNotAvailable);
  });

  // httpcore: tests/_async/test_http11.py::test_http11_connection_attempt_close
  it("a streamed response read whole inside its scope", async () => {
    await using conn = await connect(HELLO);
    await using response = await conn.handleRequest(get());
    expect(text(await response.read())).toBe("Hello, world!");
    expect(response.status).toBe(200);
    expect(text(response.content)).toBe("Hello, world!");
  });

  // httpcore: tests/_async/test_http11.py::test_http11_request_to_incorrect_origin
  it("a request for another origin is refused", async () => {
    // httpcore raises RuntimeError (a programming error); here it is ConnectionNotAvailable,
    // the error a pool takes as "try another connection".
    await using conn = await connect([]);
    await expect(
      conn.handleRequest(get("https://other.com/", host("other.com"))),
    ).rejects.toBeInstanceOf(ConnectionNotAvailable);
    expect(conn.state).toBe("NEW");
  });

  // httpcore: tests/_async/test_http11.py::test_http11_expect_continue
  it("100 Continue is skipped: the final response is returned", async () => {
    await using conn = await connect(["HTTP/1.1 100 Continue\r\n", "\r\n", ...HELLO], ORIGIN, 5000);
    expect(await request(conn, get("https://example.com/", { Expect: "continue" }))).toEqual({
      status: 200,
      body: "Hello, world!",
    });
  });

  // httpcore: tests/_async/test_http11.py::test_http11_upgrade_connection
  it("101 Switching Protocols hands over the network stream", async () => {
    const wss = new Origin("wss", "example.com", 443);
    await using conn = await connect(
      [
        "HTTP/1.1 101 Switching Protocols\r\n",
        "Connection: upgrade\r\n",
        "Upgrade: custom\r\n",
        "\r\n",
        "...",
      ],
      wss,
      5000,
    );
    await using response = await conn.handleRequest(get("wss://example.com/", UPGRADE));
    expect(response.status).toBe(101);
    const stream = response.extensions.networkStream!;
    expect(text(await stream.read(1024))).toBe("...");
  });

  // httpcore: tests/_async/test_http11.py::test_http11_upgrade_with_trailing_data
  it("after 101, bytes read with the head come first on the network stream", async () => {
    const wss = new Origin("wss", "example.com", 443);
    const mock = await mockStream([
      "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: custom\r\n\r\nfoobar",
      "baz",
    ]);
    await using conn = new HTTP11Connection(wss, mock, { keepaliveExpiry: 5000 });
    await using response = await conn.handleRequest(get("wss://example.com/", UPGRADE));
    expect(response.status).toBe(101);
    const stream = response.extensions.networkStream!;
    expect(text(await stream.read(3))).toBe("foo");
    expect(text(await stream.read(3))).toBe("bar");
    expect(text(await stream.read(3))).toBe("baz");
    await stream.write(new TextEncoder().encode("spam"));
    expect(text((mock as unknown as { written: Uint8Array[] }).written.at(-1)!)).toBe("spam");
    expect(stream.getExtraInfo("invalid")).toBeUndefined();
    await stream.close();
  });

  // httpcore: tests/_async/test_http11.py::test_http11_early_hints
  it("103 Early Hints is skipped: the final response is returned", async () => {
    await using conn = await connect(
      [
        "HTTP/1.1 103 Early Hints\r\n",
        "Link: </style.css>; rel=preload; as=style\r\n",
        "Link: </script.js.css>; rel=preload; as=style\r\n",
        "\r\n",
        "HTTP/1.1 200 OK\r\n",
        "Content-Type: text/html; charset=utf-8\r\n",
        "Content-Length: 30\r\n",
        "Link: </style.css>; rel=preload; as=style\r\n",
        "Link: </script.js>; rel=preload; as=script\r\n",
        "\r\n",
        "<html>Hello, world! ...</html>",
      ],
      ORIGIN,
      5000,
    );
    expect(await request(conn, get("https://example.com/", { Expect: "continue" }))).toEqual({
      status: 200,
      body: "<html>Hello, world! ...</html>",
    });
  });

  // httpcore: tests/_async/test_http11.py::test_http11_header_sub_100kb
  it("a response head of 100 KiB, arriving in pieces, is taken", async () => {
    await using conn = await connect(
      [
        "HTTP/1.1 200 OK\r\n", // 17
        "Content-Type: plain/text\r\n", // 43
        `Cookie: ${"x".repeat(100 * 1024 - 72)}\r\n`, // 102381
        "Content-Length: 0\r\n", // 102400
        "\r\n",
        "",
      ],
      ORIGIN,
      5000,
    );
    expect(await request(conn, get())).toEqual({ status: 200, body: "" });
  });
});
