import { watchAbort } from "./abort.js";
import type { ConnectionInterface } from "./connection-interface.js";

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
  #failed = false;
  #closed = false;

  constructor(origin: Origin) {
    this.origin = origin;
  }

  /** Opens the connection for its first request. */
  protected abstract open(request: Request): Promise<ConnectionInterface>;

  /** Releases what opening holds (sockets, tunnels); called on close and when opening fails. */
  protected abstract release(): Promise<void>;

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

  async #openThenHandle(request: Request): Promise<Response> {
    if (!this.canHandleRequest(request.url.origin)) {
      throw new ConnectionNotAvailable(
        `Attempted to send request to ${request.url.origin} on connection to ${this.origin}`,
      );
    }
    if (this.#connection === null) {
      if (this.#opening || this.#failed || this.#closed) {
        throw new ConnectionNotAvailable("the connection is not available");
      }
      this.#opening = true;
      // An abort while opening closes what is being opened (it is this request's alone).
      const signal = request.signal;
      const stopWatching =
        signal === undefined ? null : watchAbort(signal, () => void this.close());
      try {
        if (signal?.aborted) throw signal.reason;
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
        throw signal?.aborted ? signal.reason : error;
      } finally {
        stopWatching?.();
        this.#opening = false;
      }
    }
    return this.#connection.handleRequest(request);
  }

  canHandleRequest(origin: Origin): boolean {
    return origin.equals(this.origin);
  }

  tryReserve(request: Request): boolean {
    const connection = this.#connection;
    if (connection !== null) return reserve(connection, request);
    if (this.#reservedFor !== null || this.#opening || this.#failed || this.#closed) return false;
    this.#reservedFor = request;
    return true;
  }

  unreserve(request: Request): void {
    if (this.#reservedFor === request) this.#reservedFor = null;
    else this.#connection?.unreserve?.(request);
  }

  isAvailable(): boolean {
    const connection = this.#connection;
    if (connection !== null) return connection.isAvailable();
    return this.#reservedFor === null && !this.#opening && !this.#failed && !this.#closed;
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
