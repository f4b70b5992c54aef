// What httpcore's own suite pins down and this port once did differently (issue #20): heads
// up to the limit in pieces, `networkStream` on every response, the `target` extension,
// explicit ports, refused argument types, closed MockStreams, and a bare connection that
// honours its request's signal and timeouts by itself.
import { createConnection } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  answerEach,
  okResponse,
  onEachRequestHead,
  startOrigin,
  startRawServer,
  testCA,
} from "@x/testkit";
import { describe, expect, it } from "vitest";
import {
  ConnectionPool,
  ExtraInfoStream,
  HTTP11Connection,
  LocalProtocolError,
  MockBackend,
  NodeBackend,
  ReadError,
  ReadTimeout,
  RemoteProtocolError,
  Request,
  URL,
  WriteError,
} from "../src/index.js";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("response heads up to the limit (httpcore: test_http11_header_sub_100kb)", () => {
  // httpcore's chunks: 102 400 bytes of head before the final blank line, which comes last.
  const pieces = [
    "HTTP/1.1 200 OK\r\n",
    "Content-Type: plain/text\r\n",
    `Cookie: ${"x".repeat(100 * 1024 - 72)}\r\n`,
    "Content-Length: 0\r\n",
    "\r\n",
  ];

  it("a head of 100 KiB arriving in pieces is taken", async () => {
    expect(pieces.slice(0, 4).join("").length).toBe(100 * 1024);
    await using pool = new ConnectionPool({ networkBackend: new MockBackend(pieces) });
    const response = await pool.request("GET", "https://example.com/");
    expect(response.status).toBe(200);
    expect(response.headers[1]![1]).toHaveLength(100 * 1024 - 72);
  });

  it("one byte more is refused, whole or in pieces", async () => {
    const over = [...pieces];
    over[2] = `Cookie: ${"x".repeat(100 * 1024 - 71)}\r\n`;
    for (const chunks of [over, [over.join("")]]) {
      await using pool = new ConnectionPool({ networkBackend: new MockBackend(chunks) });
      const error = await pool.request("GET", "https://example.com/").catch((e) => e);
      expect(error).toBeInstanceOf(RemoteProtocolError);
      expect(pool.connections).toHaveLength(0);
    }
  });

  it("maxHeaderSize sets the limit, for a pool and a bare connection", async () => {
    const head = `HTTP/1.1 200 OK\r\nX-Pad: ${"y".repeat(2000)}\r\nContent-Length: 0\r\n\r\n`;
    await using small = new ConnectionPool({
      maxHeaderSize: 1024,
      networkBackend: new MockBackend([head]),
    });
    await expect(small.request("GET", "http://a.test/")).rejects.toBeInstanceOf(
      RemoteProtocolError,
    );
    await using roomy = new ConnectionPool({
      maxHeaderSize: 4096,
      networkBackend: new MockBackend([head]),
    });
    expect((await roomy.request("GET", "http://a.test/")).status).toBe(200);
    expect(() => new ConnectionPool({ maxHeaderSize: 0 })).toThrow(TypeError);

    const stream = await new MockBackend([head]).connectTcp("a.test", 80);
    const bare = new HTTP11Connection(new URL("http://a.test/").origin, stream, {
      maxHeaderSize: 1024,
    });
    const request = new Request("GET", "http://a.test/", { headers: { Host: "a.test" } });
    await expect(bare.handleRequest(request)).rejects.toBeInstanceOf(RemoteProtocolError);
    await bare.close();
  });
});

describe("networkStream on every response (httpcore: extensions['network_stream'])", () => {
  it("answers server_addr, client_addr and ssl_object over TLS, and refuses to be read", async () => {
    const origin = await startOrigin({ tls: true, name: "parity-tls" });
    try {
      await using pool = new ConnectionPool({ tls: { ca: testCA().cert } });
      const response = await pool.stream("GET", `${origin.url}/bytes/70000`);
      const stream = response.extensions.networkStream;
      expect(stream).toBeInstanceOf(ExtraInfoStream);
      expect(stream!.getExtraInfo("server_addr")).toEqual({
        address: "127.0.0.1",
        port: origin.port,
      });
      const client = stream!.getExtraInfo("client_addr") as { address: string; port: number };
      expect(client.address).toBe("127.0.0.1");
      expect(client.port).toBeGreaterThan(0);
      const tls = stream!.getExtraInfo("ssl_object") as TLSSocket;
      expect(tls.encrypted).toBe(true);
      expect(tls.getPeerCertificate().subject).toBeDefined();
      // Reading it would take the body: refused, and the body is whole afterwards.
      await expect(stream!.read(1024)).rejects.toBeInstanceOf(LocalProtocolError);
      await expect(stream!.write(new Uint8Array(1))).rejects.toBeInstanceOf(LocalProtocolError);
      await expect(stream!.close()).rejects.toBeInstanceOf(LocalProtocolError);
      const body = await response.read();
      expect(body).toHaveLength(70000);
      // The same view for every response of the connection.
      const again = await pool.request("GET", `${origin.url}/`);
      expect(again.extensions.networkStream).toBe(stream);
    } finally {
      await origin.close();
    }
  });

  it("over plain TCP: no ssl_object", async () => {
    const origin = await startOrigin({ name: "parity-tcp" });
    try {
      await using pool = new ConnectionPool();
      const response = await pool.request("GET", `${origin.url}/`);
      const stream = response.extensions.networkStream!;
      expect(stream.getExtraInfo("ssl_object")).toBeUndefined();
      expect(stream.getExtraInfo("server_addr")).toMatchObject({ port: origin.port });
    } finally {
      await origin.close();
    }
  });
});

describe("the target extension (httpcore: request.extensions['target'])", () => {
  it("sends OPTIONS * and an unnormalised path as given", async () => {
    const lines: string[] = [];
    const raw = await startRawServer((socket) => {
      onEachRequestHead(socket, (head) => {
        lines.push(head.slice(0, head.indexOf("\r\n")));
        socket.write(okResponse("ok"));
      });
    });
    try {
      await using pool = new ConnectionPool();
      await pool.request("OPTIONS", raw.url, { extensions: { target: "*" } });
      await pool.request("GET", `${raw.url}/ignored`, { extensions: { target: "/a/../b//c" } });
      await pool.request("GET", `${raw.url}/x?y=1`);
      expect(lines).toEqual([
        "OPTIONS * HTTP/1.1",
        "GET /a/../b//c HTTP/1.1",
        "GET /x?y=1 HTTP/1.1",
      ]);
    } finally {
      await raw.close();
    }
  });

  it("a target with a space, CR or a non-ASCII character is refused before any connection", async () => {
    await using pool = new ConnectionPool();
    for (const target of ["/a b", "/a\r\nX: y", "/caf\u00e9", "", 5]) {
      await expect(
        pool.request("GET", "http://127.0.0.1:9/", { extensions: { target } as never }),
      ).rejects.toBeInstanceOf(LocalProtocolError);
    }
    expect(pool.connections).toHaveLength(0);
  });
});

describe("URLs keep an explicit port (httpcore's URL model)", () => {
  it.each([
    ["https://example.com:443/", 443, "https://example.com:443/"],
    ["http://example.com:80/a", 80, "http://example.com:80/a"],
    ["http://user:pw@example.com:80/", 80, "http://example.com:80/"],
    ["http://[::1]:80/", 80, "http://[::1]:80/"],
    ["https://example.com/", null, "https://example.com/"],
    ["https://example.com:8443/", 8443, "https://example.com:8443/"],
    ["http://example.com/a:80", null, "http://example.com/a:80"],
    ["http://[::80]/", null, "http://[::80]/"],
  ])("%s: port %s", (input, port, printed) => {
    const url = new URL(input);
    expect(url.port).toBe(port);
    expect(url.toString()).toBe(printed);
  });

  it("the origin and what is printed of it stay as they were", () => {
    const url = new URL("https://example.com:443/");
    expect(url.origin.port).toBe(443);
    expect(url.origin.toString()).toBe("https://example.com:443");
    expect(url.origin.equals(new URL("https://example.com/").origin)).toBe(true);
  });
});

describe("bad argument types are refused at the call", () => {
  const cases: [string, () => unknown][] = [
    ["headers: 123", () => new Request("GET", "http://a.test/", { headers: 123 as never })],
    ["headers: 'x'", () => new Request("GET", "http://a.test/", { headers: "x" as never })],
    ["headers: null", () => new Request("GET", "http://a.test/", { headers: null as never })],
    ["method: 42", () => new Request(42 as never, "http://a.test/")],
    ["method: undefined", () => new Request(undefined as never, "http://a.test/")],
    ["content: 5", () => new Request("POST", "http://a.test/", { content: 5 as never })],
    ["content: null", () => new Request("POST", "http://a.test/", { content: null as never })],
    ["content: {}", () => new Request("POST", "http://a.test/", { content: {} as never })],
    ["extensions: 1", () => new Request("GET", "http://a.test/", { extensions: 1 as never })],
    ["signal: {}", () => new Request("GET", "http://a.test/", { signal: {} as never })],
    ["options: 'x'", () => new Request("GET", "http://a.test/", "x" as never)],
    ["url: 123", () => new Request("GET", 123 as never)],
    ["url: null", () => new Request("GET", null as never)],
  ];
  it.each(cases)("%s is a TypeError with a code", (_name, make) => {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toHaveProperty("code", "ERR_INVALID_ARG_TYPE");
  });

  it("through pool.request too, with no connection made", async () => {
    await using pool = new ConnectionPool();
    await expect(
      pool.request("GET", "http://127.0.0.1:9/", { headers: 123 as never }),
    ).rejects.toBeInstanceOf(TypeError);
    await expect(pool.request(7 as never, "http://127.0.0.1:9/")).rejects.toBeInstanceOf(TypeError);
    expect(pool.connections).toHaveLength(0);
  });
});

describe("MockBackend streams after close() behave as closed sockets", () => {
  it("read is a ReadError, write a WriteError, startTls a ConnectError; is_readable is true", async () => {
    const stream = await new MockBackend(["HTTP/1.1 200 OK\r\n\r\n"]).connectTcp("a.test", 80);
    expect(stream.getExtraInfo("is_readable")).toBe(false);
    await stream.close();
    await expect(stream.read(10)).rejects.toBeInstanceOf(ReadError);
    await expect(stream.write(new Uint8Array(1))).rejects.toBeInstanceOf(WriteError);
    await expect(stream.startTls({}, "a.test")).rejects.toMatchObject({ code: "ERR_CONNECT" });
    expect(stream.getExtraInfo("is_readable")).toBe(true);
  });
});

describe("a bare HTTP11Connection honours its request's signal and timeouts", () => {
  it("read timeout while waiting for the response, abort during a slow upload", async () => {
    // Reads each head, never answers.
    const raw = await startRawServer((socket) => {
      socket.on("data", () => {});
    });
    try {
      const origin = new URL(raw.url).origin;
      const backend = new NodeBackend();
      const silent = new HTTP11Connection(origin, await backend.connectTcp("127.0.0.1", raw.port));
      const started = performance.now();
      const timedOut = silent.handleRequest(
        new Request("GET", `${raw.url}/`, {
          headers: { Host: origin.authority },
          extensions: { timeout: { read: 100 } },
        }),
      );
      await expect(timedOut).rejects.toBeInstanceOf(ReadTimeout);
      expect(performance.now() - started).toBeGreaterThanOrEqual(90);
      expect(silent.isClosed()).toBe(true);

      const uploading = new HTTP11Connection(
        origin,
        await backend.connectTcp("127.0.0.1", raw.port),
      );
      const controller = new AbortController();
      async function* slowBody() {
        yield new Uint8Array(10);
        controller.abort(new Error("stop"));
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        yield new Uint8Array(10);
      }
      const aborted = uploading.handleRequest(
        new Request("POST", `${raw.url}/`, {
          headers: { Host: origin.authority, "Transfer-Encoding": "chunked" },
          content: slowBody(),
          signal: controller.signal,
        }),
      );
      await expect(aborted).rejects.toThrow("stop");
      expect(uploading.isClosed()).toBe(true);
    } finally {
      await raw.close();
    }
  });

  it("abort while waiting for the response head", async () => {
    const raw = await startRawServer(answerEach(() => ({ response: "" })));
    try {
      const origin = new URL(raw.url).origin;
      const stream = await new NodeBackend().connectTcp("127.0.0.1", raw.port);
      const conn = new HTTP11Connection(origin, stream);
      const controller = new AbortController();
      const pending = conn.handleRequest(
        new Request("GET", `${raw.url}/`, {
          headers: { Host: origin.authority },
          signal: controller.signal,
        }),
      );
      setTimeout(() => controller.abort(new Error("enough")), 50);
      await expect(pending).rejects.toThrow("enough");
      expect(conn.isClosed()).toBe(true);
    } finally {
      await raw.close();
    }
  });
});

it("the body of a response read after the networkStream was refused is intact (text)", async () => {
  await using pool = new ConnectionPool({
    networkBackend: new MockBackend([okResponse("hello")]),
  });
  const response = await pool.stream("GET", "http://a.test/");
  await expect(response.extensions.networkStream!.read(5)).rejects.toBeInstanceOf(
    LocalProtocolError,
  );
  expect(text(await response.read())).toBe("hello");
});

describe("retries cover the TLS handshake (httpcore: test_connection_retries_tls)", () => {
  it("a certificate refused is not tried again: one connection, and at once", async () => {
    const origin = await startOrigin({ tls: true, name: "parity-untrusted" });
    try {
      // No test CA: the origin's certificate cannot be verified.
      await using pool = new ConnectionPool({ retries: 3 });
      const trace: string[] = [];
      const error = await pool
        .request("GET", `${origin.url}/`, {
          extensions: { trace: (name) => void trace.push(name) },
        })
        .catch((e) => e);
      expect(error).toMatchObject({ code: "ERR_CONNECT" });
      expect(trace.filter((n) => n === "connection.connect_tcp.started")).toHaveLength(1);
      expect(trace.filter((n) => n === "connection.retry.started")).toHaveLength(0);
    } finally {
      await origin.close();
    }
  });

  it("a handshake the server breaks off is tried again on a new connection", async () => {
    // The first two connections are cut during the handshake; the third is served.
    const tlsOrigin = await startOrigin({ tls: true, name: "parity-flaky-tls" });
    let cut = 0;
    const raw = await startRawServer((socket) => {
      if (cut < 2) {
        cut++;
        socket.once("data", () => socket.destroy());
        return;
      }
      const upstream = createConnection(tlsOrigin.port, "127.0.0.1");
      socket.pipe(upstream).pipe(socket);
      socket.on("close", () => upstream.destroy());
      upstream.on("close", () => socket.destroy());
      upstream.on("error", () => {});
    });
    try {
      const trace: string[] = [];
      await using pool = new ConnectionPool({
        retries: 3,
        tls: { ca: testCA().cert },
        networkBackend: new NodeBackend(),
      });
      const response = await pool.request("GET", `https://localhost:${raw.port}/`, {
        extensions: { trace: (name) => void trace.push(name) },
      });
      expect(response.status).toBe(200);
      expect(raw.connections).toBe(3);
      expect(trace.filter((n) => n === "connection.retry.started")).toHaveLength(2);
    } finally {
      await raw.close();
      await tlsOrigin.close();
    }
  });
});
