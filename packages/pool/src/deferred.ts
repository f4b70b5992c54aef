import { watchAbort } from "./abort.js";
import type { ConnectionInterface, ResponseReceiver } from "./connection-interface.js";

// Reserves a place on `connection` for `request`; one without the capacity contract takes a
// request when it says it is available.
function reserve(connection: ConnectionInterface, request: Request): boolean {
  return connection.tryReserve?.(request) ?? connection.isAvailable();
}

import { ConnectionNotAvailable } from "./errors.js";
import type { Request, Response } from "./models.js";
import { printable } from "./printable.js";
import type { Origin } from "./url.js";

/**
 * A connection that is opened on its first request — by dialing (as `HTTPConnection`
 * does, directly or through a proxy's tunnel) — and hands requests to the connection it
 * opened (any ConnectionInterface: HTTP11Connection today). Subclasses say how to open it
 * and what to release; this class keeps the lifecycle: CONNECTING, then the opened
 * connection's states, or CONNECTION FAILED (closed, so the pool drops it).
 *
 * @example
 * class Opener extends DeferredConnection {
 *   protected async open(request) { return new HTTP11Connection(this.origin, await myStream()) }
 *   protected async release() {}
 * }
 */
export abstract class DeferredConnection implements ConnectionInterface {
  /** Where this connection's requests go. */
  protected readonly origin: Origin;
  #connection: ConnectionInterface | null = null;
  // The request holding the place before the connection is open (it opens it).
  #reservedFor: Request | null = null;
  #opening = false;
  // While opening a connection that may carry many requests at once (multiplexes()): the
  // other requests holding a place on it, and the opening they wait for.
  readonly #waiting = new Set<Request>();
  #opened: Promise<void> | null = null;
  // The request that opens the connection was aborted and left it to the requests waiting.
  #abandoned = false;
  #failed = false;
  #closed = false;

  constructor(origin: Origin) {
    this.origin = origin;
  }

  /** Opens the connection for its first request. */
  protected abstract open(request: Request): Promise<ConnectionInterface>;

  /** Releases what opening holds (sockets, tunnels); called on close and when opening fails. */
  protected abstract release(): Promise<void>;

  /**
   * True when the connection being opened may take many requests at once (HTTP/2 may be
   * negotiated): requests then hold places on it while it opens, and wait for it, rather
   * than opening connections of their own; those it has no room for once open fail with
   * ConnectionNotAvailable (the pool sends them again). False by default.
   */
  protected multiplexes(): boolean {
    return false;
  }

  /** True once close() was called: an open() under way should give up. */
  protected get closing(): boolean {
    return this.#closed;
  }

  handleRequest(request: Request): Promise<Response> {
    // Open: straight through, with no extra promise.
    if (this.#connection !== null && this.canHandleRequest(request.url.origin)) {
      return this.#connection.handleRequest(request);
    }
    return this.#openThenHandle(request);
  }

  sendTo(request: Request, receiver: ResponseReceiver): void {
    // Open, and the connection opened takes callbacks too: straight through.
    const connection = this.#connection;
    if (connection?.sendTo !== undefined && this.canHandleRequest(request.url.origin)) {
      connection.sendTo(request, receiver);
      return;
    }
    this.handleRequest(request).then(
      (response) => receiver.onResponse(response),
      (error: unknown) => receiver.onError(error),
    );
  }

  async #openThenHandle(request: Request): Promise<Response> {
    if (!this.canHandleRequest(request.url.origin)) {
      throw new ConnectionNotAvailable(
        `Attempted to send request to ${request.url.origin} on connection to ${this.origin}`,
      );
    }
    if (this.#connection === null && this.#waiting.has(request)) {
      await this.#waitForOpening(request, true);
    } else if (this.#connection === null && this.#opening && this.multiplexes()) {
      // Sent without a place reserved (not through a pool): waits for the opening all the same.
      await this.#waitForOpening(request, false);
    } else if (this.#connection === null) {
      if (this.#opening || this.#failed || this.#closed) {
        throw new ConnectionNotAvailable("the connection is not available");
      }
      const signal = request.signal;
      if (signal?.aborted) throw signal.reason;
      // An abort while opening closes what is being opened, unless other requests wait
      // for it (multiplexes()): the opener then leaves alone and the opening goes on for
      // them. (Requests waiting for a closed opening are sent again by the pool.)
      let leave: ((reason: unknown) => void) | null = null;
      const left = new Promise<never>((_, reject) => {
        leave = reject;
      });
      const stopWatching =
        signal === undefined
          ? null
          : watchAbort(signal, () => {
              if (this.#waiting.size > 0 && this.#connection === null && !this.#closed) {
                this.#abandoned = true;
                leave?.(signal.reason);
              } else {
                void this.close();
              }
            });
      const opening = this.#openFor(request);
      try {
        await (signal === undefined ? opening : Promise.race([opening, left]));
      } catch (error) {
        opening.catch(() => {});
        throw signal?.aborted ? signal.reason : error;
      } finally {
        stopWatching?.();
      }
    }
    if (this.#connection === null) {
      throw new ConnectionNotAvailable("the connection is not available");
    }
    return this.#connection.handleRequest(request);
  }

  // Opens the connection for `request` (see #openThenHandle), and moves the place reserved
  // before opening to it.
  async #openFor(request: Request): Promise<void> {
    this.#opening = true;
    let opened: () => void = () => {};
    this.#opened = new Promise<void>((resolve) => {
      opened = resolve;
    });
    try {
      const connection = await this.open(request);
      if (this.#closed) {
        await connection.close();
        throw new ConnectionNotAvailable("the connection was closed while opening");
      }
      this.#connection = connection;
      // The place reserved before opening moves to the connection now open.
      const holder = this.#reservedFor;
      if (holder !== null) {
        this.#reservedFor = null;
        if (!reserve(connection, holder)) {
          throw new ConnectionNotAvailable("the connection opened has no room for the request");
        }
      }
    } catch (error) {
      this.#failed = true;
      await this.release();
      throw error;
    } finally {
      this.#opening = false;
      opened();
    }
  }

  // A request that took a place while the connection was opening: waits for it, then moves
  // its place to the connection opened (or fails with ConnectionNotAvailable).
  async #waitForOpening(request: Request, reserved: boolean): Promise<void> {
    const signal = request.signal;
    let stopWatching: (() => void) | null = null;
    try {
      if (this.#opened !== null) {
        const aborted =
          signal === undefined
            ? null
            : new Promise<never>((_, reject) => {
                stopWatching = watchAbort(signal, () => reject(signal.reason));
              });
        await (aborted === null ? this.#opened : Promise.race([this.#opened, aborted]));
      }
    } finally {
      (stopWatching as (() => void) | null)?.();
      this.#waiting.delete(request);
      // The opener left, and now the last request waiting for the opening has too.
      if (this.#abandoned && this.#waiting.size === 0 && this.#connection === null) {
        void this.close();
      }
    }
    if (signal?.aborted) throw signal.reason;
    const connection = this.#connection;
    if (connection === null || (reserved && !reserve(connection, request))) {
      throw new ConnectionNotAvailable("the connection opened has no room for the request");
    }
  }

  canHandleRequest(origin: Origin): boolean {
    return origin.equals(this.origin);
  }

  tryReserve(request: Request): boolean {
    const connection = this.#connection;
    if (connection !== null) return reserve(connection, request);
    if (this.#failed || this.#closed) return false;
    if (this.#reservedFor === null && !this.#opening) {
      this.#reservedFor = request;
      return true;
    }
    if (!this.multiplexes()) return false;
    this.#waiting.add(request);
    return true;
  }

  unreserve(request: Request): void {
    if (this.#reservedFor === request) this.#reservedFor = null;
    else if (!this.#waiting.delete(request)) this.#connection?.unreserve?.(request);
  }

  isAvailable(): boolean {
    const connection = this.#connection;
    if (connection !== null) return connection.isAvailable();
    if (this.#failed || this.#closed) return false;
    return (this.#reservedFor === null && !this.#opening) || this.multiplexes();
  }

  hasExpired(): boolean {
    if (this.#connection === null) return this.#failed;
    return this.#connection.hasExpired();
  }

  isIdle(): boolean {
    if (this.#connection === null) return this.#failed;
    return this.#connection.isIdle();
  }

  isClosed(): boolean {
    if (this.#connection === null) return this.#failed || (this.#closed && !this.#opening);
    return this.#connection.isClosed();
  }

  info(): string {
    if (this.#connection === null) return this.#failed ? "CONNECTION FAILED" : "CONNECTING";
    return this.#connection.info();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#connection?.close();
    await this.release();
  }

  /** Closes it: `await using conn = new HTTPConnection(origin)`, as httpcore's `async with`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `<${this.constructor.name} [${this.info()}]>`;
  }
}

printable(DeferredConnection);
