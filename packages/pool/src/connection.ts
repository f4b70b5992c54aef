import type { ConnectionOptions as TlsOptions } from "node:tls";
import type { ConnectionInterface } from "./connection-interface.js";
import { DeferredConnection } from "./deferred.js";
import {
  type Dialer,
  DirectDialer,
  type DirectDialerOptions,
  HTTP11_ALPN,
  startTlsFor,
} from "./dialer.js";
import { ConnectError, ConnectionNotAvailable } from "./errors.js";
import { HTTP11Connection, type WriteScheduler } from "./http11.js";
import type { Request } from "./models.js";
import type { NetworkStream } from "./network.js";
import type { Origin } from "./url.js";

/**
 * Options of an HTTPConnection (the pool passes its own).
 *
 * @example
 * new HTTPConnection(origin, { tls: { ca }, retries: 2 })
 */
export interface HTTPConnectionOptions extends DirectDialerOptions {
  /** TLS options for https origins (certificates are verified unless you say otherwise). */
  readonly tls?: TlsOptions | undefined;
  /** Idle connections are closed after this many ms (default: kept until the server closes them). */
  readonly keepaliveExpiry?: number | undefined;
  /** The write timing shared by the connections of one pool (a pool gives its own). */
  readonly writeScheduler?: WriteScheduler | undefined;
  /** The most bytes a response head may take, its final blank line not counted (default 100 KiB). */
  readonly maxHeaderSize?: number | undefined;
  /**
   * How the stream to the origin is opened (default: a DirectDialer made from the options
   * above). @x/proxy's tunnels bring a ConnectDialer.
   */
  readonly dialer?: Dialer | undefined;
}

/**
 * A connection to one origin: on its first request it dials (TCP or a Unix socket with
 * connect retries, or whatever its Dialer does), starts TLS for https/wss origins, then
 * speaks the protocol TLS negotiated (HTTP/1.1) over it.
 *
 * @example
 * const conn = new HTTPConnection(new URL("https://example.com/").origin);
 * const res = await conn.handleRequest(new Request("GET", "https://example.com/", { headers: { Host: "example.com" } }));
 */
export class HTTPConnection extends DeferredConnection {
  readonly #options: HTTPConnectionOptions;
  readonly #dialer: Dialer;
  readonly #abort = new AbortController();
  // The last stream opening got, closed by release() when opening stops half way.
  #stream: NetworkStream | null = null;

  constructor(origin: Origin, options: HTTPConnectionOptions = {}) {
    super(origin);
    this.#options = options;
    this.#dialer = options.dialer ?? new DirectDialer(options);
  }

  protected async open(request: Request): Promise<ConnectionInterface> {
    const signal = this.#abort.signal;
    const plain = await this.#dialer.dial(this.origin, request, signal);
    this.#stream = plain;
    this.#checkNotClosing();
    const stream = await startTlsFor(
      this.origin,
      plain,
      request,
      this.#options.tls,
      HTTP11_ALPN,
      signal,
      this.#dialer.tlsTraceName,
    );
    this.#stream = stream;
    this.#checkNotClosing();
    return this.#speak(stream);
  }

  // The connection for what TLS negotiated (none, or "http/1.1": HTTP/1.1).
  #speak(stream: NetworkStream): ConnectionInterface {
    const alpn = stream.getExtraInfo("alpn_protocol");
    if (typeof alpn === "string" && alpn !== "" && alpn !== "http/1.1") {
      void stream.close();
      throw new ConnectError(`the server chose ${alpn} (by ALPN), which was not offered`);
    }
    return new HTTP11Connection(this.origin, stream, {
      keepaliveExpiry: this.#options.keepaliveExpiry,
      writeScheduler: this.#options.writeScheduler,
      maxHeaderSize: this.#options.maxHeaderSize,
    });
  }

  #checkNotClosing(): void {
    if (this.closing) throw new ConnectionNotAvailable("the connection was closed while opening");
  }

  protected async release(): Promise<void> {
    // Stops a dial (or TLS handshake) still under way, and lets go of what it left open.
    this.#abort.abort();
    await this.#stream?.close();
    await this.#dialer.close?.();
  }
}
