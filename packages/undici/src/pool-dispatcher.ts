import { printable } from "@x/pool";
import { Dispatcher, errors } from "undici";
import { type AnyHandler, type DispatchInput, Exchange, type StreamingPool } from "./exchange.js";
import { InFlight } from "./in-flight.js";

/**
 * What a PoolDispatcher wraps: anything with a pool's `stream()` and `close()` — a
 * `ConnectionPool`, an `HTTPProxy`, a `SOCKSProxy`, a `ProxyRouter`...
 *
 * @example
 * const pool: DispatchablePool = new ConnectionPool({ maxConnections: 50 });
 */
export interface DispatchablePool extends StreamingPool {
  close(): Promise<void>;
}

/**
 * An undici `Dispatcher` over a pool of this project: `fetch()`, `request()`, `stream()`,
 * `WebSocket` and `connect()` of undici 7, and Node's global `fetch`, through any pool
 * (direct, an HTTP or SOCKS proxy, a router).
 *
 * @example
 * import { fetch } from "undici";
 * import { HTTPProxy } from "@x/proxy";
 * const dispatcher = new PoolDispatcher(new HTTPProxy({ proxyUrl: "http://127.0.0.1:8080/" }));
 * const res = await fetch("https://example.com/", { dispatcher });
 * await dispatcher.close();
 */
export class PoolDispatcher extends Dispatcher {
  readonly #pool: DispatchablePool;
  readonly #active = new InFlight<Exchange>();
  #idle: Array<() => void> = [];
  #closed = false;
  #destroyed = false;

  constructor(pool: DispatchablePool) {
    super();
    if (
      pool === null ||
      typeof pool !== "object" ||
      typeof pool.stream !== "function" ||
      typeof pool.close !== "function"
    ) {
      const error = new TypeError(
        "PoolDispatcher wraps a pool: a ConnectionPool, HTTPProxy, SOCKSProxy or ProxyRouter (anything with stream() and close())",
      );
      (error as { code?: string }).code = "ERR_INVALID_ARG_TYPE";
      throw error;
    }
    this.#pool = pool;
  }

  /** The pool requests go through, for introspection (`dispatcher.pool.connections`). */
  get pool(): DispatchablePool {
    return this.#pool;
  }

  /** True once close() or destroy() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True once destroy() was called. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  override dispatch(
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    const exchange = new Exchange(handler as AnyHandler, this.#settled);
    if (this.#closed) {
      const error = this.#destroyed
        ? new errors.ClientDestroyedError()
        : new errors.ClientClosedError();
      queueMicrotask(() => exchange.abort(error));
      return false;
    }
    this.#active.add(exchange);
    exchange.start(this.#pool, options as DispatchInput);
    return true;
  }

  readonly #settled = (exchange: Exchange): void => {
    this.#active.delete(exchange);
    if (this.#active.size === 0 && this.#idle.length > 0) {
      const waiting = this.#idle;
      this.#idle = [];
      for (const resolve of waiting) resolve();
    }
  };

  /** Waits for the requests in flight, then closes the pool. New requests fail at once. */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | undefined {
    this.#closed = true;
    const done = (
      this.#active.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.#idle.push(resolve))
    ).then(() => this.#pool.close());
    if (callback === undefined) return done;
    done.then(
      () => callback(),
      () => callback(),
    );
    return undefined;
  }

  /** Fails the requests in flight with `error`, and closes the pool. */
  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(
    errorOrCallback?: Error | null | (() => void),
    maybeCallback?: () => void,
  ): Promise<void> | undefined {
    const callback = typeof errorOrCallback === "function" ? errorOrCallback : maybeCallback;
    const given = typeof errorOrCallback === "function" ? null : errorOrCallback;
    this.#closed = true;
    this.#destroyed = true;
    const error = given ?? new errors.ClientDestroyedError();
    for (const exchange of this.#active.items()) exchange.abort(error);
    const done = this.#pool.close();
    if (callback === undefined) return done;
    done.then(
      () => callback(),
      () => callback(),
    );
    return undefined;
  }

  override toString(): string {
    return `<PoolDispatcher [${String(this.#pool)}]>`;
  }
}

printable(PoolDispatcher);
