import type { ConnectionOptions as TlsOptions } from "node:tls";
import type { ConnectionInterface } from "./connection-interface.js";
import { DeferredConnection } from "./deferred.js";
import {
  type Dialer,
  DirectDialer,
  type DirectDialerOptions,
  HTTP11_ALPN,
  retryDelays,
  startTlsFor,
  waitToRetry,
} from "./dialer.js";
import { ConnectError, ConnectionNotAvailable, ConnectTimeout } from "./errors.js";
import { HTTP2Connection } from "./http2.js";
import { HTTP11Connection, type WriteScheduler } from "./http11.js";
import type { Request } from "./models.js";
import type { NetworkStream } from "./network.js";
import { NodeBackend } from "./node-backend.js";
import { type Origin, usesTLS } from "./url.js";

// A TLS failure worth another try: the network's (a reset, a timeout), not the peer's
// certificate, which would be refused again.
function worthRetrying(error: unknown): boolean {
  if (!(error instanceof ConnectError || error instanceof ConnectTimeout)) return false;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return !(
    typeof code === "string" && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME|ALTNAME/.test(code)
  );
}

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
  /** Speak HTTP/1.1 (default true). */
  readonly http1?: boolean | undefined;
  /**
   * Speak HTTP/2 (default false): offered by ALPN to https origins; with `http1: false`,
   * spoken with prior knowledge (h2c) to http origins, and the only protocol offered over TLS.
   */
  readonly http2?: boolean | undefined;
}

/** The ALPN protocols a connection offers for its HTTP versions. */
function alpnFor(http1: boolean, http2: boolean): readonly string[] {
  if (!http2) return HTTP11_ALPN;
  return http1 ? ["h2", "http/1.1"] : ["h2"];
}

/**
 * A connection to one origin: on its first request it dials (TCP or a Unix socket with
 * connect retries, or whatever its Dialer does), starts TLS for https/wss origins, then
 * speaks the protocol TLS negotiated (HTTP/1.1 or HTTP/2) over it.
 *
 * @example
 * const conn = new HTTPConnection(new URL("https://example.com/").origin);
 * const res = await conn.handleRequest(new Request("GET", "https://example.com/", { headers: { Host: "example.com" } }));
 */
export class HTTPConnection extends DeferredConnection {
  readonly #options: HTTPConnectionOptions;
  readonly #dialer: Dialer;
  readonly #abort = new AbortController();
  readonly #http1: boolean;
  readonly #http2: boolean;
  // The last stream opening got, closed by release() when opening stops half way.
  #stream: NetworkStream | null = null;

  constructor(origin: Origin, options: HTTPConnectionOptions = {}) {
    super(origin);
    this.#options = options;
    this.#http1 = options.http1 ?? true;
    this.#http2 = options.http2 ?? false;
    this.#dialer = options.dialer ?? new DirectDialer(options);
  }

  /**
   * True when this connection may turn out to be HTTP/2: requests for it then wait for it
   * to open rather than opening connections of their own.
   */
  protected override multiplexes(): boolean {
    if (!this.#http2) return false;
    return usesTLS(this.origin.scheme) || !this.#http1;
  }

  protected async open(request: Request): Promise<ConnectionInterface> {
    const signal = this.#abort.signal;
    // A TLS handshake that fails for the network's sake (reset, timeout; not a certificate
    // refused) is tried again on a new stream, up to `retries` times with the connect's
    // backoff, as httpcore's retries cover connect and TLS alike. The dial retries its own.
    let retriesLeft = this.#options.retries ?? 0;
    const delays = retryDelays();
    for (;;) {
      const plain = await this.#dialer.dial(this.origin, request, signal);
      this.#stream = plain;
      this.#checkNotClosing();
      let stream: NetworkStream;
      try {
        stream = await startTlsFor(
          this.origin,
          plain,
          request,
          this.#options.tls,
          alpnFor(this.#http1, this.#http2),
          signal,
          this.#dialer.tlsTraceName,
        );
      } catch (error) {
        if (retriesLeft <= 0 || signal.aborted || !worthRetrying(error)) throw error;
        retriesLeft--;
        await plain.close();
        this.#stream = null;
        await waitToRetry(
          delays,
          this.#options.networkBackend ?? new NodeBackend(),
          request,
          this.#options.tracePrefix ?? "connection",
        );
        this.#checkNotClosing();
        continue;
      }
      this.#stream = stream;
      this.#checkNotClosing();
      return this.#speak(stream, request);
    }
  }

  // The connection for what TLS negotiated: HTTP/2 for "h2", or with prior knowledge when
  // HTTP/1.1 is off (as httpcore); HTTP/1.1 otherwise.
  async #speak(stream: NetworkStream, request: Request): Promise<ConnectionInterface> {
    const alpn = stream.getExtraInfo("alpn_protocol");
    const chosen = typeof alpn === "string" && alpn !== "" ? alpn : null;
    const offered = alpnFor(this.#http1, this.#http2);
    if (chosen !== null && !offered.includes(chosen)) {
      void stream.close();
      throw new ConnectError(`the server chose ${chosen} (by ALPN), which was not offered`);
    }
    if (chosen === "h2" || (this.#http2 && !this.#http1)) {
      const connection = await HTTP2Connection.open(this.origin, stream, request, {
        keepaliveExpiry: this.#options.keepaliveExpiry,
        signal: this.#abort.signal,
      });
      this.#stream = null;
      return connection;
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
