// The callback path beside the promise API: ConnectionPool.streamTo, and sendTo on the
// connections (HTTP11Connection, DeferredConnection/HTTPConnection), which the pool uses
// instead of handleRequest when a connection has it. The promises: exactly one of
// onResponse and onError, once; a connection never answers before sendTo returns; the pool
// answers before streamTo returns only for a request that fails at once.
import { startOrigin, type Origin as TestOrigin } from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  ConnectionNotAvailable,
  ConnectionPool,
  HTTP11Connection,
  HTTPConnection,
  MockBackend,
  MockStream,
  Origin,
  PoolTimeout,
  Request,
  type Response,
  type ResponseReceiver,
  UnsupportedProtocol,
  WriteError,
  WriteScheduler,
} from "../src/index.js";

let http: TestOrigin;

beforeAll(async () => {
  http = await startOrigin({ name: "origin-r" });
});
afterAll(async () => {
  await http.close();
});

const encoder = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A receiver that records every call, and whether it came before `returned` was set. */
class Recorder implements ResponseReceiver {
  readonly calls: Array<["response", Response] | ["error", unknown]> = [];
  returned = false;
  early = 0;
  readonly #settled: Promise<void>;
  #done: () => void = () => {};
  constructor() {
    this.#settled = new Promise((resolve) => {
      this.#done = resolve;
    });
  }
  onResponse(response: Response): void {
    if (!this.returned) this.early++;
    this.calls.push(["response", response]);
    this.#done();
  }
  onError(error: unknown): void {
    if (!this.returned) this.early++;
    this.calls.push(["error", error]);
    this.#done();
  }
  /** Waits for the first call, then a while longer, so that a second call would be seen. */
  async settled(): Promise<void> {
    await this.#settled;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  get response(): Response {
    expect(this.calls).toHaveLength(1);
    const [kind, value] = this.calls[0]!;
    expect(kind).toBe("response");
    return value as Response;
  }
  get error(): unknown {
    expect(this.calls).toHaveLength(1);
    const [kind, value] = this.calls[0]!;
    expect(kind).toBe("error");
    return value;
  }
}

function streamTo(pool: ConnectionPool, url: string, options = {}): Recorder {
  const recorder = new Recorder();
  pool.streamTo("GET", url, options, recorder);
  recorder.returned = true;
  return recorder;
}

describe("ConnectionPool.streamTo", () => {
  it("hands the response to onResponse, its body left to read, and reuses the connection", async () => {
    await using pool = new ConnectionPool();
    const first = streamTo(pool, `${http.url}/`);
    await first.settled();
    expect(first.early).toBe(0);
    const response = first.response;
    expect(response.status).toBe(200);
    expect(text(await response.read())).toBe("hello from origin-r\n");
    const second = streamTo(pool, `${http.url}/whoami`);
    await second.settled();
    expect(text(await second.response.read())).toBe("origin-r");
    expect(pool.connections).toHaveLength(1);
    expect(pool.connections[0]!.info()).toContain("Request Count: 2");
  });

  it("fails at once, before it returns, on bad arguments and on a signal aborted already", () => {
    const pool = new ConnectionPool();
    const badUrl = streamTo(pool, "ftp://example.com/");
    expect(badUrl.early).toBe(1);
    expect(badUrl.error).toBeInstanceOf(UnsupportedProtocol);
    const reason = new Error("stop");
    const aborted = streamTo(pool, `${http.url}/`, { signal: AbortSignal.abort(reason) });
    expect(aborted.early).toBe(1);
    expect(aborted.error).toBe(reason);
    expect(pool.connections).toHaveLength(0);
  });

  it("fails a request that waits with a pool timeout, once", async () => {
    await using pool = new ConnectionPool({ maxConnections: 1 });
    const holder = streamTo(pool, `${http.url}/`);
    const waiting = streamTo(pool, `${http.url}/`, { extensions: { timeout: { pool: 30 } } });
    await waiting.settled();
    expect(waiting.error).toBeInstanceOf(PoolTimeout);
    await holder.settled();
    await holder.response.close();
  });

  it("an abort while the response head is awaited: onError once with the reason, the connection closed", async () => {
    await using pool = new ConnectionPool();
    const controller = new AbortController();
    const recorder = streamTo(pool, `${http.url}/slow/200`, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(recorder.calls).toHaveLength(0);
    const reason = new Error("enough");
    controller.abort(reason);
    await recorder.settled();
    expect(recorder.error).toBe(reason);
    // The server's answer arrives later, on a closed connection: nobody hears of it.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(recorder.calls).toHaveLength(1);
    expect(pool.connections).toHaveLength(0);
  });

  it("the same on a kept-alive connection, where the connection answers without a promise", async () => {
    await using pool = new ConnectionPool();
    const warm = streamTo(pool, `${http.url}/`);
    await warm.settled();
    await warm.response.read();
    const controller = new AbortController();
    const recorder = streamTo(pool, `${http.url}/slow/200`, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(pool.connections[0]!.info()).toContain("ACTIVE, Request Count: 2");
    const reason = new Error("enough");
    controller.abort(reason);
    // At once: the connection's abort watch hands the reason over as the signal fires.
    expect(recorder.error).toBe(reason);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(recorder.calls).toHaveLength(1);
    expect(pool.connections).toHaveLength(0);
  });
});

describe("HTTP11Connection.sendTo", () => {
  const origin = new Origin("http", "example.com", 80);
  const get = (url = "http://example.com/") =>
    new Request("GET", url, { headers: { Host: "example.com" } });
  const over = (...chunks: string[]) =>
    new HTTP11Connection(
      origin,
      new MockStream(
        chunks.map((c) => encoder.encode(c)),
        new MockBackend([]),
      ),
      { writeScheduler: new WriteScheduler() },
    );

  it("answers after it returns, with the response", async () => {
    const conn = over("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    const recorder = new Recorder();
    conn.sendTo(get(), recorder);
    recorder.returned = true;
    await recorder.settled();
    expect(recorder.early).toBe(0);
    expect(text(await recorder.response.read())).toBe("ok");
    expect(conn.state).toBe("IDLE");
  });

  it("answers a refusal after it returns, never during: another origin, a connection in use", async () => {
    const conn = over("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    const elsewhere = new Recorder();
    conn.sendTo(get("http://other.example/"), elsewhere);
    elsewhere.returned = true;
    const first = new Recorder();
    conn.sendTo(get(), first);
    first.returned = true;
    const busy = new Recorder();
    conn.sendTo(get(), busy);
    busy.returned = true;
    await Promise.all([elsewhere.settled(), busy.settled(), first.settled()]);
    for (const r of [elsewhere, busy]) {
      expect(r.early).toBe(0);
      expect(r.error).toBeInstanceOf(ConnectionNotAvailable);
    }
    await first.response.close();
  });

  it("a request taken while idle only just now waits for its turn, then is answered once", async () => {
    const conn = over(
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb",
    );
    const first = await conn.handleRequest(get());
    expect(text(await first.read())).toBe("a");
    // A POST is not retried, so it waits for a whole poll phase (two turns).
    const post = new Request("POST", "http://example.com/", {
      headers: { Host: "example.com", "Content-Length": "0" },
    });
    const recorder = new Recorder();
    conn.sendTo(post, recorder);
    recorder.returned = true;
    expect(conn.state).toBe("ACTIVE");
    await recorder.settled();
    expect(recorder.early).toBe(0);
    expect(text(await recorder.response.read())).toBe("b");
    expect(conn.requestCount).toBe(2);
  });

  it("an abort before the head answers onError at once; a response that comes after is nobody's", async () => {
    // A stream whose reads wait until the test delivers bytes (and a close does not fail them).
    class Late extends MockStream {
      deliver: (data: Uint8Array) => void = () => {};
      override read(): Promise<Uint8Array> {
        return new Promise((resolve) => {
          this.deliver = resolve;
        });
      }
    }
    const stream = new Late([], new MockBackend([]));
    const conn = new HTTP11Connection(origin, stream, { writeScheduler: new WriteScheduler() });
    const controller = new AbortController();
    const request = new Request("GET", "http://example.com/", {
      headers: { Host: "example.com" },
      signal: controller.signal,
    });
    const recorder = new Recorder();
    conn.sendTo(request, recorder);
    recorder.returned = true;
    await new Promise((resolve) => setTimeout(resolve, 10));
    const reason = new Error("enough");
    controller.abort(reason);
    expect(recorder.error).toBe(reason);
    expect(stream.closed).toBe(true);
    stream.deliver(encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(recorder.calls).toHaveLength(1);
    expect(conn.state).toBe("CLOSED");
  });

  it("a write that throws instead of rejecting fails the request, and closes the connection", async () => {
    const stream = new MockStream([], new MockBackend([]));
    stream.write = () => {
      throw new WriteError("refused at once");
    };
    const conn = new HTTP11Connection(origin, stream, { writeScheduler: new WriteScheduler() });
    const recorder = new Recorder();
    conn.sendTo(get(), recorder);
    recorder.returned = true;
    await recorder.settled();
    expect((recorder.error as Error).message).toBe("refused at once");
    expect(conn.state).toBe("CLOSED");
  });

  it("a trace callback that throws at http11.response_closed after a failure: that error is the request's", async () => {
    // No response at all: the round trip fails, then its trace of the close throws.
    const conn = over();
    const request = new Request("GET", "http://example.com/", {
      headers: { Host: "example.com" },
      extensions: {
        trace: (name) => {
          if (name === "http11.response_closed.started") throw new Error("trace says no");
        },
      },
    });
    const recorder = new Recorder();
    conn.sendTo(request, recorder);
    recorder.returned = true;
    await recorder.settled();
    expect((recorder.error as Error).message).toBe("trace says no");
  });

  it("a connection closed while a request waits for its turn fails it once", async () => {
    const conn = over("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na");
    expect(text(await (await conn.handleRequest(get())).read())).toBe("a");
    const recorder = new Recorder();
    conn.sendTo(get(), recorder);
    recorder.returned = true;
    await conn.close();
    await recorder.settled();
    expect((recorder.error as Error).message).toMatch(/closed before the request was sent/);
  });
});

describe("HTTPConnection.sendTo (a DeferredConnection)", () => {
  it("opens on the first request, then passes the next straight to the connection opened", async () => {
    const url = new URL(http.url);
    await using conn = new HTTPConnection(new Origin("http", url.hostname, Number(url.port)), {});
    const request = () => new Request("GET", `${http.url}/whoami`, { headers: { Host: url.host } });
    for (let i = 0; i < 2; i++) {
      const recorder = new Recorder();
      conn.sendTo(request(), recorder);
      recorder.returned = true;
      await recorder.settled();
      expect(recorder.early).toBe(0);
      expect(text(await recorder.response.read())).toBe("origin-r");
    }
    expect(conn.info()).toContain("Request Count: 2");
  });
});

describe("WriteScheduler", () => {
  it("a callback that throws costs the others due in that turn nothing, and is still thrown", async () => {
    // The error is thrown again from a microtask of its own (uncaught, as a throw in a
    // promise reaction would be): caught here by standing in for queueMicrotask.
    const thrown: unknown[] = [];
    const ran: string[] = [];
    const spy = vi.spyOn(globalThis, "queueMicrotask").mockImplementation((task) => {
      try {
        task();
      } catch (error) {
        thrown.push(error);
        ran.push("thrown");
      }
    });
    try {
      const scheduler = new WriteScheduler();
      scheduler.atTurn(1, () => {
        ran.push("a");
        throw new Error("boom");
      });
      scheduler.atTurn(1, () => ran.push("b"));
      scheduler.atTurn(2, () => ran.push("c"));
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    } finally {
      spy.mockRestore();
    }
    expect(ran).toEqual(["a", "thrown", "b", "c"]);
    expect(thrown).toEqual([new Error("boom")]);
  });
});
