import type { ConnectionOptions as TlsOptions } from "node:tls";
import type { ConnectionInterface } from "./connection-interface.js";
import { ConnectError, ConnectionNotAvailable, ConnectTimeout } from "./errors.js";
import { HTTP11Connection } from "./http11.js";
import type { Request, Response } from "./models.js";
import type { NetworkBackend, NetworkStream, SocketOptions } from "./network.js";
import { NodeBackend } from "./node-backend.js";
import { printable } from "./printable.js";
import { traced } from "./trace.js";
import type { Origin } from "./url.js";

/** Delays between connect retries, as httpcore: 0, 500, 1000, 2000, 4000 … ms. */
export function* exponentialBackoff(factorMs: number): Generator<number> {
  yield 0;
  for (let n = 0; ; n++) yield factorMs * 2 ** n;
}

const RETRIES_BACKOFF_FACTOR_MS = 500;

/** Options of an HTTPConnection (the pool passes its own). */
export interface HTTPConnectionOptions {
  readonly tls?: TlsOptions | undefined;
  readonly keepaliveExpiry?: number | undefined;
  readonly retries?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly uds?: string | undefined;
  readonly networkBackend?: NetworkBackend | undefined;
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
export class HTTPConnection implements ConnectionInterface {
  readonly #origin: Origin;
  readonly #options: HTTPConnectionOptions;
  readonly #backend: NetworkBackend;
  #connection: HTTP11Connection | null = null;
  #connecting = false;
  #connectFailed = false;
  #closed = false;
  readonly #abort = new AbortController();

  constructor(origin: Origin, options: HTTPConnectionOptions = {}) {
    this.#origin = origin;
    this.#options = options;
    this.#backend = options.networkBackend ?? new NodeBackend();
  }

  handleRequest(request: Request): Promise<Response> {
    // Connected: straight through, with no extra promise.
    if (this.#connection !== null && this.canHandleRequest(request.url.origin)) {
      return this.#connection.handleRequest(request);
    }
    return this.#connectThenHandle(request);
  }

  async #connectThenHandle(request: Request): Promise<Response> {
    if (!this.canHandleRequest(request.url.origin)) {
      throw new ConnectionNotAvailable(
        `Attempted to send request to ${request.url.origin} on connection to ${this.#origin}`,
      );
    }
    if (this.#connection === null) {
      if (this.#connecting || this.#closed)
        throw new ConnectionNotAvailable("the connection is not available");
      this.#connecting = true;
      try {
        const stream = await this.#connect(request);
        if (this.#closed) {
          await stream.close();
          throw new ConnectError("the connection was closed while connecting");
        }
        this.#connection = new HTTP11Connection(this.#origin, stream, {
          keepaliveExpiry: this.#options.keepaliveExpiry,
        });
      } catch (error) {
        this.#connectFailed = true;
        throw error;
      } finally {
        this.#connecting = false;
      }
    }
    return this.#connection.handleRequest(request);
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
          const info = { host: this.#origin.host, port: this.#origin.port, timeout, localAddress };
          stream = await traced("connection.connect_tcp", request, info, () =>
            this.#backend.connectTcp(this.#origin.host, this.#origin.port, {
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
        if (this.#origin.scheme === "https" || this.#origin.scheme === "wss") {
          const serverHostname = request.extensions.sniHostname ?? this.#origin.host;
          const tls = this.#options.tls ?? {};
          const plain = stream;
          stream = await traced("connection.start_tls", request, { serverHostname, timeout }, () =>
            plain.startTls(tls, serverHostname, timeout, signal),
          );
        }
        return stream;
      } catch (error) {
        const retryable = error instanceof ConnectError || error instanceof ConnectTimeout;
        if (!retryable || retriesLeft <= 0 || this.#closed) throw error;
        retriesLeft--;
        const delay = delays.next().value as number;
        await traced("connection.retry", request, { delay }, () => this.#backend.sleep(delay));
      }
    }
  }

  canHandleRequest(origin: Origin): boolean {
    return origin.equals(this.#origin);
  }

  isAvailable(): boolean {
    return this.#connection?.isAvailable() ?? false;
  }

  hasExpired(): boolean {
    if (this.#connection === null) return this.#connectFailed;
    return this.#connection.hasExpired();
  }

  isIdle(): boolean {
    if (this.#connection === null) return this.#connectFailed;
    return this.#connection.isIdle();
  }

  isClosed(): boolean {
    if (this.#connection === null)
      return this.#connectFailed || (this.#closed && !this.#connecting);
    return this.#connection.isClosed();
  }

  info(): string {
    if (this.#connection === null) return this.#connectFailed ? "CONNECTION FAILED" : "CONNECTING";
    return this.#connection.info();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    await this.#connection?.close();
  }

  toString(): string {
    return `<HTTPConnection [${this.info()}]>`;
  }
}

printable(HTTPConnection);
