// Ports of httpcore's tests/_async/test_http2.py (httpcore 1.0.9), and of its HTTP/2 tests in
// test_connection_pool.py, test_connection.py and test_cancellations.py.
//
// httpcore scripts the server's frames (hyperframe, hpack) into a mock stream. Here the
// server is node:http2 itself, over an in-memory pipe (testkit's startH2Peer): each test
// scripts the same behaviour as the server's actions (respond, RST_STREAM, GOAWAY, SETTINGS)
// and nghttp2 writes the frames. The peer's stream is not a Node socket, so these tests run
// HTTP2Connection over its bridge (a Duplex over any NetworkStream).
import { goawayFrame, type H2Peer, type H2PeerOptions, helloWorld, startH2Peer } from "@x/testkit";
import { describe, expect, it, vi } from "vitest";
import {
  ConnectionNotAvailable,
  ConnectionPool,
  HTTP2Connection,
  HTTPConnection,
  type NetworkBackend,
  type NetworkStream,
  Origin,
  RemoteProtocolError,
  Request,
} from "../../src/index.js";
import { info, ScriptedStream, states, text } from "./helpers.js";

const ORIGIN = new Origin("https", "example.com", 443);

const get = (url = "https://example.com/", signal?: AbortSignal) =>
  new Request("GET", url, signal === undefined ? {} : { signal });

/** httpcore's `AsyncHTTP2Connection(origin=origin, stream=stream)`: opened over `stream`. */
async function h2Connection(
  stream: NetworkStream,
  options: { keepaliveExpiry?: number } = {},
): Promise<HTTP2Connection & AsyncDisposable> {
  return await HTTP2Connection.open(ORIGIN, stream, get(), options);
}

/** httpcore's `conn.request(...)`: the response, its body read whole. */
async function request(conn: HTTP2Connection, req: Request) {
  const response = await conn.handleRequest(req);
  const content = await response.read();
  return { status: response.status, content: text(content), response };
}

function peer(options: H2PeerOptions = {}): H2Peer & { stream: NetworkStream } {
  return startH2Peer(options) as H2Peer & { stream: NetworkStream };
}

/** httpcore's `AsyncMockBackend(..., http2=True)`: every connection is a new peer (ALPN h2). */
function h2Backend(options: H2PeerOptions = {}): NetworkBackend & { peers: H2Peer[] } {
  const peers: H2Peer[] = [];
  const open = async (): Promise<NetworkStream> => {
    const p = peer(options);
    peers.push(p);
    return p.stream;
  };
  return { peers, connectTcp: open, connectUnixSocket: open, sleep: async () => {} };
}

describe("httpcore test_http2.py", () => {
  // httpcore: tests/_async/test_http2.py::test_http2_connection
  it("a request and its response; the connection is IDLE and reusable after", async () => {
    const p = peer();
    await using conn = await h2Connection(p.stream, { keepaliveExpiry: 5000 });
    const { status, content } = await request(conn, get());
    expect(status).toBe(200);
    expect(content).toBe("Hello, world!");
    expect(states(conn)).toEqual({ idle: true, closed: false, available: true, expired: false });
    expect(conn.info()).toBe("'https://example.com:443', HTTP/2, IDLE, Request Count: 1");
    // httpcore's repr leaves "HTTP/2" out ("<AsyncHTTP2Connection ['https://example.com:443',
    // IDLE, Request Count: 1]>"); here an HTTP2Connection prints its info(), as every
    // connection does.
    expect(String(conn)).toBe(
      "<HTTP2Connection ['https://example.com:443', HTTP/2, IDLE, Request Count: 1]>",
    );
  });

  // httpcore: tests/_async/test_http2.py::test_http2_connection_closed
  it("after a GOAWAY (last stream 1) the next request is ConnectionNotAvailable", async () => {
    const p = peer({
      onStream: (stream, _headers, session) => {
        helloWorld(stream);
        stream.on("close", () => session.goaway(0, 1));
      },
    });
    await using conn = await h2Connection(p.stream, { keepaliveExpiry: 5000 });
    await request(conn, get());
    // httpcore reads the GOAWAY with the response (one scripted buffer); here it comes
    // when the server sends it, right behind the response.
    await vi.waitFor(() => expect(conn.isAvailable()).toBe(false));
    await expect(conn.handleRequest(get())).rejects.toBeInstanceOf(ConnectionNotAvailable);
    expect(conn.isAvailable()).toBe(false);
  });

  // httpcore: tests/_async/test_http2.py::test_http2_connection_post_request
  it("a POST with a body", async () => {
    let received = "";
    const p = peer({
      onStream: (stream) => {
        stream.setEncoding("latin1");
        stream.on("data", (chunk: string) => void (received += chunk));
        stream.on("end", () => helloWorld(stream));
      },
    });
    await using conn = await h2Connection(p.stream);
    // httpcore sends `content-length: 17` with these 18 bytes (h2 does not check what it
    // sends); here Content-Length must match the body (the Request refuses a mismatch, and
    // nghttp2 on the server side would reset the stream), so it is 18.
    const content = new TextEncoder().encode('{"data": "upload"}');
    const { status, content: body } = await request(
      conn,
      new Request("POST", "https://example.com/", {
        headers: { "content-length": String(content.length) },
        content,
      }),
    );
    expect(status).toBe(200);
    expect(body).toBe("Hello, world!");
    expect(received).toBe('{"data": "upload"}');
  });

  // httpcore: tests/_async/test_http2.py::test_http2_connection_with_remote_protocol_error
  it("a server that does not speak HTTP/2: RemoteProtocolError, no response", async () => {
    const stream = new ScriptedStream(["Wait, this isn't valid HTTP!", ""]);
    // httpcore fails the request; here opening fails (it waits for the server's SETTINGS),
    // which is where a pool's request would fail, and the stream is closed.
    await expect(HTTP2Connection.open(ORIGIN, stream, get())).rejects.toBeInstanceOf(
      RemoteProtocolError,
    );
    expect(stream.closed).toBe(true);
  });

  // httpcore: tests/_async/test_http2.py::test_http2_connection_with_rst_stream
  it("a stream reset (RST_STREAM CANCEL) fails that request; the next one is answered", async () => {
    let n = 0;
    const p = peer({
      onStream: (stream) => {
        if (++n > 1) return helloWorld(stream);
        // waitForTrailers: node:http2 then holds END_STREAM back, so close(8) sends the
        // RST_STREAM alone, as httpcore's script does (otherwise it ends the stream first).
        stream.respond({ ":status": 200, "content-type": "plain/text" }, { waitForTrailers: true });
        // Closed midway through the first response.
        setImmediate(() => stream.close(8));
      },
    });
    await using conn = await h2Connection(p.stream);
    const error = await request(conn, get()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect((error as { errorCode?: number }).errorCode).toBe(8);
    const { status, content } = await request(conn, get());
    expect(status).toBe(200);
    expect(content).toBe("Hello, world!");
  });

  // httpcore: tests/_async/test_http2.py::test_http2_connection_with_goaway
  it("a GOAWAY (last stream 0) midway: RemoteProtocolError, then ConnectionNotAvailable", async () => {
    const p = peer({
      onStream: (stream) => {
        stream.respond({ ":status": 200, "content-type": "plain/text" });
        // The connection is closed midway through the first response: a GOAWAY with last
        // stream id 0 (raw: node:http2 would send the last stream it processed, 1).
        setImmediate(() => p.sendRaw(goawayFrame(0)));
      },
    });
    await using conn = await h2Connection(p.stream);
    // The request was above the GOAWAY's last stream id: the server never processed it.
    // (A pool sends it again on a new connection: the error says so with retry "unprocessed".)
    const error = await request(conn, get()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect((error as RemoteProtocolError).retry).toBe("unprocessed");
    await expect(conn.handleRequest(get())).rejects.toBeInstanceOf(ConnectionNotAvailable);
  });

  // httpcore: tests/_async/test_http2.py::test_http2_connection_with_flow_control
  it("a 100 000-byte upload waits for the server's WINDOW_UPDATEs past the initial 65 535", async () => {
    let received = 0;
    const p = peer({
      onStream: (stream) => {
        stream.on("data", (chunk: Buffer) => void (received += chunk.length));
        stream.on("end", () => {
          stream.respond({ ":status": 200, "content-type": "plain/text" });
          stream.end(`${received.toLocaleString("en-US")} bytes received`);
        });
      },
    });
    await using conn = await h2Connection(p.stream);
    const { status, content } = await request(
      conn,
      new Request("POST", "https://example.com/", {
        content: new Uint8Array(100_000).fill(0x78),
      }),
    );
    expect(status).toBe(200);
    expect(content).toBe("100,000 bytes received");
  });

  // httpcore: tests/_async/test_http2.py::test_http2_connection_attempt_close
  it("a closed connection refuses requests (ConnectionNotAvailable)", async () => {
    const p = peer();
    await using conn = await h2Connection(p.stream);
    {
      await using response = await conn.handleRequest(get());
      expect(text(await response.read())).toBe("Hello, world!");
      expect(response.status).toBe(200);
    }
    await conn.close();
    await expect(conn.handleRequest(get())).rejects.toBeInstanceOf(ConnectionNotAvailable);
  });

  // httpcore: tests/_async/test_http2.py::test_http2_request_to_incorrect_origin
  it("a request for another origin is refused", async () => {
    const p = peer();
    await using conn = await h2Connection(p.stream);
    // httpcore raises RuntimeError; here ConnectionNotAvailable (as for HTTP/1.1: the
    // README's differences), and nothing is sent.
    await expect(conn.handleRequest(get("https://other.com/"))).rejects.toBeInstanceOf(
      ConnectionNotAvailable,
    );
    expect(p.streams).toHaveLength(0);
  });

  // httpcore: tests/_async/test_http2.py::test_http2_remote_max_streams_update
  it("a new SETTINGS_MAX_CONCURRENT_STREAMS from the server is followed", async () => {
    let goOn!: () => void;
    const resumed = new Promise<void>((resolve) => (goOn = resolve));
    const p = peer({
      settings: { maxConcurrentStreams: 1000 },
      onStream: (stream, _headers, session) => {
        stream.respond({ ":status": 200, "content-type": "plain/text" });
        stream.write("Hello, world!");
        // The server waits for the test to have looked, so the order is the script's.
        void resumed.then(() => {
          session.settings({ maxConcurrentStreams: 50 });
          stream.end("Hello, world...again!");
        });
      },
    });
    await using conn = await h2Connection(p.stream);
    await using response = await conn.handleRequest(get());
    const chunks: string[] = [];
    for await (const chunk of response) {
      chunks.push(text(chunk));
      // httpcore compares its _max_streams with min(remote, local) max_concurrent_streams;
      // here the client sets no limit of its own, so it is the server's.
      if (chunks.length === 1) {
        expect(conn.maxConcurrentStreams).toBe(1000);
        goOn();
      }
    }
    expect(chunks).toEqual(["Hello, world!", "Hello, world...again!"]);
    expect(conn.maxConcurrentStreams).toBe(50);
  });
});

describe("httpcore's HTTP/2 tests in test_connection_pool.py and test_connection.py", () => {
  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_with_http2
  it("a pool reuses its IDLE HTTP/2 connection", async () => {
    const backend = h2Backend();
    await using pool = new ConnectionPool({ networkBackend: backend, http2: true });
    for (const count of [1, 2]) {
      const response = await pool.request("GET", "https://example.com/");
      expect(response.status).toBe(200);
      expect(text(response.content)).toBe("Hello, world!");
      expect(info(pool)).toEqual([
        `<HTTPConnection ['https://example.com:443', HTTP/2, IDLE, Request Count: ${count}]>`,
      ]);
    }
    expect(backend.peers).toHaveLength(1);
  });

  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_with_http2_goaway
  it("after a GOAWAY the next request goes on a new connection", async () => {
    const backend = h2Backend({
      onStream: (stream, _headers, session) => {
        helloWorld(stream);
        // Each connection goes away cleanly after its first response.
        stream.on("close", () => session.goaway(0, 1));
      },
    });
    await using pool = new ConnectionPool({ networkBackend: backend, http2: true });
    const first = await pool.request("GET", "https://example.com/");
    expect(text(first.content)).toBe("Hello, world!");
    // httpcore still lists the first connection here, IDLE (it reads the GOAWAY only when
    // the next request tries it); here the GOAWAY may have come already, and a connection
    // that went away leaves the pool: so it is listed IDLE or not at all.
    expect(
      info(pool).every(
        (c) => c === "<HTTPConnection ['https://example.com:443', HTTP/2, IDLE, Request Count: 1]>",
      ),
    ).toBe(true);
    const second = await pool.request("GET", "https://example.com/");
    expect(second.status).toBe(200);
    expect(text(second.content)).toBe("Hello, world!");
    expect(info(pool)).toEqual([
      "<HTTPConnection ['https://example.com:443', HTTP/2, IDLE, Request Count: 1]>",
    ]);
    expect(backend.peers).toHaveLength(2);
  });

  // httpcore: tests/_async/test_connection.py::test_http2_connection
  it("an HTTPConnection with http2: true speaks HTTP/2 when ALPN picks h2", async () => {
    await using conn = new HTTPConnection(ORIGIN, { networkBackend: h2Backend(), http2: true });
    const response = await conn.handleRequest(get());
    expect(response.status).toBe(200);
    expect(text(await response.read())).toBe("Hello, world!");
    expect(response.extensions.httpVersion).toBe("HTTP/2");
  });
});

describe("httpcore test_cancellations.py, HTTP/2 (xfail in httpcore, passing here)", () => {
  // httpcore: tests/test_cancellations.py::test_h2_timeout_during_handshake (xfail there)
  it("cancelled during the handshake: the connection is closed", async () => {
    // httpcore's SlowWriteStream: writes never finish. httpcore cancels with
    // anyio.move_on_after; here an AbortSignal stops opening.
    const stream = new ScriptedStream([], { stallWrites: true });
    await expect(
      HTTP2Connection.open(new Origin("http", "example.com", 80), stream, get(), {
        signal: AbortSignal.timeout(10),
      }),
    ).rejects.toBeInstanceOf(ConnectionNotAvailable);
    expect(stream.closed).toBe(true);
  });

  // httpcore: tests/test_cancellations.py::test_h2_timeout_during_request (xfail there)
  it("cancelled while the request is written: that stream only, the connection stays IDLE", async () => {
    // httpcore's HandshakeThenSlowWriteStream: the handshake goes through, then writes
    // never finish.
    const p = peer();
    await using conn = await h2Connection(p.stream);
    p.stream.stallWrites = true;
    const error = await conn
      .handleRequest(get("https://example.com/", AbortSignal.timeout(10)))
      .catch((e: unknown) => e);
    expect((error as Error).name).toBe("TimeoutError");
    expect(conn.isClosed()).toBe(false);
    expect(conn.isIdle()).toBe(true);
  });

  // httpcore: tests/test_cancellations.py::test_h2_timeout_during_response (xfail there)
  it("cancelled while the response is read: that stream only, the connection stays IDLE", async () => {
    // httpcore's SlowReadStream: SETTINGS, the head, part of the body, then reads wait.
    const p = peer({
      onStream: (stream) => {
        stream.respond({ ":status": 200, "content-type": "plain/text" });
        stream.write("Hello, world!...");
      },
    });
    await using conn = await h2Connection(p.stream);
    const error = await request(conn, get("https://example.com/", AbortSignal.timeout(10))).catch(
      (e: unknown) => e,
    );
    expect((error as Error).name).toBe("TimeoutError");
    expect(conn.isClosed()).toBe(false);
    expect(conn.isIdle()).toBe(true);
  });
});
