// HTTP2Connection itself, against loopback node:http2 servers (testkit's startH2Origin) and
// raw TCP peers that answer with bytes that are not HTTP/2: the request's pseudo-headers and fields,
// the states and capacity a pool reads, the errors (their class, message, errorCode and
// retry hint) for each way a server ends a stream or the connection, timeouts, traces.

import {
  type H2Origin,
  startH2Origin,
  startRawServer,
  startSilentH2Server,
  testCA,
} from "@x/testkit";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fromRaw } from "../src/http2.js";
import {
  ConnectionNotAvailable,
  ConnectionPool,
  type ConnectionPoolOptions,
  HTTP2Connection,
  LocalProtocolError,
  type NetworkBackend,
  type NetworkStream,
  NodeBackend,
  Origin,
  ReadError,
  ReadTimeout,
  RemoteProtocolError,
  Request,
  WriteError,
  WriteTimeout,
} from "../src/index.js";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function h2c(options: Parameters<typeof startH2Origin>[0] = {}): Promise<H2Origin> {
  const server = await startH2Origin({ tls: false, ...options });
  servers.push(server);
  return server;
}

function pool(options: ConnectionPoolOptions = {}): ConnectionPool {
  return new ConnectionPool({ tls: { ca: testCA().cert }, http2: true, http1: false, ...options });
}

/** A bare HTTP2Connection to an h2c server on loopback. */
async function connect(
  server: { port: number },
  options: { keepaliveExpiry?: number; signal?: AbortSignal } = {},
  stream?: NetworkStream,
): Promise<HTTP2Connection> {
  const origin = new Origin("http", "127.0.0.1", server.port);
  const s = stream ?? (await new NodeBackend().connectTcp("127.0.0.1", server.port));
  return HTTP2Connection.open(origin, s, get(server), options);
}

function get(
  server: { port: number },
  path = "/",
  init: ConstructorParameters<typeof Request>[2] = {},
): Request {
  return new Request("GET", `http://127.0.0.1:${server.port}${path}`, init);
}

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (error: Error & Record<string, unknown>) => error,
  );
}

describe("the request's header block", () => {
  it("CONNECT goes with :method and :authority only, and is answered", async () => {
    const seen: Array<Record<string, unknown>> = [];
    const server = await h2c({
      handler: (stream, headers) => {
        seen.push({ ...headers });
        stream.respond({ ":status": 200 });
        stream.end("tunnel");
      },
    });
    // On a bare connection: a pool would take node:http2's refusal for a connection not
    // available and send it again, forever.
    await using conn = await connect(server);
    const r = await conn.handleRequest(
      new Request("CONNECT", `http://127.0.0.1:${server.port}/`, {
        headers: [["Host", "target.test:443"]],
      }),
    );
    expect(r.status).toBe(200);
    expect(text(await r.read())).toBe("tunnel");
    expect(seen).toHaveLength(1);
    expect(seen[0]![":method"]).toBe("CONNECT");
    expect(seen[0]![":authority"]).toBe("target.test:443");
    expect(seen[0]).not.toHaveProperty(":scheme");
    expect(seen[0]).not.toHaveProperty(":path");
  });

  it("the first Host wins; TE goes only as trailers; a repeated field keeps every value", async () => {
    const server = await h2c();
    await using p = pool();
    for (const [te, sent] of [
      ["Trailers", "trailers"],
      ["trailers", "trailers"],
      ["gzip", undefined],
    ] as const) {
      const r = await p.request("GET", `${server.url}/echo`, {
        headers: [
          ["Host", "first.test"],
          ["Host", "second.test"],
          ["TE", te],
          ["X-Multi", "a"],
          ["X-Multi", "b"],
          ["X-Multi", "c"],
          ["X-One", "1"],
        ],
      });
      const echo = JSON.parse(text(r.content));
      expect(echo.authority).toBe("first.test");
      expect(echo.scheme).toBe("http");
      expect(echo.path).toBe("/echo");
      const fields = Object.fromEntries(echo.headers as Array<[string, string]>);
      expect(fields.te).toBe(sent);
      expect(fields["x-multi"]).toBe("a, b, c");
      expect(fields["x-one"]).toBe("1");
    }
  });

  it("without Host, :authority is the URL's; ws: and wss: go as http and https", async () => {
    const server = await h2c();
    await using p = pool();
    const plain = JSON.parse(text((await p.request("GET", `${server.url}/echo`)).content));
    expect(plain.authority).toBe(`127.0.0.1:${server.port}`);
    const ws = JSON.parse(
      text((await p.request("GET", `ws://127.0.0.1:${server.port}/echo?x=1`)).content),
    );
    expect(ws.scheme).toBe("http");
    expect(ws.path).toBe("/echo?x=1");
    const tls = await startH2Origin();
    servers.push(tls);
    const wss = JSON.parse(
      text((await p.request("GET", `wss://localhost:${tls.port}/echo`)).content),
    );
    expect(wss.scheme).toBe("https");
    expect(wss.authority).toBe(`localhost:${tls.port}`);
  });

  it("a field HTTP/2 refuses fails that request with LocalProtocolError; the connection goes on", async () => {
    const server = await h2c();
    await using p = pool({ maxConnections: 1 });
    for (const [headers, code] of [
      [
        [
          ["Content-Type", "a"],
          ["Content-Type", "b"],
        ],
        "ERR_HTTP2_HEADER_SINGLE_VALUE",
      ],
      [[["HTTP2-Settings", "AAMAAABkAAQAoAAAAAIAAAAA"]], "ERR_HTTP2_INVALID_CONNECTION_HEADERS"],
    ] as const) {
      const error = await failure(
        p.request("GET", `${server.url}/`, { headers: headers as unknown as [string, string][] }),
      );
      expect(error).toBeInstanceOf(LocalProtocolError);
      expect(error.code).toBe("ERR_LOCAL_PROTOCOL");
      expect(error.message).toMatch(/^the request cannot be sent over HTTP\/2: /);
      expect((error.cause as { code: string }).code).toBe(code);
    }
    expect((await p.request("GET", `${server.url}/`)).status).toBe(200);
    expect(server.sessions).toBe(1);
    expect(server.streams).toBe(1);
  });

  it("the client refuses server pushes (SETTINGS_ENABLE_PUSH 0)", async () => {
    const pushed: string[] = [];
    const server = await h2c({
      handler: (stream) => {
        try {
          stream.pushStream({ ":path": "/pushed" }, () => pushed.push("pushed"));
        } catch (error) {
          pushed.push((error as { code: string }).code);
        }
        stream.respond({ ":status": 200 });
        stream.end("ok");
      },
    });
    await using p = pool();
    expect(text((await p.request("GET", `${server.url}/`)).content)).toBe("ok");
    expect(pushed).toEqual(["ERR_HTTP2_PUSH_DISABLED"]);
  });
});

describe("the response's header block", () => {
  it("the fields as they came: in order, a repeated one pair by pair, no pseudo-headers", async () => {
    const server = await h2c({
      handler: (stream) => {
        stream.respond(
          { ":status": 200, "x-multi": ["a", "b"], "x-one": "1" },
          { waitForTrailers: true },
        );
        stream.on("wantTrailers", () => stream.sendTrailers({ "x-t": ["c", "d"] }));
        stream.end("ok");
      },
    });
    await using conn = await connect(server);
    const r = await conn.handleRequest(get(server));
    expect(text(await r.read())).toBe("ok");
    expect(r.headers.filter(([name]) => name !== "date")).toEqual([
      ["x-multi", "a"],
      ["x-multi", "b"],
      ["x-one", "1"],
    ]);
    expect(r.extensions.trailers).toEqual([
      ["x-t", "c"],
      ["x-t", "d"],
    ]);
  });

  it("without node:http2's raw list, from its header object: pseudo-headers and undefined left out", () => {
    const headers = {
      ":status": "200",
      "content-length": "5",
      "set-cookie": ["a=1", "b=2"],
      "x-gone": undefined,
      "x-number": 7 as unknown as string,
    };
    expect(fromRaw(undefined, headers)).toEqual([
      ["content-length", "5"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
      ["x-number", "7"],
    ]);
    expect(fromRaw(["x-a", "1", ":status", "200"], headers)).toEqual([["x-a", "1"]]);
  });
});

describe("flow-control windows", () => {
  it("the connection's window is 16 MiB from the start (a WINDOW_UPDATE before the first request)", async () => {
    const windows: number[] = [];
    const server = await h2c({
      handler: (stream) => {
        windows.push(stream.session!.state.remoteWindowSize!);
        stream.respond({ ":status": 200 });
        stream.end("ok");
      },
    });
    await using conn = await connect(server);
    await (await conn.handleRequest(get(server))).read();
    expect(windows).toEqual([16 * 1024 * 1024]);
  });

  it("a paused reader lets the server send 1 MiB ahead on its stream (not 64 KiB)", async () => {
    const server = await h2c();
    await using p = pool();
    await using r = await p.stream("GET", `${server.url}/big/${4 * 1024 * 1024}`);
    // The stream's window (1 MiB) and the connection's (16 MiB) let this much go unread.
    await vi.waitFor(() => expect(server.bigBytesWritten).toBeGreaterThan(512 * 1024), {
      timeout: 10_000,
    });
    let got = 0;
    for await (const chunk of r) got += chunk.length;
    expect(got).toBe(4 * 1024 * 1024);
  });

  it("a body that fills the stream's window, read after it all came, is whole", async () => {
    const server = await h2c();
    await using p = pool();
    const size = 1024 * 1024;
    // /big ends with an empty DATA frame (END_STREAM) once its 1 MiB is out.
    const r = await p.stream("GET", `${server.url}/big/${size}`);
    await vi.waitFor(() => expect(server.bigBytesWritten).toBe(size));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await r.read()).toHaveLength(size);
  });

  it("two paused readers of 1 MiB each: the connection's window holds both", async () => {
    const server = await h2c();
    await using p = pool({ maxConnections: 1 });
    await using a = await p.stream("GET", `${server.url}/big/${1024 * 1024}`);
    await using b = await p.stream("GET", `${server.url}/big/${1024 * 1024}`);
    // The default connection window (64 KiB) would hold both back at 64 KiB together.
    await vi.waitFor(() => expect(server.bigBytesWritten).toBeGreaterThan(1024 * 1024), {
      timeout: 10_000,
    });
    expect((await a.read()).length + (await b.read()).length).toBe(2 * 1024 * 1024);
    expect(server.sessions).toBe(1);
  });
});

describe("states and capacity", () => {
  it("reserving up to the server's SETTINGS_MAX_CONCURRENT_STREAMS, and no more", async () => {
    const server = await h2c({ settings: { maxConcurrentStreams: 2 } });
    const conn = await connect(server);
    expect(conn.maxConcurrentStreams).toBe(2);
    expect(conn.state).toBe("IDLE");
    expect(conn.isIdle()).toBe(true);
    const [a, b, c] = [get(server), get(server), get(server)];
    expect(conn.tryReserve(a)).toBe(true);
    expect(conn.state).toBe("ACTIVE");
    expect(conn.isIdle()).toBe(false);
    expect(conn.isAvailable()).toBe(true);
    expect(conn.tryReserve(b)).toBe(true);
    expect(conn.isAvailable()).toBe(false);
    expect(conn.tryReserve(c)).toBe(false);
    conn.unreserve(c); // never reserved: nothing changes
    expect(conn.isAvailable()).toBe(false);
    conn.unreserve(a);
    expect(conn.isAvailable()).toBe(true);
    conn.unreserve(b);
    expect(conn.state).toBe("IDLE");
    // Two exchanges under way fill it too.
    const responses = await Promise.all([
      conn.handleRequest(get(server)),
      conn.handleRequest(get(server)),
    ]);
    expect(conn.isAvailable()).toBe(false);
    expect(conn.state).toBe("ACTIVE");
    expect(conn.hasExpired()).toBe(false);
    for (const r of responses) await r.read();
    expect(conn.isAvailable()).toBe(true);
    expect(conn.requestCount).toBe(2);
    await conn.close();
    expect(conn.state).toBe("CLOSED");
    expect(conn.maxConcurrentStreams).toBe(0);
    expect(conn.isAvailable()).toBe(false);
    expect(conn.isIdle()).toBe(false);
    expect(conn.isClosed()).toBe(true);
    expect(conn.hasExpired()).toBe(true);
    expect(String(conn)).toBe(
      `<HTTP2Connection ['http://127.0.0.1:${server.port}', HTTP/2, CLOSED, Request Count: 2]>`,
    );
    await conn.close(); // again: nothing to do
  });

  it("keepaliveExpiry: expired once idle that long, not while a request holds it", async () => {
    const server = await h2c();
    await using conn = await connect(server, { keepaliveExpiry: 0 });
    expect(conn.hasExpired()).toBe(false); // no request yet: no clock
    const r = await conn.handleRequest(get(server));
    expect(conn.hasExpired()).toBe(false);
    await r.read();
    await vi.waitFor(() => expect(conn.hasExpired()).toBe(true));
    // A reservation stops the clock.
    const req = get(server);
    expect(conn.tryReserve(req)).toBe(true);
    expect(conn.hasExpired()).toBe(false);
    conn.unreserve(req);
    await vi.waitFor(() => expect(conn.hasExpired()).toBe(true));
    await using long = await connect(server, { keepaliveExpiry: 600_000 });
    await (await long.handleRequest(get(server))).read();
    expect(long.hasExpired()).toBe(false);
    await using never = await connect(server);
    await (await never.handleRequest(get(server))).read();
    expect(never.hasExpired()).toBe(false);
  });

  it("refuses a request for another origin, and one whose signal is aborted, sending nothing", async () => {
    const server = await h2c();
    await using conn = await connect(server);
    const other = await failure(conn.handleRequest(new Request("GET", "http://other.test/")));
    expect(other).toBeInstanceOf(ConnectionNotAvailable);
    expect(other.message).toBe(
      `Attempted to send request to http://other.test:80 on connection to http://127.0.0.1:${server.port}`,
    );
    const reason = new Error("already");
    const aborted = await failure(
      conn.handleRequest(get(server, "/", { signal: AbortSignal.abort(reason) })),
    );
    expect(aborted).toBe(reason);
    expect(server.streams).toBe(0);
    expect(conn.requestCount).toBe(0);
    expect(conn.state).toBe("IDLE");
  });

  it("opening with an aborted signal: ConnectionNotAvailable, the socket closed", async () => {
    const server = await h2c();
    const error = await failure(connect(server, { signal: AbortSignal.abort() }));
    expect(error).toBeInstanceOf(ConnectionNotAvailable);
    expect(error.message).toBe("the connection was closed while opening");
  });
});

describe("opening and closing", () => {
  it("a server that sends no SETTINGS within the read timeout: ReadTimeout, with its message", async () => {
    const server = await startSilentH2Server({ tls: false });
    servers.push(server);
    const stream = await new NodeBackend().connectTcp("127.0.0.1", server.port);
    const error = await failure(
      HTTP2Connection.open(
        new Origin("http", "127.0.0.1", server.port),
        stream,
        get(server, "/", { extensions: { timeout: { read: 100 } } }),
      ),
    );
    expect(error).toBeInstanceOf(ReadTimeout);
    expect(error.message).toBe("the server sent no SETTINGS within 100 ms");
  });

  it("a signal aborted while waiting for SETTINGS: ConnectionNotAvailable, with its message", async () => {
    const server = await startSilentH2Server({ tls: false });
    servers.push(server);
    const stream = await new NodeBackend().connectTcp("127.0.0.1", server.port);
    const controller = new AbortController();
    const opening = HTTP2Connection.open(
      new Origin("http", "127.0.0.1", server.port),
      stream,
      get(server),
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 20);
    const error = await failure(opening);
    expect(error).toBeInstanceOf(ConnectionNotAvailable);
    expect(error.message).toBe("the connection was closed while opening");
  });

  it("await using closes the connection at the end of its block", async () => {
    const server = await h2c();
    let outer: HTTP2Connection | undefined;
    {
      await using conn = await connect(server);
      outer = conn;
      expect(conn.isClosed()).toBe(false);
    }
    expect(outer.isClosed()).toBe(true);
  });

  it("closing an idle connection says GOAWAY to the server first", async () => {
    const goaways: number[] = [];
    const server = await h2c({
      handler: (stream) => {
        stream.session?.once("goaway", (code: number) => goaways.push(code));
        stream.respond({ ":status": 200 });
        stream.end("ok");
      },
    });
    const conn = await connect(server);
    await (await conn.handleRequest(get(server))).read();
    await conn.close();
    await vi.waitFor(() => expect(goaways).toEqual([0]));
    expect(conn.isClosed()).toBe(true);
  });

  it("closing with a response unread fails its body; the connection is closed", async () => {
    const server = await h2c({
      handler: (stream) => {
        stream.respond({ ":status": 200 });
        stream.write("part");
      },
    });
    const conn = await connect(server);
    const r = await conn.handleRequest(get(server));
    expect(conn.state).toBe("ACTIVE");
    await conn.close();
    expect(conn.state).toBe("CLOSED");
    const error = await failure(r.read());
    expect(error).toBeInstanceOf(Error);
  });
});

/** An h2c server that answers every request 200 "ok"; `session()`: the last request's session. */
async function okServer() {
  let session: import("node:http2").Http2Session | undefined;
  const server = await h2c({
    handler: (stream) => {
      session = stream.session;
      stream.respond({ ":status": 200 });
      stream.end("ok");
    },
  });
  return { server, session: () => session! };
}

describe("GOAWAY", () => {
  it("an idle connection that gets a GOAWAY closes; a busy one finishes its streams first", async () => {
    let session: import("node:http2").Http2Session | undefined;
    const server = await h2c({
      handler: (stream, headers) => {
        session = stream.session;
        stream.respond({ ":status": 200 });
        if (headers[":path"] === "/hold") {
          stream.write("held,");
          stream.session?.goaway(0, stream.id);
          setTimeout(() => stream.end("done"), 20);
        } else stream.end("ok");
      },
    });
    const idle = await connect(server);
    await (await idle.handleRequest(get(server))).read();
    session!.goaway(0, 1);
    await vi.waitFor(() => expect(idle.isClosed()).toBe(true));
    expect(idle.state).toBe("CLOSED");

    await using busy = await connect(server);
    const r = await busy.handleRequest(get(server, "/hold"));
    await vi.waitFor(() => expect(busy.isAvailable()).toBe(false));
    expect(busy.isClosed()).toBe(false);
    expect(busy.hasExpired()).toBe(false);
    const refused = await failure(busy.handleRequest(get(server)));
    expect(refused).toBeInstanceOf(ConnectionNotAvailable);
    expect(refused.message).toBe("the HTTP/2 connection is closing");
    expect(busy.tryReserve(get(server))).toBe(false);
    expect(text(await r.read())).toBe("held,done");
    await vi.waitFor(() => expect(busy.isClosed()).toBe(true));
  });

  it("a reserved place during a GOAWAY: not available, expired, and given back", async () => {
    const { server, session } = await okServer();
    const conn = await connect(server);
    await (await conn.handleRequest(get(server))).read();
    const req = get(server);
    expect(conn.tryReserve(req)).toBe(true);
    session().goaway(0, 1);
    await vi.waitFor(() => expect(conn.isAvailable()).toBe(false));
    expect(conn.hasExpired()).toBe(true);
    conn.unreserve(req);
    await vi.waitFor(() => expect(conn.isClosed()).toBe(true));
  });

  it("the errors: unprocessed (retry, errorCode) above the last stream id, the code's name at or below", async () => {
    const held: Array<import("node:http2").ServerHttp2Stream> = [];
    const server = await h2c({
      handler: (stream, headers) => {
        held.push(stream);
        const path = String(headers[":path"]);
        if (path === "/away/1") stream.session?.goaway(1, stream.id);
        if (path === "/away/255") stream.session?.goaway(0xff, stream.id);
      },
    });
    {
      await using conn = await connect(server);
      const error = await failure(conn.handleRequest(get(server, "/away/1")));
      expect(error).toBeInstanceOf(RemoteProtocolError);
      expect(error.message).toBe("the server closed the connection (GOAWAY PROTOCOL_ERROR)");
      expect(error.errorCode).toBe(1);
      expect(error.retry).toBeUndefined();
      // node:http2's session error is kept as the cause.
      expect((error.cause as { code: string }).code).toBe("ERR_HTTP2_SESSION_ERROR");
    }
    {
      await using conn = await connect(server);
      const error = await failure(conn.handleRequest(get(server, "/away/255")));
      expect(error.message).toBe("the server closed the connection (GOAWAY 0xff)");
      expect(error.errorCode).toBe(0xff);
    }
  });

  it("a request above the last stream id: 'went away' with the code and id, retry unprocessed", async () => {
    const server = await h2c({
      handler: (stream, headers) => {
        if (headers[":path"] === "/first") return; // held
        // Processed only the first (stream 1); this one (stream 3) was not.
        stream.session?.goaway(0, 1);
      },
    });
    await using conn = await connect(server);
    const first = conn.handleRequest(get(server, "/first"));
    first.catch(() => {});
    await vi.waitFor(() => expect(server.streams).toBe(1));
    const error = await failure(conn.handleRequest(get(server, "/second")));
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error.message).toBe(
      "the server went away (GOAWAY NO_ERROR, last stream 1) before it processed the request",
    );
    expect(error.retry).toBe("unprocessed");
    expect(error.errorCode).toBe(0);
    // Failed by the GOAWAY itself: no error of node:http2's behind it.
    expect(error.cause).toBeUndefined();
  });

  it("a response that ended before a GOAWAY that leaves its stream out is still read whole", async () => {
    const { server, session } = await okServer();
    await using conn = await connect(server);
    // Stream 1, read; stream 3, answered but not read yet.
    expect(text(await (await conn.handleRequest(get(server))).read())).toBe("ok");
    const r = await conn.handleRequest(get(server));
    // Only stream 1 processed, says the server now: stream 3 had its whole answer already.
    session().goaway(0, 1);
    await vi.waitFor(() => expect(conn.isAvailable()).toBe(false));
    expect(text(await r.read())).toBe("ok");
    await vi.waitFor(() => expect(conn.isClosed()).toBe(true));
  });

  it("a GOAWAY while a request's trace holds it before its stream opens: it is not sent, ConnectionNotAvailable", async () => {
    const { server, session } = await okServer();
    await using conn = await connect(server);
    await (await conn.handleRequest(get(server))).read();
    const error = await failure(
      conn.handleRequest(
        get(server, "/", {
          extensions: {
            trace: async (name) => {
              if (name !== "http2.send_request_headers.started") return;
              session().goaway(0, 1);
              await vi.waitFor(() => expect(conn.isAvailable()).toBe(false));
            },
          },
        }),
      ),
    );
    expect(error).toBeInstanceOf(ConnectionNotAvailable);
    expect(error.message).toMatch(/^no new stream on this connection: ./);
    expect(server.streams).toBe(1);
  });
});

describe("a stream the server ends early", () => {
  it("a GOAWAY NO_ERROR that covers the stream, then a reset of it: the reset's error", async () => {
    const server = await h2c({
      handler: (stream) => {
        stream.respond({ ":status": 200 }, { waitForTrailers: true });
        stream.session?.goaway(0, stream.id);
        stream.write("part", () => setTimeout(() => stream.close(2), 20));
      },
    });
    await using conn = await connect(server);
    const r = await conn.handleRequest(get(server));
    const error = await failure(r.read());
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error.message).toBe("the server reset the stream (RST_STREAM INTERNAL_ERROR)");
    expect(error.errorCode).toBe(2);
  });

  it("RST_STREAM REFUSED_STREAM: retry unprocessed; an unknown code by its value", async () => {
    const server = await h2c({
      handler: (stream, headers) => {
        const code = Number(String(headers[":path"]).slice(1));
        stream.close(code);
      },
    });
    await using conn = await connect(server);
    const refused = await failure(conn.handleRequest(get(server, "/7")));
    expect(refused).toBeInstanceOf(RemoteProtocolError);
    expect(refused.message).toBe("the server reset the stream (RST_STREAM REFUSED_STREAM)");
    expect(refused.errorCode).toBe(7);
    expect(refused.retry).toBe("unprocessed");
    // node:http2's stream error is kept as the cause.
    expect((refused.cause as { code: string }).code).toBe("ERR_HTTP2_STREAM_ERROR");
    const internal = await failure(conn.handleRequest(get(server, "/2")));
    expect(internal.message).toBe("the server reset the stream (RST_STREAM INTERNAL_ERROR)");
    expect((internal.cause as { code: string }).code).toBe("ERR_HTTP2_STREAM_ERROR");
    const odd = await failure(conn.handleRequest(get(server, "/26")));
    expect(odd.message).toBe("the server reset the stream (RST_STREAM 0x1a)");
    expect(odd.errorCode).toBe(26);
    expect(odd.retry).toBeUndefined();
    const named = await failure(conn.handleRequest(get(server, "/13")));
    expect(named.message).toBe("the server reset the stream (RST_STREAM HTTP_1_1_REQUIRED)");
    // Closed with NO_ERROR before any head.
    const early = await failure(conn.handleRequest(get(server, "/0")));
    expect(early).toBeInstanceOf(RemoteProtocolError);
    expect(early.message).toBe("the server closed the stream before the response ended");
    expect(early.errorCode).toBeUndefined();
    expect(early.cause).toBeUndefined();
    expect(conn.isAvailable()).toBe(true);
    expect(conn.state).toBe("IDLE");
  });

  it("a reset with NO_ERROR mid-body says how many bytes came", async () => {
    const server = await h2c({
      handler: (stream) => {
        stream.respond({ ":status": 200 }, { waitForTrailers: true });
        stream.write("abcde", () => setTimeout(() => stream.close(0), 20));
      },
    });
    await using conn = await connect(server);
    const r = await conn.handleRequest(get(server));
    const error = await failure(r.read());
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error.message).toBe(
      "the server reset the stream (RST_STREAM NO_ERROR) before the response ended (after 5 bytes of the body)",
    );
    expect(error.errorCode).toBe(0);
  });

  it("a reset with NO_ERROR after the whole declared Content-Length: the response is whole", async () => {
    const server = await h2c({
      handler: (stream) => {
        // waitForTrailers holds END_STREAM back, so close(NO_ERROR) sends RST_STREAM alone.
        stream.respond({ ":status": 200, "content-length": "12" }, { waitForTrailers: true });
        stream.write("abcdefghijkl", () => setTimeout(() => stream.close(0), 20));
      },
    });
    await using conn = await connect(server);
    const r = await conn.handleRequest(get(server));
    expect(text(await r.read())).toBe("abcdefghijkl");
    expect(conn.state).toBe("IDLE");
  });

  it("Content-Length is not a body's length for HEAD and 304", async () => {
    const server = await h2c({
      handler: (stream, headers) => {
        const status = Number(String(headers[":path"]).slice(1));
        stream.respond({ ":status": status, "content-length": "10" });
        stream.end();
      },
    });
    await using conn = await connect(server);
    for (const [method, path] of [
      ["HEAD", "/200"],
      ["GET", "/304"],
    ] as const) {
      const r = await conn.handleRequest(
        new Request(method, `http://127.0.0.1:${server.port}${path}`),
      );
      expect(await r.read()).toHaveLength(0);
      expect(r.headers).toContainEqual(["content-length", "10"]);
    }
  });

  it("a connection that breaks: ReadError; retry reused-connection only on a reused one", async () => {
    const server = await h2c({
      handler: (stream, headers, _body, origin) => {
        if (headers[":path"] === "/drop") setTimeout(() => origin.dropConnections(), 20);
        else {
          stream.respond({ ":status": 200 });
          stream.end("ok");
        }
      },
    });
    {
      await using conn = await connect(server);
      const error = await failure(conn.handleRequest(get(server, "/drop")));
      expect(error).toBeInstanceOf(ReadError);
      expect(error.code).toBe("ERR_READ");
      expect(error.message).toBe("the HTTP/2 connection broke");
      expect(error.retry).toBeUndefined();
      expect(conn.isClosed()).toBe(true);
      expect(conn.hasExpired()).toBe(true);
    }
    {
      await using conn = await connect(server);
      await (await conn.handleRequest(get(server))).read();
      const error = await failure(conn.handleRequest(get(server, "/drop")));
      expect(error).toBeInstanceOf(ReadError);
      expect(error.retry).toBe("reused-connection");
    }
    {
      // Reused, but a byte of its response came: not retried.
      const mid = await h2c({
        handler: (stream, headers, _body, origin) => {
          stream.respond({ ":status": 200 });
          if (headers[":path"] === "/drop") {
            stream.write("part", () => setTimeout(() => origin.dropConnections(), 20));
          } else stream.end("ok");
        },
      });
      await using conn = await connect(mid);
      await (await conn.handleRequest(get(mid))).read();
      const r = await conn.handleRequest(get(mid, "/drop"));
      const error = await failure(r.read());
      expect(error).toBeInstanceOf(ReadError);
      expect(error.retry).toBeUndefined();
    }
  });

  it("two requests on a new connection that breaks before any answer: neither is retried", async () => {
    const server = await h2c({ handler: () => {} });
    await using conn = await connect(server);
    const pending = [conn.handleRequest(get(server)), conn.handleRequest(get(server))];
    for (const p of pending) p.catch(() => {});
    await vi.waitFor(() => expect(server.streams).toBe(2));
    server.dropConnections();
    for (const p of pending) {
      const error = await failure(p);
      expect(error).toBeInstanceOf(ReadError);
      expect(error.message).toBe("the HTTP/2 connection broke");
      expect(error.retry).toBeUndefined();
    }
  });
});

describe("aborts", () => {
  it("a body that failed, read after its request was aborted: the abort's reason", async () => {
    const server = await h2c();
    await using conn = await connect(server);
    const controller = new AbortController();
    const r = await conn.handleRequest(get(server, "/rst/100", { signal: controller.signal }));
    // /rst resets the stream 20 ms after its 100 bytes: give it time to come.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const reason = new Error("stopped by the test");
    controller.abort(reason);
    const error = await failure(r.read());
    expect(error).toBe(reason);
  });
});

describe("servers that break HTTP/2", () => {
  it("bytes that are not HTTP/2 before SETTINGS: RemoteProtocolError, the socket closed", async () => {
    const server = await startRawServer((socket) => {
      socket.once("data", () => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n"));
    });
    servers.push(server);
    const error = await failure(connect(server));
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error.message).toBe(
      "the connection closed before the server's SETTINGS arrived: the server broke the HTTP/2 protocol",
    );
    expect((error.cause as { code: string }).code).toBe("ERR_HTTP2_ERROR");
  });

  it("a server that closes before SETTINGS: ReadError without a cause", async () => {
    const server = await startRawServer((socket) => {
      socket.once("data", () => socket.end());
    });
    servers.push(server);
    const error = await failure(connect(server));
    expect(error).toBeInstanceOf(ReadError);
    expect(error.message).toBe("the connection closed before the server's SETTINGS arrived");
    expect(error.cause).toBeUndefined();
  });
});

describe("timeouts, per stream", () => {
  it("a body that stops coming: ReadTimeout with its message; a head not waited for is not timed", async () => {
    const server = await h2c({
      handler: (stream, headers) => {
        stream.respond({ ":status": 200 });
        if (headers[":path"] === "/stall") stream.write("some");
        else stream.end("whole");
      },
    });
    await using conn = await connect(server);
    const timeout = { timeout: { read: 100 } };
    const whole = await conn.handleRequest(get(server, "/", { extensions: timeout }));
    // Nobody reads for a while: nothing is timed.
    await new Promise((r) => setTimeout(r, 300));
    expect(text(await whole.read())).toBe("whole");
    const stalled = await conn.handleRequest(get(server, "/stall", { extensions: timeout }));
    const error = await failure(stalled.read());
    expect(error).toBeInstanceOf(ReadTimeout);
    expect(error.message).toBe("no data arrived within 100 ms");
    expect(conn.state).toBe("IDLE");
  });

  it("a chunk read, then nobody reading for longer than the read timeout: not timed", async () => {
    let rest: (() => void) | undefined;
    const server = await h2c({
      handler: (stream) => {
        stream.respond({ ":status": 200 });
        stream.write("first,");
        rest = () => stream.end("rest");
      },
    });
    await using conn = await connect(server);
    const r = await conn.handleRequest(
      get(server, "/", { extensions: { timeout: { read: 100 } } }),
    );
    const chunks = r[Symbol.asyncIterator]();
    expect(text((await chunks.next()).value!)).toBe("first,");
    // The read that got its chunk is over: its timer with it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    rest!();
    expect(text((await chunks.next()).value!)).toBe("rest");
    expect((await chunks.next()).done).toBe(true);
  });

  it("an abort while nobody reads the body resets its stream (CANCEL) at once", async () => {
    const codes: number[] = [];
    const server = await h2c({
      handler: (stream) => {
        stream.on("close", () => codes.push(stream.rstCode));
        stream.respond({ ":status": 200 });
        stream.write("some");
      },
    });
    await using conn = await connect(server);
    const controller = new AbortController();
    const r = await conn.handleRequest(get(server, "/", { signal: controller.signal }));
    const reason = new Error("stopped by the test");
    controller.abort(reason);
    // Before anything reads or closes the response.
    await vi.waitFor(() => expect(codes).toEqual([8]), { timeout: 10_000 });
    expect(await failure(r.read())).toBe(reason);
  });

  it("a head that does not come within the read timeout: ReadTimeout, the stream reset", async () => {
    const server = await h2c({ handler: () => {} });
    await using conn = await connect(server);
    const error = await failure(
      conn.handleRequest(get(server, "/", { extensions: { timeout: { read: 100 } } })),
    );
    expect(error).toBeInstanceOf(ReadTimeout);
    expect(error.message).toBe("no data arrived within 100 ms");
    expect(conn.state).toBe("IDLE");
  });

  it("an upload not taken: WriteTimeout with its message", async () => {
    const server = await h2c({ unreadBodies: true, handler: () => {} });
    await using conn = await connect(server);
    async function* upload() {
      for (let i = 0; i < 64; i++) yield new Uint8Array(64 * 1024);
    }
    const error = await failure(
      conn.handleRequest(
        new Request("PUT", `http://127.0.0.1:${server.port}/`, {
          content: upload(),
          extensions: { timeout: { write: 200 } },
        }),
      ),
    );
    expect(error).toBeInstanceOf(WriteTimeout);
    expect(error.message).toBe("the server did not take our bytes within 200 ms");
  });

  it("the stream reset while the upload waits for window: its reset error, not a WriteError", async () => {
    const server = await h2c({
      unreadBodies: true,
      handler: (stream) => {
        setTimeout(() => stream.close(2), 50);
      },
    });
    await using conn = await connect(server);
    async function* upload() {
      for (let i = 0; i < 64; i++) yield new Uint8Array(64 * 1024);
    }
    const error = await failure(
      conn.handleRequest(
        new Request("PUT", `http://127.0.0.1:${server.port}/`, { content: upload() }),
      ),
    );
    expect(error).not.toBeInstanceOf(WriteError);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error.errorCode).toBe(2);
  });
});

describe("traces", () => {
  it("http2.send_connection_init is traced with the request that opens the connection", async () => {
    const server = await h2c();
    const events: Array<[string, Record<string, unknown>]> = [];
    const request = get(server, "/", {
      extensions: { trace: (name, info) => void events.push([name, info]) },
    });
    const stream = await new NodeBackend().connectTcp("127.0.0.1", server.port);
    await using conn = await HTTP2Connection.open(
      new Origin("http", "127.0.0.1", server.port),
      stream,
      request,
    );
    expect(conn.isIdle()).toBe(true);
    expect(events.map(([name]) => name)).toEqual([
      "http2.send_connection_init.started",
      "http2.send_connection_init.complete",
    ]);
    for (const [, info] of events) expect(info.request).toBe(request);
  });

  it("each exchange's event carries its request; closing the response carries nothing", async () => {
    const server = await h2c();
    await using conn = await connect(server);
    const events: Array<[string, Record<string, unknown>]> = [];
    const request = new Request("POST", `http://127.0.0.1:${server.port}/echo`, {
      content: new TextEncoder().encode("body"),
      extensions: { trace: (name, info) => void events.push([name, info]) },
    });
    const r = await conn.handleRequest(request);
    expect(JSON.parse(text(await r.read())).body).toBe("body");
    await r.close();
    const names = events.map(([name]) => name);
    expect(names).toEqual([
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
    for (const [name, info] of events) {
      if (name.startsWith("http2.response_closed")) expect(info.request).toBeUndefined();
      else expect(info.request).toBe(request);
    }
  });

  it("the connection closed while the request's trace runs: ConnectionNotAvailable, nothing sent", async () => {
    const server = await h2c();
    const conn = await connect(server);
    const error = await failure(
      conn.handleRequest(
        get(server, "/", {
          extensions: {
            trace: async (name) => {
              if (name === "http2.send_request_headers.started") await conn.close();
            },
          },
        }),
      ),
    );
    expect(error).toBeInstanceOf(ConnectionNotAvailable);
    expect(error.message).toMatch(/^no new stream on this connection: ./);
    expect((error.cause as { code: string }).code).toBe("ERR_HTTP2_INVALID_SESSION");
    expect(server.streams).toBe(0);
    expect(conn.isClosed()).toBe(true);
  });

  it("a body that fails is traced http2.receive_response_body.failed with the error", async () => {
    const server = await h2c();
    await using p = pool();
    const events: Array<[string, unknown]> = [];
    const error = await failure(
      p.request("GET", `${server.url}/rst/100`, {
        extensions: { trace: (name, info) => void events.push([name, info]) },
      }),
    );
    expect(error).toBeInstanceOf(RemoteProtocolError);
    const names = events.map(([n]) => n).filter((n) => n.startsWith("http2.receive_response"));
    expect(names).toEqual([
      "http2.receive_response_headers.started",
      "http2.receive_response_headers.complete",
      "http2.receive_response_body.started",
      "http2.receive_response_body.failed",
    ]);
    const failed = events.find(([n]) => n === "http2.receive_response_body.failed")!;
    expect((failed[1] as { exception: unknown }).exception).toBe(error);
  });

  it("an empty body goes with the head (END_STREAM): no body is traced", async () => {
    const server = await h2c();
    await using p = pool();
    for (const content of [new Uint8Array(0), undefined]) {
      const names: string[] = [];
      const r = await p.request("POST", `${server.url}/echo`, {
        ...(content === undefined ? {} : { content }),
        extensions: { trace: (name) => void names.push(name) },
      });
      expect(JSON.parse(text(r.content)).body).toBe("");
      expect(names.filter((n) => n.startsWith("http2.send_request"))).toEqual([
        "http2.send_request_headers.started",
        "http2.send_request_headers.complete",
      ]);
    }
    const names: string[] = [];
    const r = await p.request("POST", `${server.url}/echo`, {
      content: new Uint8Array([0x78]),
      extensions: { trace: (name) => void names.push(name) },
    });
    expect(JSON.parse(text(r.content)).body).toBe("x");
    expect(names).toContain("http2.send_request_body.complete");
  });

  it("a request the server answers before taking its body: the body's trace ends, the response is read", async () => {
    const server = await h2c({
      unreadBodies: true,
      handler: (stream) => {
        stream.respond({ ":status": 413 });
        stream.end("too large");
      },
    });
    await using p = pool();
    const names: string[] = [];
    async function* endless() {
      for (;;) yield new Uint8Array(16 * 1024);
    }
    const r = await p.request("POST", `${server.url}/`, {
      content: endless(),
      extensions: { trace: (name) => void names.push(name) },
    });
    expect(r.status).toBe(413);
    expect(text(r.content)).toBe("too large");
    expect(names.filter((n) => n.startsWith("http2.send_request_body"))).toEqual([
      "http2.send_request_body.started",
      "http2.send_request_body.complete",
    ]);
  });
});

describe("a NetworkStream that is not a Node socket (the bridge)", () => {
  /** A backend whose streams are plain objects over NodeBackend's (bridged by HTTP2Connection). */
  function wrapped(spy: {
    closed: number;
    failReads?: boolean;
    failWrites?: boolean;
    failClose?: boolean;
  }) {
    const node = new NodeBackend();
    const wrap = (s: NetworkStream): NetworkStream => ({
      read: (n, t) =>
        spy.failReads ? Promise.reject(new ReadError("read failed by the test")) : s.read(n, t),
      write: (d, t) =>
        spy.failWrites ? Promise.reject(new Error("write failed by the test")) : s.write(d, t),
      close: () => {
        spy.closed++;
        // The socket closes all the same; only the promise says it failed.
        if (spy.failClose) {
          return s.close().then(() => Promise.reject(new Error("close failed by the test")));
        }
        return s.close();
      },
      startTls: async (...args) => wrap(await s.startTls(...args)),
      getExtraInfo: (k) => s.getExtraInfo(k),
    });
    const backend: NetworkBackend = {
      connectTcp: async (...args) => wrap(await node.connectTcp(...args)),
      connectUnixSocket: async (...args) => wrap(await node.connectUnixSocket(...args)),
      sleep: (ms) => node.sleep(ms),
    };
    return backend;
  }

  it("a body larger than the Duplex's buffer comes whole; closing closes the stream", async () => {
    const server = await h2c();
    const spy = { closed: 0 };
    const p = pool({ networkBackend: wrapped(spy) });
    const r = await p.request("GET", `${server.url}/bytes/${2 * 1024 * 1024}`);
    expect(r.content).toHaveLength(2 * 1024 * 1024);
    expect(r.content.every((b) => b === 0x61)).toBe(true);
    await p.close();
    expect(spy.closed).toBe(1);
  });

  it("a read that fails breaks the connection: ReadError", async () => {
    const server = await h2c({ handler: () => {} });
    const spy = { closed: 0, failReads: false };
    await using p = pool({ networkBackend: wrapped(spy) });
    const pending = p.request("GET", `${server.url}/`);
    await vi.waitFor(() => expect(server.streams).toBe(1));
    spy.failReads = true;
    // The server's end goes: the pending read ends, with the test's failure.
    server.dropConnections();
    const error = await failure(pending);
    expect(error).toBeInstanceOf(ReadError);
  });

  it("a server that closes before SETTINGS: the end comes through, ReadError; the stream is closed", async () => {
    const server = await startRawServer((socket) => {
      socket.once("data", () => socket.end());
    });
    servers.push(server);
    const spy = { closed: 0 };
    const stream = await wrapped(spy).connectTcp("127.0.0.1", server.port);
    const error = await failure(connect(server, {}, stream));
    expect(error).toBeInstanceOf(ReadError);
    expect(error.message).toBe("the connection closed before the server's SETTINGS arrived");
    expect(spy.closed).toBe(1);
  });

  for (const failClose of [false, true]) {
    it(`a read that fails mid-body: ReadError, its cause the read's error${failClose ? " (and the stream's close fails too)" : ""}`, async () => {
      let more: (() => void) | undefined;
      const server = await h2c({
        handler: (stream) => {
          stream.respond({ ":status": 200 });
          stream.write("part");
          more = () => stream.write("more");
        },
      });
      const spy = { closed: 0, failReads: false, failClose };
      const stream = await wrapped(spy).connectTcp("127.0.0.1", server.port);
      const conn = await connect(server, {}, stream);
      // A read timeout, so that a Duplex whose destroy never ends fails here, not hangs.
      const r = await conn.handleRequest(
        get(server, "/", { extensions: { timeout: { read: 5000 } } }),
      );
      // The read under way takes what comes next; the one after it fails.
      spy.failReads = true;
      more!();
      const error = await failure(r.read());
      expect(error).toBeInstanceOf(ReadError);
      expect(error.message).toBe("the HTTP/2 connection broke");
      expect((error.cause as Error).message).toBe("read failed by the test");
      await vi.waitFor(() => expect(conn.isClosed()).toBe(true));
      await conn.close();
      expect(spy.closed).toBe(1);
    });
  }

  it("a write that fails: the request fails, and the pool goes on", async () => {
    const server = await h2c();
    const spy = { closed: 0, failWrites: false };
    await using p = pool({ networkBackend: wrapped(spy) });
    expect((await p.request("GET", `${server.url}/`)).status).toBe(200);
    spy.failWrites = true;
    const error = await failure(p.request("GET", `${server.url}/`));
    expect(error).toBeInstanceOf(Error);
    spy.failWrites = false;
    expect((await p.request("GET", `${server.url}/`)).status).toBe(200);
  });
});

/** An h2c server that answers 200 and "part", then holds the stream; `codes`: each stream's RST code once closed. */
async function answering(options: { unreadBodies?: boolean } = {}) {
  const codes: number[] = [];
  const server = await h2c({
    ...options,
    handler: (stream) => {
      stream.on("close", () => codes.push(stream.rstCode));
      stream.respond({ ":status": 200 });
      stream.write("part");
    },
  });
  return { server, codes };
}

describe("uploads (the request body)", () => {
  it("a whole response, then RST_STREAM NO_ERROR while the upload waits for window (RFC 9113 §8.1): the rest is not sent, the source is closed", async () => {
    const server = await h2c({
      unreadBodies: true,
      handler: (stream) => {
        stream.respond({ ":status": 200 });
        stream.end("ok");
        stream.close(0);
      },
    });
    await using conn = await connect(server);
    let pulled = 0;
    let closed = false;
    async function* upload() {
      try {
        for (let i = 0; i < 200; i++) {
          pulled++;
          yield new Uint8Array(64 * 1024);
        }
      } finally {
        closed = true;
      }
    }
    const r = await conn.handleRequest(
      new Request("POST", `http://127.0.0.1:${server.port}/`, {
        content: upload(),
        extensions: { timeout: { read: 5000 } },
      }),
    );
    expect(r.status).toBe(200);
    expect(new TextDecoder().decode(await r.read())).toBe("ok");
    await r.close();
    await vi.waitFor(() => expect(closed).toBe(true));
    // The server's window (64 KiB) took at most a couple of chunks.
    expect(pulled).toBeLessThan(5);
    expect(conn.isAvailable()).toBe(true);
    const again = await conn.handleRequest(get(server));
    expect(new TextDecoder().decode(await again.read())).toBe("ok");
  });

  it("a body source that throws after the head came: the body's read fails with its error, the stream reset", async () => {
    const { server, codes } = await answering({ unreadBodies: true });
    await using conn = await connect(server);
    let breakSource: (() => void) | undefined;
    const broken = new Promise<void>((resolve) => {
      breakSource = resolve;
    });
    const cause = new Error("the source broke");
    async function* upload() {
      yield new TextEncoder().encode("first");
      await broken;
      throw cause;
    }
    // A read timeout, so that a body the server never ends fails here instead of hanging.
    const r = await conn.handleRequest(
      new Request("POST", `http://127.0.0.1:${server.port}/`, {
        content: upload(),
        extensions: { timeout: { read: 5000 } },
      }),
    );
    expect(r.status).toBe(200);
    breakSource!();
    expect(await failure(r.read())).toBe(cause);
    await vi.waitFor(() => expect(codes).toEqual([8]));
  });

  /** A body source that yields "first", waits for `open()`, then yields chunks forever; `ended` once closed. */
  function gated(size = 16 * 1024) {
    let open: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const state = { pulled: 0, ended: false, open: () => open!() };
    async function* source() {
      try {
        yield new TextEncoder().encode("first");
        await gate;
        for (;;) {
          state.pulled++;
          yield new Uint8Array(size);
        }
      } finally {
        state.ended = true;
      }
    }
    return { state, source: source() };
  }

  it("an abort while the source is between chunks: the next chunk is not sent, the source is closed", async () => {
    const { server, codes } = await answering({ unreadBodies: true });
    await using conn = await connect(server);
    const { state, source } = gated(100);
    const controller = new AbortController();
    const r = await conn.handleRequest(
      new Request("POST", `http://127.0.0.1:${server.port}/`, {
        content: source,
        signal: controller.signal,
      }),
    );
    const reason = new Error("stopped by the test");
    controller.abort(reason);
    // The server heard our CANCEL: our side of the stream has closed before.
    await vi.waitFor(() => expect(codes).toEqual([8]), { timeout: 10_000 });
    state.open();
    // One chunk taken after the gate, then the loop sees the failure and stops.
    await vi.waitFor(() => expect(state.ended).toBe(true), { timeout: 10_000 });
    expect(state.pulled).toBe(1);
    expect(await failure(r.read())).toBe(reason);
  });

  it("a response that ended while the source is between chunks: the rest is not sent, the source is closed", async () => {
    const server = await h2c({
      unreadBodies: true,
      handler: (stream) => {
        stream.respond({ ":status": 200 });
        stream.end("done");
      },
    });
    await using conn = await connect(server);
    const { state, source } = gated();
    const r = await conn.handleRequest(
      new Request("POST", `http://127.0.0.1:${server.port}/`, { content: source }),
    );
    expect(text(await r.read())).toBe("done");
    state.open();
    await vi.waitFor(() => expect(state.ended).toBe(true), { timeout: 10_000 });
    expect(state.pulled).toBe(1);
  });

  it("the stream reset while the upload waits for window: the source is closed", async () => {
    let reset: (() => void) | undefined;
    const server = await h2c({
      unreadBodies: true,
      handler: (stream) => {
        stream.respond({ ":status": 200 });
        stream.write("part");
        reset = () => stream.close(2);
      },
    });
    await using conn = await connect(server);
    // More than the stream's window (64 KiB, the server reads nothing): the write waits.
    const { state, source } = gated(128 * 1024);
    const r = await conn.handleRequest(
      new Request("POST", `http://127.0.0.1:${server.port}/`, { content: source }),
    );
    state.open();
    await vi.waitFor(() => expect(state.pulled).toBe(1), { timeout: 10_000 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(state.pulled).toBe(1);
    reset!();
    await vi.waitFor(() => expect(state.ended).toBe(true), { timeout: 10_000 });
    const error = await failure(r.read());
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error.errorCode).toBe(2);
  });

  it("a source's error that carries a retry hint keeps it on a reused connection", async () => {
    const ok = await h2c();
    await using conn = await connect(ok);
    expect((await (await conn.handleRequest(get(ok))).read()).length).toBeGreaterThan(0);
    async function* broken() {
      yield new TextEncoder().encode("first");
      throw new ReadError("the source's own connection broke", { retry: "unprocessed" });
    }
    const error = await failure(
      conn.handleRequest(
        new Request("POST", `http://127.0.0.1:${ok.port}/`, { content: broken() }),
      ),
    );
    expect(error).toBeInstanceOf(ReadError);
    expect(error.message).toBe("the source's own connection broke");
    expect(error.retry).toBe("unprocessed");
  });
});

describe("reading and closing the response", () => {
  it("closing a response before its end resets the stream with CANCEL", async () => {
    const { server, codes } = await answering();
    await using conn = await connect(server);
    const r = await conn.handleRequest(get(server));
    const chunks = r[Symbol.asyncIterator]();
    expect(text((await chunks.next()).value!)).toBe("part");
    await r.close();
    await vi.waitFor(() => expect(codes).toEqual([8]), { timeout: 10_000 });
    expect(conn.state).toBe("IDLE");
  });

  it("the last chunk read after the end came: the next read is the end", async () => {
    const server = await h2c({
      handler: (stream) => {
        stream.respond({ ":status": 200 }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "x-done": "yes" }));
        stream.end("whole");
      },
    });
    await using conn = await connect(server);
    const r = await conn.handleRequest(get(server));
    // HTTP/2 has no reason phrase (httpcore's is empty too).
    expect(r.extensions.reasonPhrase).toBe("");
    // The trailers come after every byte of the body: then the end is there too.
    await vi.waitFor(() => expect(r.extensions.trailers).toEqual([["x-done", "yes"]]), {
      timeout: 10_000,
    });
    const chunks = r[Symbol.asyncIterator]();
    expect(text((await chunks.next()).value!)).toBe("whole");
    // node:http2 says 'end' on the next tick, when nobody waits for a chunk.
    await new Promise((resolve) => setImmediate(resolve));
    expect((await chunks.next()).done).toBe(true);
  });
});

describe("the first failure is the one reported", () => {
  it("a stream reset, then a GOAWAY that leaves it out: the body fails with the reset's error", async () => {
    let session: import("node:http2").Http2Session | undefined;
    let reset: Promise<void> | undefined;
    const server = await h2c({
      handler: async (stream, headers) => {
        session = stream.session;
        if (headers[":path"] === "/reset") {
          // waitForTrailers: closing the stream sends no END_STREAM before the reset.
          stream.respond({ ":status": 200 }, { waitForTrailers: true });
          reset = new Promise((resolve) => stream.on("close", resolve));
          stream.write("part", () => stream.close(2));
        } else {
          stream.respond({ ":status": 200 });
          await reset;
          stream.end("ok");
        }
      },
    });
    await using conn = await connect(server);
    // Stream 1.
    expect(text(await (await conn.handleRequest(get(server))).read())).toBe("ok");
    // Stream 3.
    const r = await conn.handleRequest(get(server, "/reset"));
    // A response sent after the reset went: when it is read, the reset has been heard.
    expect(text(await (await conn.handleRequest(get(server))).read())).toBe("ok");
    // Stream 3 was not processed, says the server now (only stream 1, at or below the last
    // id): too late, it failed already.
    session!.goaway(0, 1);
    await vi.waitFor(() => expect(conn.isAvailable()).toBe(false));
    const error = await failure(r.read());
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error.message).toBe("the server reset the stream (RST_STREAM INTERNAL_ERROR)");
    expect(error.errorCode).toBe(2);
  });
});
