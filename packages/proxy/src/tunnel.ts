// TunnelHTTPConnection: an HTTPConnection whose Dialer is a ConnectDialer: CONNECT through
// the proxy, then (HTTPConnection's own step) TLS to the origin inside the tunnel, then
// HTTP/1.1 over it. One tunnel per origin.
//
// Unlike httpcore, a tunnel that fails to open (a refused CONNECT, a proxy that closes or
// answers garbage, a TLS failure after a 2xx) is closed at once and reports itself closed,
// so the pool drops it: nothing half-open is left behind.

import {
  ConnectionNotAvailable,
  type Dialer,
  getHeader,
  type HeaderList,
  HTTPConnection,
  type HTTPConnectionOptions,
  type NetworkStream,
  type Origin,
  Request,
  type Response,
  URL,
} from "@x/pool";
import { PROXY_ERROR_BODY_LIMIT, ProxyError } from "./errors.js";
import { mergeHeaders } from "./headers.js";
import { drainChallenge, type ProxyAuthenticator } from "./proxy-auth.js";

async function readLimited(response: Response, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for await (const chunk of response) {
      chunks.push(chunk.subarray(0, limit - length));
      length += Math.min(chunk.length, limit - length);
      if (length >= limit) break;
    }
  } catch {
    // The refusal is what matters; a broken body after it is not.
  }
  return Buffer.concat(chunks);
}

/**
 * Options of a ConnectDialer.
 *
 * @example
 * new ConnectDialer({ proxyOrigin: new URL("http://127.0.0.1:8080").origin })
 */
export interface ConnectDialerOptions extends HTTPConnectionOptions {
  /** The proxy's origin (scheme http or https). */
  readonly proxyOrigin: Origin;
  /** Sent with the CONNECT request only, never inside the tunnel. */
  readonly proxyHeaders?: HeaderList;
  /** TLS to an https: proxy (the origin's TLS then runs inside it). */
  readonly proxyTls?: HTTPConnectionOptions["tls"];
  /**
   * Answers the proxy's 407 to CONNECT (Digest, or Basic with scheme "any"): once, on the
   * same connection to the proxy when it kept it alive, else on a new one. Unused when the
   * proxy headers carry their own Proxy-Authorization.
   */
  readonly proxyAuthenticator?: ProxyAuthenticator | undefined;
}

/**
 * Dials through an HTTP proxy: `CONNECT host:port` on a connection of its own to the proxy,
 * and the tunnel's stream once the proxy answers 2xx; any other answer is a ProxyError
 * (with the first 64 KiB of its body). With a `proxyAuthenticator`, a 407 is answered once
 * (a second 407 is the ProxyError). One dialer serves one connection.
 *
 * @example
 * new HTTPConnection(origin, { dialer: new ConnectDialer({ proxyOrigin }) })
 */
export class ConnectDialer implements Dialer {
  /** httpcore's name for TLS to the origin inside the tunnel. */
  readonly tlsTraceName = "proxy.start_tls";
  readonly #options: ConnectDialerOptions;
  #proxyConnection: HTTPConnection;
  #closed = false;

  constructor(options: ConnectDialerOptions) {
    this.#options = options;
    this.#proxyConnection = this.#newProxyConnection();
  }

  #newProxyConnection(): HTTPConnection {
    const { dialer: _ignored, ...direct } = this.#options;
    return new HTTPConnection(this.#options.proxyOrigin, {
      ...direct,
      tls: this.#options.proxyTls,
      // CONNECT goes to the proxy over HTTP/1.1, whatever is spoken inside the tunnel.
      http1: true,
      http2: false,
    });
  }

  async dial(remote: Origin, request: Request, signal: AbortSignal): Promise<NetworkStream> {
    const host = remote.host.includes(":") ? `[${remote.host}]` : remote.host;
    const target = `${host}:${remote.port}`;
    const headers = mergeHeaders(
      [
        ["Host", target],
        ["Accept", "*/*"],
      ],
      this.#options.proxyHeaders ?? [],
    );
    const auth = this.#options.proxyAuthenticator;
    let response: Response;
    if (auth === undefined || getHeader(headers, "Proxy-Authorization") !== undefined) {
      response = await this.#connect(target, headers, request);
    } else {
      const withAuth = (): HeaderList => {
        const value = auth.authorization("CONNECT", target);
        return value === undefined ? headers : [...headers, ["Proxy-Authorization", value]];
      };
      response = await this.#connect(target, withAuth(), request);
      if (response.status === 407 && auth.learn(response.headers)) {
        // One answer to the challenge: on this connection if the proxy kept it alive.
        if (!(await drainChallenge(response)) || !this.#proxyConnection.isIdle()) {
          await this.#proxyConnection.close();
          if (this.#closed || signal.aborted) {
            throw new ConnectionNotAvailable("the connection was closed while opening");
          }
          this.#proxyConnection = this.#newProxyConnection();
        }
        response = await this.#connect(target, withAuth(), request);
        if (response.status === 407) auth.learn(response.headers);
      }
    }
    if (response.status < 200 || response.status > 299) {
      const body = await readLimited(response, PROXY_ERROR_BODY_LIMIT);
      throw new ProxyError({
        status: response.status,
        reasonPhrase: response.extensions.reasonPhrase ?? "",
        headers: response.headers,
        body,
      });
    }
    const stream = response.extensions.networkStream;
    if (stream === undefined) {
      throw new ConnectionNotAvailable("the proxy did not hand over the tunnel");
    }
    return stream;
  }

  // Sends `CONNECT target` on the connection to the proxy; resolves with the answer's head.
  #connect(target: string, headers: HeaderList, request: Request): Promise<Response> {
    const proxyOrigin = this.#options.proxyOrigin;
    const connectRequest = new Request(
      "CONNECT",
      new URL({
        scheme: proxyOrigin.scheme,
        host: proxyOrigin.host,
        port: proxyOrigin.port,
        target,
      }),
      {
        headers,
        extensions: request.extensions,
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      },
    );
    return this.#proxyConnection.handleRequest(connectRequest);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#proxyConnection.close();
  }
}

/**
 * Options of a TunnelHTTPConnection.
 *
 * @example
 * new TunnelHTTPConnection({ proxyOrigin, remoteOrigin, proxyHeaders: [["Proxy-Authorization", basicAuth("u", "p")]] })
 */
export interface TunnelHTTPConnectionOptions extends ConnectDialerOptions {
  readonly remoteOrigin: Origin;
}

/**
 * Tunnelling: an `https:` origin reached through `CONNECT host:port` on the proxy, with
 * TLS to the origin inside the tunnel. Prints with the remote origin once connected.
 *
 * Unlike httpcore, a tunnel that fails to open (a refused CONNECT, a proxy that closes or
 * answers garbage, a TLS failure after a 2xx) is closed at once and reports itself closed,
 * so the pool drops it: nothing half-open is left behind.
 *
 * @example
 * const conn = new TunnelHTTPConnection({ proxyOrigin: new URL("http://127.0.0.1:8080").origin, remoteOrigin: new URL("https://example.com").origin });
 */
export class TunnelHTTPConnection extends HTTPConnection {
  constructor(options: TunnelHTTPConnectionOptions) {
    super(options.remoteOrigin, { ...options, dialer: new ConnectDialer(options) });
  }
}
