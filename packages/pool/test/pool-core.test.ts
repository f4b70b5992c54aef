// The pool's own rules, checked on stand-in connections that answer when the test says so
// (no sockets): its options, how many connections it makes, the queue, pool timeouts,
// aborts while queued, and the books it keeps for connections without the capacity
// contract (tryReserve/unreserve).
import { getEventListeners } from "node:events";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Queue } from "../src/connection-pool.js";
import {
  type ConnectionInterface,
  ConnectionNotAvailable,
  ConnectionPool,
  type ConnectionPoolOptions,
  type Origin,
  PoolTimeout,
  ReadError,
  Request,
  Response,
  ResponseNotRead,
  type ResponseStream,
  type RetryHint,
} from "../src/index.js";

/**
 * A connection with one place and no capacity contract (no tryReserve/unreserve): the pool
 * keeps its books. It answers its request when the test calls `answer()`.
 */
class Plain implements ConnectionInterface {
  readonly requests: Request[] = [];
  #answer: ((r: Response) => void) | null = null;
  #fail: ((e: unknown) => void) | null = null;
  busy = false;
  closed = false;
  expired = false;
  constructor(readonly origin: Origin) {}
  handleRequest(request: Request): Promise<Response> {
    this.requests.push(request);
    this.busy = true;
    return new Promise((resolve, reject) => {
      this.#answer = resolve;
      this.#fail = reject;
    });
  }
  /** Answers the request in flight with `body` (read whole by request()). */
  answer(body = "ok"): void {
    this.busy = false;
    this.#answer?.(new Response(200, { content: new TextEncoder().encode(body) }));
  }
  /** Answers the request in flight with a body to read: `chunks`, then `end` (made then). */
  answerStream(chunks: string[], end: Error | (() => Error) | null = null): void {
    async function* body() {
      for (const chunk of chunks) yield new TextEncoder().encode(chunk);
      if (end !== null) throw typeof end === "function" ? end() : end;
    }
    const stream = Object.assign(body(), {
      close: async () => {
        this.busy = false;
      },
    });
    this.#answer?.(new Response(200, { content: stream }));
  }
  /** Answers the request in flight with `content`, a body to read. */
  answerBody(content: ResponseStream): void {
    this.#answer?.(new Response(200, { content }));
  }
  /** Fails the request in flight with `error`. */
  fail(error: unknown): void {
    this.busy = false;
    this.#fail?.(error);
  }
  canHandleRequest(origin: Origin): boolean {
    return origin.equals(this.origin);
  }
  isAvailable(): boolean {
    return !this.closed && !this.busy;
  }
  hasExpired(): boolean {
    return this.expired;
  }
  isIdle(): boolean {
    return !this.busy;
  }
  isClosed(): boolean {
    return this.closed;
  }
  info(): string {
    return `'${this.origin}', PLAIN, ${this.busy ? "ACTIVE" : "IDLE"}`;
  }
  async close(): Promise<void> {
    this.closed = true;
    if (this.busy) this.fail(new ReadError("closed while in flight"));
  }
}

/**
 * A connection with the capacity contract and `places` places. With `hint` "ok" it answers
 * each request at once; otherwise it fails every request with an error carrying `hint` (as
 * an HTTP/2 connection does for the streams above a GOAWAY's last stream id; "none": no
 * hint) and takes no more, once the requests it was given are all in flight (or when the
 * test calls `goAway()`).
 */
class Shared extends Plain {
  readonly reserved = new Set<Request>();
  readonly #inFlight: Array<(error: unknown) => void> = [];
  readonly #held: Array<() => void> = [];
  /** Answers the oldest request held ("hold"). */
  answerHeld(): void {
    this.#held.shift()?.();
  }
  constructor(
    origin: Origin,
    public places: number,
    readonly hint: RetryHint | "ok" | "none" | "hold",
  ) {
    super(origin);
  }
  tryReserve(request: Request): boolean {
    if (!this.isAvailable()) return false;
    this.reserved.add(request);
    return true;
  }
  unreserve(request: Request): void {
    this.reserved.delete(request);
  }
  override isAvailable(): boolean {
    return !this.closed && this.reserved.size < this.places;
  }
  override isIdle(): boolean {
    return this.reserved.size === 0;
  }
  override handleRequest(request: Request): Promise<Response> {
    this.requests.push(request);
    if (this.hint === "ok") {
      return Promise.resolve(new Response(200, { content: new TextEncoder().encode("ok") }));
    }
    return new Promise((resolve, reject) => {
      this.#inFlight.push(reject);
      if (this.hint === "hold") {
        this.#held.push(() => {
          this.#inFlight.splice(this.#inFlight.indexOf(reject), 1);
          resolve(new Response(200, { content: new TextEncoder().encode("held") }));
        });
        return;
      }
      if (this.#inFlight.length === this.reserved.size) queueMicrotask(() => this.goAway());
    });
  }
  /** Fails every request in flight, and closes. */
  goAway(): void {
    this.closed = true;
    const hint = this.hint;
    const options = hint === "unprocessed" || hint === "reused-connection" ? { retry: hint } : {};
    for (const reject of this.#inFlight.splice(0)) reject(new ReadError("going away", options));
  }
  override async close(): Promise<void> {
    this.goAway();
  }
}

class PlainPool extends ConnectionPool {
  readonly made: Plain[] = [];
  constructor(
    options: ConnectionPoolOptions = {},
    readonly make: (origin: Origin, index: number) => Plain = (origin) => new Plain(origin),
  ) {
    super(options);
  }
  protected override createConnection(origin: Origin): ConnectionInterface {
    const c = this.make(origin, this.made.length);
    this.made.push(c);
    return c;
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A Plain whose close() takes effect a turn later: until then it still says it is free. */
class SlowClose extends Plain {
  override async close(): Promise<void> {
    await turn();
    await super.close();
  }
}

describe("options", () => {
  const counts = [
    ["maxConnections", 1],
    ["maxKeepaliveConnections", 0],
    ["retries", 0],
    ["maxHeaderSize", 1],
  ] as const;

  it.each(counts)(
    "%s: an integer >= %i or null; anything else is refused, saying so",
    (name, min) => {
      for (const ok of [min, min + 1, null, undefined]) {
        expect(() => new ConnectionPool({ [name]: ok })).not.toThrow();
      }
      for (const bad of [min - 1, min + 0.5, `${min}`, Number.NaN, true]) {
        const make = () => new ConnectionPool({ [name]: bad } as ConnectionPoolOptions);
        expect(make).toThrow(TypeError);
        expect(make).toThrow(
          expect.objectContaining({
            code: "ERR_INVALID_ARG_VALUE",
            message: `${name} must be an integer >= ${min} or null, not ${String(bad)}`,
          }),
        );
      }
    },
  );

  it("keepaliveExpiry: a number of milliseconds >= 0; anything else is refused, saying so", () => {
    for (const ok of [0, 0.5, 30_000, undefined]) {
      expect(() => new ConnectionPool({ keepaliveExpiry: ok })).not.toThrow();
    }
    for (const bad of [-1, -0.5, Number.NaN, "5", null]) {
      const make = () => new ConnectionPool({ keepaliveExpiry: bad } as ConnectionPoolOptions);
      expect(make).toThrow(TypeError);
      expect(make).toThrow(
        expect.objectContaining({
          code: "ERR_INVALID_ARG_VALUE",
          message: `keepaliveExpiry must be a number of milliseconds >= 0, not ${String(bad)}`,
        }),
      );
    }
  });

  it("http1 off needs http2 on", () => {
    expect(() => new ConnectionPool({ http1: false, http2: true })).not.toThrow();
    expect(() => new ConnectionPool({ http1: true, http2: false })).not.toThrow();
    expect(() => new ConnectionPool({ http2: false })).not.toThrow();
    expect(() => new ConnectionPool({ http1: false })).toThrow(
      expect.objectContaining({
        code: "ERR_NOT_SUPPORTED",
        message: "http1 and http2 cannot both be off: at least one protocol must be allowed",
      }),
    );
  });
});

describe("how many connections", () => {
  async function burst(options: ConnectionPoolOptions, requests: number) {
    const pool = new PlainPool(options);
    const pending = Array.from({ length: requests }, (_, i) =>
      pool.request("GET", `http://a.test/${i}`),
    );
    await turn();
    const made = pool.made.length;
    const printed = String(pool);
    // Answer everything, the queued requests as they get a connection.
    for (let answered = 0; answered < requests; ) {
      for (const c of pool.made) {
        if (c.busy) {
          c.answer();
          answered++;
        }
      }
      await turn();
    }
    await Promise.all(pending);
    await pool.close();
    return { made, printed };
  }

  it("10 by default", async () => {
    expect(await burst({}, 12)).toEqual({
      made: 10,
      printed: "<PlainPool [Requests: 10 active, 2 queued | Connections: 10 active, 0 idle]>",
    });
  });

  it("no limit with maxConnections null", async () => {
    expect((await burst({ maxConnections: null }, 25)).made).toBe(25);
  });

  it("maxConnections when given, whatever maxKeepaliveConnections says", async () => {
    expect((await burst({ maxConnections: 3, maxKeepaliveConnections: 5 }, 5)).made).toBe(3);
    expect((await burst({ maxConnections: 3, maxKeepaliveConnections: null }, 5)).made).toBe(3);
  });
});

describe("a request's way through the pool", () => {
  it("handleRequest() leaves the body to read, and holds the connection until it is", async () => {
    const pool = new PlainPool();
    const request = new Request("GET", "http://a.test/", { headers: { Host: "a.test" } });
    const pending = pool.handleRequest(request);
    await turn();
    pool.made[0]!.answerStream(["a", "b"]);
    const response = await pending;
    expect(() => response.content).toThrow(ResponseNotRead);
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 1 active, 0 queued | Connections: 1 active, 0 idle]>",
    );
    expect(text(await response.read())).toBe("ab");
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
    await pool.close();
  });

  it("request() reads a streamed body whole, and a failure while reading it is the caller's", async () => {
    const pool = new PlainPool({ maxConnections: 1 });
    const first = pool.request("GET", "http://a.test/1");
    const second = pool.request("GET", "http://a.test/2").catch((e: unknown) => e);
    await turn();
    const c = pool.made[0]!;
    c.answerStream(["x", "y", "z"]);
    expect(text((await first).content)).toBe("xyz");
    await turn();
    const broken = new ReadError("body cut");
    c.answerStream(["x"], broken);
    expect(await second).toBe(broken);
    expect(pool.made).toHaveLength(1);
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
    await pool.close();
  });

  it("a signal aborted already: rejected with its reason, nothing queued or made", async () => {
    const pool = new PlainPool();
    const reason = new Error("not now");
    const error = await pool
      .request("GET", "http://a.test/", { signal: AbortSignal.abort(reason) })
      .catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(pool.made).toHaveLength(0);
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 0 active, 0 queued | Connections: 0 active, 0 idle]>",
    );
  });

  it("an abort on a connection with the capacity contract is the connection's: the pool closes nothing, even for a request that waited in the queue", async () => {
    // The request waits first (the pool watches its signal then), then gets the connection.
    const pool = new PlainPool({ maxConnections: 1 }, (origin) => new Shared(origin, 1, "hold"));
    const first = pool.request("GET", "http://a.test/");
    const controller = new AbortController();
    const waited = pool.request("GET", "http://a.test/", { signal: controller.signal });
    void waited.catch(() => {});
    await turn();
    const connection = pool.made[0] as Shared;
    connection.answerHeld();
    expect((await first).status).toBe(200);
    await turn();
    expect(connection.requests).toHaveLength(2);
    controller.abort(new Error("give up"));
    await turn();
    expect(connection.closed).toBe(false);
    connection.answerHeld();
    expect((await waited).status).toBe(200);
    await pool.close();
  });

  it("an abort on a connection without the capacity contract closes it, and the request fails with the reason", async () => {
    const pool = new PlainPool();
    const controller = new AbortController();
    const pending = pool
      .request("GET", "http://a.test/", { signal: controller.signal })
      .catch((e: unknown) => e);
    await turn();
    const reason = new Error("give up");
    controller.abort(reason);
    expect(await pending).toBe(reason);
    expect(pool.made[0]!.closed).toBe(true);
    expect(pool.connections).toHaveLength(0);
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 0 active, 0 queued | Connections: 0 active, 0 idle]>",
    );
  });

  it("an abort while queued takes the request out; the one behind it goes on", async () => {
    const pool = new PlainPool({ maxConnections: 1 });
    const first = pool.request("GET", "http://a.test/1");
    const controller = new AbortController();
    const aborted = pool
      .request("GET", "http://a.test/2", { signal: controller.signal })
      .catch((e: unknown) => e);
    const third = pool.request("GET", "http://a.test/3");
    await turn();
    const reason = new Error("stop waiting");
    controller.abort(reason);
    expect(await aborted).toBe(reason);
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 1 active, 1 queued | Connections: 1 active, 0 idle]>",
    );
    const c = pool.made[0]!;
    c.answer("one");
    expect(text((await first).content)).toBe("one");
    await turn();
    expect(c.requests.map((r) => r.url.target)).toEqual(["/1", "/3"]);
    c.answer("three");
    expect(text((await third).content)).toBe("three");
    await pool.close();
  });

  it("pool timeouts: 0 fails at once when nothing is free, a number when nothing frees in time", async () => {
    const pool = new PlainPool({ maxConnections: 1 });
    const held = pool.request("GET", "http://a.test/");
    const now = await pool
      .request("GET", "http://a.test/", { extensions: { timeout: { pool: 0 } } })
      .catch((e: unknown) => e);
    expect(now).toBeInstanceOf(PoolTimeout);
    expect(now).toMatchObject({
      code: "ERR_POOL_TIMEOUT",
      message: "no connection was free (pool timeout 0)",
    });
    const later = await pool
      .request("GET", "http://a.test/", { extensions: { timeout: { pool: 5 } } })
      .catch((e: unknown) => e);
    expect(later).toBeInstanceOf(PoolTimeout);
    expect(later).toMatchObject({
      code: "ERR_POOL_TIMEOUT",
      message: "no connection became free within 5 ms",
    });
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 1 active, 0 queued | Connections: 1 active, 0 idle]>",
    );
    pool.made[0]!.answer();
    await held;
    // A free connection: pool timeout 0 is no obstacle.
    const free = pool.request("GET", "http://a.test/", { extensions: { timeout: { pool: 0 } } });
    await turn();
    pool.made[0]!.answer("free");
    expect(text((await free).content)).toBe("free");
    expect(pool.made).toHaveLength(1);
    await pool.close();
  });

  it("a request that waited, then got a connection, is not failed by its pool timeout later", async () => {
    const pool = new PlainPool({ maxConnections: 1 });
    const held = pool.request("GET", "http://a.test/");
    const waiting = pool.stream("GET", "http://a.test/", { extensions: { timeout: { pool: 40 } } });
    await turn();
    pool.made[0]!.answer();
    await held;
    await turn();
    pool.made[0]!.answerStream(["late"]);
    const response = await waiting;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(text(await response.read())).toBe("late");
    await pool.close();
  });

  it("a connection that throws instead of rejecting fails that request only", async () => {
    const broken = new Error("thrown, not rejected");
    class ThrowsOnce extends Plain {
      override handleRequest(request: Request): Promise<Response> {
        if (this.requests.push(request) === 1) throw broken;
        return super.handleRequest(request);
      }
    }
    const pool = new PlainPool({ maxConnections: 1 }, (origin) => new ThrowsOnce(origin));
    expect(await pool.request("GET", "http://a.test/").catch((e: unknown) => e)).toBe(broken);
    const next = pool.request("GET", "http://a.test/");
    await turn();
    pool.made[0]!.answer("same connection");
    expect(text((await next).content)).toBe("same connection");
    await pool.close();
  });

  it("a createConnection that throws fails that request, and the next one is placed", async () => {
    const broken = new Error("cannot make a connection");
    let calls = 0;
    const pool = new PlainPool({ maxConnections: 1 }, (origin) => {
      if (++calls === 1) throw broken;
      return new Plain(origin);
    });
    expect(await pool.request("GET", "http://a.test/").catch((e: unknown) => e)).toBe(broken);
    const receiver = {
      error: null as unknown,
      onResponse: () => {},
      onError: (e: unknown) => {
        receiver.error = e;
      },
    };
    calls = 0;
    pool.streamTo("GET", "http://a.test/", {}, receiver);
    expect(receiver.error).toBe(broken);
    const next = pool.request("GET", "http://a.test/");
    await turn();
    pool.made[0]!.answer("placed");
    expect(text((await next).content)).toBe("placed");
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
    await pool.close();
  });

  it("the same for a request that waited: it fails when its turn comes, and the one behind it is placed", async () => {
    const broken = new Error("no connections to b.test");
    const pool = new PlainPool({ maxConnections: 1 }, (origin) => {
      if (origin.host === "b.test") throw broken;
      return new Plain(origin);
    });
    const first = pool.request("GET", "http://a.test/");
    // The pool is full: both wait, and b.test's turn comes when the first is done.
    const other = pool.request("GET", "http://b.test/").catch((e: unknown) => e);
    const behind = pool.request("GET", "http://a.test/");
    await turn();
    pool.made[0]!.answer("first");
    expect(text((await first).content)).toBe("first");
    expect(await other).toBe(broken);
    await turn();
    // The first connection was closed to make room for b.test's: the next one is new.
    expect(pool.made.map((c) => c.closed)).toEqual([true, false]);
    pool.made[1]!.answer("behind");
    expect(text((await behind).content)).toBe("behind");
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
    await pool.close();
  });

  it("the same for a connection whose sendTo throws: that request fails, a turn later", async () => {
    const broken = new Error("thrown by sendTo");
    class SendToThrows extends Plain {
      sendTo(): void {
        throw broken;
      }
    }
    const pool = new PlainPool({ maxConnections: 1 }, (origin) => new SendToThrows(origin));
    let settled = false;
    const pending = pool.request("GET", "http://a.test/").then(
      () => "answered",
      (e: unknown) => {
        settled = true;
        return e;
      },
    );
    expect(settled).toBe(false);
    expect(await pending).toBe(broken);
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
    await pool.close();
  });
});

describe("sending again", () => {
  const sharedPool = (hints: Array<RetryHint | "ok" | "none">, places = 1) =>
    new PlainPool(
      { maxConnections: 10 },
      (origin, i) => new Shared(origin, places, hints[i] ?? "ok"),
    );

  it("ConnectionNotAvailable: sent again, up to 100 times in a row", async () => {
    class Unavailable extends Plain {
      override handleRequest(): Promise<Response> {
        this.closed = true;
        return Promise.reject(new ConnectionNotAvailable("full after all"));
      }
    }
    const pool = new PlainPool({}, (origin, i) =>
      i < 5 ? new Unavailable(origin) : new Shared(origin, 1, "ok"),
    );
    expect((await pool.request("GET", "http://a.test/")).status).toBe(200);
    expect(pool.made).toHaveLength(6);
    await pool.close();
  });

  it("a connection that keeps refusing while it says it has room: the 100th refusal is the caller's", async () => {
    // Before, the pool sent the request again forever, one microtask each, which starves
    // even timers. This one gives in after 1000 refusals, so that without the limit the
    // test fails (a response) instead of hanging.
    class AlwaysRefuses extends Shared {
      override handleRequest(request: Request): Promise<Response> {
        this.requests.push(request);
        if (this.requests.length > 1000) {
          return Promise.resolve(new Response(200, { content: new TextEncoder().encode("ok") }));
        }
        return Promise.reject(new ConnectionNotAvailable("no stream for you"));
      }
    }
    const pool = new PlainPool({}, (origin) => new AlwaysRefuses(origin, 1, "ok"));
    const error = await pool.request("GET", "http://a.test/").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionNotAvailable);
    expect(error).toMatchObject({
      code: "ERR_CONNECTION_NOT_AVAILABLE",
      message:
        "no connection would take the request: refused 100 times in a row (last: no stream for you)",
      cause: expect.objectContaining({ message: "no stream for you" }),
    });
    // The same connection each time (it stays where requests look first): no churn.
    expect(pool.made).toHaveLength(1);
    expect(pool.made[0]!.requests).toHaveLength(100);
    // The pool is left as it was: the connection free, nothing queued.
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
    await pool.close();
  });

  it("a refusal after another kind of retry starts the count again", async () => {
    // 99 refusals, an "unprocessed" failure (sent again on a new connection), then 99 more:
    // never 100 in a row, so the request goes through.
    let refusalsLeft = 198;
    class Flaky extends Shared {
      override handleRequest(request: Request): Promise<Response> {
        this.requests.push(request);
        if (refusalsLeft === 99 && this.requests.length === 100) {
          this.closed = true;
          return Promise.reject(new ReadError("going away", { retry: "unprocessed" }));
        }
        if (refusalsLeft > 0) {
          refusalsLeft--;
          return Promise.reject(new ConnectionNotAvailable("not now"));
        }
        return Promise.resolve(new Response(200, { content: new TextEncoder().encode("at last") }));
      }
    }
    const pool = new PlainPool({}, (origin) => new Flaky(origin, 1, "ok"));
    expect(text((await pool.request("GET", "http://a.test/")).content)).toBe("at last");
    expect(pool.made.map((c) => c.requests.length)).toEqual([100, 100]);
    await pool.close();
  });

  it('"unprocessed": sent again up to 3 times, then the error is the caller\'s', async () => {
    const pool = sharedPool(["unprocessed", "unprocessed", "unprocessed", "unprocessed"]);
    const error = await pool.request("POST", "http://a.test/", { content: "b" }).catch((e) => e);
    expect(error).toBeInstanceOf(ReadError);
    expect(error).toMatchObject({ message: "going away", retry: "unprocessed" });
    expect(pool.made).toHaveLength(4);
    const again = sharedPool(["unprocessed", "unprocessed", "unprocessed"]);
    expect((await again.request("POST", "http://a.test/", { content: "b" })).status).toBe(200);
    expect(again.made).toHaveLength(4);
    await pool.close();
    await again.close();
  });

  it('"unprocessed" on a connection that stays open: sent again on another, not on it', async () => {
    // A refused stream, say: the connection goes on taking requests.
    class RefusesOnce extends Shared {
      override handleRequest(request: Request): Promise<Response> {
        this.requests.push(request);
        if (this.requests.length > 1) {
          return Promise.resolve(new Response(200, { content: new TextEncoder().encode("2") }));
        }
        return Promise.reject(new ReadError("refused", { retry: "unprocessed" }));
      }
    }
    const pool = new PlainPool({}, (origin, i) =>
      i === 0 ? new RefusesOnce(origin, 4, "ok") : new Shared(origin, 4, "ok"),
    );
    expect(text((await pool.request("GET", "http://a.test/")).content)).toBe("ok");
    expect(pool.made.map((c) => c.requests.length)).toEqual([1, 1]);
    await pool.close();
  });

  it('"reused-connection": a GET is sent again once, then the error is the caller\'s', async () => {
    const pool = sharedPool(["reused-connection", "reused-connection"]);
    const error = await pool.request("GET", "http://a.test/").catch((e) => e);
    expect(error).toMatchObject({ message: "going away", retry: "reused-connection" });
    expect(pool.made).toHaveLength(2);
    await pool.close();
  });

  it("a request placed at once, sent back to the queue, can still be aborted there", async () => {
    // Placed at once on a connection with the capacity contract, a request is not watched
    // by the pool (the connection honours the signal); back in the queue, it is again.
    class RefusesFirst extends Shared {
      override handleRequest(request: Request): Promise<Response> {
        if (this.requests.length > 0) return super.handleRequest(request);
        this.requests.push(request);
        return Promise.reject(new ReadError("refused", { retry: "unprocessed" }));
      }
    }
    const pool = new PlainPool({ maxConnections: 2 }, (origin, i) =>
      i === 0 ? new Shared(origin, 1, "hold") : new RefusesFirst(origin, 2, "hold"),
    );
    const held = pool.request("GET", "http://a.test/held");
    const controller = new AbortController();
    const aborted = pool
      .request("GET", "http://a.test/r", { signal: controller.signal })
      .catch((e: unknown) => e);
    const alsoHeld = pool.request("GET", "http://a.test/also");
    await turn();
    // Refused, it waits for a connection made after the one it was refused on: none can be.
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 2 active, 1 queued | Connections: 2 active, 0 idle]>",
    );
    const reason = new Error("no longer wanted");
    controller.abort(reason);
    const outcome = await Promise.race([aborted, turn().then(() => "still waiting")]);
    expect(outcome).toBe(reason);
    for (const c of pool.made) (c as Shared).answerHeld();
    expect((await held).status).toBe(200);
    expect((await alsoHeld).status).toBe(200);
    await pool.close();
  });

  it("a request watched while queued, then sent again, is watched once: nothing left on its signal", async () => {
    // Queued behind the first request (watched by the pool), then refused on the connection
    // it got ("unprocessed"), back in the queue and sent on a new connection.
    class RefusesSecond extends Shared {
      override handleRequest(request: Request): Promise<Response> {
        if (this.requests.length !== 1) return super.handleRequest(request);
        this.requests.push(request);
        return Promise.reject(new ReadError("refused", { retry: "unprocessed" }));
      }
    }
    const pool = new PlainPool({ maxConnections: 1 }, (origin, i) =>
      i === 0 ? new RefusesSecond(origin, 1, "hold") : new Shared(origin, 1, "ok"),
    );
    const controller = new AbortController();
    const held = pool.request("GET", "http://a.test/held");
    const sentAgain = pool.request("GET", "http://a.test/r", { signal: controller.signal });
    await turn();
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    (pool.made[0] as Shared).answerHeld();
    expect((await held).status).toBe(200);
    expect(text((await sentAgain).content)).toBe("ok");
    expect(pool.made).toHaveLength(2);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    await pool.close();
  });

  it("no hint, or a request aborted meanwhile: not sent again", async () => {
    const pool = sharedPool(["none"]);
    const error = await pool.request("GET", "http://a.test/").catch((e) => e);
    expect(error).toMatchObject({ message: "going away" });
    expect(pool.made).toHaveLength(1);
    await pool.close();

    class AbortsThenFails extends Plain {
      constructor(
        origin: Origin,
        readonly controller: AbortController,
      ) {
        super(origin);
      }
      override handleRequest(): Promise<Response> {
        this.controller.abort(new Error("the caller left"));
        return Promise.reject(new ConnectionNotAvailable("full after all"));
      }
      // The capacity contract: the connection honours the signal (here, by failing).
      tryReserve(): boolean {
        return true;
      }
      unreserve(): void {}
    }
    const controller = new AbortController();
    const aborting = new PlainPool({}, (origin) => new AbortsThenFails(origin, controller));
    const reason = await aborting
      .request("GET", "http://a.test/", { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(reason).toMatchObject({ message: "the caller left" });
    expect(aborting.made).toHaveLength(1);
    await aborting.close();
  });

  it('"unprocessed" requests sent again share a new connection; "reused-connection" ones get one each', async () => {
    const run = async (hint: RetryHint) => {
      const pool = sharedPool([hint], 4);
      const results = await Promise.all(
        [1, 2].map((i) => pool.request("GET", `http://a.test/${i}`)),
      );
      expect(results.map((r) => r.status)).toEqual([200, 200]);
      await pool.close();
      return pool.made.map((c) => c.requests.length);
    };
    expect(await run("unprocessed")).toEqual([2, 2]);
    expect(await run("reused-connection")).toEqual([2, 1, 1]);
  });
});

describe("which connection", () => {
  /** Sends one request per path at once, then answers them in the order given. */
  async function concurrently(pool: PlainPool, urls: string[], order = urls.map((_, i) => i)) {
    const pending = urls.map((url) => pool.request("GET", url));
    await turn();
    for (const i of order) pool.made[i]!.answer(String(i));
    return Promise.all(pending);
  }

  it("the connection released last is taken first", async () => {
    const pool = new PlainPool();
    await concurrently(pool, ["http://a.test/1", "http://a.test/2"], [1, 0]);
    const next = pool.request("GET", "http://a.test/3");
    await turn();
    expect(pool.made.map((c) => c.requests.length)).toEqual([2, 1]);
    pool.made[0]!.answer();
    await next;
    await pool.close();
  });

  it("an idle connection that expired is closed and replaced, not used", async () => {
    const pool = new PlainPool();
    await concurrently(pool, ["http://a.test/1"]);
    pool.made[0]!.expired = true;
    const next = pool.request("GET", "http://a.test/2");
    await turn();
    expect(pool.made).toHaveLength(2);
    expect(pool.made[0]!.closed).toBe(true);
    expect(pool.made[0]!.requests).toHaveLength(1);
    pool.made[1]!.answer();
    await next;
    expect(pool.connections).toEqual([pool.made[1]]);
    await pool.close();
  });

  it("a closed connection is dropped when the pool is full, making room", async () => {
    const pool = new PlainPool({ maxConnections: 1 });
    await concurrently(pool, ["http://a.test/1"]);
    pool.made[0]!.closed = true;
    const next = pool.request("GET", "http://a.test/2");
    await turn();
    expect(pool.made).toHaveLength(2);
    pool.made[1]!.answer("new");
    expect(text((await next).content)).toBe("new");
    await pool.close();
  });

  it("full, a request to another origin closes the least recently used free connection", async () => {
    for (const [order, closed] of [
      [[0, 1], 0],
      [[1, 0], 0],
    ] as const) {
      const pool = new PlainPool({ maxConnections: 2 });
      // Handed their requests in the order made: the first is the least recently used,
      // whichever answers first.
      await concurrently(pool, ["http://a.test/1", "http://a.test/2"], [...order]);
      const other = pool.request("GET", "http://b.test/");
      await turn();
      expect(pool.made.map((c) => c.closed)).toEqual([closed === 0, closed !== 0, false]);
      pool.made[2]!.answer("b");
      expect(text((await other).content)).toBe("b");
      await pool.close();
    }
  });

  it("full and every connection busy: a request to another origin waits", async () => {
    const pool = new PlainPool({ maxConnections: 1 });
    const first = pool.request("GET", "http://a.test/");
    const other = pool.request("GET", "http://b.test/");
    await turn();
    expect(pool.made).toHaveLength(1);
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 1 active, 1 queued | Connections: 1 active, 0 idle]>",
    );
    pool.made[0]!.answer();
    await first;
    await turn();
    expect(pool.made.map((c) => c.closed)).toEqual([true, false]);
    pool.made[1]!.answer("b");
    expect(text((await other).content)).toBe("b");
    await pool.close();
  });

  it("the keep-alive limit closes the least recently used idle connections, as they become idle", async () => {
    for (const limit of [0, 1, 2]) {
      const pool = new PlainPool({ maxKeepaliveConnections: limit });
      await concurrently(
        pool,
        ["http://a.test/1", "http://a.test/2", "http://a.test/3"],
        [2, 0, 1],
      );
      // Closed by the pool on its own (not only when `connections` is read).
      expect(pool.made.map((c) => c.closed)).toEqual([0, 1, 2].map((i) => i < 3 - limit));
      expect(pool.connections).toEqual(pool.made.slice(3 - limit).reverse());
      await pool.close();
    }
  });

  it("full, a connection with room but a request in flight is not closed for another origin", async () => {
    const pool = new PlainPool({ maxConnections: 1 }, (origin) => new Shared(origin, 4, "hold"));
    const held = pool.request("GET", "http://a.test/").catch((e: unknown) => e);
    const controller = new AbortController();
    const other = pool
      .request("GET", "http://b.test/", { signal: controller.signal })
      .catch((e: unknown) => e);
    await turn();
    expect(pool.made.map((c) => c.closed)).toEqual([false]);
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 1 active, 1 queued | Connections: 1 active, 0 idle]>",
    );
    controller.abort(new Error("no wait"));
    expect(await other).toMatchObject({ message: "no wait" });
    await pool.close();
    expect(await held).toMatchObject({ message: "going away" });
  });

  it("a connection whose capacity grew while it was full takes waiting requests once a place is given back", async () => {
    const pool = new PlainPool({ maxConnections: 1 }, (origin) => new Shared(origin, 1, "hold"));
    const first = pool.request("GET", "http://a.test/1");
    const second = pool.request("GET", "http://a.test/2");
    await turn();
    const c = pool.made[0] as Shared;
    expect(c.requests).toHaveLength(1);
    c.places = 3;
    c.answerHeld();
    await first;
    await turn();
    expect(c.requests).toHaveLength(2);
    c.answerHeld();
    expect(text((await second).content)).toBe("held");
    expect(pool.made).toHaveLength(1);
    await pool.close();
  });

  it("a connection that says it has room but refuses the reservation is passed over", async () => {
    // Its last place taken elsewhere, say: tryReserve has the last word.
    class Refusing extends Shared {
      override tryReserve(request: Request): boolean {
        return this.requests.length === 0 && super.tryReserve(request);
      }
    }
    const pool = new PlainPool({}, (origin, i) =>
      i === 0 ? new Refusing(origin, 4, "ok") : new Shared(origin, 4, "ok"),
    );
    await pool.request("GET", "http://a.test/1");
    expect(pool.made[0]!.isAvailable()).toBe(true);
    await pool.request("GET", "http://a.test/2");
    expect(pool.made.map((c) => c.requests.length)).toEqual([1, 1]);
    await pool.close();
  });

  it("a connection leaving the pool takes nothing else with it", async () => {
    const pool = new PlainPool();
    const pending = ["/0", "/1", "/2"].map((path) => pool.request("GET", `http://a.test${path}`));
    await turn();
    const [c0, c1, c2] = pool.made as [Plain, Plain, Plain];
    c0.answer();
    c1.answer();
    await Promise.all(pending.slice(0, 2));
    // c2 fails and closes: it leaves; the others stay where requests look first.
    c2.closed = true;
    c2.fail(new ReadError("reset"));
    expect(await pending[2]!.catch((e: unknown) => e)).toMatchObject({ message: "reset" });
    const next = pool.request("GET", "http://a.test/3");
    await turn();
    expect(pool.made.map((c) => c.requests.length)).toEqual([1, 2, 1]);
    c1.answer();
    await next;
    // Closed by close() while in flight: its failure, after close() emptied the pool, does
    // not take the connection made since.
    const busy = pool.request("GET", "http://a.test/4").catch((e: unknown) => e);
    await turn();
    const closing = pool.close();
    const after = pool.request("GET", "http://a.test/5");
    await turn();
    expect(await busy).toMatchObject({ message: "closed while in flight" });
    await closing;
    expect(pool.connections).toEqual([pool.made[3]]);
    pool.made[3]!.answer();
    await after;
    await pool.close();
  });

  it("the keep-alive limit weighs last use, not the order connections were made, and spares busy ones", async () => {
    const pool = new PlainPool({ maxKeepaliveConnections: 1 });
    const pending = ["/0", "/1", "/2"].map((path) => pool.request("GET", `http://a.test${path}`));
    await turn();
    const [c0, c1, c2] = pool.made as [Plain, Plain, Plain];
    c1.answer();
    await pending[1];
    // c1 again: now used after c2.
    const again = pool.request("GET", "http://a.test/3");
    await turn();
    expect(c1.requests).toHaveLength(2);
    c1.answer();
    await again;
    // c2 idle too: one idle too many. c0, the oldest, is busy; c2 is the least recently used.
    c2.answer();
    await pending[2];
    expect([c0, c1, c2].map((c) => c.closed)).toEqual([false, false, true]);
    c0.answer("still open");
    expect(text((await pending[0]!).content)).toBe("still open");
    expect(pool.made.map((c) => c.closed)).toEqual([true, false, true]);
    await pool.close();
  });

  it("a connection that closed while idle is no longer listed", async () => {
    const pool = new PlainPool();
    const pending = ["/0", "/1"].map((path) => pool.request("GET", `http://a.test${path}`));
    await turn();
    for (const c of pool.made) c.answer();
    await Promise.all(pending);
    pool.made[0]!.closed = true;
    expect(pool.connections).toEqual([pool.made[1]]);
    await pool.close();
  });

  it("counts only the requests still waiting as queued", async () => {
    const pool = new PlainPool({ maxConnections: 1 });
    const first = pool.request("GET", "http://a.test/1");
    const second = pool.request("GET", "http://a.test/2");
    const controller = new AbortController();
    const third = pool
      .request("GET", "http://a.test/3", { signal: controller.signal })
      .catch((e: unknown) => e);
    controller.abort(new Error("not this one"));
    await third;
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 1 active, 1 queued | Connections: 1 active, 0 idle]>",
    );
    pool.made[0]!.answer();
    await first;
    await turn();
    pool.made[0]!.answer();
    await second;
    expect(pool.made[0]!.requests.map((r) => r.url.target)).toEqual(["/1", "/2"]);
    await pool.close();
  });

  it("close() closes every connection, and the pool goes on with new ones", async () => {
    const pool = new PlainPool();
    await concurrently(pool, ["http://a.test/1", "http://b.test/2"]);
    await pool.close();
    expect(pool.made.map((c) => c.closed)).toEqual([true, true]);
    expect(pool.connections).toEqual([]);
    const next = pool.request("GET", "http://a.test/3");
    await turn();
    expect(pool.made).toHaveLength(3);
    pool.made[2]!.answer();
    await next;
    await pool.close();
  });
});

describe("the headers request() and stream() add", () => {
  async function* oneChunk() {
    yield new TextEncoder().encode("x");
  }
  const cases: Array<
    [string, string, Record<string, string>, "bytes" | "stream" | null, string[][]]
  > = [
    ["GET, nothing given", "GET", {}, null, [["Host", "a.test:8080"]]],
    ["DELETE, no content", "DELETE", {}, null, [["Host", "a.test:8080"]]],
    ...(["POST", "PUT", "PATCH"].map((method) => [
      `${method}, no content`,
      method,
      { "X-A": "1" },
      null,
      [
        ["Host", "a.test:8080"],
        ["X-A", "1"],
        ["Content-Length", "0"],
      ],
    ]) as Array<[string, string, Record<string, string>, null, string[][]]>),
    [
      "bytes",
      "POST",
      {},
      "bytes",
      [
        ["Host", "a.test:8080"],
        ["Content-Length", "3"],
      ],
    ],
    [
      "a stream",
      "PUT",
      {},
      "stream",
      [
        ["Host", "a.test:8080"],
        ["Transfer-Encoding", "chunked"],
      ],
    ],
    ["a host given, any case", "GET", { hOsT: "b.test" }, null, [["hOsT", "b.test"]]],
    [
      "a host and a length given",
      "POST",
      { host: "b.test", "content-LENGTH": "3" },
      "bytes",
      [
        ["host", "b.test"],
        ["content-LENGTH", "3"],
      ],
    ],
    [
      "a transfer-encoding given",
      "POST",
      { "TRANSFER-ENCODING": "chunked" },
      "stream",
      [
        ["Host", "a.test:8080"],
        ["TRANSFER-ENCODING", "chunked"],
      ],
    ],
    [
      "a host given, a length added",
      "PATCH",
      { Host: "b.test", "X-B": "2" },
      "bytes",
      [
        ["Host", "b.test"],
        ["X-B", "2"],
        ["Content-Length", "3"],
      ],
    ],
  ];

  it.each(cases)("%s", async (_, method, headers, content, expected) => {
    const pool = new PlainPool();
    const pending = pool.stream(method, "http://a.test:8080/", {
      headers,
      ...(content === null
        ? {}
        : { content: content === "bytes" ? new Uint8Array([1, 2, 3]) : oneChunk() }),
    });
    await turn();
    const sent = pool.made[0]!.requests[0]!;
    expect(sent.headers).toEqual(expected);
    expect(sent.headers).toHaveLength(expected.length);
    pool.made[0]!.answer();
    await pending;
    await pool.close();
  });
});

describe("the body of a response holds its connection", () => {
  const chunks = (...parts: string[]) =>
    (async function* () {
      for (const part of parts) yield new TextEncoder().encode(part);
    })();

  it("until its close() has finished, when it has one to wait for", async () => {
    const pool = new PlainPool();
    const pending = pool.stream("GET", "http://a.test/");
    await turn();
    let closed: () => void = () => {};
    const c = pool.made[0]!;
    c.answerBody(
      Object.assign(chunks("a", "b"), {
        close: () =>
          new Promise<void>((resolve) => {
            closed = resolve;
          }),
      }),
    );
    const response = await pending;
    const closing = response.close();
    await turn();
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 1 active, 0 queued | Connections: 1 active, 0 idle]>",
    );
    c.busy = false;
    closed();
    await closing;
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
    await pool.close();
  });

  it("at once when closing has nothing to wait for (no close())", async () => {
    const pool = new PlainPool();
    const pending = pool.stream("GET", "http://a.test/");
    await turn();
    const c = pool.made[0]!;
    c.answerBody(chunks("a"));
    c.busy = false;
    const response = await pending;
    // The connection says it is idle, but the body holds it until closed.
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 1 active, 0 queued | Connections: 1 active, 0 idle]>",
    );
    void response.close();
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
    await pool.close();
  });

  it("a close() that throws: the caller gets the error, the connection is given back", async () => {
    const pool = new PlainPool();
    const pending = pool.stream("GET", "http://a.test/");
    await turn();
    const c = pool.made[0]!;
    const broken = new Error("close failed");
    c.answerBody(
      Object.assign(chunks("a"), {
        close: (): Promise<void> => {
          throw broken;
        },
      }),
    );
    c.busy = false;
    const response = await pending;
    expect(await response.close().catch((e: unknown) => e)).toBe(broken);
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
    await pool.close();
  });

  it("a read that fails after an abort reports the signal's reason, read whole or streamed", async () => {
    for (const whole of [true, false]) {
      const pool = new PlainPool();
      const controller = new AbortController();
      const reason = new Error("aborted by the caller");
      const call = whole ? pool.request.bind(pool) : pool.stream.bind(pool);
      const pending = call("GET", "http://a.test/", { signal: controller.signal });
      await turn();
      pool.made[0]!.answerStream(["a"], () => {
        controller.abort(reason);
        return new ReadError("the read failed");
      });
      const error = await (whole ? pending : pending.then((r) => r.read())).catch(
        (e: unknown) => e,
      );
      expect(error).toBe(reason);
      await pool.close();
    }
  });

  it("a read that fails with no abort reports its own error", async () => {
    const pool = new PlainPool();
    const pending = pool.stream("GET", "http://a.test/");
    await turn();
    const broken = new ReadError("the read failed");
    pool.made[0]!.answerStream(["a"], broken);
    const response = await pending;
    expect(await response.read().catch((e: unknown) => e)).toBe(broken);
    await pool.close();
  });

  it("closed before it is read: read() gives nothing more", async () => {
    const pool = new PlainPool();
    const pending = pool.stream("GET", "http://a.test/");
    await turn();
    pool.made[0]!.answerStream(["a", "b"]);
    const response = await pending;
    await response.close();
    expect(await response.read()).toEqual(new Uint8Array(0));
    await pool.close();
  });
});

describe("the pool timeout of a request sent again", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("starts again when it waits again, and still ends the wait", async () => {
    // Fake clocks: only the pool's timers move, by the test's hand.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const pool = new PlainPool({ maxConnections: 2 });
    const long = pool.request("GET", "http://a.test/long").catch((e: unknown) => e);
    const short = pool.request("GET", "http://a.test/short");
    const waiting = pool
      .request("GET", "http://a.test/waiting", { extensions: { timeout: { pool: 100 } } })
      .catch((e: unknown) => e);
    let settled = false;
    void waiting.then(() => {
      settled = true;
    });
    await turn();
    const [first, second] = pool.made as [Plain, Plain];
    vi.advanceTimersByTime(50);
    second.answer();
    await short;
    await turn();
    // Placed on `second`, which turns it away and stays busy: it waits again, from t = 50.
    expect(second.requests.map((r) => r.url.target)).toEqual(["/short", "/waiting"]);
    second.fail(new ConnectionNotAvailable("no room after all"));
    second.busy = true;
    await turn();
    vi.advanceTimersByTime(70);
    await turn();
    expect(settled).toBe(false);
    vi.advanceTimersByTime(40);
    const error = await waiting;
    expect(error).toBeInstanceOf(PoolTimeout);
    expect(error).toMatchObject({ message: "no connection became free within 100 ms" });
    expect(first.requests).toHaveLength(1);
    await pool.close();
    expect(await long).toBeInstanceOf(ReadError);
  });

  it("a request sent again that gets a connection at once is not failed by a pool timeout of 0", async () => {
    // The first connection turns the request away (before any byte) and stays free: the
    // request is placed again at once, on it, and answered.
    let refused = false;
    const pool = new PlainPool({}, (origin) => {
      const c = new Plain(origin);
      const handle = c.handleRequest.bind(c);
      c.handleRequest = (request) => {
        if (refused) return handle(request);
        refused = true;
        return Promise.reject(new ConnectionNotAvailable("not yet (test)"));
      };
      return c;
    });
    const pending = pool.request("GET", "http://a.test/", {
      extensions: { timeout: { pool: 0 } },
    });
    await turn();
    const [only] = pool.made as [Plain];
    expect(only.requests).toHaveLength(1);
    only.answer("again");
    const response = await pending;
    expect(text(response.content)).toBe("again");
    expect(pool.made).toHaveLength(1);
    await pool.close();
  });
});

describe("the queue", () => {
  it("pushFront puts the last one pushed first, before or after a shift", () => {
    const fresh = new Queue<string>();
    fresh.push("waiting");
    fresh.pushFront("b");
    fresh.pushFront("a");
    expect([...fresh]).toEqual(["a", "b", "waiting"]);
    expect(fresh.length).toBe(3);
    const shifted = new Queue<string>();
    for (const item of ["x", "y", "waiting"]) shifted.push(item);
    expect([shifted.shift(), shifted.shift()]).toEqual(["x", "y"]);
    shifted.pushFront("b");
    shifted.pushFront("a");
    shifted.pushFront("first");
    expect([...shifted]).toEqual(["first", "a", "b", "waiting"]);
    expect([shifted.shift(), shifted.peek(), shifted.length]).toEqual(["first", "a", 3]);
  });

  it("a request turned away goes back to the front, ahead of those still waiting", async () => {
    let refuse = true;
    const pool = new PlainPool({ maxConnections: 1 }, (origin) => {
      const c = new Plain(origin);
      const handle = c.handleRequest.bind(c);
      c.handleRequest = (request) => {
        if (request.url.target !== "/2" || !refuse) return handle(request);
        refuse = false;
        return Promise.reject(new ConnectionNotAvailable("not yet (test)"));
      };
      return c;
    });
    const pending = [1, 2, 3].map((i) => pool.request("GET", `http://a.test/${i}`));
    await turn();
    const [only] = pool.made as [Plain];
    only.answer("1");
    await turn();
    // /2 was turned away and sent again at once, /3 still waits behind it.
    expect(only.requests.map((r) => r.url.target)).toEqual(["/1", "/2"]);
    only.answer("2");
    await turn();
    only.answer("3");
    const bodies = (await Promise.all(pending)).map((r) => text(r.content));
    expect(bodies).toEqual(["1", "2", "3"]);
    expect(only.requests.map((r) => r.url.target)).toEqual(["/1", "/2", "/3"]);
    await pool.close();
  });
});

describe("the books the pool keeps", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a request that stops waiting leaves no pool timer behind", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const pool = new PlainPool({ maxConnections: 1 });
    const held = pool.request("GET", "http://a.test/");
    const controller = new AbortController();
    const waiting = pool
      .request("GET", "http://a.test/", {
        signal: controller.signal,
        extensions: { timeout: { pool: 60_000 } },
      })
      .catch((e: unknown) => e);
    await turn();
    expect(vi.getTimerCount()).toBe(1);
    controller.abort(new Error("no more waiting"));
    expect(await waiting).toMatchObject({ message: "no more waiting" });
    expect(vi.getTimerCount()).toBe(0);
    pool.made[0]!.answer();
    await held;
    await pool.close();
  });

  it("a new connection that says it has no room is still held for its first request", async () => {
    // Without the capacity contract: it has room only once it has a request (the pool's
    // books say it is taken until the request gives it back).
    class NotReadyYet extends Plain {
      ready = false;
      override isAvailable(): boolean {
        return this.ready && super.isAvailable();
      }
      override handleRequest(request: Request): Promise<Response> {
        this.ready = true;
        return super.handleRequest(request);
      }
    }
    const pool = new PlainPool({}, (origin) => new NotReadyYet(origin));
    const pending = pool.stream("GET", "http://a.test/");
    await turn();
    const c = pool.made[0]!;
    c.answerStream(["a"]);
    c.busy = false;
    const response = await pending;
    expect(c.isAvailable()).toBe(true);
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 1 active, 0 queued | Connections: 1 active, 0 idle]>",
    );
    expect(text(await response.read())).toBe("a");
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
    await pool.close();
  });

  it("a new connection with the capacity contract that refuses its first reservation is reused after", async () => {
    class RefusesFirst extends Shared {
      refused = false;
      override tryReserve(request: Request): boolean {
        if (!this.refused) {
          this.refused = true;
          return false;
        }
        return super.tryReserve(request);
      }
    }
    const pool = new PlainPool({}, (origin) => new RefusesFirst(origin, 4, "ok"));
    await pool.request("GET", "http://a.test/1");
    await pool.request("GET", "http://a.test/2");
    expect(pool.made.map((c) => c.requests.length)).toEqual([2]);
    await pool.close();
  });

  it("a place given back on a connection that still had room does not put it ahead of one released since", async () => {
    const pool = new PlainPool({ maxConnections: 2 }, (origin) => new Shared(origin, 1, "hold"));
    const r1 = pool.request("GET", "http://a.test/1");
    const r2 = pool.request("GET", "http://a.test/2");
    await turn();
    const [a, b] = pool.made as [Shared, Shared];
    a.places = 4;
    b.places = 4;
    const r3 = pool.request("GET", "http://a.test/3");
    a.answerHeld();
    await r1;
    await turn();
    expect(a.requests.map((r) => r.url.target)).toEqual(["/1", "/3"]);
    // b released after a was placed again: b is where requests look first.
    b.answerHeld();
    await r2;
    a.answerHeld();
    await r3;
    const r4 = pool.request("GET", "http://a.test/4");
    await turn();
    expect(b.requests.map((r) => r.url.target)).toEqual(["/2", "/4"]);
    b.answerHeld();
    await r4;
    await pool.close();
  });

  it("a connection that was full when a place was given back is where requests look first", async () => {
    const pool = new PlainPool({ maxConnections: 2 }, (origin) => new Shared(origin, 1, "hold"));
    const r1 = pool.request("GET", "http://a.test/1");
    const r2 = pool.request("GET", "http://a.test/2");
    await turn();
    const [a, b] = pool.made as [Shared, Shared];
    a.places = 2;
    b.places = 2;
    a.answerHeld();
    await r1;
    const r3 = pool.request("GET", "http://a.test/3");
    await turn();
    expect(a.requests.map((r) => r.url.target)).toEqual(["/1", "/3"]);
    b.answerHeld();
    await r2;
    // a fills up (its capacity shrank), then its place is given back: released last.
    a.places = 1;
    a.answerHeld();
    await r3;
    const r4 = pool.request("GET", "http://a.test/4");
    await turn();
    expect(a.requests.map((r) => r.url.target)).toEqual(["/1", "/3", "/4"]);
    a.answerHeld();
    await r4;
    await pool.close();
  });

  it("an idle-stack connection that filled up and expired is passed over, not closed under its request", async () => {
    const pool = new PlainPool({}, (origin) => new Shared(origin, 2, "hold"));
    const r1 = pool.request("GET", "http://a.test/1");
    await turn();
    const [a] = pool.made as [Shared];
    a.places = 1;
    a.expired = true;
    const r2 = pool.request("GET", "http://a.test/2");
    await turn();
    expect(pool.made).toHaveLength(2);
    expect(a.closed).toBe(false);
    a.answerHeld();
    expect(text((await r1).content)).toBe("held");
    (pool.made[1] as Shared).answerHeld();
    await r2;
    await pool.close();
  });

  it.each([1, 2])(
    "a connection used %i time(s), then closed to make room, is not counted on again while its close() is under way",
    async (uses) => {
      // Used again, it was taken from where requests look first: it left no entry there
      // behind it, which would outlive its leaving the pool.
      const pool = new PlainPool({ maxConnections: 1 }, (origin) => new SlowClose(origin));
      for (let i = 0; i < uses; i++) {
        const a = pool.request("GET", `http://a.test/${i}`);
        await turn();
        pool.made[0]!.answer();
        await a;
      }
      expect(pool.made[0]!.requests).toHaveLength(uses);
      const b = pool.request("GET", "http://b.test/");
      const c = pool.request("GET", "http://c.test/");
      expect(pool.made.map((m) => m.origin.host)).toEqual(["a.test", "b.test"]);
      await turn();
      pool.made[1]!.answer("b");
      expect(text((await b).content)).toBe("b");
      await turn();
      expect(pool.made.map((m) => m.closed)).toEqual([true, true, false]);
      pool.made[2]!.answer("c");
      expect(text((await c).content)).toBe("c");
      await pool.close();
    },
  );

  it("a connection with no room when its place was given back is not where requests look, even once it has room again", async () => {
    // Its peer allowed no stream at all for a while (an HTTP/2 SETTINGS of 0, say): the pool
    // counts on it again only once a place on it is given back.
    const pool = new PlainPool({}, (origin) => new Shared(origin, 1, "hold"));
    const r1 = pool.request("GET", "http://a.test/1");
    await turn();
    const [a] = pool.made as [Shared];
    a.places = 0;
    a.answerHeld();
    await r1;
    a.places = 1;
    const r2 = pool.request("GET", "http://a.test/2");
    await turn();
    expect(pool.made).toHaveLength(2);
    expect(a.requests).toHaveLength(1);
    (pool.made[1] as Shared).answerHeld();
    expect(text((await r2).content)).toBe("held");
    await pool.close();
  });

  it("a request that arrives behind a waiting one is only queued, even when a held connection has closed meanwhile", async () => {
    // The connection closes while the caller still holds its response: the pool drops it
    // when the response gives it back, and only then places the requests waiting.
    const pool = new PlainPool({ maxConnections: 1 });
    const first = pool.stream("GET", "http://a.test/1");
    await turn();
    const [c0] = pool.made as [Plain];
    c0.answerStream(["one"]);
    const response = await first;
    const second = pool.request("GET", "http://a.test/2");
    await turn();
    c0.closed = true;
    const third = pool.request("GET", "http://a.test/3");
    await turn();
    expect(pool.made).toHaveLength(1);
    expect(String(pool)).toBe(
      "<PlainPool [Requests: 1 active, 2 queued | Connections: 1 active, 0 idle]>",
    );
    await response.close();
    await turn();
    expect(pool.made).toHaveLength(2);
    const c1 = pool.made[1]!;
    c1.answer("2");
    expect(text((await second).content)).toBe("2");
    await turn();
    c1.answer("3");
    expect(text((await third).content)).toBe("3");
    expect(c1.requests.map((r) => r.url.target)).toEqual(["/2", "/3"]);
    await pool.close();
  });

  it("without a keep-alive limit, a request does not look at connections to other origins", async () => {
    // Each request checks only the connections it could use: an expired connection to
    // another origin is closed when it is next looked at, not by this request.
    const pool = new PlainPool();
    const b = pool.request("GET", "http://b.test/");
    await turn();
    pool.made[0]!.answer();
    await b;
    pool.made[0]!.expired = true;
    const a = pool.request("GET", "http://a.test/");
    await turn();
    expect(pool.made.map((c) => c.closed)).toEqual([false, false]);
    pool.made[1]!.answer();
    await a;
    expect(pool.connections).toEqual([pool.made[1]]);
    expect(pool.made[0]!.closed).toBe(true);
    await pool.close();
  });
});

describe("a connection on the idle stack twice", () => {
  // A connection whose capacity shrinks while it is on the idle stack, then gets a place
  // back, is pushed there a second time. Once it is dropped to make room (its close()
  // taking effect a turn later), neither entry may be counted on.
  class SlowShared extends Shared {
    override async close(): Promise<void> {
      await turn();
      await super.close();
    }
  }

  /** A pool of one connection, to a.test, listed twice on the idle stack. */
  async function twiceOnTheStack(): Promise<{ pool: PlainPool; a: Shared }> {
    const pool = new PlainPool(
      { maxConnections: 1 },
      (origin) => new SlowShared(origin, 2, "hold"),
    );
    const first = pool.request("GET", "http://a.test/1");
    await turn();
    const [a] = pool.made as [Shared];
    a.places = 1;
    a.answerHeld();
    await first;
    return { pool, a };
  }

  /** Answers the request held on the pool's `index`th connection made, and waits for it. */
  async function answer(pool: PlainPool, index: number, pending: Promise<unknown>) {
    (pool.made[index] as Shared).answerHeld();
    await pending;
  }

  it("closed to make room, it is not dropped a second time: the pool keeps to maxConnections", async () => {
    const { pool } = await twiceOnTheStack();
    const b = pool.request("GET", "http://b.test/");
    const c = pool.request("GET", "http://c.test/");
    expect(pool.made.map((m) => m.origin.host)).toEqual(["a.test", "b.test"]);
    expect(pool.connections).toHaveLength(1);
    await answer(pool, 1, b);
    await turn();
    // b.test's connection made room for c.test's: one connection, as the limit says.
    expect(pool.made.map((m) => m.origin.host)).toEqual(["a.test", "b.test", "c.test"]);
    expect(pool.connections).toEqual([pool.made[2]]);
    await answer(pool, 2, c);
    await pool.close();
  });

  it("closed to make room, it takes no request for its own origin while its close() is under way", async () => {
    const { pool, a } = await twiceOnTheStack();
    a.places = 2;
    const b = pool.request("GET", "http://b.test/");
    const again = pool.request("GET", "http://a.test/2");
    expect(a.requests).toHaveLength(1);
    expect(pool.made.map((m) => m.origin.host)).toEqual(["a.test", "b.test"]);
    await answer(pool, 1, b);
    await turn();
    // A new connection for a.test, not the one closing.
    expect(a.requests).toHaveLength(1);
    expect(pool.made.map((m) => m.origin.host)).toEqual(["a.test", "b.test", "a.test"]);
    await answer(pool, 2, again);
    await pool.close();
  });
});
