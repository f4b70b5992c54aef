// HTTP/2: ALPN and prior knowledge, multiplexing many requests on one connection, printing,
// extensions, flow control, trailers, resets, GOAWAY, timeouts and aborts per stream.
// Against node:http2 servers on loopback (testkit's startH2Origin).

import type { TLSSocket } from "node:tls";
import { type H2Origin, startH2Origin, startOrigin, startSilentH2Server, testCA } from "@x/testkit";
import { afterEach, describe, expect, it } from "vitest";
import {
  ConnectError,
  ConnectionPool,
  type ConnectionPoolOptions,
  ExtraInfoStream,
  HTTPConnection,
  LocalProtocolError,
  type NetworkBackend,
  type NetworkStream,
  NodeBackend,
  ReadTimeout,
  RemoteProtocolError,
  Request,
  URL,
  WriteTimeout,
} from "../src/index.js";

const tls = () => ({ ca: testCA().cert });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function h2(options: Parameters<typeof startH2Origin>[0] = {}): Promise<H2Origin> {
  const server = await startH2Origin(options);
  servers.push(server);
  return server;
}

function pool(options: ConnectionPoolOptions = {}): ConnectionPool {
  return new ConnectionPool({ tls: tls(), http2: true, ...options });
}

describe("negotiating HTTP/2", () => {
  it("https with http2: true offers h2 and http/1.1 by ALPN and speaks what the server picks", async () => {
    const server = await h2();
    await using p = pool();
    const r = await p.request("GET", `${server.url}/`);
    expect(r.status).toBe(200);
    expect(text(r.content)).toBe("hello from h2-origin\n");
    expect(r.extensions.httpVersion).toBe("HTTP/2");
    expect(r.headers).toContainEqual(["x-served-by", "h2-origin"]);
    expect(String(p.connections)).toBe(
      `<HTTPConnection ['https://localhost:${server.port}', HTTP/2, IDLE, Request Count: 1]>`,
    );
  });

  it("a server that picks http/1.1 gets HTTP/1.1", async () => {
    const server = await startOrigin({ tls: true });
    servers.push(server);
    await using p = pool();
    const r = await p.request("GET", `${server.url}/`);
    expect(r.extensions.httpVersion).toBe("HTTP/1.1");
  });

  it("http: origins stay HTTP/1.1 with http2: true", async () => {
    const server = await startOrigin();
    servers.push(server);
    await using p = pool();
    const r = await p.request("GET", `${server.url}/`);
    expect(r.extensions.httpVersion).toBe("HTTP/1.1");
  });

  it("http1: false speaks h2c with prior knowledge to http: origins", async () => {
    const server = await h2({ tls: false });
    await using p = pool({ http1: false });
    const r = await p.request("GET", `${server.url}/`);
    expect(text(r.content)).toBe("hello from h2c-origin\n");
    expect(r.extensions.httpVersion).toBe("HTTP/2");
  });

  it("http1: false over TLS offers only h2: an HTTP/1.1-only server refuses the handshake (ConnectError)", async () => {
    const server = await startOrigin({ tls: true });
    servers.push(server);
    await using p = pool({ http1: false });
    // node's https server answers ALPN h2 with no common protocol: the handshake fails.
    const error = await p.request("GET", `${server.url}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
  });

  it("http1 and http2 both off is refused when the pool is made", () => {
    expect(() => new ConnectionPool({ http1: false })).toThrow(/cannot both be off/);
  });

  it("HTTPConnection prints as httpcore's, counting requests", async () => {
    const server = await h2();
    const origin = new URL(server.url).origin;
    const conn = new HTTPConnection(origin, { tls: tls(), http2: true });
    const get = () => {
      const u = new URL(`${server.url}/`);
      return new Request("GET", u, { headers: [["Host", u.origin.authority]] });
    };
    const responses = await Promise.all([get(), get(), get()].map((r) => conn.handleRequest(r)));
    expect(String(conn)).toBe(
      `<HTTPConnection ['https://localhost:${server.port}', HTTP/2, ACTIVE, Request Count: 3]>`,
    );
    for (const r of responses) await r.read();
    expect(conn.info()).toBe(`'https://localhost:${server.port}', HTTP/2, IDLE, Request Count: 3`);
    await conn.close();
  });
});

describe("multiplexing", () => {
  it("1000 concurrent requests with maxConnections 1: all answered over one connection, bodies checked", async () => {
    const server = await h2();
    await using p = pool({ maxConnections: 1 });
    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => p.request("GET", `${server.url}/path/${i}`)),
    );
    responses.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(text(r.content)).toBe(`/path/${i}`);
    });
    expect(server.sessions).toBe(1);
    expect(server.maxOpenStreams).toBeGreaterThan(1);
    expect(p.connections).toHaveLength(1);
  });

  it("a burst with maxConnections 10 opens one connection, not ten", async () => {
    const server = await h2();
    await using p = pool({ maxConnections: 10 });
    await Promise.all(Array.from({ length: 50 }, () => p.request("GET", `${server.url}/slow/20`)));
    expect(server.sessions).toBe(1);
  });

  it("SETTINGS_MAX_CONCURRENT_STREAMS 1: requests queue for the one stream, one connection", async () => {
    const server = await h2({ settings: { maxConcurrentStreams: 1 } });
    await using p = pool({ maxConnections: 1 });
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => p.request("GET", `${server.url}/path/${i}`)),
    );
    expect(responses.map((r) => text(r.content))).toEqual(responses.map((_, i) => `/path/${i}`));
    expect(server.sessions).toBe(1);
    expect(server.maxOpenStreams).toBe(1);
  });

  it("SETTINGS max 1 with maxConnections 3: the others go to new connections", async () => {
    const server = await h2({ settings: { maxConcurrentStreams: 1 } });
    await using p = pool({ maxConnections: 3 });
    await p.request("GET", `${server.url}/`); // the first connection, capacity known
    const all = await Promise.all(
      Array.from({ length: 3 }, () => p.request("GET", `${server.url}/slow/50`)),
    );
    expect(all.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(server.sessions).toBe(3);
  });
});

describe("requests and responses", () => {
  it("drops connection-specific fields, lower-cases names, Host becomes :authority; bodies of every kind", async () => {
    const server = await h2();
    await using p = pool();
    async function* chunks() {
      yield new TextEncoder().encode("one,");
      yield new TextEncoder().encode("two");
    }
    for (const [content, expected] of [
      ["a string", "a string"],
      [new TextEncoder().encode("bytes"), "bytes"],
      [chunks(), "one,two"],
      [[new TextEncoder().encode("x"), new TextEncoder().encode("y")], "xy"],
    ] as const) {
      const r = await p.request("POST", `${server.url}/echo`, {
        headers: [
          ["Host", "example.test"],
          ["X-Custom", "Value"],
          ["Connection", "keep-alive"],
          ["Keep-Alive", "timeout=5"],
          ["Upgrade", "foo"],
          ["Proxy-Connection", "x"],
        ],
        content,
      });
      const echo = JSON.parse(text(r.content));
      expect(echo.method).toBe("POST");
      expect(echo.authority).toBe("example.test");
      expect(echo.scheme).toBe("https");
      expect(echo.body).toBe(expected);
      const names = (echo.headers as Array<[string, string]>).map(([k]) => k);
      expect(names).toContain("x-custom");
      for (const dropped of [
        "connection",
        "keep-alive",
        "upgrade",
        "proxy-connection",
        "host",
        "transfer-encoding",
      ]) {
        expect(names).not.toContain(dropped);
      }
    }
  });

  it("a large upload honours flow control (8 MiB in chunks)", async () => {
    const server = await h2();
    await using p = pool();
    const chunk = new Uint8Array(64 * 1024).fill(0x7a);
    async function* upload() {
      for (let i = 0; i < 128; i++) yield chunk;
    }
    const r = await p.request("PUT", `${server.url}/echo`, { content: upload() });
    expect(JSON.parse(text(r.content)).body.length).toBe(8 * 1024 * 1024);
  });

  it("trailers are in response.extensions.trailers once the body is read", async () => {
    const server = await h2();
    await using p = pool();
    const r = await p.request("GET", `${server.url}/trailers`);
    expect(text(r.content)).toBe("with trailers");
    expect(r.extensions.trailers).toEqual([
      ["x-checksum", "abc123"],
      ["x-count", "2"],
    ]);
    const plain = await p.request("GET", `${server.url}/`);
    expect(plain.extensions.trailers).toEqual([]);
  });

  it("networkStream answers getExtraInfo (ALPN h2, addresses) and refuses reads, as HTTP/1.1's", async () => {
    const server = await h2();
    await using p = pool({ maxConnections: 1 });
    const r = await p.stream("GET", `${server.url}/bytes/70000`);
    const stream = r.extensions.networkStream!;
    expect(stream).toBeInstanceOf(ExtraInfoStream);
    const tlsSocket = stream.getExtraInfo("ssl_object") as TLSSocket;
    expect(tlsSocket.alpnProtocol).toBe("h2");
    expect(stream.getExtraInfo("server_addr")).toEqual({ address: "127.0.0.1", port: server.port });
    expect(stream.getExtraInfo("client_addr")).toMatchObject({ address: "127.0.0.1" });
    expect(stream.getExtraInfo("is_readable")).toBe(false);
    await expect(stream.read(1024)).rejects.toBeInstanceOf(LocalProtocolError);
    await expect(stream.write(new Uint8Array(1))).rejects.toBeInstanceOf(LocalProtocolError);
    await expect(stream.close()).rejects.toBeInstanceOf(LocalProtocolError);
    expect(await r.read()).toHaveLength(70000);
    // Every stream of the connection shows the same.
    const again = await p.request("GET", `${server.url}/`);
    expect(again.extensions.networkStream).toBe(stream);
  });

  it("a paused reader holds the server back: of 32 MiB, less than 16 MiB is sent before it resumes", async () => {
    const server = await h2();
    await using p = pool();
    const size = 32 * 1024 * 1024;
    await using r = await p.stream("GET", `${server.url}/big/${size}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.bigBytesWritten).toBeLessThan(16 * 1024 * 1024);
    let got = 0;
    for await (const chunk of r) got += chunk.length;
    expect(got).toBe(size);
  });

  it("traces http2.* events as httpcore names them", async () => {
    const server = await h2();
    await using p = pool();
    const names: string[] = [];
    await p.request("POST", `${server.url}/echo`, {
      content: "body",
      extensions: { trace: (name) => void names.push(name) },
    });
    const h2Names = names.filter((n) => n.startsWith("http2."));
    expect(h2Names).toEqual([
      "http2.send_connection_init.started",
      "http2.send_connection_init.complete",
      "http2.send_request_headers.started",
      "http2.send_request_headers.complete",
      "http2.send_request_body.started",
      "http2.send_request_body.complete",
      "http2.receive_response_headers.started",
      "http2.receive_response_headers.complete",
      "http2.receive_response_body.started",
      "http2.receive_response_body.complete",
      "http2.response_closed.started",
      "http2.response_closed.complete",
    ]);
  });

  it("works over a NetworkStream that is not a Node socket (bridged)", async () => {
    const server = await h2({ tls: false });
    const node = new NodeBackend();
    // Wraps each stream in a plain object: HTTP/2 must bridge it with a Duplex.
    const wrap = (s: NetworkStream): NetworkStream => ({
      read: (n, t) => s.read(n, t),
      write: (d, t) => s.write(d, t),
      close: () => s.close(),
      startTls: async (...args) => wrap(await s.startTls(...args)),
      getExtraInfo: (k) => s.getExtraInfo(k),
    });
    const backend: NetworkBackend = {
      connectTcp: async (...args) => wrap(await node.connectTcp(...args)),
      connectUnixSocket: async (...args) => wrap(await node.connectUnixSocket(...args)),
      sleep: (ms) => node.sleep(ms),
    };
    await using p = pool({ http1: false, networkBackend: backend });
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) => p.request("GET", `${server.url}/path/${i}`)),
    );
    expect(all.map((r) => text(r.content))).toEqual(all.map((_, i) => `/path/${i}`));
    expect(server.sessions).toBe(1);
  });
});

describe("failures, per stream", () => {
  it("RST_STREAM mid-body fails that request only, with the error code", async () => {
    const server = await h2();
    await using p = pool({ maxConnections: 1 });
    const [reset, ok] = await Promise.allSettled([
      p.request("GET", `${server.url}/rst/1000`),
      p.request("GET", `${server.url}/slow/100`),
    ]);
    expect(reset.status).toBe("rejected");
    const error = (reset as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error.errorCode).toBe(2);
    expect(error.message).toMatch(/RST_STREAM INTERNAL_ERROR/);
    expect(ok.status).toBe("fulfilled");
    expect(server.sessions).toBe(1);
    // The connection goes on.
    expect(text((await p.request("GET", `${server.url}/path/x`)).content)).toBe("/path/x");
    expect(server.sessions).toBe(1);
  });

  it("a reset with NO_ERROR before the end fails the body, without Content-Length too", async () => {
    const server = await h2({
      handler: (stream, headers) => {
        const cl = headers[":path"] === "/cl";
        // waitForTrailers holds END_STREAM back, so close(NO_ERROR) sends RST_STREAM alone.
        stream.respond(
          { ":status": 200, ...(cl ? { "content-length": 10 } : {}) },
          {
            waitForTrailers: true,
          },
        );
        stream.write("abc");
        setTimeout(() => stream.close(0), 20);
      },
    });
    await using p = pool({ maxConnections: 1 });
    for (const path of ["/cl", "/no-cl"]) {
      const error = await p.request("GET", `${server.url}${path}`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteProtocolError);
      expect((error as { errorCode?: number }).errorCode).toBe(0);
      expect((error as Error).message).toMatch(/RST_STREAM NO_ERROR/);
    }
    expect(server.sessions).toBe(1);
  });

  it("END_STREAM on the head (204, HEAD) or on trailers is a whole response", async () => {
    const server = await h2();
    await using p = pool({ maxConnections: 1 });
    expect((await p.request("GET", `${server.url}/status/204`)).status).toBe(204);
    const head = await p.request("HEAD", `${server.url}/bytes/10`);
    expect(head.content).toHaveLength(0);
    expect(text((await p.request("GET", `${server.url}/trailers`)).content)).toBe("with trailers");
  });

  it("a reset with NO_ERROR after END_STREAM (RFC 9113 §8.1: stop the upload) keeps the response", async () => {
    const server = await h2({
      unreadBodies: true,
      handler: (stream) => {
        stream.respond({ ":status": 413 });
        stream.end("too large");
        stream.on("finish", () => stream.close(0));
      },
    });
    await using p = pool({ maxConnections: 1 });
    async function* endless() {
      for (;;) yield new Uint8Array(16 * 1024);
    }
    const r = await p.request("POST", `${server.url}/`, { content: endless() });
    expect(r.status).toBe(413);
    expect(text(r.content)).toBe("too large");
  });

  it("an abort resets that stream only", async () => {
    const server = await h2();
    await using p = pool({ maxConnections: 1 });
    const controller = new AbortController();
    const aborted = p.request("GET", `${server.url}/slow/5000`, { signal: controller.signal });
    const other = p.request("GET", `${server.url}/slow/100`);
    setTimeout(() => controller.abort(new Error("stop")), 50);
    await expect(aborted).rejects.toThrow("stop");
    expect((await other).status).toBe(200);
    expect(server.sessions).toBe(1);
    expect(String(p.connections[0])).toMatch(/HTTP\/2, IDLE, Request Count: 2/);
  });

  it("an abort while the body streams resets the stream, the connection stays", async () => {
    const server = await h2();
    await using p = pool({ maxConnections: 1 });
    const controller = new AbortController();
    const r = await p.stream("GET", `${server.url}/big/${8 * 1024 * 1024}`, {
      signal: controller.signal,
    });
    const body = r[Symbol.asyncIterator]();
    expect((await body.next()).done).toBe(false);
    controller.abort(new Error("enough"));
    await expect(body.next()).rejects.toThrow("enough");
    expect((await p.request("GET", `${server.url}/`)).status).toBe(200);
    expect(server.sessions).toBe(1);
  });

  it("a read timeout fails that stream only", async () => {
    const server = await h2();
    await using p = pool({ maxConnections: 1 });
    const [slow, fast] = await Promise.allSettled([
      p.request("GET", `${server.url}/slow/2000`, { extensions: { timeout: { read: 100 } } }),
      p.request("GET", `${server.url}/slow/200`),
    ]);
    expect((slow as PromiseRejectedResult).reason).toBeInstanceOf(ReadTimeout);
    expect(fast.status).toBe("fulfilled");
    expect(server.sessions).toBe(1);
  });

  it("an upload the server does not take is a WriteTimeout, for that stream only", async () => {
    const server = await h2({
      unreadBodies: true,
      handler: (stream, headers) => {
        if (headers[":method"] === "GET") {
          stream.respond({ ":status": 200 });
          stream.end("ok");
        }
      },
    });
    await using p = pool({ maxConnections: 1 });
    async function* upload() {
      for (let i = 0; i < 64; i++) yield new Uint8Array(64 * 1024);
    }
    const error = await p
      .request("PUT", `${server.url}/`, {
        content: upload(),
        extensions: { timeout: { write: 200 } },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteTimeout);
    expect(text((await p.request("GET", `${server.url}/`)).content)).toBe("ok");
    expect(server.sessions).toBe(1);
  });

  it("a server that never sends SETTINGS is a ReadTimeout", async () => {
    for (const withTls of [true, false]) {
      const server = await startSilentH2Server({ tls: withTls });
      servers.push(server);
      await using p = pool({ http1: false });
      const error = await p
        .request("GET", `${server.url}/`, { extensions: { timeout: { read: 200 } } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReadTimeout);
    }
  });

  for (const openerFirst of [false, true]) {
    it(`aborts while the connection opens (${openerFirst ? "the opener" : "the one waiting"} first): each rejects alone; the last closes the opening`, async () => {
      const server = await startSilentH2Server({ tls: false });
      servers.push(server);
      await using p = pool({ http1: false });
      const [a, b] = [new AbortController(), new AbortController()];
      const first = p.request("GET", `${server.url}/`, { signal: a.signal });
      const second = p.request("GET", `${server.url}/`, { signal: b.signal });
      first.catch(() => {});
      second.catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
      const order: Array<[AbortController, Promise<unknown>, string]> = [
        [b, second, "second"],
        [a, first, "first"],
      ];
      if (openerFirst) order.reverse();
      for (const [i, [controller, request, name]] of order.entries()) {
        controller.abort(new Error(name));
        await expect(request).rejects.toThrow(name);
        // The opening stays while a request waits for it.
        await new Promise((r) => setTimeout(r, 10));
        expect(p.connections).toHaveLength(i === 0 ? 1 : 0);
      }
    });
  }

  it("the opener aborted while others wait: it rejects alone, the opening goes on for them", async () => {
    const server = await h2();
    // Dials take 100 ms, so the abort comes while the connection opens.
    const node = new NodeBackend();
    let dials = 0;
    const slow: NetworkBackend = {
      connectTcp: async (host, port, options) => {
        dials++;
        await new Promise((r) => setTimeout(r, 100));
        return node.connectTcp(host, port, options);
      },
      connectUnixSocket: (path, options) => node.connectUnixSocket(path, options),
      sleep: (ms) => node.sleep(ms),
    };
    await using p = pool({ maxConnections: 1, networkBackend: slow });
    const a = new AbortController();
    const first = p.request("GET", `${server.url}/path/first`, { signal: a.signal });
    const others = [1, 2].map((i) => p.request("GET", `${server.url}/path/${i}`));
    await new Promise((r) => setTimeout(r, 20));
    a.abort(new Error("first"));
    await expect(first).rejects.toThrow("first");
    const answered = await Promise.all(others);
    expect(answered.map((r) => text(r.content))).toEqual(["/path/1", "/path/2"]);
    // One dial: the opening was not closed and begun again for them.
    expect(dials).toBe(1);
    expect(server.sessions).toBe(1);
    expect(server.log.map((e) => e.path)).toEqual(["/path/1", "/path/2"]);
    expect(String(p.connections)).toMatch(/HTTP\/2, IDLE, Request Count: 2/);
  });

  it("GOAWAY: requests above the last stream id are retried on a new connection", async () => {
    let held: Array<() => void> = [];
    const server = await h2({
      handler: (stream, headers) => {
        const path = String(headers[":path"]);
        const answer = () => {
          if (stream.destroyed) return;
          stream.respond({ ":status": 200 });
          stream.end(path);
        };
        const session = stream.session!;
        if (path.startsWith("/first") && server.sessions === 1) {
          held.push(answer);
          return;
        }
        if (server.sessions === 1 && held.length > 0 && server.streams >= 3) {
          // Three streams in: go away, processing only the first (stream 1).
          session.goaway(0, 1);
          for (const f of held) f();
          held = [];
          return;
        }
        if (server.sessions === 1) {
          held.push(() => {});
          return;
        }
        answer();
      },
    });
    await using p = pool({ maxConnections: 1 });
    const first = p.request("GET", `${server.url}/first`);
    await new Promise((r) => setTimeout(r, 50));
    const more = [p.request("GET", `${server.url}/a`), p.request("GET", `${server.url}/b`)];
    const all = await Promise.all([first, ...more]);
    expect(all.map((r) => text(r.content))).toEqual(["/first", "/a", "/b"]);
    expect(server.sessions).toBe(2);
  });

  it("GOAWAY with an error code: streams at or below the last id fail (errorCode), those above are retried", async () => {
    const server = await h2({
      handler: (stream, headers) => {
        const path = String(headers[":path"]);
        if (server.sessions > 1) {
          stream.respond({ ":status": 200 });
          stream.end(path);
          return;
        }
        // On the first connection: hold /first (stream 1); when /second (stream 3) arrives,
        // go away with PROTOCOL_ERROR, having processed stream 1 only.
        if (path === "/second") stream.session?.goaway(1, 1);
      },
    });
    await using p = pool({ maxConnections: 1 });
    const first = p.request("GET", `${server.url}/first`).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const second = await p.request("GET", `${server.url}/second`);
    expect(text(second.content)).toBe("/second");
    const error = (await first) as RemoteProtocolError & { errorCode: number };
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error.errorCode).toBe(1);
    expect(server.sessions).toBe(2);
  });

  it("keepaliveExpiry closes an idle HTTP/2 connection", async () => {
    const server = await h2();
    await using p = pool({ keepaliveExpiry: 50 });
    await p.request("GET", `${server.url}/`);
    expect(p.connections).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(p.connections).toHaveLength(0);
    await p.request("GET", `${server.url}/`);
    expect(server.sessions).toBe(2);
  });

  it("a connection error fails its open streams and leaves the pool", async () => {
    const server = await h2({
      handler: (stream, _headers, _body, origin) => {
        stream.respond({ ":status": 200 });
        stream.write("partial");
        setTimeout(() => origin.dropConnections(), 30);
      },
    });
    await using p = pool({ maxConnections: 1 });
    const results = await Promise.allSettled([
      p.request("GET", `${server.url}/x`),
      p.request("GET", `${server.url}/y`),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(p.connections).toHaveLength(0);
  });
});
