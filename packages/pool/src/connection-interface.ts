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
  handleRequest(request: Request): Promise<Response>;
  /** True when this connection goes to `origin` (or, for a forwarding proxy, can reach it). */
  canHandleRequest(origin: Origin): boolean;
  /** True when a request could be sent now. */
  isAvailable(): boolean;
  /** True when the connection must not be used again (keep-alive expired, peer closed). */
  hasExpired(): boolean;
  /** True between requests on a kept-alive connection. */
  isIdle(): boolean;
  isClosed(): boolean;
  /** The text inside the brackets when printed, e.g. "'http://a.com:80', HTTP/1.1, IDLE, Request Count: 2". */
  info(): string;
  close(): Promise<void>;
}

// Errors raised on a *reused* connection before any byte of the response arrived. The pool
// may retry such a request once on a new connection (see ConnectionPool), when it is safe
// to send twice: its method is idempotent (RFC 9110 §9.2.2) and its body can be sent again.
const reusedFailures = new WeakSet<object>();
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

export function canRetry(request: Request): boolean {
  return IDEMPOTENT.has(request.method) && request.replayable;
}

export function markReusedConnectionFailure(error: unknown): void {
  if (typeof error === "object" && error !== null) reusedFailures.add(error);
}

export function isReusedConnectionFailure(error: unknown): boolean {
  return typeof error === "object" && error !== null && reusedFailures.has(error);
}
