// The capacity contract (tryReserve/unreserve) and where cancellation lives: the pool places
// as many requests on a connection as it has room for, and a connection, not the pool,
// decides what an abort costs.
import { neverHandshakes, startOrigin, startRawServer } from "@x/testkit";
import { describe, expect, it } from "vitest";
import {
  type ConnectionInterface,
  ConnectionPool,
  getHeader,
  HTTP11Connection,
  HTTPConnection,
  MockBackend,
  NodeBackend,
  type Origin,
  ReadError,
  Request,
  Response,
  type RetryHint,
  URL,
} from "../src/index.js";

/**
 * A connection with `places` places that answers each request when the test says so: a
 * stand-in for a multiplexing protocol. An abort fails only its own request.
 */
class Multiplexed implements ConnectionInterface {
  readonly reserved = new Set<Request>();
  readonly inFlight = new Map<Request, (r: Response) => void>();
  handled = 0;
  closed = false;
  constructor(
    readonly origin: Origin,
    readonly places: number,
  ) {}
  tryReserve(request: Request): boolean {
    if (this.closed || this.reserved.size >= this.places) return false;
    this.reserved.add(request);
    return true;
  }
  unreserve(request: Request): void {
    this.reserved.delete(request);
  }
  handleRequest(request: Request): Promise<Response> {
    this.handled++;
    return new Promise((resolve, reject) => {
      this.inFlight.set(request, resolve);
      request.signal?.addEventListener("abort", () => {
        this.inFlight.delete(request);
        reject(request.signal?.reason);
      });
    });
  }
  /** Answers the oldest request in flight. */
  answer(body: string): void {
    const [request, resolve] = this.inFlight.entries().next().value!;
    this.inFlight.delete(request);
    resolve(new Response(200, { content: new TextEncoder().encode(body) }));
  }
  canHandleRequest(origin: Origin): boolean {
    return origin.equals(this.origin);
  }
  isAvailable(): boolean {
    return !this.closed && this.reserved.size < this.places;
  }
  hasExpired(): boolean {
    return false;
  }
  isIdle(): boolean {
    return this.reserved.size === 0;
  }
  isClosed(): boolean {
    return this.closed;
  }
  info(): string {
    return `'${this.origin}', MUX, ${this.reserved.size} of ${this.places}`;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

class MuxPool extends ConnectionPool {
  readonly made: Multiplexed[] = [];
  constructor(
    readonly places: number,
    maxConnections: number,
  ) {
    super({ maxConnections });
  }
  protected override createConnection(origin: Origin): ConnectionInterface {
    const c = new Multiplexed(origin, this.places);
    this.made.push(c);
    return c;
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const getWith = (url: URL, signal?: AbortSignal) =>
  new Request("GET", url, {
    headers: [["Host", url.origin.authority]],
    ...(signal === undefined ? {} : { signal }),
  });

describe("the capacity contract", () => {
  it("places as many requests on one connection as it has room for, and queues the rest", async () => {
    const pool = new MuxPool(3, 1);
    const pending = [1, 2, 3, 4, 5].map((i) => pool.request("GET", `http://a.test/${i}`));
    await turn();
    expect(pool.made).toHaveLength(1);
    const mux = pool.made[0]!;
    expect(mux.handled).toBe(3);
    expect(String(pool)).toBe(
      "<MuxPool [Requests: 3 active, 2 queued | Connections: 1 active, 0 idle]>",
    );
    mux.answer("one");
    expect(new TextDecoder().decode((await pending[0]!).content)).toBe("one");
    await turn();
    // The place given back went to the oldest waiting request, on the same connection.
    expect(mux.handled).toBe(4);
    for (const body of ["two", "three", "four"]) mux.answer(body);
    await turn();
    expect(mux.handled).toBe(5);
    mux.answer("five");
    const bodies = await Promise.all(pending);
    expect(bodies.map((r) => new TextDecoder().decode(r.content))).toEqual([
      "one",
      "two",
      "three",
      "four",
      "five",
    ]);
    expect(pool.made).toHaveLength(1);
    expect(mux.reserved.size).toBe(0);
    expect(String(pool)).toBe(
      "<MuxPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
  });

  it("a connection with room is used before another is opened", async () => {
    const pool = new MuxPool(2, 5);
    const pending = [1, 2, 3].map((i) => pool.request("GET", `http://a.test/${i}`));
    await turn();
    expect(pool.made.map((c) => c.handled)).toEqual([2, 1]);
    for (const c of pool.made) while (c.inFlight.size > 0) c.answer("x");
    await Promise.all(pending);
  });

  it("an abort fails its own request and leaves the connection to the others", async () => {
    const pool = new MuxPool(2, 1);
    const controller = new AbortController();
    const aborted = pool
      .request("GET", "http://a.test/1", { signal: controller.signal })
      .catch((e: unknown) => e);
    const other = pool.request("GET", "http://a.test/2");
    await turn();
    controller.abort(new Error("stop"));
    expect(((await aborted) as Error).message).toBe("stop");
    const mux = pool.made[0]!;
    expect(mux.closed).toBe(false);
    mux.answer("still here");
    expect(new TextDecoder().decode((await other).content)).toBe("still here");
    expect(mux.reserved.size).toBe(0);
  });

  it("an HTTP/1.1 connection has one place, free when NEW or IDLE", async () => {
    const origin = await startOrigin();
    try {
      const url = new URL(`${origin.url}/`);
      const stream = await new NodeBackend().connectTcp("127.0.0.1", origin.port);
      const conn = new HTTP11Connection(url.origin, stream);
      const first = new Request("GET", url, { headers: [["Host", url.origin.authority]] });
      const second = new Request("GET", url, { headers: [["Host", url.origin.authority]] });
      expect(conn.tryReserve(first)).toBe(true);
      expect(conn.tryReserve(second)).toBe(false);
      expect(conn.isAvailable()).toBe(false);
      const r = await conn.handleRequest(first);
      await r.read();
      // IDLE again, but the place is held until it is given back.
      expect(conn.state).toBe("IDLE");
      expect(conn.isAvailable()).toBe(false);
      expect(conn.tryReserve(second)).toBe(false);
      conn.unreserve(second); // not the holder: ignored
      expect(conn.isAvailable()).toBe(false);
      conn.unreserve(first);
      expect(conn.isAvailable()).toBe(true);
      expect(conn.tryReserve(second)).toBe(true);
      await conn.close();
      expect(conn.isAvailable()).toBe(false);
    } finally {
      await origin.close();
    }
  });
});

describe("a bare connection honours its request's AbortSignal", () => {
  it("while waiting for the response: rejects with the reason and closes (HTTP/1.1)", async () => {
    const raw = await startRawServer((socket) => socket.resume());
    try {
      const url = new URL(`${raw.url}/`);
      const conn = new HTTPConnection(url.origin);
      const controller = new AbortController();
      const pending = conn.handleRequest(getWith(url, controller.signal)).catch((e: unknown) => e);
      await pause(20);
      expect(conn.info()).toMatch(/ACTIVE/);
      controller.abort(new Error("user gave up"));
      expect(((await pending) as Error).message).toBe("user gave up");
      expect(conn.isClosed()).toBe(true);
    } finally {
      await raw.close();
    }
  });

  it("while reading the body: the read fails with the reason", async () => {
    const raw = await startRawServer((socket) =>
      socket.once("data", () => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")),
    );
    try {
      const url = new URL(`${raw.url}/`);
      const conn = new HTTPConnection(url.origin);
      const controller = new AbortController();
      const response = await conn.handleRequest(getWith(url, controller.signal));
      const reading = response.read().catch((e: unknown) => e);
      await pause(20);
      controller.abort(new Error("enough"));
      expect(((await reading) as Error).message).toBe("enough");
      expect(conn.isClosed()).toBe(true);
    } finally {
      await raw.close();
    }
  });

  it("while connecting (a TLS handshake that never ends): CONNECTION FAILED, nothing left open", async () => {
    const raw = await startRawServer(neverHandshakes);
    try {
      const url = new URL(`https://127.0.0.1:${raw.port}/`);
      const conn = new HTTPConnection(url.origin);
      const controller = new AbortController();
      const pending = conn.handleRequest(getWith(url, controller.signal)).catch((e: unknown) => e);
      await pause(20);
      expect(conn.info()).toBe("CONNECTING");
      controller.abort(new Error("too slow"));
      expect(((await pending) as Error).message).toBe("too slow");
      expect(conn.info()).toBe("CONNECTION FAILED");
      expect(conn.isClosed()).toBe(true);
    } finally {
      await raw.close();
    }
  });

  it("already aborted: rejected at once, the connection untouched", async () => {
    const origin = await startOrigin();
    try {
      const url = new URL(`${origin.url}/`);
      const conn = new HTTPConnection(url.origin);
      const signal = AbortSignal.abort(new Error("never mind"));
      await expect(conn.handleRequest(getWith(url, signal))).rejects.toThrow("never mind");
      expect(origin.connections).toBe(0);
      await conn.close();
    } finally {
      await origin.close();
    }
  });
});

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

describe("connections are matched on origin and route", () => {
  class RoutedPool extends ConnectionPool {
    readonly made: string[] = [];
    constructor() {
      super({ networkBackend: new MockBackend([OK, OK, OK]) });
    }
    protected override routeFor(request: Request): string | null {
      return getHeader(request.headers, "X-Route") ?? "direct";
    }
    protected override createConnection(origin: Origin, route?: string): ConnectionInterface {
      this.made.push(`${origin} via ${route}`);
      return super.createConnection(origin);
    }
  }

  it("a request on another route never reuses a connection, even to the same origin", async () => {
    const pool = new RoutedPool();
    const on = (route: string) =>
      pool.request("GET", "http://a.test/", { headers: { "X-Route": route } });
    await on("A");
    await on("B");
    await on("A");
    await on("B");
    expect(pool.made).toEqual(["http://a.test:80 via A", "http://a.test:80 via B"]);
    expect(pool.connections.map((c) => c.info())).toEqual([
      "'http://a.test:80', HTTP/1.1, IDLE, Request Count: 2",
      "'http://a.test:80', HTTP/1.1, IDLE, Request Count: 2",
    ]);
    await pool.close();
  });

  it("without routes (the default) every request to an origin shares its connections", async () => {
    const plain = new (class extends ConnectionPool {
      made = 0;
      protected override createConnection(origin: Origin): ConnectionInterface {
        this.made++;
        return super.createConnection(origin);
      }
    })({ networkBackend: new MockBackend([OK, OK]) });
    await plain.request("GET", "http://a.test/", { headers: { "X-Route": "A" } });
    await plain.request("GET", "http://a.test/", { headers: { "X-Route": "B" } });
    expect(plain.made).toBe(1);
    await plain.close();
  });
});

describe("the retry rule travels on the error (TransportError.retry)", () => {
  /**
   * The pool's first connection fails its request with an error carrying `hint` (as an
   * HTTP/2 connection does for streams above a GOAWAY's last stream id) and closes; the
   * connections after it answer.
   */
  class Refusing extends Multiplexed {
    constructor(
      origin: Origin,
      readonly hint: RetryHint | undefined,
      readonly plainObject: boolean,
      readonly fails: boolean,
    ) {
      super(origin, 1);
    }
    override handleRequest(_request: Request): Promise<Response> {
      this.handled++;
      if (this.fails) {
        // A copy of @x/pool installed twice makes errors of another class: only the
        // property counts.
        const error = this.plainObject
          ? Object.assign(new Error("going away"), { retry: this.hint })
          : new ReadError("going away", this.hint === undefined ? {} : { retry: this.hint });
        this.closed = true;
        return Promise.reject(error);
      }
      return Promise.resolve(new Response(200, { content: new TextEncoder().encode("ok") }));
    }
  }
  class RefusingPool extends ConnectionPool {
    readonly made: Refusing[] = [];
    constructor(
      readonly hint: RetryHint | undefined,
      readonly plainObject = false,
    ) {
      super({ maxConnections: 4 });
    }
    protected override createConnection(origin: Origin): ConnectionInterface {
      const c = new Refusing(origin, this.hint, this.plainObject, this.made.length === 0);
      this.made.push(c);
      return c;
    }
  }
  async function* oneShot() {
    yield new TextEncoder().encode("x");
  }

  it('"unprocessed": even a POST with a one-shot body is sent again, on a new connection', async () => {
    const pool = new RefusingPool("unprocessed");
    const response = await pool.request("POST", "http://a.test/", { content: oneShot() });
    expect(response.status).toBe(200);
    expect(pool.made.length).toBeGreaterThan(1);
    await pool.close();
  });

  it('"unprocessed" from another installed copy (a plain error with the property) counts too', async () => {
    const pool = new RefusingPool("unprocessed", true);
    expect((await pool.request("POST", "http://a.test/", { content: "b" })).status).toBe(200);
    await pool.close();
  });

  it('"reused-connection": a GET is sent again, a POST is not', async () => {
    const pool = new RefusingPool("reused-connection");
    expect((await pool.request("GET", "http://a.test/")).status).toBe(200);
    const again = new RefusingPool("reused-connection");
    const error = await again.request("POST", "http://a.test/", { content: "b" }).catch((e) => e);
    await again.close();
    expect(error).toBeInstanceOf(ReadError);
    expect(error).toMatchObject({ message: "going away", retry: "reused-connection" });
    await pool.close();
  });

  it("no hint: the error reaches the caller, nothing is sent again", async () => {
    const pool = new RefusingPool(undefined);
    const error = await pool.request("GET", "http://a.test/").catch((e) => e);
    expect(error).toBeInstanceOf(ReadError);
    expect(error.retry).toBeUndefined();
    expect(Object.keys(error)).not.toContain("retry");
    expect(pool.made).toHaveLength(1);
    await pool.close();
  });
});
