// ConnectionPool: httpcore's pool for Node.js.
//
// Theory of operation. Requests wait in a FIFO queue. One routine, #assign(), runs whenever
// something changes (a request arrives, a response is closed, a request fails): it drops
// closed and expired connections, trims idle ones past the keep-alive limit, and then hands
// queued requests, oldest first, to connections: one with room for the request's origin
// (the most recently released first), else a new one while there is room, else a new one
// in place of an idle connection to another origin.
//
// Capacity. A connection says itself whether it can take a request (ConnectionInterface's
// tryReserve/unreserve): the pool reserves a place on it for a request, and gives the place
// back when that request is done with it (its response closed, or it failed). Between the
// two the connection counts as neither available (if that was its last place) nor idle,
// whatever its protocol state says in the hand-off; so nothing else needs to remember which
// connection is spoken for. A connection that still has room after a reservation stays where
// requests look first, so the loop can place many requests on one connection (an HTTP/1.1
// connection has one place). With one place per connection, a request that cannot be placed
// means that no connection has room, so the loop stops there, and its cost does not grow
// with the length of the queue; a request that arrives behind waiting ones is only queued,
// since nothing can be placed until something changes, and every change runs #assign().
// Waiting requests are plain objects holding the caller's receiver (a promise's settlers,
// or streamTo's receiver; no suspended async function each), and each is itself the
// receiver its connection answers when the connection has sendTo: no promise between the
// connection and the caller.
//
// Cancellation. While a request waits in the queue, its AbortSignal is the pool's: an abort
// takes it out and rejects it. Once it has a connection, the signal is the connection's,
// which decides what an abort costs (HTTP/1.1 closes the connection; a connection with room
// for several requests need not). A connection without the capacity contract is closed by
// the pool on abort, as before.
//
// Each request then runs on its connection; its response body holds the connection until
// it is read to the end or closed, which calls #assign() again.
//
// Differences from httpcore 1.0, on purpose: the keep-alive limit counts idle connections
// only and closes the least recently used ones; `connections` lists the most recently used
// first; a request that fails on a reused connection before any response byte is retried
// once on a new connection when it is idempotent and its body can be replayed; a response
// body read to the end releases its connection without an explicit close().

import { type AbortSignalLike, watchAbort } from "./abort.js";
import { Body, type ResponseStream, toBody } from "./body.js";
import { concat } from "./bytes.js";
import { HTTPConnection, type HTTPConnectionOptions } from "./connection.js";
import {
  type ConnectionInterface,
  canRetry,
  type ResponseReceiver,
  retryHint,
} from "./connection-interface.js";
import { argumentError, ConnectionNotAvailable, PoolTimeout } from "./errors.js";
import { WriteScheduler } from "./http11.js";
import {
  type HeaderList,
  type HeadersInit,
  Request,
  type RequestContent,
  type RequestExtensions,
  Response,
} from "./models.js";
import { printable } from "./printable.js";
import { afterSettled, SETTLED } from "./settled.js";
import type { Origin, URL } from "./url.js";

/**
 * Options of a ConnectionPool (httpcore's, camelCased; durations in milliseconds).
 *
 * @example
 * new ConnectionPool({ maxConnections: 20, keepaliveExpiry: 30_000, retries: 2 })
 */
export interface ConnectionPoolOptions extends HTTPConnectionOptions {
  /** At most this many connections (default 10; null for no limit). */
  readonly maxConnections?: number | null | undefined;
  /** At most this many idle connections are kept (default null: no limit but maxConnections). */
  readonly maxKeepaliveConnections?: number | null | undefined;
}

/**
 * Options of `request()` and `stream()`.
 *
 * @example
 * await pool.request("POST", url, { headers: { "Content-Type": "application/json" }, content: JSON.stringify(body), signal })
 */
export interface RequestCallOptions {
  readonly headers?: HeadersInit;
  readonly content?: RequestContent;
  readonly extensions?: RequestExtensions;
  readonly signal?: AbortSignalLike;
}

// Methods whose requests carry content, so an empty one says Content-Length: 0.
const CONTENT_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** How many times a request the server did not process is sent again (GOAWAY, refused streams). */
const MAX_UNPROCESSED_RETRIES = 3;
// A request refused this many times in a row (ConnectionNotAvailable) fails with it: a
// connection that keeps saying it has room and keeps refusing would otherwise have the pool
// send the request again forever, each try a microtask, starving even timers. Refusals in
// the normal course (a connection opened with fewer places than requests waited for it)
// come a few times at most.
const MAX_REFUSALS = 100;

// What a PoolRequest tells its pool when its connection answers (one per pool, so that a
// request needs no callbacks of its own).
interface PoolHooks {
  responded(pr: PoolRequest, response: Response): void;
  failed(pr: PoolRequest, error: unknown): void;
}

/**
 * A request waiting for (or holding) a connection. It holds the caller's receiver and
 * nothing else of the caller's: while thousands wait in the queue, each costs this object
 * and its Request (no suspended async function, no promise of its own).
 */
class PoolRequest implements ResponseReceiver {
  readonly request: Request;
  /** request() rather than stream(): the body is read before the caller hears. */
  readonly readWhole: boolean;
  /** The caller's: the settlers of its promise, or its own receiver (streamTo). */
  readonly receiver: ResponseReceiver;
  readonly #pool: PoolHooks;
  connection: ConnectionInterface | null = null;
  /**
   * Sent again after a failure its error marked retryable (TransportError.retry): only a
   * new connection will do. A "reused-connection" failure is retried once, an
   * "unprocessed" one up to MAX_UNPROCESSED_RETRIES times.
   */
  retried = 0;
  /**
   * When retried: only connections made after this (ConnectionPool's count of connections
   * made: the birth of the connection it failed on) will do; -1: only a connection made
   * for it.
   */
  retryAfter = -1;
  /** ConnectionNotAvailable refusals in a row (see MAX_REFUSALS). */
  refusals = 0;
  /** Settled, or given up on: the queue skips it. */
  cancelled = false;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  stopWatching: (() => void) | null = null;

  constructor(request: Request, readWhole: boolean, receiver: ResponseReceiver, pool: PoolHooks) {
    this.request = request;
    this.readWhole = readWhole;
    this.receiver = receiver;
    this.#pool = pool;
  }

  // The connection's answer (this is the receiver the pool hands a connection's sendTo).
  onResponse(response: Response): void {
    this.#pool.responded(this, response);
  }

  onError(error: unknown): void {
    this.#pool.failed(this, error);
  }
}

/** A FIFO queue with O(1) push, shift and push-to-front. Exported for its tests only. */
export class Queue<T> {
  #items: Array<T | undefined> = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  pushFront(item: T): void {
    if (this.#head > 0) this.#items[--this.#head] = item;
    else this.#items.unshift(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i]!;
  }
}

function checkCount(name: string, value: unknown, min: number): void {
  if (value === null || value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw argumentError(`${name} must be an integer >= ${min} or null, not ${String(value)}`);
  }
}

function checkDuration(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !(value >= 0)) {
    throw argumentError(`${name} must be a number of milliseconds >= 0, not ${String(value)}`);
  }
}

/**
 * A pool of HTTP/1.1 (and, with `http2: true`, HTTP/2) connections: requests to the same origin share kept-alive
 * connections, within the limits you set.
 *
 * @example
 * await using pool = new ConnectionPool({ maxConnections: 10 });
 * const res = await pool.request("GET", "https://example.com/");
 * console.log(res.status, new TextDecoder().decode(res.content));
 */
export class ConnectionPool {
  readonly #options: ConnectionPoolOptions;
  readonly #maxConnections: number;
  readonly #maxKeepalive: number;
  #connections: ConnectionInterface[] = [];
  // When each connection was last handed a request (a tick of #clock): `connections` is
  // listed most recently used first, and idle connections are closed oldest first.
  readonly #used = new Map<ConnectionInterface, number>();
  #clock = 0;
  // Connections that had room when last released or placed, the most recent last: where
  // requests look first. A hint: tryReserve has the last word.
  readonly #idle: ConnectionInterface[] = [];
  readonly #queue = new Queue<PoolRequest>();
  // Requests holding a place on a connection (for printing; a count, kept where places are
  // taken and given back, since a Set of them churns a hash table per request).
  #activeCount = 0;
  // The write timing of this pool's connections (see WriteScheduler).
  readonly #writeScheduler = new WriteScheduler();
  // Places held on connections without the capacity contract (no tryReserve): for those
  // the pool keeps the books.
  readonly #heldHere = new Set<ConnectionInterface>();
  // The route each connection was made for, when routeFor() says there are routes.
  readonly #routes = new Map<ConnectionInterface, string>();
  // The order in which connections were made (a retried request takes only newer ones). A
  // connection's entry outlives its leaving the pool: a request that failed on it may be
  // sent again after that.
  readonly #born = new WeakMap<ConnectionInterface, number>();
  #births = 0;
  // How this pool's requests hear from their connections (see PoolRequest).
  readonly #hooks: PoolHooks = {
    responded: (pr, response) => this.#responded(pr, response),
    failed: (pr, error) => this.#failed(pr, error),
  };

  constructor(options: ConnectionPoolOptions = {}) {
    checkCount("maxConnections", options.maxConnections, 1);
    checkCount("maxKeepaliveConnections", options.maxKeepaliveConnections, 0);
    checkCount("retries", options.retries, 0);
    checkCount("maxHeaderSize", options.maxHeaderSize, 1);
    checkDuration("keepaliveExpiry", options.keepaliveExpiry);
    if (options.http1 === false && options.http2 !== true) {
      throw argumentError(
        "http1 and http2 cannot both be off: at least one protocol must be allowed",
        "ERR_NOT_SUPPORTED",
      );
    }
    this.#options = options;
    this.#maxConnections =
      options.maxConnections === undefined ? 10 : (options.maxConnections ?? Infinity);
    this.#maxKeepalive = Math.min(
      this.#maxConnections,
      options.maxKeepaliveConnections ?? Infinity,
    );
  }

  /** The options this pool was made with. */
  protected get options(): ConnectionPoolOptions {
    return this.#options;
  }

  /**
   * Makes a connection for `origin`. The one method a subclass overrides to bring its own
   * connections (this is how @x/proxy plugs in).
   */
  protected createConnection(origin: Origin, _route?: string): ConnectionInterface {
    return new HTTPConnection(origin, this.connectionOptions());
  }

  /**
   * The route a request takes (say, which proxy it goes through), or null when every
   * request of this pool goes the same way (the default). A connection made for one route
   * is never reused for a request on another, even to the same origin; the route is handed
   * to `createConnection(origin, route)`. A pool that chooses a proxy per request (a router)
   * overrides both.
   */
  protected routeFor(_request: Request): string | null {
    return null;
  }

  /** The options every connection of this pool is made with (for `createConnection`). */
  protected connectionOptions(): HTTPConnectionOptions {
    const o = this.#options;
    return {
      tls: o.tls,
      keepaliveExpiry: o.keepaliveExpiry,
      retries: o.retries,
      localAddress: o.localAddress,
      uds: o.uds,
      networkBackend: o.networkBackend,
      socketOptions: o.socketOptions,
      writeScheduler: this.#writeScheduler,
      http1: o.http1,
      http2: o.http2,
      maxHeaderSize: o.maxHeaderSize,
    };
  }

  /** The connections, most recently used first (closed and expired ones are dropped first). */
  get connections(): ConnectionInterface[] {
    this.#prune();
    return [...this.#connections].sort((a, b) => this.#lastUse(b) - this.#lastUse(a));
  }

  /** Sends a request and reads the whole response body. */
  request(
    method: string,
    url: string | URL | globalThis.URL,
    options: RequestCallOptions = {},
  ): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      this.#start(method, url, options, true, { onResponse: resolve, onError: reject });
    });
  }

  /** Sends a request; the body is left to read (iterate it, then close the response). */
  stream(
    method: string,
    url: string | URL | globalThis.URL,
    options: RequestCallOptions = {},
  ): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      this.#start(method, url, options, false, { onResponse: resolve, onError: reject });
    });
  }

  /**
   * stream() with the outcome handed to `receiver` instead of a promise: for adapters that
   * pass the response on to callbacks of their own (no promise, no reaction per request).
   * Exactly one of `receiver.onResponse` and `receiver.onError` is called, once: before
   * streamTo returns when the request fails at once (bad arguments, a signal aborted
   * already, a pool timeout of 0, no connection could be made for it), later otherwise.
   *
   * @example
   * pool.streamTo("GET", url, { signal }, { onResponse: (res) => read(res), onError: (err) => report(err) })
   */
  streamTo(
    method: string,
    url: string | URL | globalThis.URL,
    options: RequestCallOptions,
    receiver: ResponseReceiver,
  ): void {
    this.#start(method, url, options, false, receiver);
  }

  #start(
    method: string,
    url: string | URL | globalThis.URL,
    options: RequestCallOptions,
    readWhole: boolean,
    receiver: ResponseReceiver,
  ): void {
    let request: Request;
    try {
      request = new Request(method, url, options);
      addDefaultHeaders(request);
    } catch (error) {
      receiver.onError(error);
      return;
    }
    this.#enqueue(request, readWhole, receiver);
  }

  /** The core entry point: sends `request` as it is (no headers added). */
  handleRequest(request: Request): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      this.#enqueue(request, false, { onResponse: resolve, onError: reject });
    });
  }

  #enqueue(request: Request, readWhole: boolean, receiver: ResponseReceiver): void {
    const signal = request.signal;
    if (signal?.aborted) {
      receiver.onError(signal.reason);
      return;
    }
    const pr = new PoolRequest(request, readWhole, receiver, this.#hooks);
    // Behind a request that is already waiting, this one cannot be placed either: only a
    // change (a release, a failure, a close) frees a connection, and each runs #assign().
    const behindOthers = this.#queue.length > 0;
    this.#queue.push(pr);
    if (!behindOthers) this.#assign();
    // Failed already: no connection could be made for it (see #assign).
    if (pr.cancelled) return;
    const connection = pr.connection;
    // Placed at once on a connection with the capacity contract, which honours the signal
    // itself: nothing for the pool to watch (unless the request comes back to the queue).
    if (connection === null || connection.tryReserve === undefined) this.#watch(pr);
    if (connection === null) this.#waitForConnection(pr);
  }

  // Watches the request's signal while the pool is the one to honour it: while it waits in
  // the queue (an abort takes it out and fails it), and while it is on a connection without
  // the capacity contract (an abort closes that connection, which may not listen).
  #watch(pr: PoolRequest): void {
    const signal = pr.request.signal;
    if (signal === undefined || pr.stopWatching !== null) return;
    pr.stopWatching = watchAbort(signal, () => {
      const connection = pr.connection;
      if (connection === null) this.#fail(pr, signal.reason);
      else if (connection.tryReserve === undefined) void connection.close();
      // Otherwise the connection honours the signal itself.
    });
  }

  // The request stays queued: it fails with PoolTimeout if the pool timeout passes first.
  #waitForConnection(pr: PoolRequest): void {
    const timeout = pr.request.extensions.timeout?.pool;
    if (timeout === undefined || pr.cancelled) return;
    if (timeout <= 0) {
      this.#fail(pr, new PoolTimeout("no connection was free (pool timeout 0)"));
      return;
    }
    pr.timer = setTimeout(() => {
      if (pr.connection === null) {
        this.#fail(pr, new PoolTimeout(`no connection became free within ${timeout} ms`));
      }
    }, timeout);
  }

  // `connection` was chosen for `pr` (by #assign): send the request on it.
  #send(pr: PoolRequest, connection: ConnectionInterface): void {
    pr.connection = connection;
    if (pr.timer !== undefined) {
      clearTimeout(pr.timer);
      pr.timer = undefined;
    }
    // The connection answers pr (a ResponseReceiver) a turn later at the soonest, never
    // while this loop is placing requests.
    if (connection.sendTo !== undefined) {
      try {
        connection.sendTo(pr.request, pr);
      } catch (error) {
        queueMicrotask(() => this.#failed(pr, error));
      }
      return;
    }
    let pending: Promise<Response>;
    try {
      pending = connection.handleRequest(pr.request);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (response) => this.#responded(pr, response),
      (error: unknown) => this.#failed(pr, error),
    );
  }

  // The request failed on its connection: send it again, or fail.
  #failed(pr: PoolRequest, error: unknown): void {
    const request = pr.request;
    const hint = retryHint(error);
    const refused = error instanceof ConnectionNotAvailable;
    pr.refusals = refused ? pr.refusals + 1 : 0;
    if (refused && pr.refusals >= MAX_REFUSALS) {
      this.#fail(
        pr,
        new ConnectionNotAvailable(
          `no connection would take the request: refused ${pr.refusals} times in a row (last: ${error.message})`,
          { cause: error },
        ),
      );
      return;
    }
    const retry =
      !request.signal?.aborted &&
      (refused ||
        (hint === "unprocessed" && pr.retried < MAX_UNPROCESSED_RETRIES) ||
        (hint === "reused-connection" && pr.retried === 0 && canRetry(request)));
    if (!retry) {
      this.#fail(pr, error);
      return;
    }
    if (!refused) {
      pr.retried += 1;
      // Only a new connection will do: for a request the server did not process (say,
      // above a GOAWAY's last stream id), any made after the one it failed on, so that the
      // requests sent again share one HTTP/2 connection; otherwise one of its own.
      // (pr.connection is the one it failed on; a request fails only after #send.)
      const failedOn = this.#born.get(pr.connection!);
      pr.retryAfter = hint === "unprocessed" ? (failedOn ?? this.#births) : -1;
    }
    this.#release(pr);
    this.#queue.pushFront(pr);
    this.#watch(pr);
    this.#assign();
    if (pr.connection === null) this.#waitForConnection(pr);
  }

  // Settles `pr` with `error` (the signal's reason when it was aborted) and lets go of it.
  #fail(pr: PoolRequest, error: unknown): void {
    if (pr.cancelled) return;
    this.#cancel(pr);
    // A request can fail and leave its connection usable (refused before any byte).
    this.#release(pr);
    this.#assign();
    this.#report(pr, error);
  }

  // Lets go of a request that will not be sent: the queue skips it from now on.
  #cancel(pr: PoolRequest): void {
    pr.cancelled = true;
    if (pr.timer !== undefined) clearTimeout(pr.timer);
    pr.stopWatching?.();
  }

  // Tells the caller `pr` failed: with the signal's reason when it was aborted.
  #report(pr: PoolRequest, error: unknown): void {
    const signal = pr.request.signal;
    pr.receiver.onError(signal?.aborted ? signal.reason : error);
  }

  #responded(pr: PoolRequest, response: Response): void {
    const release = (): void => {
      pr.stopWatching?.();
      this.#release(pr);
      this.#assign();
    };
    const stream = response.stream;
    const receiver = pr.receiver;
    if (stream === null) {
      release();
      receiver.onResponse(response);
      return;
    }
    const body = new PoolBody(stream, release, pr.request.signal);
    if (!pr.readWhole) {
      receiver.onResponse(
        new Response(response.status, {
          headers: response.headers,
          content: body,
          extensions: response.extensions,
        }),
      );
      return;
    }
    // request(): the body is read here, at once when it has all arrived with the head.
    const chunks = body.readRest();
    if (Array.isArray(chunks)) receiver.onResponse(readResponse(response, chunks));
    else {
      chunks.then(
        (all) => receiver.onResponse(readResponse(response, all)),
        (error: unknown) => receiver.onError(error),
      );
    }
  }

  /** Closes every connection. The pool can still be used afterwards. */
  async close(): Promise<void> {
    const closing = this.#connections;
    this.#connections = [];
    for (const c of closing) this.#forget(c);
    await Promise.all(closing.map((c) => c.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // Drops closed connections, and closes and drops expired ones and idle ones past the
  // keep-alive limit (least recently used first).
  #prune(): void {
    let idle = 0;
    let keep = 0;
    const connections = this.#connections;
    for (let i = 0; i < connections.length; i++) {
      const c = connections[i]!;
      if (c.isClosed()) {
        this.#forget(c);
        continue;
      }
      if (c.hasExpired()) {
        this.#forget(c);
        void c.close();
        continue;
      }
      if (this.#isFree(c)) idle++;
      connections[keep++] = c;
    }
    connections.length = keep;
    if (idle <= this.#maxKeepalive) return;
    const idleByAge = connections
      .filter((c) => this.#isFree(c))
      .sort((a, b) => this.#lastUse(a) - this.#lastUse(b));
    for (const c of idleByAge) {
      if (idle-- <= this.#maxKeepalive) break;
      connections.splice(connections.indexOf(c), 1);
      this.#forget(c);
      void c.close();
    }
  }

  #lastUse(c: ConnectionInterface): number {
    return this.#used.get(c) ?? 0;
  }

  // Idle and unreserved: no request holds a place on it, nothing is in flight.
  #isFree(c: ConnectionInterface): boolean {
    return c.isIdle() && c.isAvailable() && !this.#heldHere.has(c);
  }

  // Reserves a place on `c` for `request` (the pool keeps the books for a connection
  // without the capacity contract).
  #tryReserve(c: ConnectionInterface, request: Request): boolean {
    if (c.tryReserve !== undefined) return c.tryReserve(request);
    if (this.#heldHere.has(c) || !c.isAvailable()) return false;
    this.#heldHere.add(c);
    return true;
  }

  // `pr` holds its place on `c` from now on.
  #hold(pr: PoolRequest, c: ConnectionInterface): void {
    pr.connection = c;
    this.#activeCount++;
    this.#used.set(c, ++this.#clock);
  }

  // `pr` gives back its place: the connection goes where requests look first if it has
  // room again, and leaves the pool if it closed.
  #release(pr: PoolRequest): void {
    const c = pr.connection;
    if (c === null) return;
    pr.connection = null;
    this.#activeCount--;
    const hadRoom = c.isAvailable() && !this.#heldHere.has(c);
    if (c.unreserve !== undefined) c.unreserve(pr.request);
    else this.#heldHere.delete(c);
    if (c.isClosed()) this.#drop(c);
    else if (!hadRoom) {
      if (c.isAvailable()) this.#idle.push(c);
    } else if (c.isAvailable() && !this.#idle.includes(c)) {
      // A connection with several places that had room before this one was given back
      // (its capacity grew, or it opened while requests waited): it is where requests look.
      this.#idle.push(c);
    }
  }

  // Removes what the pool remembers about a connection that is leaving it. It may be on the
  // idle stack more than once: #release pushes a connection that had no room without looking
  // (the common case, kept cheap), and one whose capacity shrank while it was there, then
  // got a place back, is pushed again. Every entry goes, or a connection closing (its
  // close() not yet in effect) would still look free.
  #forget(c: ConnectionInterface): void {
    this.#heldHere.delete(c);
    this.#routes.delete(c);
    this.#used.delete(c);
    const idle = this.#idle;
    for (let i = idle.length - 1; i >= 0; i--) if (idle[i] === c) idle.splice(i, 1);
  }

  #drop(c: ConnectionInterface): void {
    const at = this.#connections.indexOf(c);
    if (at !== -1) this.#connections.splice(at, 1);
    this.#forget(c);
    void c.close();
  }

  // The connection most recently released with room for a request to `origin`, with a place
  // reserved on it for `request`.
  #takeIdle(
    origin: Origin,
    request: Request,
    route: string | null,
    bornAfter = -1,
  ): ConnectionInterface | null {
    const idle = this.#idle;
    for (let i = idle.length - 1; i >= 0; i--) {
      const c = idle[i]!;
      if (!c.isAvailable() || this.#heldHere.has(c)) {
        // No room (closed, or full): it comes back here when a place is given back.
        idle.splice(i, 1);
        continue;
      }
      if (!c.canHandleRequest(origin)) continue;
      if (route !== null && this.#routes.get(c) !== route) continue;
      if (bornAfter >= 0 && (this.#born.get(c) ?? -1) <= bornAfter) continue;
      if (c.hasExpired()) {
        idle.splice(i, 1);
        this.#drop(c);
        continue;
      }
      if (!this.#tryReserve(c, request)) {
        idle.splice(i, 1);
        continue;
      }
      // Still room (a connection with several places): it stays where requests look first.
      if (!c.isAvailable() || this.#heldHere.has(c)) idle.splice(i, 1);
      return c;
    }
    return null;
  }

  // The free connection used least recently (to close in favour of another origin), or null.
  #oldestFree(): ConnectionInterface | null {
    let oldest: ConnectionInterface | null = null;
    for (const c of this.#idle) {
      if (this.#isFree(c) && (oldest === null || this.#lastUse(c) < this.#lastUse(oldest))) {
        oldest = c;
      }
    }
    return oldest;
  }

  #assign(): void {
    if (this.#maxKeepalive < this.#maxConnections) this.#prune();
    const connections = this.#connections;
    const queue = this.#queue;
    while (queue.length > 0) {
      const pr = queue.peek()!;
      if (pr.cancelled) {
        queue.shift();
        continue;
      }
      const request = pr.request;
      const origin = request.url.origin;
      const route = this.routeFor(request);
      let chosen =
        pr.retried === 0
          ? this.#takeIdle(origin, request, route)
          : pr.retryAfter >= 0
            ? this.#takeIdle(origin, request, route, pr.retryAfter)
            : null;
      if (chosen === null) {
        if (connections.length >= this.#maxConnections) this.#dropClosed();
        if (connections.length >= this.#maxConnections) {
          // Make room by closing the least recently used free connection, if there is one.
          // Every free connection is on the idle stack: it had room when it was released.
          const oldest = this.#oldestFree();
          if (oldest === null) break;
          this.#drop(oldest);
        }
        try {
          chosen =
            route === null ? this.createConnection(origin) : this.createConnection(origin, route);
        } catch (error) {
          // No connection could be made for it (a subclass's createConnection threw): it
          // fails at once, and the requests behind it are placed as usual.
          queue.shift();
          this.#cancel(pr);
          this.#report(pr, error);
          continue;
        }
        if (route !== null) this.#routes.set(chosen, route);
        connections.push(chosen);
        this.#born.set(chosen, ++this.#births);
        // A new connection has room for its first request.
        if (!this.#tryReserve(chosen, request) && chosen.tryReserve === undefined) {
          this.#heldHere.add(chosen);
        }
        if (chosen.isAvailable() && !this.#heldHere.has(chosen)) this.#idle.push(chosen);
      }
      queue.shift();
      this.#hold(pr, chosen);
      this.#send(pr, chosen);
    }
  }

  // Drops connections that have closed (cheap: no expiry checks).
  #dropClosed(): void {
    const connections = this.#connections;
    for (let i = connections.length - 1; i >= 0; i--) {
      const c = connections[i]!;
      if (c.isClosed()) {
        connections.splice(i, 1);
        this.#forget(c);
      }
    }
  }

  toString(): string {
    let idle = 0;
    for (const c of this.#connections) if (this.#isFree(c)) idle++;
    let queued = 0;
    for (const pr of this.#queue) if (!pr.cancelled) queued++;
    const requests = `Requests: ${this.#activeCount} active, ${queued} queued`;
    const conns = `Connections: ${this.#connections.length - idle} active, ${idle} idle`;
    return `<${this.constructor.name} [${requests} | ${conns}]>`;
  }
}

printable(ConnectionPool);

// The response to request(): its body read whole.
function readResponse(response: Response, chunks: Uint8Array[]): Response {
  return new Response(response.status, {
    headers: response.headers,
    content: concat(chunks),
    extensions: response.extensions,
  });
}

/** Adds Host (first) and the body's framing header when missing, as httpcore does. */
function addDefaultHeaders(request: Request): void {
  const given: HeaderList = request.headers;
  let host = false;
  let framing = false;
  for (const [name] of given) {
    const lower = name.toLowerCase();
    if (lower === "host") host = true;
    else if (lower === "content-length" || lower === "transfer-encoding") framing = true;
  }
  let last: [string, string] | null = null;
  if (!framing) {
    const content = request.content;
    if (content === undefined) {
      if (CONTENT_METHODS.has(request.method)) last = ["Content-Length", "0"];
    } else if (content instanceof Uint8Array) {
      last = ["Content-Length", String(content.length)];
    } else {
      last = ["Transfer-Encoding", "chunked"];
    }
  }
  if (host && last === null) return;
  // A new list of the exact size (one grown by unshift/push keeps unused room).
  const headers: HeaderList = new Array(given.length + (host ? 0 : 1) + (last === null ? 0 : 1));
  let i = 0;
  if (!host) headers[i++] = ["Host", request.url.origin.authority];
  for (const pair of given) headers[i++] = pair;
  if (last !== null) headers[i] = last;
  (request as { headers: HeaderList }).headers = headers;
}

/** A response body that gives the connection back to the pool when done or closed. */
class PoolBody extends Body {
  readonly #inner: Body;
  readonly #release: () => void;
  readonly #signal: AbortSignalLike | undefined;

  constructor(inner: ResponseStream, release: () => void, signal: AbortSignalLike | undefined) {
    super();
    this.#inner = toBody(inner);
    this.#release = release;
    this.#signal = signal;
  }

  protected pull(): Uint8Array | null | Promise<Uint8Array | null> {
    return this.#inner.readChunk();
  }

  // The whole body in one call to the connection's body (no step per chunk here).
  override readRest(): Uint8Array[] | Promise<Uint8Array[]> {
    if (this.done) return [];
    let chunks: Uint8Array[] | Promise<Uint8Array[]>;
    try {
      chunks = this.#inner.readRest();
    } catch (error) {
      chunks = Promise.reject(error);
    }
    if (Array.isArray(chunks)) return afterSettled(this.close(), chunks);
    return chunks.then(
      (all) => afterSettled(this.close(), all),
      (error: unknown) =>
        this.close().then(() => {
          throw this.failure(error);
        }),
    );
  }

  protected finish(): Promise<void> {
    let closing: Promise<void>;
    try {
      closing = this.#inner.close();
    } catch (error) {
      this.#release();
      return Promise.reject(error);
    }
    if (closing === SETTLED) {
      this.#release();
      return SETTLED;
    }
    return closing.finally(this.#release);
  }

  protected override failure(error: unknown): unknown {
    return this.#signal?.aborted ? this.#signal.reason : error;
  }
}
