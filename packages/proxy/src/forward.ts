import {
  type ConnectionInterface,
  ConnectionNotAvailable,
  getHeader,
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
import { drainChallenge, type ProxyAuthenticator } from "./proxy-auth.js";

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
  /**
   * Answers the proxy's 407 challenges (Digest, or Basic with scheme "any"), shared by the
   * connections of one proxy. Unused for requests that carry their own Proxy-Authorization.
   */
  readonly proxyAuthenticator?: ProxyAuthenticator | undefined;
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
  readonly #authenticator: ProxyAuthenticator | undefined;

  constructor(options: ForwardHTTPConnectionOptions) {
    this.#proxyOrigin = options.proxyOrigin;
    this.#remoteOrigin = options.remoteOrigin;
    this.#proxyHeaders = options.proxyHeaders ?? [];
    this.#share = options.shareForwardConnections ?? true;
    this.#authenticator = options.proxyAuthenticator;
    this.#connection = new HTTPConnection(options.proxyOrigin, {
      ...options,
      tls: options.proxyTls,
      // Forwarding speaks HTTP/1.1 to the proxy.
      http1: true,
      http2: false,
    });
  }

  handleRequest(request: Request): Promise<Response> {
    const auth = this.#authenticator;
    const headers = mergeHeaders(this.#proxyHeaders, request.headers);
    if (auth === undefined || getHeader(headers, "Proxy-Authorization") !== undefined) {
      return this.#connection.handleRequest(this.#forwarded(request, headers));
    }
    return this.#authenticated(request, headers, auth);
  }

  // With a ProxyAuthenticator: the request goes with the kept challenge's answer (if any);
  // a 407 is learnt from and, once per request and only when its body can be sent again,
  // answered: on this connection when the proxy kept it alive, else on another (the pool
  // sends the request again, and the answer goes with it from the start).
  async #authenticated(
    request: Request,
    headers: HeaderList,
    auth: ProxyAuthenticator,
  ): Promise<Response> {
    const target = request.url.toString();
    const withAuth = (): HeaderList => {
      const value = auth.authorization(request.method, target);
      return value === undefined ? headers : [...headers, ["Proxy-Authorization", value]];
    };
    const response = await this.#connection.handleRequest(this.#forwarded(request, withAuth()));
    if (response.status !== 407) return response;
    if (!auth.learn(response.headers) || !request.replayable || !auth.claimRetry(request)) {
      return response;
    }
    if (!(await drainChallenge(response)) || !this.#connection.isIdle()) {
      throw new ConnectionNotAvailable(
        "the proxy closed the connection after its 407: the request goes again, answering the challenge",
      );
    }
    const again = await this.#connection.handleRequest(this.#forwarded(request, withAuth()));
    if (again.status === 407) auth.learn(again.headers);
    return again;
  }

  #forwarded(request: Request, headers: HeaderList): Request {
    const url = new URL({
      scheme: this.#proxyOrigin.scheme,
      host: this.#proxyOrigin.host,
      port: this.#proxyOrigin.port,
      target: request.url.toString(),
    });
    return new Request(request.method, url, {
      headers,
      ...(request.content === undefined ? {} : { content: request.content }),
      extensions: request.extensions,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    });
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
