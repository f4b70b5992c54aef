// Every error the transport raises, each with a stable `code`. The hierarchy follows
// httpcore's: TransportError at the root, then network, timeout and protocol families.
// Each class is branded (see brandClass in @x/h11): `instanceof` holds across two
// installed copies of this package.

import { brandClass } from "@x/h11";

/**
 * Options for a TransportError: the underlying error, kept as `cause`.
 *
 * @example
 * new ReadError("reset by peer", { cause: socketError })
 */
export interface TransportErrorOptions {
  readonly cause?: unknown;
  /** Whether the request may be sent again on a new connection: see `TransportError.retry`. */
  readonly retry?: RetryHint;
}

/**
 * What a connection knows about sending a failed request again, on a new connection:
 *
 * - `"unprocessed"`: the server did not process it (an HTTP/2 GOAWAY above its last stream
 *   id, a refused stream): any request may be sent again.
 * - `"reused-connection"`: a kept-alive connection failed before any byte of the response
 *   arrived (the server had closed it as it was reused): the server may or may not have seen
 *   the request, so only an idempotent request (RFC 9110 §9.2.2) whose body can be sent
 *   again is sent again, once.
 */
export type RetryHint = "unprocessed" | "reused-connection";

/**
 * The root of every error @x/pool raises.
 *
 * @example
 * try { await pool.request("GET", url) } catch (e) { if (e instanceof TransportError) console.log(e.code) }
 */
export class TransportError extends Error {
  /** A stable identifier, e.g. "ERR_CONNECT". */
  readonly code: string = "ERR_TRANSPORT";
  /**
   * Set by the connection that raised it when the request may be sent again on a new
   * connection (see RetryHint); absent otherwise. The pool reads it; any connection type
   * sets it, and it holds across installed copies of this package.
   */
  declare retry?: RetryHint;

  constructor(message: string, options?: TransportErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    if (options?.retry !== undefined) this.retry = options.retry;
  }
}
brandClass(TransportError, "@x/pool.TransportError");

/**
 * The connection could not be established, or broke while reading or writing.
 *
 * @example
 * catch (e) { if (e instanceof NetworkError) scheduleRetry() }
 */
export class NetworkError extends TransportError {
  override readonly code: string = "ERR_NETWORK";
}
brandClass(NetworkError, "@x/pool.NetworkError");

/**
 * Connecting (TCP, Unix socket or TLS handshake) failed. Check the host, port and certificates.
 *
 * @example
 * catch (e) { if (e instanceof ConnectError) console.error("cannot reach the server:", e.cause) }
 */
export class ConnectError extends NetworkError {
  override readonly code: string = "ERR_CONNECT";
}
brandClass(ConnectError, "@x/pool.ConnectError");

/**
 * Reading from the connection failed (reset, closed, or the stream was closed).
 *
 * @example
 * catch (e) { if (e instanceof ReadError) retryIfIdempotent() }
 */
export class ReadError extends NetworkError {
  override readonly code: string = "ERR_READ";
}
brandClass(ReadError, "@x/pool.ReadError");

/**
 * Writing to the connection failed.
 *
 * @example
 * catch (e) { if (e instanceof WriteError) console.error(e.code) // "ERR_WRITE" }
 */
export class WriteError extends NetworkError {
  override readonly code: string = "ERR_WRITE";
}
brandClass(WriteError, "@x/pool.WriteError");

/**
 * An operation took longer than its timeout.
 *
 * @example
 * catch (e) { if (e instanceof TimeoutError) console.error("too slow:", e.code) }
 */
export class TimeoutError extends TransportError {
  override readonly code: string = "ERR_TIMEOUT";
}
brandClass(TimeoutError, "@x/pool.TimeoutError");

/**
 * Connecting took longer than `extensions.timeout.connect`.
 *
 * @example
 * catch (e) { if (e instanceof ConnectTimeout) tryAnotherHost() }
 */
export class ConnectTimeout extends TimeoutError {
  override readonly code: string = "ERR_CONNECT_TIMEOUT";
}
brandClass(ConnectTimeout, "@x/pool.ConnectTimeout");

/**
 * No bytes arrived within `extensions.timeout.read`.
 *
 * @example
 * await pool.request("GET", url, { extensions: { timeout: { read: 5000 } } }) // may throw ReadTimeout
 */
export class ReadTimeout extends TimeoutError {
  override readonly code: string = "ERR_READ_TIMEOUT";
}
brandClass(ReadTimeout, "@x/pool.ReadTimeout");

/**
 * The peer did not take our bytes within `extensions.timeout.write`.
 *
 * @example
 * await pool.request("PUT", url, { content, extensions: { timeout: { write: 5000 } } }) // may throw WriteTimeout
 */
export class WriteTimeout extends TimeoutError {
  override readonly code: string = "ERR_WRITE_TIMEOUT";
}
brandClass(WriteTimeout, "@x/pool.WriteTimeout");

/**
 * No connection became free within `extensions.timeout.pool`. Raise maxConnections or the timeout.
 *
 * @example
 * await pool.request("GET", url, { extensions: { timeout: { pool: 1000 } } }) // may throw PoolTimeout
 */
export class PoolTimeout extends TimeoutError {
  override readonly code: string = "ERR_POOL_TIMEOUT";
}
brandClass(PoolTimeout, "@x/pool.PoolTimeout");

/**
 * HTTP/1.1 was broken, by the peer or by us. The @x/h11 error is the `cause`.
 *
 * @example
 * catch (e) { if (e instanceof ProtocolError) console.error(e.message, e.cause) }
 */
export class ProtocolError extends TransportError {
  override readonly code: string = "ERR_PROTOCOL";
}
brandClass(ProtocolError, "@x/pool.ProtocolError");

/**
 * The peer broke HTTP/1.1: garbage, bad framing, or closing in the middle of a message.
 *
 * @example
 * catch (e) { if (e instanceof RemoteProtocolError) reportBrokenServer(e.cause) }
 */
export class RemoteProtocolError extends ProtocolError {
  override readonly code: string = "ERR_REMOTE_PROTOCOL";
}
brandClass(RemoteProtocolError, "@x/pool.RemoteProtocolError");

/**
 * The request could not be sent as given: a bad method, target or header, or a bad URL.
 *
 * @example
 * await pool.request("GET", url, { headers: { "X-Bad": "a\\r\\nb" } }) // throws LocalProtocolError, before any byte is sent
 */
export class LocalProtocolError extends ProtocolError {
  override readonly code: string = "ERR_LOCAL_PROTOCOL";
}
brandClass(LocalProtocolError, "@x/pool.LocalProtocolError");

/**
 * The URL's scheme is missing or not one of http, https, ws, wss.
 *
 * @example
 * await pool.request("GET", "ftp://example.com/") // throws UnsupportedProtocol
 */
export class UnsupportedProtocol extends TransportError {
  override readonly code: string = "ERR_UNSUPPORTED_PROTOCOL";
}
brandClass(UnsupportedProtocol, "@x/pool.UnsupportedProtocol");

/**
 * The connection is busy or closed; the pool retries on another one.
 *
 * @example
 * catch (e) { if (e instanceof ConnectionNotAvailable) tryAgain() }
 */
export class ConnectionNotAvailable extends TransportError {
  override readonly code: string = "ERR_CONNECTION_NOT_AVAILABLE";
}
brandClass(ConnectionNotAvailable, "@x/pool.ConnectionNotAvailable");

/**
 * A response's `content` was read before `read()`, or its body was iterated twice.
 *
 * @example
 * const r = await pool.stream("GET", url); r.content // throws ResponseNotRead; await r.read() first
 */
export class ResponseNotRead extends Error {
  readonly code: string = "ERR_RESPONSE_NOT_READ";
  override readonly name: string = "ResponseNotRead";
}
brandClass(ResponseNotRead, "@x/pool.ResponseNotRead");

/**
 * A response's body was consumed already (bodies stream once).
 *
 * @example
 * for await (const c of r) {} for await (const c of r) {} // the second loop throws StreamConsumed
 */
export class StreamConsumed extends Error {
  readonly code: string = "ERR_STREAM_CONSUMED";
  override readonly name: string = "StreamConsumed";
}
brandClass(StreamConsumed, "@x/pool.StreamConsumed");

/**
 * A TypeError with a Node-style `code`, for arguments a caller got wrong (a programming
 * error, not a protocol one).
 */
/** How a wrong argument is named in a TypeError: its type (and value, if a primitive). */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

export function argumentError(
  message: string,
  code = "ERR_INVALID_ARG_VALUE",
): TypeError & { code: string } {
  return Object.assign(new TypeError(message), { code });
}
