import type { RetryHint } from "./errors.js";
import type { Request, Response } from "./models.js";
import type { Origin } from "./url.js";

/**
 * What the pool needs of a connection. `HTTPConnection`, `HTTP11Connection` and the proxy
 * connections of @x/proxy implement it; a subclass of ConnectionPool returns its own from
 * `createConnection(origin)`.
 *
 * @example
 * class Mine implements ConnectionInterface { handleRequest(request) { return myTransport(request) } … }
 */
export interface ConnectionInterface {
  /**
   * Sends `request` and resolves with the response once its head has arrived. The request's
   * AbortSignal is the connection's to honour: it decides what an abort costs (HTTP/1.1
   * closes the connection).
   */
  handleRequest(request: Request): Promise<Response>;
  /**
   * Optional: `handleRequest` with the outcome handed to `receiver` instead of a promise,
   * for a pool that would otherwise only pass the promise's result on (no promise, no
   * reaction per request). Exactly one of `receiver.onResponse` and `receiver.onError` is
   * called, once, and never before `sendTo` returns. The pool uses it when it is there,
   * `handleRequest` otherwise.
   */
  sendTo?(request: Request, receiver: ResponseReceiver): void;
  /** True when this connection goes to `origin` (or, for a forwarding proxy, can reach it). */
  canHandleRequest(origin: Origin): boolean;
  /** True when it could take another request now (it has room that nobody has reserved). */
  isAvailable(): boolean;
  /** True when the connection must not be used again (keep-alive expired, peer closed). */
  hasExpired(): boolean;
  /** True between requests on a kept-alive connection (nothing in flight). */
  isIdle(): boolean;
  isClosed(): boolean;
  /** The text inside the brackets when printed, e.g. "'http://a.com:80', HTTP/1.1, IDLE, Request Count: 2". */
  info(): string;
  close(): Promise<void>;
  /**
   * The capacity contract (optional; the pool keeps the books itself for a connection
   * without it). Claims room for `request` at once: true means the connection holds a place
   * for it — `handleRequest(request)` comes next, or `unreserve(request)` — and counts as
   * neither available (if that was its last place) nor idle until `unreserve(request)`.
   * False means no room now. An HTTP/1.1 connection has one place, free when NEW or IDLE.
   */
  tryReserve?(request: Request): boolean;
  /**
   * Gives back the place `request` held: its response was closed or read to the end, or it
   * failed, or it was never sent. Anything else is ignored.
   */
  unreserve?(request: Request): void;
}

/**
 * Where the outcome of a request goes when it is sent with callbacks (`ConnectionInterface.
 * sendTo`, `ConnectionPool.streamTo`): its response once the head has arrived, or its
 * failure. One of the two is called, once. They must not throw: they may be called from
 * within a socket's read callback or a timer of the pool's, where nothing would catch it.
 *
 * @example
 * pool.streamTo("GET", url, {}, { onResponse: (res) => read(res), onError: (err) => report(err) })
 */
export interface ResponseReceiver {
  onResponse(response: Response): void;
  onError(error: unknown): void;
}

// The pool sends a failed request again on a new connection when the error says it may
// (TransportError.retry, set by the connection): "unprocessed" always, "reused-connection"
// only when the request is safe to send twice: its method is idempotent (RFC 9110 §9.2.2)
// and its body can be sent again.
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

export function canRetry(request: Request): boolean {
  return IDEMPOTENT.has(request.method) && request.replayable;
}

/** The error's retry hint (TransportError.retry), read without trusting its type. */
export function retryHint(error: unknown): RetryHint | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const hint = (error as { retry?: unknown }).retry;
  return hint === "unprocessed" || hint === "reused-connection" ? hint : undefined;
}
