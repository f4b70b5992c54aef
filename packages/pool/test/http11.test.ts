// HTTP11Connection, PrefixedStream and ExtraInfoStream over scripted in-memory streams
// (MockStream): the keep-alive hint, the version names, the write coalescing limit, and the
// streams handed out with responses.
import { describe, expect, it } from "vitest";
import {
  ExtraInfoStream,
  HTTP11Connection,
  LocalProtocolError,
  MockBackend,
  MockStream,
  type NetworkStream,
  Origin,
  PrefixedStream,
  RemoteProtocolError,
  Request,
  WriteError,
  WriteScheduler,
} from "../src/index.js";

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const origin = new Origin("http", "example.com", 80);
const get = () => new Request("GET", "http://example.com/", { headers: { Host: "example.com" } });

function mockStream(chunks: string[]): MockStream {
  return new MockStream(chunks.map(bytes), new MockBackend([]));
}

// A connection that read one response with the given extra head fields, then was released.
async function afterResponse(
  fields: string,
  options: { keepaliveExpiry?: number } = {},
): Promise<HTTP11Connection> {
  const stream = mockStream([`HTTP/1.1 200 OK\r\n${fields}Content-Length: 2\r\n\r\nok`]);
  const conn = new HTTP11Connection(origin, stream, {
    ...options,
    writeScheduler: new WriteScheduler(),
  });
  const response = await conn.handleRequest(get());
  expect(text(await response.read())).toBe("ok");
  expect(conn.state).toBe("IDLE");
  return conn;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A traced GET over a MockStream replaying `chunks`: the trace's event names, in order.
async function tracedGet(chunks: string[]) {
  const events: string[] = [];
  const conn = new HTTP11Connection(origin, mockStream(chunks));
  const request = new Request("GET", "http://example.com/", {
    headers: { Host: "example.com" },
    extensions: { trace: (name) => void events.push(name) },
  });
  return { events, conn, response: await conn.handleRequest(request) };
}

describe("the server's Keep-Alive hint", () => {
  // timeout=1 less the 1 s margin is 0 ms: expired once any time has passed.
  it.each([
    ["Keep-Alive: timeout=1\r\n"],
    ["keep-alive: timeout=1\r\n"],
    ["kEEP-aLIVE: timeout=1\r\n"],
    ["KEEP-ALIVE: timeout=1\r\n"],
    ["Keep-Alive: TIMEOUT=1\r\n"],
    ['Keep-Alive: timeout = "1"\r\n'],
    ["Keep-Alive: max=5, timeout=1\r\n"],
    ["Keep-Alive: max=5;timeout=1\r\n"],
  ])("%j expires the idle connection", async (fields) => {
    const conn = await afterResponse(fields);
    await sleep(2);
    expect(conn.hasExpired()).toBe(true);
  });

  it.each([
    ["Keep-Alive: timeout=30\r\n"],
    ["Keep-Alive: timeout=10\r\n"],
    ["Keep-Alive: xtimeout=1\r\n"],
    ["Keep-Alive: max=1\r\n"],
    ["Keep-Alivx: timeout=1\r\n"],
    ["Connection: timeout=1\r\n"],
    ["X-Keep-Alive: timeout=1\r\n"],
    ["Keep-Alive2: timeout=1\r\n"],
  ])("%j leaves it usable", async (fields) => {
    const conn = await afterResponse(fields);
    await sleep(2);
    expect(conn.hasExpired()).toBe(false);
    expect(conn.isAvailable()).toBe(true);
  });

  it("the first Keep-Alive field counts", async () => {
    const conn = await afterResponse("Keep-Alive: timeout=1\r\nKeep-Alive: timeout=30\r\n");
    await sleep(2);
    expect(conn.hasExpired()).toBe(true);
  });

  it("each response's own value counts, the same one twice included", async () => {
    for (const [fields, expired] of [
      ["Keep-Alive: timeout=1\r\n", true],
      ["Keep-Alive: timeout=1\r\n", true],
      ["Keep-Alive: timeout=30\r\n", false],
      ["Keep-Alive: timeout=30\r\n", false],
      ["", false],
      ["Keep-Alive: timeout=1\r\n", true],
    ] as const) {
      const conn = await afterResponse(fields);
      await sleep(2);
      expect(conn.hasExpired()).toBe(expired);
    }
  });

  it("the shorter of keepaliveExpiry and the hint counts", async () => {
    let conn = await afterResponse("Keep-Alive: timeout=1\r\n", { keepaliveExpiry: 60_000 });
    await sleep(2);
    expect(conn.hasExpired()).toBe(true);
    conn = await afterResponse("Keep-Alive: timeout=60\r\n", { keepaliveExpiry: 0 });
    await sleep(2);
    expect(conn.hasExpired()).toBe(true);
    conn = await afterResponse("Keep-Alive: timeout=60\r\n", { keepaliveExpiry: 60_000 });
    await sleep(2);
    expect(conn.hasExpired()).toBe(false);
    conn = await afterResponse("", { keepaliveExpiry: 0 });
    await sleep(2);
    expect(conn.hasExpired()).toBe(true);
  });

  it("an expired idle connection refuses a request and closes", async () => {
    const conn = await afterResponse("Keep-Alive: timeout=1\r\n");
    await sleep(2);
    const error = await conn.handleRequest(get()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_CONNECTION_NOT_AVAILABLE" });
    expect(conn.state).toBe("CLOSED");
  });
});

describe("the response's httpVersion and reasonPhrase", () => {
  it.each([
    ["HTTP/1.1 200 OK", "HTTP/1.1", "OK"],
    ["HTTP/1.0 200 Fine", "HTTP/1.0", "Fine"],
    ["HTTP/1.1 204 ", "HTTP/1.1", ""],
  ])("%j", async (line, version, reason) => {
    const stream = mockStream([`${line}\r\nContent-Length: 0\r\n\r\n`]);
    const conn = new HTTP11Connection(origin, stream);
    const response = await conn.handleRequest(get());
    expect(response.extensions.httpVersion).toBe(version);
    expect(response.extensions.reasonPhrase).toBe(reason);
    await response.close();
  });
});

describe("informational responses", () => {
  it("a 100 Continue is skipped; the final response is returned", async () => {
    const stream = mockStream([
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ]);
    const conn = new HTTP11Connection(origin, stream);
    const response = await conn.handleRequest(get());
    expect(response.status).toBe(200);
    expect(text(await response.read())).toBe("ok");
    expect(conn.state).toBe("IDLE");
  });
});

describe("how a request's body is written", () => {
  const post = (size: number) =>
    new Request("POST", "http://example.com/", {
      headers: { Host: "example.com", "Content-Length": String(size) },
      content: new Uint8Array(size).fill(0x61),
    });
  const reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

  it("up to 16 KiB: with the head, in one write", async () => {
    const stream = mockStream([reply]);
    const conn = new HTTP11Connection(origin, stream);
    const response = await conn.handleRequest(post(16 * 1024));
    await response.read();
    expect(stream.written).toHaveLength(1);
    expect(text(stream.written[0]!)).toMatch(/^POST \/ HTTP\/1.1\r\n/);
    expect(stream.written[0]!.length).toBeGreaterThan(16 * 1024);
  });

  it("larger: the head, then the body", async () => {
    const stream = mockStream([reply]);
    const conn = new HTTP11Connection(origin, stream);
    const response = await conn.handleRequest(post(16 * 1024 + 1));
    await response.read();
    expect(stream.written.length).toBeGreaterThan(1);
    expect(text(stream.written[0]!)).toMatch(/\r\n\r\n$/);
    expect(stream.written.slice(1).reduce((n, b) => n + b.length, 0)).toBe(16 * 1024 + 1);
  });

  it("an empty body: the head alone", async () => {
    const stream = mockStream([reply]);
    const conn = new HTTP11Connection(origin, stream);
    const response = await conn.handleRequest(post(0));
    await response.read();
    expect(stream.written.map(text)).toEqual([
      "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n",
    ]);
  });
});

describe("PrefixedStream", () => {
  it("gives the bytes put back first, in pieces no larger than asked, then the stream's", async () => {
    const inner = mockStream(["inner"]);
    const stream = new PrefixedStream(inner, bytes("abcde"));
    expect(stream.getExtraInfo("is_readable")).toBe(true);
    expect(text(await stream.read(3))).toBe("abc");
    expect(stream.getExtraInfo("is_readable")).toBe(true);
    expect(text(await stream.read(3))).toBe("de");
    // None left: the inner stream answers.
    expect(stream.getExtraInfo("is_readable")).toBe(false);
    expect(text(await stream.read(3))).toBe("inn");
    await stream.write(bytes("out"));
    expect(inner.written.map(text)).toEqual(["out"]);
    await stream.close();
    expect(inner.closed).toBe(true);
    expect(stream.getExtraInfo("is_readable")).toBe(true);
  });

  it("starts TLS on the stream when nothing is left", async () => {
    const inner = mockStream([]);
    const stream = new PrefixedStream(inner, new Uint8Array(0));
    expect(await stream.startTls({}, "example.com")).toBe(inner);
    expect(inner.tls).toBe(true);
  });

  it("refuses TLS while bytes are left: RemoteProtocolError, the stream closed", async () => {
    const inner = mockStream([]);
    const stream = new PrefixedStream(inner, bytes("xy"));
    const error = await stream.startTls({}, "example.com").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error).toMatchObject({ code: "ERR_REMOTE_PROTOCOL" });
    expect((error as Error).message).toMatch(/^2 byte\(s\) arrived after the switch/);
    expect(inner.closed).toBe(true);
    expect(inner.tls).toBe(false);
    // The bytes are dropped with the stream.
    expect(stream.getExtraInfo("is_readable")).toBe(true);
    await expect(stream.read(10)).rejects.toMatchObject({ code: "ERR_READ" });
  });
});

describe("ExtraInfoStream", () => {
  it("answers getExtraInfo from the stream and refuses every other use", async () => {
    const inner: NetworkStream = mockStream(["x"]);
    const stream = new ExtraInfoStream(inner);
    expect(stream.getExtraInfo("is_readable")).toBe(false);
    for (const use of [
      () => stream.read(),
      () => stream.write(),
      () => stream.close(),
      () => stream.startTls(),
    ]) {
      const error = await use().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LocalProtocolError);
      expect((error as Error).message).toMatch(/^cannot (read from|write to|close|start TLS on) /);
    }
    expect(text(await inner.read(10))).toBe("x");
  });
});

describe("HTTP11Connection's states and refusals", () => {
  it("refuses another origin, and a request while one is in flight: ConnectionNotAvailable", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]);
    const conn = new HTTP11Connection(origin, stream);
    expect(conn.state).toBe("NEW");
    const other = new Request("GET", "http://example.org/", { headers: { Host: "example.org" } });
    const wrong = await conn.handleRequest(other).catch((e: unknown) => e);
    expect(wrong).toMatchObject({
      code: "ERR_CONNECTION_NOT_AVAILABLE",
      message:
        "Attempted to send request to http://example.org:80 on connection to http://example.com:80",
    });
    const response = await conn.handleRequest(get());
    expect(conn.state).toBe("ACTIVE");
    expect(conn.info()).toBe("'http://example.com:80', HTTP/1.1, ACTIVE, Request Count: 1");
    const busy = await conn.handleRequest(get()).catch((e: unknown) => e);
    expect(busy).toMatchObject({
      code: "ERR_CONNECTION_NOT_AVAILABLE",
      message: "the connection is ACTIVE",
    });
    await response.read();
    expect(conn.state).toBe("IDLE");
    expect(String(conn)).toBe(
      "<HTTP11Connection ['http://example.com:80', IDLE, Request Count: 1]>",
    );
    await conn.close();
    expect(conn.isClosed()).toBe(true);
    const closed = await conn.handleRequest(get()).catch((e: unknown) => e);
    expect(closed).toMatchObject({ message: "the connection is CLOSED" });
  });

  it("an already aborted request is refused with the signal's reason, nothing written", async () => {
    const stream = mockStream([]);
    const conn = new HTTP11Connection(origin, stream);
    const reason = new Error("stop");
    const request = new Request("GET", "http://example.com/", {
      headers: { Host: "example.com" },
      signal: AbortSignal.abort(reason),
    });
    expect(await conn.handleRequest(request).catch((e: unknown) => e)).toBe(reason);
    expect(stream.written).toHaveLength(0);
    expect(conn.state).toBe("NEW");
  });

  it("a head h11 refuses: LocalProtocolError, nothing written, a new connection idle", async () => {
    const stream = mockStream([]);
    const conn = new HTTP11Connection(origin, stream, { keepaliveExpiry: 0 });
    const request = new Request("GET", "http://example.com/", {
      headers: [
        ["Host", "a"],
        ["Host", "b"],
      ],
    });
    const error = await conn.handleRequest(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalProtocolError);
    expect(error).toMatchObject({ code: "ERR_LOCAL_PROTOCOL" });
    expect(stream.written).toHaveLength(0);
    expect(conn.state).toBe("IDLE");
    expect(conn.requestCount).toBe(0);
    // The expiry clock started: keepaliveExpiry 0 has it expired.
    await sleep(2);
    expect(conn.hasExpired()).toBe(true);
  });

  it("tryReserve holds the one place until unreserve by the same request", () => {
    const conn = new HTTP11Connection(origin, mockStream([]));
    const a = get();
    const b = get();
    expect(conn.tryReserve(a)).toBe(true);
    expect(conn.tryReserve(b)).toBe(false);
    conn.unreserve(b);
    expect(conn.tryReserve(b)).toBe(false);
    conn.unreserve(a);
    expect(conn.tryReserve(b)).toBe(true);
  });

  it("a response closed before its body was read closes the connection", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "ok"]);
    const conn = new HTTP11Connection(origin, stream);
    const response = await conn.handleRequest(get());
    await response.close();
    expect(conn.state).toBe("CLOSED");
    expect(stream.closed).toBe(true);
  });

  it("bytes behind the response close the connection when it ends", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokjunk"]);
    const conn = new HTTP11Connection(origin, stream);
    const response = await conn.handleRequest(get());
    expect(text(await response.read())).toBe("ok");
    expect(conn.state).toBe("CLOSED");
    expect(stream.closed).toBe(true);
  });

  it("a chunked body's trailers are in extensions.trailers once it is read", async () => {
    const stream = mockStream([
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 7\r\n\r\n",
    ]);
    const conn = new HTTP11Connection(origin, stream);
    const response = await conn.handleRequest(get());
    expect(response.extensions.trailers).toBeUndefined();
    expect(text(await response.read())).toBe("ok");
    expect(response.extensions.trailers).toEqual([["X-Sum", "7"]]);
    expect(conn.state).toBe("IDLE");
  });

  it("without trailers, extensions.trailers is empty once read", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]);
    const conn = new HTTP11Connection(origin, stream);
    const response = await conn.handleRequest(get());
    await response.read();
    expect(response.extensions.trailers).toEqual([]);
  });
});

describe("retry hints", () => {
  it("a reused connection the server closed before answering: reused-connection", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]);
    const conn = new HTTP11Connection(origin, stream);
    await (await conn.handleRequest(get())).read();
    const error = await conn.handleRequest(get()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error).toMatchObject({
      message: "Server disconnected without sending a response.",
      retry: "reused-connection",
    });
    expect(conn.state).toBe("CLOSED");
  });

  it("a new connection: no hint", async () => {
    const conn = new HTTP11Connection(origin, mockStream([]));
    const error = await conn.handleRequest(get()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect((error as RemoteProtocolError).retry).toBeUndefined();
  });

  it("a reused connection that sent part of a response: no hint", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "HTTP/1.1 200 O"]);
    const conn = new HTTP11Connection(origin, stream);
    await (await conn.handleRequest(get())).read();
    // The second chunk comes with a later read: the first response ended alone.
    const error = await conn.handleRequest(get()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect((error as RemoteProtocolError).retry).toBeUndefined();
  });
});

describe("writes", () => {
  // A stream whose writes fail: the response, if the server sent one, is still read.
  class FailingWrites implements NetworkStream {
    constructor(
      readonly error: Error,
      readonly reply: string,
    ) {}
    #sent = false;
    closed = false;
    async read(): Promise<Uint8Array> {
      if (this.#sent) return new Uint8Array(0);
      this.#sent = true;
      return bytes(this.reply);
    }
    async write(): Promise<void> {
      throw this.error;
    }
    async close(): Promise<void> {
      this.closed = true;
    }
    async startTls(): Promise<NetworkStream> {
      return this;
    }
    getExtraInfo(): unknown {
      return undefined;
    }
  }
  const reply = "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

  it("a failed write (WriteError) still hears the server's early answer", async () => {
    for (const trace of [undefined, () => {}]) {
      const stream = new FailingWrites(new WriteError("reset"), reply);
      const conn = new HTTP11Connection(origin, stream);
      const request = new Request("GET", "http://example.com/", {
        headers: { Host: "example.com" },
        extensions: trace === undefined ? {} : { trace },
      });
      const response = await conn.handleRequest(request);
      expect(response.status).toBe(413);
    }
  });

  it("any other write failure fails the request", async () => {
    for (const trace of [undefined, () => {}]) {
      const failure = new TypeError("bug");
      const conn = new HTTP11Connection(origin, new FailingWrites(failure, reply));
      const request = new Request("GET", "http://example.com/", {
        headers: { Host: "example.com" },
        extensions: trace === undefined ? {} : { trace },
      });
      expect(await conn.handleRequest(request).catch((e: unknown) => e)).toBe(failure);
      expect(conn.state).toBe("CLOSED");
    }
  });
});

describe("trace events of the body", () => {
  it("started, complete, then response_closed", async () => {
    const { events, response } = await tracedGet([
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ]);
    expect(text(await response.read())).toBe("ok");
    expect(events).toEqual([
      "http11.send_request_headers.started",
      "http11.send_request_headers.complete",
      "http11.send_request_body.started",
      "http11.send_request_body.complete",
      "http11.receive_response_headers.started",
      "http11.receive_response_headers.complete",
      "http11.receive_response_body.started",
      "http11.receive_response_body.complete",
      "http11.response_closed.started",
      "http11.response_closed.complete",
    ]);
  });

  it("a body that fails: failed, with the error", async () => {
    const events: Array<[string, unknown]> = [];
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok"]);
    const conn = new HTTP11Connection(origin, stream);
    const request = new Request("GET", "http://example.com/", {
      headers: { Host: "example.com" },
      extensions: { trace: (name, info) => void events.push([name, info.exception]) },
    });
    const response = await conn.handleRequest(request);
    const error = await response.read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    const failed = events.find(([name]) => name === "http11.receive_response_body.failed");
    expect(failed?.[1]).toBe(error);
    expect(events.map(([name]) => name)).not.toContain("http11.receive_response_body.complete");
    expect(conn.state).toBe("CLOSED");
  });
});

describe("timeouts reach the stream", () => {
  // Records the timeout of every read and write; answers one 200 after the request's end.
  class Recording implements NetworkStream {
    reads: Array<number | undefined> = [];
    writes: Array<number | undefined> = [];
    #answered = false;
    async read(_max: number, timeout?: number): Promise<Uint8Array> {
      this.reads.push(timeout);
      if (this.#answered) return new Uint8Array(0);
      this.#answered = true;
      return bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    }
    async write(_data: Uint8Array, timeout?: number): Promise<void> {
      this.writes.push(timeout);
    }
    async close(): Promise<void> {}
    async startTls(): Promise<NetworkStream> {
      return this;
    }
    getExtraInfo(): unknown {
      return undefined;
    }
  }

  it.each([
    ["no body, untraced", undefined, false],
    ["no body, traced", undefined, true],
    ["a streamed body", new Uint8Array(20_000), false],
  ])("%s", async (_name, content, traced) => {
    const stream = new Recording();
    const conn = new HTTP11Connection(origin, stream);
    const request = new Request("POST", "http://example.com/", {
      headers: {
        Host: "example.com",
        "Content-Length": String(content?.length ?? 0),
      },
      ...(content === undefined ? {} : { content }),
      extensions: {
        timeout: { read: 1234, write: 5678 },
        ...(traced ? { trace: () => {} } : {}),
      },
    });
    const response = await conn.handleRequest(request);
    // The body's reads too: the chunked body never ends, the peer closes.
    await expect(response.read()).rejects.toBeInstanceOf(RemoteProtocolError);
    expect(stream.reads.length).toBeGreaterThan(1);
    expect(new Set(stream.reads)).toEqual(new Set([1234]));
    expect(stream.writes.length).toBeGreaterThan(0);
    expect(new Set(stream.writes)).toEqual(new Set([5678]));
  });
});

describe("a request taken by a connection idle only just now", () => {
  it("closed before its turn: WriteError, nothing written", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]);
    const conn = new HTTP11Connection(origin, stream, { writeScheduler: new WriteScheduler() });
    await (await conn.handleRequest(get())).read();
    // MockStream does not say "read_may_continue": false, so the request waits a turn.
    const pending = conn.handleRequest(get()).catch((e: unknown) => e);
    expect(conn.state).toBe("ACTIVE");
    await conn.close();
    const error = await pending;
    expect(error).toBeInstanceOf(WriteError);
    expect(error).toMatchObject({
      code: "ERR_WRITE",
      message: "the connection was closed before the request was sent",
    });
    expect(stream.written).toHaveLength(1);
  });

  it("aborted before its turn: the signal's reason, the connection idle again", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]);
    const conn = new HTTP11Connection(origin, stream, { writeScheduler: new WriteScheduler() });
    await (await conn.handleRequest(get())).read();
    const controller = new AbortController();
    const request = new Request("GET", "http://example.com/", {
      headers: { Host: "example.com" },
      signal: controller.signal,
    });
    const pending = conn.handleRequest(request).catch((e: unknown) => e);
    const reason = new Error("stop");
    controller.abort(reason);
    expect(await pending).toBe(reason);
    expect(conn.state).toBe("IDLE");
    expect(stream.written).toHaveLength(1);
  });
});

describe("an abort in flight", () => {
  it("rejects with the reason and closes the connection", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", "ok"]);
    const conn = new HTTP11Connection(origin, stream);
    const controller = new AbortController();
    const request = new Request("GET", "http://example.com/", {
      headers: { Host: "example.com" },
      signal: controller.signal,
    });
    const response = await conn.handleRequest(request);
    const reason = new Error("stop");
    controller.abort(reason);
    expect(conn.state).toBe("CLOSED");
    expect(stream.closed).toBe(true);
    expect(await response.read().catch((e: unknown) => e)).toBe(reason);
  });
});

describe("idle, available, expired", () => {
  it("an idle connection whose peer closed has expired; a reserved one is not available", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]);
    const scheduler = new WriteScheduler();
    const conn = new HTTP11Connection(origin, stream, { writeScheduler: scheduler });
    expect(conn.isIdle()).toBe(false);
    expect(conn.isAvailable()).toBe(false);
    const response = await conn.handleRequest(get());
    expect(scheduler.exchanges).toBe(1);
    // Active: readable or not, not expired.
    expect(conn.hasExpired()).toBe(false);
    await response.read();
    expect(scheduler.exchanges).toBe(0);
    expect(conn.isIdle()).toBe(true);
    expect(conn.isAvailable()).toBe(true);
    expect(conn.hasExpired()).toBe(false);
    const request = get();
    expect(conn.tryReserve(request)).toBe(true);
    expect(conn.isAvailable()).toBe(false);
    conn.unreserve(request);
    expect(conn.isAvailable()).toBe(true);
    // The peer's FIN makes the stream readable.
    await stream.close();
    expect(conn.hasExpired()).toBe(true);
  });

  it("close() closes the stream once; disposing closes it", async () => {
    let closes = 0;
    const stream = mockStream([]);
    const close = stream.close.bind(stream);
    stream.close = () => {
      closes++;
      return close();
    };
    const scheduler = new WriteScheduler();
    {
      await using conn = new HTTP11Connection(origin, stream, { writeScheduler: scheduler });
      await conn.close();
      await conn.close();
      expect(closes).toBe(1);
      expect(conn.tryReserve(get())).toBe(false);
    }
    expect(closes).toBe(1);
    await using other = new HTTP11Connection(origin, mockStream([]));
    expect(other.isClosed()).toBe(false);
    await other[Symbol.asyncDispose]();
    expect(other.isClosed()).toBe(true);
    expect(scheduler.exchanges).toBe(0);
  });

  it("a connection closed while active no longer counts as an exchange", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "ok"]);
    const scheduler = new WriteScheduler();
    const conn = new HTTP11Connection(origin, stream, { writeScheduler: scheduler });
    const response = await conn.handleRequest(get());
    expect(scheduler.exchanges).toBe(1);
    await response.close();
    expect(scheduler.exchanges).toBe(0);
    await conn.close();
    expect(scheduler.exchanges).toBe(0);
  });
});

describe("a body in several reads", () => {
  it("traced: started once, complete once", async () => {
    const { events, response, conn } = await tracedGet([
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab",
      "cd",
      "ef",
    ]);
    expect(text(await response.read())).toBe("abcdef");
    expect(events.filter((e) => e === "http11.receive_response_body.started")).toHaveLength(1);
    expect(events.filter((e) => e === "http11.receive_response_body.complete")).toHaveLength(1);
    expect(conn.state).toBe("IDLE");
  });

  it("a peer that closes in the middle of the body: h11's error, not 'no response'", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab"]);
    const conn = new HTTP11Connection(origin, stream);
    const response = await conn.handleRequest(get());
    const error = await response.read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect((error as Error).message).toMatch(
      /^peer closed connection without sending complete message body: /,
    );
    expect(conn.state).toBe("CLOSED");
  });
});

describe("a server that answers before the upload is over", () => {
  it("the response is returned; closing it closes the connection", async () => {
    const stream = mockStream(["HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n"]);
    const conn = new HTTP11Connection(origin, stream);
    async function* body() {
      yield new Uint8Array(10);
      await new Promise(() => {});
    }
    const request = new Request("POST", "http://example.com/", {
      headers: { Host: "example.com", "Content-Length": "100" },
      content: body(),
    });
    const response = await conn.handleRequest(request);
    expect(response.status).toBe(413);
    await response.read();
    // Our side is not done (the body was not all sent): the connection cannot be reused.
    expect(conn.state).toBe("CLOSED");
  });
});

// A MockStream that says its last read emptied the socket: a request on it goes at once.
class DrainedStream extends MockStream {
  override getExtraInfo(key: string): unknown {
    return key === "read_may_continue" ? false : super.getExtraInfo(key);
  }
}
// A connection on `stream`, with its own WriteScheduler, idle after one GET.
async function idleOn(stream: NetworkStream, keepaliveExpiry: number): Promise<HTTP11Connection> {
  const conn = new HTTP11Connection(origin, stream, {
    writeScheduler: new WriteScheduler(),
    keepaliveExpiry,
  });
  await (await conn.handleRequest(get())).read();
  return conn;
}

// A head h11 refuses to send.
const twoHosts = () =>
  new Request("GET", "http://example.com/", {
    headers: [
      ["Host", "a"],
      ["Host", "b"],
    ],
  });
const drained = (chunks: string[]) => new DrainedStream(chunks.map(bytes), new MockBackend([]));
const OK2 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// Expired while idle: found after the turn a request waits for (a MockStream, which does not
// say its read emptied the socket), or at once (a DrainedStream).
it.each([
  ["after its turn", mockStream],
  ["at once", drained],
])("expired %s: ConnectionNotAvailable, the connection closed", async (_when, make) => {
  const stream = make([OK2]);
  const conn = await idleOn(stream, 0);
  await sleep(2);
  const error = await conn.handleRequest(get()).catch((e: unknown) => e);
  expect(error).toMatchObject({
    code: "ERR_CONNECTION_NOT_AVAILABLE",
    message: "the server closed the connection while it was idle",
  });
  expect(conn.state).toBe("CLOSED");
  expect(stream.written).toHaveLength(1);
});

describe("a request on a connection whose last read emptied the socket", () => {
  it("is written at once", async () => {
    const stream = drained([OK2, OK2]);
    const conn = new HTTP11Connection(origin, stream, { writeScheduler: new WriteScheduler() });
    await (await conn.handleRequest(get())).read();
    const pending = conn.handleRequest(get());
    expect(stream.written).toHaveLength(2);
    expect(text(await (await pending).read())).toBe("ok");
  });

  it("after a refused head on a new connection, a POST goes at once", async () => {
    const stream = drained([OK2]);
    const conn = new HTTP11Connection(origin, stream, { writeScheduler: new WriteScheduler() });
    await expect(conn.handleRequest(twoHosts())).rejects.toBeInstanceOf(LocalProtocolError);
    const post = new Request("POST", "http://example.com/", {
      headers: { Host: "example.com", "Content-Length": "0" },
    });
    const pending = conn.handleRequest(post);
    expect(stream.written).toHaveLength(1);
    expect((await pending).status).toBe(200);
  });

  it("a refused head on an idle connection leaves its expiry clock running", async () => {
    const conn = await idleOn(drained([OK2]), 100);
    await sleep(70);
    await expect(conn.handleRequest(twoHosts())).rejects.toBeInstanceOf(LocalProtocolError);
    expect(conn.state).toBe("IDLE");
    await sleep(50);
    expect(conn.hasExpired()).toBe(true);
  });
});

describe("chunked request bodies", () => {
  it("a GET with Transfer-Encoding: chunked and no content ends with the last chunk", async () => {
    const stream = mockStream([OK2]);
    const conn = new HTTP11Connection(origin, stream);
    const request = new Request("GET", "http://example.com/", {
      headers: { Host: "example.com", "Transfer-Encoding": "chunked" },
    });
    await (await conn.handleRequest(request)).read();
    expect(stream.written.map(text)).toEqual([
      "GET / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ]);
  });
});

describe("trace events of a streamed upload", () => {
  it("names and the request in each event's info", async () => {
    const events: Array<[string, unknown]> = [];
    const stream = mockStream([OK2]);
    const conn = new HTTP11Connection(origin, stream);
    const request = new Request("POST", "http://example.com/", {
      headers: { Host: "example.com", "Content-Length": String(20_000) },
      content: new Uint8Array(20_000),
      extensions: { trace: (name, info) => void events.push([name, info.request]) },
    });
    await (await conn.handleRequest(request)).read();
    const sent = events.filter(([name]) => !name.startsWith("http11.response_closed"));
    expect(sent.map(([name]) => name)).toEqual([
      "http11.send_request_headers.started",
      "http11.send_request_headers.complete",
      "http11.send_request_body.started",
      "http11.receive_response_headers.started",
      "http11.send_request_body.complete",
      "http11.receive_response_headers.complete",
      "http11.receive_response_body.started",
      "http11.receive_response_body.complete",
    ]);
    for (const [name, info] of sent) {
      if (name.endsWith(".started")) expect(info, name).toBe(request);
    }
  });

  it("a small body, traced: the request in each event's info", async () => {
    const events: Array<[string, unknown]> = [];
    const conn = new HTTP11Connection(origin, mockStream([OK2]));
    const request = new Request("GET", "http://example.com/", {
      headers: { Host: "example.com" },
      extensions: { trace: (name, info) => void events.push([name, info.request]) },
    });
    await (await conn.handleRequest(request)).read();
    const started = events.filter(([name]) => /^http11\.(send|receive)_.*\.started$/.test(name));
    expect(started).toHaveLength(4);
    const body = events.filter(([name]) => name.startsWith("http11.receive_response_body."));
    expect(body).toEqual([
      ["http11.receive_response_body.started", request],
      ["http11.receive_response_body.complete", request],
    ]);
    for (const [name, info] of started) expect(info, name).toBe(request);
  });

  it("a request that fails: response_closed is traced", async () => {
    const names: string[] = [];
    const conn = new HTTP11Connection(origin, mockStream([]));
    const request = new Request("GET", "http://example.com/", {
      headers: { Host: "example.com" },
      extensions: { trace: (name) => void names.push(name) },
    });
    await expect(conn.handleRequest(request)).rejects.toBeInstanceOf(RemoteProtocolError);
    expect(names.slice(-2)).toEqual([
      "http11.response_closed.started",
      "http11.response_closed.complete",
    ]);
  });
});

describe("an upload whose write fails while the server answers", () => {
  it("a WriteError does not close the stream: the response body is still read", async () => {
    class FailingBody extends MockStream {
      #writes = 0;
      override async write(data: Uint8Array): Promise<void> {
        if (++this.#writes > 1) throw new WriteError("reset");
        return super.write(data);
      }
    }
    const stream = new FailingBody(
      ["HTTP/1.1 413 Too Large\r\nContent-Length: 2\r\n\r\n", "no"].map(bytes),
      new MockBackend([]),
    );
    const conn = new HTTP11Connection(origin, stream);
    const request = new Request("POST", "http://example.com/", {
      headers: { Host: "example.com", "Content-Length": String(20_000) },
      content: new Uint8Array(20_000),
    });
    const response = await conn.handleRequest(request);
    expect(response.status).toBe(413);
    expect(text(await response.read())).toBe("no");
  });
});

describe("CONNECT", () => {
  const connect = () =>
    new Request("CONNECT", "http://example.com/", {
      headers: { Host: "example.com:443" },
      extensions: { target: "example.com:443" },
    });

  it("a 2xx switches: the body is empty, the stream carries what came after the head", async () => {
    for (const status of [200, 299]) {
      const stream = mockStream([`HTTP/1.1 ${status} OK\r\n\r\ntunnel`]);
      const conn = new HTTP11Connection(origin, stream);
      const response = await conn.handleRequest(connect());
      const tunnel = response.extensions.networkStream!;
      expect(tunnel).toBeInstanceOf(PrefixedStream);
      expect(await response.read()).toHaveLength(0);
      expect(text(await tunnel.read(100))).toBe("tunnel");
    }
  });

  it("a 300 or a 407 does not switch, nor a 200 to a GET", async () => {
    for (const [status, request] of [
      [300, connect()],
      [407, connect()],
      [200, get()],
    ] as const) {
      const stream = mockStream([`HTTP/1.1 ${status} No\r\nContent-Length: 0\r\n\r\n`]);
      const conn = new HTTP11Connection(origin, stream);
      const response = await conn.handleRequest(request);
      expect(response.extensions.networkStream, String(status)).toBeInstanceOf(ExtraInfoStream);
    }
  });
});

describe("more of a connection's life", () => {
  it("a connection closed while its response's body was buffered stays closed", async () => {
    const stream = mockStream([OK2]);
    const conn = new HTTP11Connection(origin, stream);
    const response = await conn.handleRequest(get());
    await conn.close();
    // The body was read together with the head: it is whole, and the connection not revived.
    expect(text(await response.read())).toBe("ok");
    expect(conn.state).toBe("CLOSED");
  });

  it("an active connection whose stream is readable has not expired", async () => {
    const stream = mockStream(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "ok"]);
    const conn = new HTTP11Connection(origin, stream);
    await conn.handleRequest(get());
    stream.closed = true;
    expect(stream.getExtraInfo("is_readable")).toBe(true);
    expect(conn.hasExpired()).toBe(false);
  });

  it("a refused head's LocalProtocolError has h11's error as its cause", async () => {
    const conn = new HTTP11Connection(origin, mockStream([]));
    const error = await conn.handleRequest(twoHosts()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalProtocolError);
    const cause = (error as Error).cause as { code: string; message: string };
    expect(cause.code).toBe("H11_LOCAL_PROTOCOL_ERROR");
    expect(cause.message).toBe((error as Error).message);
  });
});

describe("an upload still going when the connection closes", () => {
  it("its next chunk is not written, even to a stream whose writes do not fail", async () => {
    // Writes after close() succeed (the NetworkStream contract asks only reads to fail).
    class LaxStream extends MockStream {
      afterClose = 0;
      override async write(data: Uint8Array): Promise<void> {
        if (this.closed) this.afterClose++;
        else await super.write(data);
      }
    }
    const stream = new LaxStream(
      [bytes("HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n")],
      new MockBackend([]),
    );
    const conn = new HTTP11Connection(origin, stream);
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let done = false;
    const traces: Array<[string, unknown]> = [];
    async function* body() {
      yield new Uint8Array(10);
      await released;
      yield new Uint8Array(10);
      done = true;
    }
    const request = new Request("POST", "http://example.com/", {
      headers: { Host: "example.com", "Content-Length": "20" },
      content: body(),
      extensions: { trace: (name, info) => void traces.push([name, info.exception]) },
    });
    const response = await conn.handleRequest(request);
    await response.read();
    expect(conn.state).toBe("CLOSED");
    release();
    await sleep(5);
    expect(stream.afterClose).toBe(0);
    expect(done).toBe(false);
    // The upload's end is traced (it fails quietly otherwise).
    const failed = traces.find(([name]) => name === "http11.send_request_body.failed");
    expect(failed?.[1]).toBeInstanceOf(WriteError);
    expect(failed?.[1]).toMatchObject({
      message: "the connection closed while sending the body",
    });
  });
});

describe("WriteScheduler", () => {
  const checkPhase = () => new Promise((resolve) => setImmediate(resolve));

  it("counts one turn per check phase while callbacks wait, and stops when none do", async () => {
    const scheduler = new WriteScheduler();
    const calls: string[] = [];
    scheduler.atTurn(1, () => calls.push(`a@${scheduler.turn}`));
    scheduler.atTurn(1, () => calls.push(`b@${scheduler.turn}`));
    scheduler.atTurn(2, () => calls.push(`c@${scheduler.turn}`));
    expect(scheduler.turn).toBe(0);
    await checkPhase();
    expect(scheduler.turn).toBe(1);
    expect(calls).toEqual(["a@1", "b@1"]);
    await checkPhase();
    expect(scheduler.turn).toBe(2);
    expect(calls).toEqual(["a@1", "b@1", "c@2"]);
    // Nothing waits: the turns stop.
    await checkPhase();
    await checkPhase();
    expect(scheduler.turn).toBe(2);
    scheduler.atTurn(3, () => calls.push(`d@${scheduler.turn}`));
    await checkPhase();
    expect(calls.at(-1)).toBe("d@3");
  });
});

it("PrefixedStream asks its stream for every other key, bytes left or not", () => {
  const inner = mockStream([]);
  inner.getExtraInfo = (key: string) => (key === "server_addr" ? "inner" : undefined);
  const stream = new PrefixedStream(inner, bytes("left"));
  expect(stream.getExtraInfo("server_addr")).toBe("inner");
  expect(stream.getExtraInfo("ssl_object")).toBeUndefined();
});

describe("a stream with readOrWait (read() without a promise)", () => {
  // Gives its scripted chunks at once, one per call (never a later callback: a read it
  // cannot answer at once would hang the test).
  class AtOnce extends MockStream {
    readonly script: Uint8Array[];
    calls = 0;
    constructor(chunks: string[]) {
      super([], new MockBackend([]));
      this.script = chunks.map(bytes);
    }
    readOrWait(): Uint8Array | null {
      this.calls++;
      return this.script.shift() ?? null;
    }
  }

  it("bytes it returns at once are fed, and the head read goes on without waiting", async () => {
    const stream = new AtOnce(["HTTP/1.1 200 OK\r\n", "Content-Length: 2\r\n\r\nok"]);
    const conn = new HTTP11Connection(origin, stream, { writeScheduler: new WriteScheduler() });
    const response = await conn.handleRequest(get());
    expect(stream.calls).toBe(2);
    expect(text(await response.read())).toBe("ok");
    expect(conn.state).toBe("IDLE");
  });

  it("a throw from it fails the request, and closes the connection", async () => {
    const stream = new AtOnce([]);
    stream.readOrWait = () => {
      throw new RemoteProtocolError("broken");
    };
    const conn = new HTTP11Connection(origin, stream, { writeScheduler: new WriteScheduler() });
    await expect(conn.handleRequest(get())).rejects.toThrow("broken");
    expect(conn.state).toBe("CLOSED");
  });
});
