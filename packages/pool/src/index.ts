export { type AbortSignalLike, toAbortSignal } from "./abort.js";
export { HTTPConnection, type HTTPConnectionOptions } from "./connection.js";
export type { ConnectionInterface, ResponseReceiver } from "./connection-interface.js";
export {
  ConnectionPool,
  type ConnectionPoolOptions,
  type RequestCallOptions,
} from "./connection-pool.js";
export { DeferredConnection } from "./deferred.js";
export {
  type Dialer,
  DirectDialer,
  type DirectDialerOptions,
  exponentialBackoff,
  HTTP11_ALPN,
  startTlsFor,
} from "./dialer.js";
export {
  ConnectError,
  ConnectionNotAvailable,
  ConnectTimeout,
  LocalProtocolError,
  NetworkError,
  PoolTimeout,
  ProtocolError,
  ReadError,
  ReadTimeout,
  RemoteProtocolError,
  ResponseNotRead,
  type RetryHint,
  StreamConsumed,
  TimeoutError,
  TransportError,
  type TransportErrorOptions,
  UnsupportedProtocol,
  WriteError,
  WriteTimeout,
} from "./errors.js";
export { HTTP2Connection, type HTTP2ConnectionOptions, type HTTP2State } from "./http2.js";
export {
  ExtraInfoStream,
  HTTP11Connection,
  type HTTP11ConnectionOptions,
  type HTTP11State,
  PrefixedStream,
  WriteScheduler,
} from "./http11.js";
export { MockBackend, MockStream } from "./mock-backend.js";
export {
  getHeader,
  type HeaderList,
  type HeadersInit,
  Request,
  type RequestContent,
  type RequestExtensions,
  type RequestOptions,
  Response,
  type ResponseExtensions,
  type ResponseOptions,
  type ResponseStream,
  type Timeouts,
  type TraceCallback,
  toHeaderList,
} from "./models.js";
export type {
  ConnectOptions,
  NetworkBackend,
  NetworkStream,
  ResolveOptions,
  SocketOptions,
} from "./network.js";
export { NetworkSocket, type NetworkSocketOptions } from "./network-socket.js";
export { NodeBackend, NodeStream } from "./node-backend.js";
export { printable } from "./printable.js";
export { traced } from "./trace.js";
export { Origin, URL, type URLParts } from "./url.js";
