// DeferredConnection's lifecycle, on a stand-in opener whose open() the test settles and a
// stand-in connection it "opens" (no sockets): opening on the first request, the place
// reserved before opening, requests waiting for an opening that may multiplex, aborts while
// opening, failures and closes. And the two helpers beside it: watchAbort and afterSettled.
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { watchAbort } from "../src/abort.js";
import {
  ConnectError,
  type ConnectionInterface,
  ConnectionNotAvailable,
  DeferredConnection,
  type Origin,
  Request,
  Response,
  URL,
} from "../src/index.js";
import { afterSettled, SETTLED } from "../src/settled.js";

const A = new URL("http://a.test/").origin;

function request(url = "http://a.test/", signal?: AbortSignal): Request {
  const u = new URL(url);
  return new Request("GET", u, {
    headers: [["Host", u.origin.authority]],
    ...(signal === undefined ? {} : { signal }),
  });
}

/** The connection opened: `places` places (capacity contract unless `contract` is false). */
class Inner implements ConnectionInterface {
  readonly handled: Request[] = [];
  readonly reserved = new Set<Request>();
  readonly unreserved: Request[] = [];
  closed = false;
  expired = false;
  idle = true;
  constructor(
    readonly origin: Origin,
    public places = 1,
  ) {}
  last: Promise<Response> | null = null;
  handleRequest(request: Request): Promise<Response> {
    this.handled.push(request);
    this.last = Promise.resolve(new Response(200));
    return this.last;
  }
  canHandleRequest(origin: Origin): boolean {
    return origin.equals(this.origin);
  }
  tryReserve(request: Request): boolean {
    if (this.reserved.size >= this.places) return false;
    this.reserved.add(request);
    return true;
  }
  unreserve(request: Request): void {
    this.unreserved.push(request);
    this.reserved.delete(request);
  }
  isAvailable(): boolean {
    return !this.closed && this.reserved.size < this.places;
  }
  hasExpired(): boolean {
    return this.expired;
  }
  isIdle(): boolean {
    return this.idle;
  }
  isClosed(): boolean {
    return this.closed;
  }
  info(): string {
    return `INNER ${this.reserved.size}/${this.places}`;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** An opener whose open() waits for the test: `finish(inner)` or `fail(error)`. */
class Opener extends DeferredConnection {
  readonly openedFor: Request[] = [];
  releases = 0;
  #settle: { resolve: (c: ConnectionInterface) => void; reject: (e: unknown) => void } | null =
    null;
  constructor(
    origin: Origin,
    readonly multi = false,
  ) {
    super(origin);
  }
  protected open(request: Request): Promise<ConnectionInterface> {
    this.openedFor.push(request);
    return new Promise((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
  }
  protected async release(): Promise<void> {
    this.releases++;
  }
  protected override multiplexes(): boolean {
    return this.multi;
  }
  get isClosing(): boolean {
    return this.closing;
  }
  finish(inner: ConnectionInterface): void {
    this.#settle?.resolve(inner);
  }
  fail(error: unknown): void {
    this.#settle?.reject(error);
  }
}

/** An opener that keeps DeferredConnection's own multiplexes(). */
class OneAtATime extends DeferredConnection {
  protected open(): Promise<ConnectionInterface> {
    return new Promise(() => {});
  }
  protected async release(): Promise<void> {}
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Both requests take a place on `conn` and are sent, `r1` first (it opens the connection,
 * `r2` waits for the opening); a turn later, their responses' promises.
 */
async function sendBoth(
  conn: Opener,
  r1: Request,
  r2: Request,
): Promise<[Promise<Response>, Promise<Response>]> {
  conn.tryReserve(r1);
  conn.tryReserve(r2);
  const sent: [Promise<Response>, Promise<Response>] = [
    conn.handleRequest(r1),
    conn.handleRequest(r2),
  ];
  await turn();
  return sent;
}

describe("DeferredConnection", () => {
  it("opens on its first request, then hands every request straight to what it opened", async () => {
    const conn = new Opener(A);
    expect(conn.info()).toBe("CONNECTING");
    expect(String(conn)).toBe("<Opener [CONNECTING]>");
    expect(conn.isAvailable()).toBe(true);
    expect([conn.isClosed(), conn.isIdle(), conn.hasExpired()]).toEqual([false, false, false]);
    const first = request();
    const pending = conn.handleRequest(first);
    await turn();
    expect(conn.openedFor).toEqual([first]);
    // Opening for one request (no multiplexing): no room for another meanwhile.
    expect(conn.isAvailable()).toBe(false);
    expect(conn.isClosed()).toBe(false);
    expect(conn.info()).toBe("CONNECTING");
    const inner = new Inner(A, 2);
    conn.finish(inner);
    expect((await pending).status).toBe(200);
    expect(inner.handled).toEqual([first]);
    // Without a reservation before opening, none is made on the connection opened.
    expect(inner.reserved.size).toBe(0);
    expect(conn.info()).toBe("INNER 0/2");
    expect(String(conn)).toBe("<Opener [INNER 0/2]>");

    // Once open, straight through: the connection's own promise, no extra one.
    const second = request();
    const straight = conn.handleRequest(second);
    expect(straight).toBe(inner.last);
    await straight;
    expect(inner.handled).toEqual([first, second]);
    expect(conn.openedFor).toEqual([first]);

    // What it opened answers for it from now on.
    expect(conn.tryReserve(second)).toBe(true);
    expect(inner.reserved.has(second)).toBe(true);
    conn.unreserve(second);
    expect(inner.unreserved).toEqual([second]);
    inner.places = 0;
    expect(conn.isAvailable()).toBe(false);
    expect(conn.tryReserve(second)).toBe(false);
    inner.places = 1;
    inner.idle = false;
    inner.expired = true;
    expect([conn.isAvailable(), conn.isIdle(), conn.hasExpired()]).toEqual([true, false, true]);
    inner.closed = true;
    expect(conn.isClosed()).toBe(true);
    await conn.close();
    expect(conn.isClosing).toBe(true);
    expect(conn.releases).toBe(1);
  });

  it("a connection opened without the capacity contract takes the place when it is available", async () => {
    const conn = new Opener(A);
    const first = request();
    expect(conn.tryReserve(first)).toBe(true);
    const pending = conn.handleRequest(first);
    await turn();
    const bare = new Inner(A);
    const plain: ConnectionInterface = {
      handleRequest: (r) => bare.handleRequest(r),
      canHandleRequest: (o) => bare.canHandleRequest(o),
      isAvailable: () => !bare.closed,
      hasExpired: () => false,
      isIdle: () => true,
      isClosed: () => bare.closed,
      info: () => "PLAIN",
      close: () => bare.close(),
    };
    conn.finish(plain);
    expect((await pending).status).toBe(200);
    expect(conn.tryReserve(request())).toBe(true);
    bare.closed = true;
    expect(conn.tryReserve(request())).toBe(false);
    // unreserve has nothing to tell a connection without the contract.
    expect(() => conn.unreserve(first)).not.toThrow();
  });

  it("does not multiplex unless its subclass says so", () => {
    const conn = new OneAtATime(A);
    expect(conn.tryReserve(request())).toBe(true);
    expect(conn.isAvailable()).toBe(false);
    expect(conn.tryReserve(request())).toBe(false);
  });

  it("refuses a request for another origin, before and after opening", async () => {
    const conn = new Opener(A);
    const other = request("http://b.test/");
    const refused =
      "Attempted to send request to http://b.test:80 on connection to http://a.test:80";
    await expect(conn.handleRequest(other)).rejects.toThrow(new ConnectionNotAvailable(refused));
    await expect(conn.handleRequest(other)).rejects.toBeInstanceOf(ConnectionNotAvailable);
    expect(conn.openedFor).toEqual([]);
    const pending = conn.handleRequest(request());
    await turn();
    const inner = new Inner(A);
    conn.finish(inner);
    await pending;
    await expect(conn.handleRequest(other)).rejects.toThrow(refused);
    expect(inner.handled).toHaveLength(1);
    expect(conn.canHandleRequest(A)).toBe(true);
    expect(conn.canHandleRequest(other.url.origin)).toBe(false);
  });

  it("an opening that fails: the request fails with its error, the connection is CONNECTION FAILED", async () => {
    const conn = new Opener(A);
    const pending = conn.handleRequest(request());
    await turn();
    const error = new ConnectError("no route (test)");
    conn.fail(error);
    await expect(pending).rejects.toBe(error);
    expect(conn.releases).toBe(1);
    expect(conn.info()).toBe("CONNECTION FAILED");
    expect(String(conn)).toBe("<Opener [CONNECTION FAILED]>");
    expect([conn.isClosed(), conn.hasExpired(), conn.isIdle()]).toEqual([true, true, true]);
    expect(conn.isAvailable()).toBe(false);
    expect(conn.tryReserve(request())).toBe(false);
    await expect(conn.handleRequest(request())).rejects.toThrow(
      new ConnectionNotAvailable("the connection is not available"),
    );
    expect(conn.openedFor).toHaveLength(1);
  });

  it("a request sent while it opens for another (one place) is refused", async () => {
    const conn = new Opener(A);
    const pending = conn.handleRequest(request());
    await turn();
    await expect(conn.handleRequest(request())).rejects.toThrow(
      new ConnectionNotAvailable("the connection is not available"),
    );
    expect(conn.openedFor).toHaveLength(1);
    conn.finish(new Inner(A));
    expect((await pending).status).toBe(200);
  });

  it("closed while opening: what opens is closed, and the request is refused", async () => {
    const conn = new Opener(A);
    const pending = conn.handleRequest(request());
    await turn();
    const closing = conn.close();
    // Closed, but not until the opening under way stops.
    expect(conn.isClosed()).toBe(false);
    expect(conn.isClosing).toBe(true);
    await closing;
    expect(conn.isAvailable()).toBe(false);
    expect(conn.tryReserve(request())).toBe(false);
    const inner = new Inner(A);
    conn.finish(inner);
    await expect(pending).rejects.toThrow(
      new ConnectionNotAvailable("the connection was closed while opening"),
    );
    expect(inner.closed).toBe(true);
    expect(inner.handled).toEqual([]);
    expect(conn.isClosed()).toBe(true);
    expect(conn.info()).toBe("CONNECTION FAILED");
    // Once by close(), once by the opening that failed.
    expect(conn.releases).toBe(2);
  });

  it("a closed connection opens nothing", async () => {
    const conn = new Opener(A);
    await conn[Symbol.asyncDispose]();
    expect(conn.releases).toBe(1);
    expect(conn.isClosed()).toBe(true);
    expect(conn.info()).toBe("CONNECTING");
    expect(conn.isAvailable()).toBe(false);
    expect(conn.tryReserve(request())).toBe(false);
    await expect(conn.handleRequest(request())).rejects.toThrow(
      new ConnectionNotAvailable("the connection is not available"),
    );
    expect(conn.openedFor).toEqual([]);
  });

  it("a request already aborted fails with its reason, and opens nothing", async () => {
    const conn = new Opener(A);
    const reason = new Error("gave up (test)");
    await expect(conn.handleRequest(request(undefined, AbortSignal.abort(reason)))).rejects.toBe(
      reason,
    );
    expect(conn.openedFor).toEqual([]);
    expect(conn.isAvailable()).toBe(true);
  });

  it("the place reserved before opening moves to the connection opened", async () => {
    const conn = new Opener(A);
    const first = request();
    expect(conn.tryReserve(first)).toBe(true);
    expect(conn.isAvailable()).toBe(false);
    expect(conn.tryReserve(request())).toBe(false);
    conn.unreserve(first);
    expect(conn.isAvailable()).toBe(true);
    expect(conn.tryReserve(first)).toBe(true);
    const pending = conn.handleRequest(first);
    await turn();
    const inner = new Inner(A, 2);
    conn.finish(inner);
    await pending;
    expect([...inner.reserved]).toEqual([first]);
    // The place is the connection's now: giving it back goes there.
    conn.unreserve(first);
    expect(inner.unreserved).toEqual([first]);
  });

  it("a connection opened with no room for the request that reserved a place fails it", async () => {
    const conn = new Opener(A);
    const first = request();
    conn.tryReserve(first);
    const pending = conn.handleRequest(first);
    await turn();
    const inner = new Inner(A, 0);
    conn.finish(inner);
    await expect(pending).rejects.toThrow(
      new ConnectionNotAvailable("the connection opened has no room for the request"),
    );
    expect(inner.handled).toEqual([]);
    expect(conn.releases).toBe(1);
  });

  it("an abort while opening, with nobody waiting, closes the connection", async () => {
    const conn = new Opener(A);
    const controller = new AbortController();
    const pending = conn.handleRequest(request(undefined, controller.signal));
    await turn();
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    const reason = new Error("stop (test)");
    controller.abort(reason);
    await turn();
    expect(conn.isClosing).toBe(true);
    expect(conn.releases).toBe(1);
    // The request waits for the opening to stop (a dial would stop on release()).
    const inner = new Inner(A);
    conn.finish(inner);
    await expect(pending).rejects.toBe(reason);
    expect(inner.closed).toBe(true);
    expect(conn.isClosed()).toBe(true);
  });

  it("an opening that fails after its request was aborted fails with the abort's reason", async () => {
    const conn = new Opener(A, true);
    const controller = new AbortController();
    const waiter = request();
    const opener = request(undefined, controller.signal);
    conn.tryReserve(opener);
    conn.tryReserve(waiter);
    const pending = conn.handleRequest(opener);
    const waiting = conn.handleRequest(waiter);
    await turn();
    const reason = new Error("stop (test)");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    conn.fail(new ConnectError("no route (test)"));
    await expect(waiting).rejects.toThrow(
      new ConnectionNotAvailable("the connection opened has no room for the request"),
    );
  });

  it("a request that stops watching its signal once opened: a later abort closes nothing", async () => {
    const conn = new Opener(A);
    const controller = new AbortController();
    const pending = conn.handleRequest(request(undefined, controller.signal));
    await turn();
    const inner = new Inner(A);
    conn.finish(inner);
    await pending;
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    controller.abort();
    await turn();
    expect(inner.closed).toBe(false);
    expect(conn.releases).toBe(0);
  });
});

describe("DeferredConnection that may multiplex", () => {
  it("requests holding places wait for the opening, then take places on what opened", async () => {
    const conn = new Opener(A, true);
    const [r1, r2, r3] = [request(), request(), request()];
    expect(conn.tryReserve(r1)).toBe(true);
    expect(conn.tryReserve(r2)).toBe(true);
    expect(conn.tryReserve(r3)).toBe(true);
    expect(conn.isAvailable()).toBe(true);
    const p1 = conn.handleRequest(r1);
    const p2 = conn.handleRequest(r2);
    const p3 = conn.handleRequest(r3);
    await turn();
    expect(conn.openedFor).toEqual([r1]);
    expect(conn.isAvailable()).toBe(true);
    const inner = new Inner(A, 2);
    conn.finish(inner);
    expect((await p1).status).toBe(200);
    expect((await p2).status).toBe(200);
    // No room left for the third: the pool sends it again.
    await expect(p3).rejects.toThrow(
      new ConnectionNotAvailable("the connection opened has no room for the request"),
    );
    expect(inner.handled).toEqual([r1, r2]);
    expect([...inner.reserved]).toEqual([r1, r2]);
  });

  it("a request sent without a place while it opens waits for it all the same", async () => {
    const conn = new Opener(A, true);
    const p1 = conn.handleRequest(request());
    await turn();
    const r2 = request();
    const p2 = conn.handleRequest(r2);
    await turn();
    const inner = new Inner(A, 1);
    conn.finish(inner);
    await p1;
    expect((await p2).status).toBe(200);
    expect(inner.handled).toContain(r2);
    expect(inner.reserved.has(r2)).toBe(false);
    expect(conn.openedFor).toHaveLength(1);
  });

  it("a request waiting is refused when the opening fails", async () => {
    const conn = new Opener(A, true);
    const [r1, r2] = [request(), request()];
    const [p1, p2] = await sendBoth(conn, r1, r2);
    conn.fail(new ConnectError("no route (test)"));
    await expect(p1).rejects.toBeInstanceOf(ConnectError);
    await expect(p2).rejects.toThrow(
      new ConnectionNotAvailable("the connection opened has no room for the request"),
    );
  });

  it("once its opening failed, a new request is refused as by a connection not available", async () => {
    const conn = new Opener(A, true);
    const pending = conn.handleRequest(request());
    await turn();
    conn.fail(new ConnectError("no route (test)"));
    await expect(pending).rejects.toBeInstanceOf(ConnectError);
    await expect(conn.handleRequest(request())).rejects.toThrow(
      new ConnectionNotAvailable("the connection is not available"),
    );
    expect(conn.openedFor).toHaveLength(1);
  });

  it("a place held but never used, given back once it opened, was never the connection's", async () => {
    const conn = new Opener(A, true);
    const [r1, r2] = [request(), request()];
    conn.tryReserve(r1);
    conn.tryReserve(r2);
    const p1 = conn.handleRequest(r1);
    await turn();
    const inner = new Inner(A, 2);
    conn.finish(inner);
    await p1;
    // r2 held its place in the waiting set, and never took one on the connection.
    conn.unreserve(r2);
    expect(inner.unreserved).toEqual([]);
    conn.unreserve(r1);
    expect(inner.unreserved).toEqual([r1]);
  });

  it("a request holding a place, sent before any opening, is refused", async () => {
    const conn = new Opener(A, true);
    const [r1, r2] = [request(), request()];
    conn.tryReserve(r1);
    conn.tryReserve(r2);
    await expect(conn.handleRequest(r2)).rejects.toThrow(
      new ConnectionNotAvailable("the connection opened has no room for the request"),
    );
    expect(conn.openedFor).toEqual([]);
  });

  it("a request holding a place, watching a signal, sent just before the request that opens: refused, even when the opening is over at once", async () => {
    // What it finds when it is sent decides: no opening under way, so no connection to wait for.
    class OpensAtOnce extends DeferredConnection {
      constructor(readonly inner: ConnectionInterface) {
        super(A);
      }
      protected open(): Promise<ConnectionInterface> {
        return Promise.resolve(this.inner);
      }
      protected async release(): Promise<void> {}
      protected override multiplexes(): boolean {
        return true;
      }
    }
    const inner = new Inner(A, 2);
    const conn = new OpensAtOnce(inner);
    const [r1, r2] = [request(), request("http://a.test/", new AbortController().signal)];
    conn.tryReserve(r1);
    conn.tryReserve(r2);
    const p2 = conn.handleRequest(r2);
    const p1 = conn.handleRequest(r1);
    await expect(p2).rejects.toThrow(
      new ConnectionNotAvailable("the connection opened has no room for the request"),
    );
    expect((await p1).status).toBe(200);
    expect(inner.handled).toEqual([r1]);
  });

  it("the request that opens it goes first on the connection opened, then those that waited, in the order sent", async () => {
    // (None of them watching a signal.)
    const conn = new Opener(A, true);
    const rs = [request("http://a.test/1"), request("http://a.test/2"), request("http://a.test/3")];
    for (const r of rs) conn.tryReserve(r);
    const pending = rs.map((r) => conn.handleRequest(r));
    await turn();
    const inner = new Inner(A, 3);
    conn.finish(inner);
    await Promise.all(pending);
    expect(inner.handled.map((r) => r.url.target)).toEqual(["/1", "/2", "/3"]);
  });

  it("a place given back while waiting is the waiting set's, not the opener's", async () => {
    const conn = new Opener(A, true);
    const [r1, r2] = [request(), request()];
    conn.tryReserve(r1);
    conn.tryReserve(r2);
    conn.unreserve(r2);
    const p1 = conn.handleRequest(r1);
    await turn();
    const inner = new Inner(A, 2);
    conn.finish(inner);
    await p1;
    // r1's place moved to the connection; r2 gave its back before: nothing to move.
    expect([...inner.reserved]).toEqual([r1]);
    expect(inner.unreserved).toEqual([]);
  });

  it("a waiting request aborted fails with its reason; the opening goes on for the rest", async () => {
    const conn = new Opener(A, true);
    const controller = new AbortController();
    const r1 = request();
    const r2 = request(undefined, controller.signal);
    const [p1, p2] = await sendBoth(conn, r1, r2);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    const reason = new Error("stop (test)");
    controller.abort(reason);
    await expect(p2).rejects.toBe(reason);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    const inner = new Inner(A, 2);
    conn.finish(inner);
    await p1;
    expect(inner.handled).toEqual([r1]);
    expect([...inner.reserved]).toEqual([r1]);
    expect(conn.releases).toBe(0);
  });

  it("a waiting request aborted after the opening is over fails with its reason", async () => {
    const conn = new Opener(A, true);
    const controller = new AbortController();
    const r1 = request();
    const r2 = request(undefined, controller.signal);
    const [p1, p2] = await sendBoth(conn, r1, r2);
    const inner = new Inner(A, 2);
    conn.finish(inner);
    // Aborted after the opening settled, before the waiter ran on.
    const reason = new Error("late (test)");
    controller.abort(reason);
    await p1;
    await expect(p2).rejects.toBe(reason);
    expect(inner.handled).toEqual([r1]);
  });

  it("the opener aborted while others wait: it leaves, the opening goes on for them", async () => {
    const conn = new Opener(A, true);
    const controller = new AbortController();
    const r1 = request(undefined, controller.signal);
    const r2 = request();
    const [p1, p2] = await sendBoth(conn, r1, r2);
    const reason = new Error("stop (test)");
    controller.abort(reason);
    await expect(p1).rejects.toBe(reason);
    expect(conn.isClosing).toBe(false);
    expect(conn.releases).toBe(0);
    const inner = new Inner(A, 2);
    conn.finish(inner);
    expect((await p2).status).toBe(200);
    expect(inner.handled).toEqual([r2]);
    expect(inner.closed).toBe(false);
    await turn();
    expect(conn.isClosing).toBe(false);
  });

  it("the opener aborted as its place moves to the connection opened: that connection is closed, as after any opening", async () => {
    // The abort comes once the connection is there (from the connection's own tryReserve,
    // the first thing done with it): the opener then holds a place on it, so the connection
    // is not left to the others with that place taken. It is closed, as when the abort
    // comes after the opening is over.
    const controller = new AbortController();
    const reason = new Error("stop (test)");
    const r1 = request(undefined, controller.signal);
    class AbortsOnReserve extends Inner {
      override tryReserve(r: Request): boolean {
        const ok = super.tryReserve(r);
        if (r === r1) controller.abort(reason);
        return ok;
      }
      // As @x/pool's connections do: a closed one takes no request.
      override handleRequest(r: Request): Promise<Response> {
        if (this.closed) return Promise.reject(new ConnectionNotAvailable("closed (test)"));
        return super.handleRequest(r);
      }
    }
    const conn = new Opener(A, true);
    const r2 = request();
    const [p1, p2] = await sendBoth(conn, r1, r2);
    const inner = new AbortsOnReserve(A, 2);
    conn.finish(inner);
    // Both are refused as by a closed connection; the pool then fails r1 with its abort's
    // reason (its signal is aborted) and sends r2 again.
    await expect(p1).rejects.toThrow(new ConnectionNotAvailable("closed (test)"));
    await expect(p2).rejects.toThrow(new ConnectionNotAvailable("closed (test)"));
    expect(conn.isClosing).toBe(true);
    expect(inner.closed).toBe(true);
    expect(inner.handled).toEqual([]);
  });

  it("the opener aborted, then every request waiting: the connection closes", async () => {
    const conn = new Opener(A, true);
    const c1 = new AbortController();
    const c2 = new AbortController();
    const r1 = request(undefined, c1.signal);
    const r2 = request(undefined, c2.signal);
    const [p1, p2] = await sendBoth(conn, r1, r2);
    c1.abort();
    await expect(p1).rejects.toThrow();
    expect(conn.isClosing).toBe(false);
    c2.abort();
    await expect(p2).rejects.toThrow();
    await turn();
    expect(conn.isClosing).toBe(true);
    expect(conn.releases).toBe(1);
    const inner = new Inner(A, 2);
    conn.finish(inner);
    await turn();
    expect(inner.closed).toBe(true);
    expect(conn.isClosed()).toBe(true);
  });

  it("the opener aborted, then one of two requests waiting: the opening goes on for the other", async () => {
    const conn = new Opener(A, true);
    const c1 = new AbortController();
    const c2 = new AbortController();
    const r1 = request(undefined, c1.signal);
    const r2 = request(undefined, c2.signal);
    const r3 = request();
    for (const r of [r1, r2, r3]) conn.tryReserve(r);
    const p1 = conn.handleRequest(r1);
    const p2 = conn.handleRequest(r2);
    const p3 = conn.handleRequest(r3);
    await turn();
    c1.abort();
    await expect(p1).rejects.toThrow();
    c2.abort();
    await expect(p2).rejects.toThrow();
    await turn();
    expect(conn.isClosing).toBe(false);
    const inner = new Inner(A, 2);
    conn.finish(inner);
    expect((await p3).status).toBe(200);
    expect(inner.handled).toEqual([r3]);
    expect(conn.releases).toBe(0);
  });

  it("the last waiter aborted while the opener still waits leaves the connection open", async () => {
    const conn = new Opener(A, true);
    const c2 = new AbortController();
    const r1 = request();
    const r2 = request(undefined, c2.signal);
    const [p1, p2] = await sendBoth(conn, r1, r2);
    c2.abort();
    await expect(p2).rejects.toThrow();
    await turn();
    expect(conn.isClosing).toBe(false);
    conn.finish(new Inner(A, 2));
    expect((await p1).status).toBe(200);
  });
});

describe("watchAbort", () => {
  it("one listener per signal, however many watch it; gone when the last watch stops", () => {
    const controller = new AbortController();
    const signal = controller.signal;
    const stops = [watchAbort(signal, () => {}), watchAbort(signal, () => {})];
    expect(getEventListeners(signal, "abort")).toHaveLength(1);
    stops[0]!();
    expect(getEventListeners(signal, "abort")).toHaveLength(1);
    stops[1]!();
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
    // A new watch after the last one stopped listens again.
    const calls: string[] = [];
    const stop = watchAbort(signal, () => calls.push("again"));
    expect(getEventListeners(signal, "abort")).toHaveLength(1);
    controller.abort();
    expect(calls).toEqual(["again"]);
    stop();
  });

  it("calls each watch once on abort; a stopped watch is not called, stopping twice does nothing", () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const stopA = watchAbort(controller.signal, () => calls.push("a"));
    watchAbort(controller.signal, () => calls.push("b"));
    stopA();
    stopA();
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    controller.abort();
    controller.abort();
    expect(calls).toEqual(["b"]);
  });

  it("one callback watching twice and stopping once is still called", () => {
    const controller = new AbortController();
    let calls = 0;
    const onAbort = () => calls++;
    const stop = watchAbort(controller.signal, onAbort);
    watchAbort(controller.signal, onAbort);
    stop();
    controller.abort();
    expect(calls).toBe(1);
  });

  it("after an abort, a new watch of the signal starts afresh", () => {
    const controller = new AbortController();
    const signal = controller.signal;
    const calls: string[] = [];
    watchAbort(signal, () => calls.push("first"));
    controller.abort();
    expect(calls).toEqual(["first"]);
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
    // The signal has aborted: the new watch is never called, but listens until stopped.
    const stop = watchAbort(signal, () => calls.push("late"));
    expect(getEventListeners(signal, "abort")).toHaveLength(1);
    stop();
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
    expect(calls).toEqual(["first"]);
  });

  it("a watch that stops itself when called leaves the others to be called", () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const stop: Array<() => void> = [];
    stop.push(
      watchAbort(controller.signal, () => {
        calls.push("a");
        stop[0]!();
      }),
    );
    watchAbort(controller.signal, () => calls.push("b"));
    controller.abort();
    expect(calls).toEqual(["a", "b"]);
  });
});

describe("watchAbort, the only watch stopping itself when called (as the pool's requests do)", () => {
  it("stops without error, and the signal keeps no listener", async () => {
    const controller = new AbortController();
    const errors: unknown[] = [];
    const onError = (error: unknown) => void errors.push(error);
    process.on("uncaughtException", onError);
    try {
      let calls = 0;
      const stop = watchAbort(controller.signal, () => {
        calls++;
        stop();
      });
      controller.abort();
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls).toBe(1);
      expect(errors).toEqual([]);
      expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    } finally {
      process.off("uncaughtException", onError);
    }
  });
});

describe("watchAbort of a signal already aborted, from inside its abort", () => {
  it("a watch made while the last one stops itself is the one later watches join", () => {
    const controller = new AbortController();
    const signal = controller.signal;
    const stop: Array<() => void> = [];
    stop.push(
      watchAbort(signal, () => {
        stop.push(watchAbort(signal, () => {}));
        stop[0]!();
      }),
    );
    controller.abort();
    expect(getEventListeners(signal, "abort")).toHaveLength(1);
    stop.push(watchAbort(signal, () => {}));
    expect(getEventListeners(signal, "abort")).toHaveLength(1);
    stop[1]!();
    stop[2]!();
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
  });
});

describe("afterSettled", () => {
  it("gives the value at once after SETTLED, else a promise of it once the wait is over", async () => {
    expect(afterSettled(SETTLED, 7)).toBe(7);
    let done = false;
    const waited = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      done = true;
    });
    const later = afterSettled(waited, 7);
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toBe(7);
    expect(done).toBe(true);
    await expect(afterSettled(Promise.reject(new Error("no")), 7)).rejects.toThrow("no");
  });
});
