// TunnelHTTPConnection: CONNECT through the proxy, then TLS to the origin inside the tunnel,
// then HTTP/1.1 over it. One tunnel per origin.
//
// Unlike httpcore, a tunnel that fails to open (a refused CONNECT, a proxy that closes or
// answers garbage, a TLS failure after a 2xx) is closed at once and reports itself closed,
// so the pool drops it: nothing half-open is left behind.

import {
  ConnectionNotAvailable,
  DeferredConnection,
  type HeaderList,
  HTTP11Connection,
  HTTPConnection,
  type HTTPConnectionOptions,
  type NetworkStream,
  type Origin,
  Request,
  type Response,
  traced,
  URL,
} from "@x/pool";
import { PROXY_ERROR_BODY_LIMIT, ProxyError } from "./errors.js";
import { mergeHeaders } from "./headers.js";

/**
 * Options of a TunnelHTTPConnection.
 *
 * @example
 * new TunnelHTTPConnection({ proxyOrigin, remoteOrigin, proxyHeaders: [["Proxy-Authorization", basicAuth("u", "p")]] })
 */
export interface TunnelHTTPConnectionOptions extends HTTPConnectionOptions {
  readonly proxyOrigin: Origin;
  readonly remoteOrigin: Origin;
  /** Sent with the CONNECT request only, never inside the tunnel. */
  readonly proxyHeaders?: HeaderList;
  /** TLS to an https: proxy (the origin's TLS then runs inside it). */
  readonly proxyTls?: HTTPConnectionOptions["tls"];
}

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
 * Tunnelling: an `https:` origin reached through `CONNECT host:port` on the proxy, with
 * TLS to the origin inside the tunnel. Prints with the remote origin once connected.
 *
 * @example
 * const conn = new TunnelHTTPConnection({ proxyOrigin: new URL("http://127.0.0.1:8080").origin, remoteOrigin: new URL("https://example.com").origin });
 */
export class TunnelHTTPConnection extends DeferredConnection {
  readonly #options: TunnelHTTPConnectionOptions;
  readonly #proxyOrigin: Origin;
  readonly #proxyConnection: HTTPConnection;
  #tunnelStream: NetworkStream | null = null;

  constructor(options: TunnelHTTPConnectionOptions) {
    super(options.remoteOrigin);
    this.#options = options;
    this.#proxyOrigin = options.proxyOrigin;
    this.#proxyConnection = new HTTPConnection(options.proxyOrigin, {
      ...options,
      tls: options.proxyTls,
    });
  }

  protected open(request: Request): Promise<HTTP11Connection> {
    return this.#openTunnel(request);
  }

  protected async release(): Promise<void> {
    await this.#tunnelStream?.close();
    await this.#proxyConnection.close();
  }

  async #openTunnel(request: Request): Promise<HTTP11Connection> {
    const remote = this.origin;
    const host = remote.host.includes(":") ? `[${remote.host}]` : remote.host;
    const target = `${host}:${remote.port}`;
    const connectRequest = new Request(
      "CONNECT",
      new URL({
        scheme: this.#proxyOrigin.scheme,
        host: this.#proxyOrigin.host,
        port: this.#proxyOrigin.port,
        target,
      }),
      {
        headers: mergeHeaders(
          [
            ["Host", target],
            ["Accept", "*/*"],
          ],
          this.#options.proxyHeaders ?? [],
        ),
        extensions: request.extensions,
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      },
    );
    const response = await this.#proxyConnection.handleRequest(connectRequest);
    if (response.status < 200 || response.status > 299) {
      const body = await readLimited(response, PROXY_ERROR_BODY_LIMIT);
      throw new ProxyError({
        status: response.status,
        reasonPhrase: response.extensions.reasonPhrase ?? "",
        headers: response.headers,
        body,
      });
    }
    const plain = response.extensions.networkStream;
    if (plain === undefined)
      throw new ConnectionNotAvailable("the proxy did not hand over the tunnel");
    this.#tunnelStream = plain;
    if (this.closing) throw new ConnectionNotAvailable("the tunnel was closed while opening");
    const serverHostname = request.extensions.sniHostname ?? remote.host;
    const timeout = request.extensions.timeout?.connect;
    // "proxy.start_tls", as httpcore names it (its tunnel traces under the proxy logger);
    // "connection.start_tls" is TLS to an https: proxy, traced by the proxy connection.
    const stream = await traced("proxy.start_tls", request, { serverHostname, timeout }, () =>
      plain.startTls(this.#options.tls ?? {}, serverHostname, timeout),
    );
    this.#tunnelStream = stream;
    if (this.closing) throw new ConnectionNotAvailable("the tunnel was closed while opening");
    return new HTTP11Connection(remote, stream, { keepaliveExpiry: this.#options.keepaliveExpiry });
  }
}
