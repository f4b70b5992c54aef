import {
  type ConnectionInterface,
  type HeaderList,
  HTTPConnection,
  type HTTPConnectionOptions,
  type Origin,
  printable,
  Request,
  type Response,
  URL,
} from "@x/pool";
import { mergeHeaders } from "./headers.js";

/**
 * Options of a ForwardHTTPConnection.
 *
 * @example
 * new ForwardHTTPConnection({ proxyOrigin, remoteOrigin, shareForwardConnections: false })
 */
export interface ForwardHTTPConnectionOptions extends HTTPConnectionOptions {
  /** The proxy's origin (scheme http or https). */
  readonly proxyOrigin: Origin;
  /** The origin this connection was made for. */
  readonly remoteOrigin: Origin;
  /** Sent with every request, under the request's own headers. */
  readonly proxyHeaders?: HeaderList;
  /** Serve any http: origin on this connection (default true), or only `remoteOrigin`. */
  readonly shareForwardConnections?: boolean;
  /** TLS to an https: proxy. */
  readonly proxyTls?: HTTPConnectionOptions["tls"];
}

/**
 * Forwarding: `http:` requests sent to the proxy in absolute form
 * (`GET http://example.com/ HTTP/1.1`) over one kept-alive connection to the proxy,
 * which (by default) serves every `http:` origin. Prints with the proxy's origin.
 *
 * @example
 * const conn = new ForwardHTTPConnection({ proxyOrigin: new URL("http://127.0.0.1:8080").origin, remoteOrigin: new URL("http://example.com").origin });
 */
export class ForwardHTTPConnection implements ConnectionInterface {
  readonly #proxyOrigin: Origin;
  readonly #remoteOrigin: Origin;
  readonly #proxyHeaders: HeaderList;
  readonly #share: boolean;
  readonly #connection: HTTPConnection;

  constructor(options: ForwardHTTPConnectionOptions) {
    this.#proxyOrigin = options.proxyOrigin;
    this.#remoteOrigin = options.remoteOrigin;
    this.#proxyHeaders = options.proxyHeaders ?? [];
    this.#share = options.shareForwardConnections ?? true;
    this.#connection = new HTTPConnection(options.proxyOrigin, {
      ...options,
      tls: options.proxyTls,
    });
  }

  handleRequest(request: Request): Promise<Response> {
    const url = new URL({
      scheme: this.#proxyOrigin.scheme,
      host: this.#proxyOrigin.host,
      port: this.#proxyOrigin.port,
      target: request.url.toString(),
    });
    const forwarded = new Request(request.method, url, {
      headers: mergeHeaders(this.#proxyHeaders, request.headers),
      ...(request.content === undefined ? {} : { content: request.content }),
      extensions: request.extensions,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    });
    return this.#connection.handleRequest(forwarded);
  }

  canHandleRequest(origin: Origin): boolean {
    if (this.#share) return origin.scheme === "http";
    return origin.equals(this.#remoteOrigin);
  }

  tryReserve(request: Request): boolean {
    return this.#connection.tryReserve(request);
  }

  unreserve(request: Request): void {
    this.#connection.unreserve(request);
  }

  isAvailable(): boolean {
    return this.#connection.isAvailable();
  }

  hasExpired(): boolean {
    return this.#connection.hasExpired();
  }

  isIdle(): boolean {
    return this.#connection.isIdle();
  }

  isClosed(): boolean {
    return this.#connection.isClosed();
  }

  info(): string {
    return this.#connection.info();
  }

  close(): Promise<void> {
    return this.#connection.close();
  }

  toString(): string {
    return `<ForwardHTTPConnection [${this.info()}]>`;
  }
}

printable(ForwardHTTPConnection);
