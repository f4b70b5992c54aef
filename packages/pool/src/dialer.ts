// The dialer seam: how a connection gets the byte stream it speaks over. A connection asks
// its Dialer for a stream to its origin (TLS not started), then starts TLS itself when the
// origin is https (offering the ALPN protocols it can speak) and picks the protocol from
// what was negotiated. DirectDialer connects over TCP or a Unix socket; @x/proxy's
// ConnectDialer opens a CONNECT tunnel through a proxy; a SOCKS dialer plugs in the same way.

import type { ConnectionOptions as TlsOptions } from "node:tls";
import { ConnectError, ConnectTimeout } from "./errors.js";
import type { Request } from "./models.js";
import type { NetworkBackend, NetworkStream, SocketOptions } from "./network.js";
import { NodeBackend } from "./node-backend.js";
import { traced } from "./trace.js";
import { type Origin, usesTLS } from "./url.js";

/**
 * Opens the stream a connection to `origin` speaks over: directly, through a tunnel, through
 * a SOCKS proxy... The stream is what reaches the origin before TLS: the connection starts
 * TLS on it for https origins.
 *
 * @example
 * const conn = new HTTPConnection(origin, { dialer: new DirectDialer({ retries: 2 }) });
 */
export interface Dialer {
  /**
   * A stream to `origin` for `request` (whose timeouts, trace callback and extensions apply).
   * `signal` aborts when the connection is closed while dialing. Rejects with a
   * TransportError (ConnectError, ConnectTimeout, ProxyError ...).
   */
  dial(origin: Origin, request: Request, signal: AbortSignal): Promise<NetworkStream>;
  /** Releases what the dialer holds beyond the stream (say, a connection to a proxy). */
  close?(): Promise<void>;
  /**
   * The trace name of TLS to the origin over this dialer's stream, as httpcore names it
   * (default "connection.start_tls"; "proxy.start_tls" inside a CONNECT tunnel,
   * "socks.start_tls" inside a SOCKS one).
   */
  readonly tlsTraceName?: string;
}

/** Delays between connect retries, as httpcore: 0, 500, 1000, 2000, 4000 … ms. */
export function* exponentialBackoff(factorMs: number): Generator<number> {
  yield 0;
  for (let n = 0; ; n++) yield factorMs * 2 ** n;
}

const RETRIES_BACKOFF_FACTOR_MS = 500;

/** The delays of one opening's retries: httpcore's backoff, 0, 500, 1000, 2000 … ms. */
export function retryDelays(): Generator<number> {
  return exponentialBackoff(RETRIES_BACKOFF_FACTOR_MS);
}

/** Waits the next of `delays` before a retry, traced as `${prefix}.retry`. */
export function waitToRetry(
  delays: Generator<number>,
  backend: NetworkBackend,
  request: Request,
  prefix: string,
): Promise<void> {
  const delay = delays.next().value as number;
  return traced(`${prefix}.retry`, request, { delay }, () => backend.sleep(delay));
}

/**
 * Options of a DirectDialer (HTTPConnection passes its own).
 *
 * @example
 * new DirectDialer({ retries: 2, socketOptions: { noDelay: true } })
 */
export interface DirectDialerOptions {
  /** Connect retries, with httpcore's backoff (0, 500, 1000 … ms). Default 0. */
  readonly retries?: number | undefined;
  /** The local address to connect from. */
  readonly localAddress?: string | undefined;
  /** Connect to this Unix socket instead of the origin's host and port. */
  readonly uds?: string | undefined;
  /** Where connections come from (default: a NodeBackend). */
  readonly networkBackend?: NetworkBackend | undefined;
  /** Settings for each new TCP socket (default `{ noDelay: true }`). */
  readonly socketOptions?: SocketOptions | undefined;
  /**
   * The prefix of the connect trace names (default "connection": connection.connect_tcp,
   * connection.retry; httpcore's SOCKS connections say "socks").
   */
  readonly tracePrefix?: string | undefined;
}

/**
 * Connects straight to the origin over TCP (or a Unix socket), retrying failed connects as
 * httpcore does. Traces `connection.connect_tcp` (or `connect_unix_socket`) and
 * `connection.retry`.
 *
 * @example
 * const stream = await new DirectDialer().dial(origin, request, new AbortController().signal);
 */
export class DirectDialer implements Dialer {
  readonly #options: DirectDialerOptions;
  readonly #backend: NetworkBackend;

  constructor(options: DirectDialerOptions = {}) {
    this.#options = options;
    this.#backend = options.networkBackend ?? new NodeBackend();
  }

  async dial(origin: Origin, request: Request, signal: AbortSignal): Promise<NetworkStream> {
    const timeout = request.extensions.timeout?.connect;
    const { uds, localAddress, socketOptions } = this.#options;
    const prefix = this.#options.tracePrefix ?? "connection";
    let retriesLeft = this.#options.retries ?? 0;
    const delays = retryDelays();
    for (;;) {
      try {
        if (uds !== undefined) {
          return await traced(
            `${prefix}.connect_unix_socket`,
            request,
            { path: uds, timeout },
            () => this.#backend.connectUnixSocket(uds, { timeout, socketOptions, signal }),
          );
        }
        const info = { host: origin.host, port: origin.port, timeout, localAddress };
        return await traced(`${prefix}.connect_tcp`, request, info, () =>
          this.#backend.connectTcp(origin.host, origin.port, {
            timeout,
            localAddress,
            socketOptions,
            signal,
          }),
        );
      } catch (error) {
        const retryable = error instanceof ConnectError || error instanceof ConnectTimeout;
        if (!retryable || retriesLeft <= 0 || signal.aborted) throw error;
        retriesLeft--;
        await waitToRetry(delays, this.#backend, request, prefix);
      }
    }
  }
}

/** The ALPN protocols an HTTP/1.1-only connection offers. */
export const HTTP11_ALPN: readonly string[] = ["http/1.1"];

/**
 * The TLS step after dialing, for https and wss origins: TLS to `origin` over `stream`
 * (traced as `traceName`, by default `connection.start_tls`), offering `alpn` unless the TLS options name their own
 * ALPNProtocols. Other origins get `stream` back as it is.
 */
export function startTlsFor(
  origin: Origin,
  stream: NetworkStream,
  request: Request,
  tls: TlsOptions | undefined,
  alpn: readonly string[],
  signal: AbortSignal,
  traceName = "connection.start_tls",
): Promise<NetworkStream> {
  if (!usesTLS(origin.scheme)) return Promise.resolve(stream);
  const serverHostname = request.extensions.sniHostname ?? origin.host;
  const timeout = request.extensions.timeout?.connect;
  const options: TlsOptions = { ALPNProtocols: [...alpn], ...tls };
  return traced(traceName, request, { serverHostname, timeout }, () =>
    stream.startTls(options, serverHostname, timeout, signal),
  );
}
