import type { ConnectionOptions as TlsOptions } from "node:tls";
import { DeferredConnection } from "./deferred.js";
import { ConnectError, ConnectTimeout } from "./errors.js";
import { HTTP11Connection } from "./http11.js";
import type { Request } from "./models.js";
import type { NetworkBackend, NetworkStream, SocketOptions } from "./network.js";
import { NodeBackend } from "./node-backend.js";
import { traced } from "./trace.js";
import type { Origin } from "./url.js";

/** Delays between connect retries, as httpcore: 0, 500, 1000, 2000, 4000 … ms. */
export function* exponentialBackoff(factorMs: number): Generator<number> {
  yield 0;
  for (let n = 0; ; n++) yield factorMs * 2 ** n;
}

const RETRIES_BACKOFF_FACTOR_MS = 500;

/**
 * Options of an HTTPConnection (the pool passes its own).
 *
 * @example
 * new HTTPConnection(origin, { tls: { ca }, retries: 2 })
 */
export interface HTTPConnectionOptions {
  /** TLS options for https origins (certificates are verified unless you say otherwise). */
  readonly tls?: TlsOptions | undefined;
  /** Idle connections are closed after this many ms (default: kept until the server closes them). */
  readonly keepaliveExpiry?: number | undefined;
  /** Connect retries, with httpcore's backoff (0, 500, 1000 … ms). Default 0. */
  readonly retries?: number | undefined;
  /** The local address to connect from. */
  readonly localAddress?: string | undefined;
  /** Connect to this Unix socket instead of the URL's host and port. */
  readonly uds?: string | undefined;
  /** Where connections come from (default: a NodeBackend). */
  readonly networkBackend?: NetworkBackend | undefined;
  /** Settings for each new TCP socket (default `{ noDelay: true }`). */
  readonly socketOptions?: SocketOptions | undefined;
}

/**
 * A connection to one origin: it connects on its first request (TCP or a Unix socket, then
 * TLS for https/wss, with connect retries), then speaks HTTP/1.1 over it.
 *
 * @example
 * const conn = new HTTPConnection(new URL("https://example.com/").origin);
 * const res = await conn.handleRequest(new Request("GET", "https://example.com/", { headers: { Host: "example.com" } }));
 */
export class HTTPConnection extends DeferredConnection {
  readonly #options: HTTPConnectionOptions;
  readonly #backend: NetworkBackend;
  readonly #abort = new AbortController();

  constructor(origin: Origin, options: HTTPConnectionOptions = {}) {
    super(origin);
    this.#options = options;
    this.#backend = options.networkBackend ?? new NodeBackend();
  }

  protected async open(request: Request): Promise<HTTP11Connection> {
    const stream = await this.#connect(request);
    return new HTTP11Connection(this.origin, stream, {
      keepaliveExpiry: this.#options.keepaliveExpiry,
    });
  }

  protected async release(): Promise<void> {
    // Stops a connect (or TLS handshake) still under way.
    this.#abort.abort();
  }

  async #connect(request: Request): Promise<NetworkStream> {
    const timeout = request.extensions.timeout?.connect;
    const signal = this.#abort.signal;
    let retriesLeft = this.#options.retries ?? 0;
    const delays = exponentialBackoff(RETRIES_BACKOFF_FACTOR_MS);
    for (;;) {
      try {
        let stream: NetworkStream;
        const { uds, localAddress, socketOptions } = this.#options;
        if (uds === undefined) {
          const info = { host: this.origin.host, port: this.origin.port, timeout, localAddress };
          stream = await traced("connection.connect_tcp", request, info, () =>
            this.#backend.connectTcp(this.origin.host, this.origin.port, {
              timeout,
              localAddress,
              socketOptions,
              signal,
            }),
          );
        } else {
          stream = await traced(
            "connection.connect_unix_socket",
            request,
            { path: uds, timeout },
            () => this.#backend.connectUnixSocket(uds, { timeout, socketOptions, signal }),
          );
        }
        if (this.origin.scheme === "https" || this.origin.scheme === "wss") {
          const serverHostname = request.extensions.sniHostname ?? this.origin.host;
          const tls = this.#options.tls ?? {};
          const plain = stream;
          stream = await traced("connection.start_tls", request, { serverHostname, timeout }, () =>
            plain.startTls(tls, serverHostname, timeout, signal),
          );
        }
        return stream;
      } catch (error) {
        const retryable = error instanceof ConnectError || error instanceof ConnectTimeout;
        if (!retryable || retriesLeft <= 0 || this.closing) throw error;
        retriesLeft--;
        const delay = delays.next().value as number;
        await traced("connection.retry", request, { delay }, () => this.#backend.sleep(delay));
      }
    }
  }
}
