import type { ConnectionOptions as TlsOptions } from "node:tls";
import {
  type ConnectionInterface,
  ConnectionPool,
  type ConnectionPoolOptions,
  getHeader,
  type HeaderList,
  type HeadersInit,
  Origin,
  toHeaderList,
  URL,
} from "@x/pool";
import { argumentError, decodeUserinfo } from "./arguments.js";
import { ForwardHTTPConnection } from "./forward.js";
import { basicAuth } from "./headers.js";
import { ProxyAuthenticator, type ProxyAuthScheme } from "./proxy-auth.js";
import { TunnelHTTPConnection } from "./tunnel.js";

/**
 * Options of an HTTPProxy: every pool option, plus the proxy's.
 *
 * @example
 * new HTTPProxy({ proxyUrl: "http://127.0.0.1:8080/", proxyAuth: ["user", "pass"], maxConnections: 20 })
 */
export interface HTTPProxyOptions extends ConnectionPoolOptions {
  /** The proxy: "http://host:port/" or "https://host:port/"; userinfo gives the credentials. */
  readonly proxyUrl: string | URL | globalThis.URL;
  /** [username, password]: sent as `Proxy-Authorization: Basic …`, or see proxyAuthScheme. */
  readonly proxyAuth?: readonly [username: string, password: string] | undefined;
  /**
   * How the credentials (proxyAuth, or the proxy URL's userinfo) are used: `"basic"`
   * (default, as httpcore: Basic with every request), `"digest"` (nothing until the proxy
   * answers 407, then Digest per RFC 7616), or `"any"` (nothing until challenged, then the
   * strongest scheme offered: Digest SHA-256, Digest MD5, then Basic).
   */
  readonly proxyAuthScheme?: ProxyAuthScheme | undefined;
  /** Headers sent to the proxy (with forwarded requests, and with CONNECT). */
  readonly proxyHeaders?: HeadersInit | undefined;
  /** TLS options for the connection to an https: proxy. */
  readonly proxyTls?: TlsOptions | undefined;
  /**
   * Forwarded (`http:`) requests to every origin share kept-alive connections to the proxy
   * (default true). Set false for proxies that bind a connection to its first host.
   */
  readonly shareForwardConnections?: boolean | undefined;
}

const UNSAFE = /[\0\r\n]/;

/**
 * A connection pool that sends every request through an HTTP proxy: `http:` URLs are
 * forwarded (absolute-form requests, one shared kept-alive connection to the proxy) and
 * `https:` URLs are tunnelled (CONNECT, then TLS to the origin; one tunnel per origin).
 *
 * @example
 * const proxy = new HTTPProxy({ proxyUrl: "http://127.0.0.1:8080/" });
 * const r = await proxy.request("GET", "https://www.example.com/");
 * console.log(r); // <Response [200]>
 *
 * // Digest (RFC 7616) when the proxy asks for it, Basic only if that is all it offers:
 * new HTTPProxy({ proxyUrl, proxyAuth: ["user", "pass"], proxyAuthScheme: "any" });
 */
export class HTTPProxy extends ConnectionPool {
  readonly #proxyOrigin: Origin;
  readonly #proxyHeaders: HeaderList;
  readonly #proxyTls: TlsOptions | undefined;
  readonly #share: boolean;
  readonly #authenticator: ProxyAuthenticator | undefined;

  constructor(options: HTTPProxyOptions) {
    super(options);
    if (options === undefined || options.proxyUrl === undefined)
      throw argumentError("proxyUrl is required");
    const raw = typeof options.proxyUrl === "string" ? new globalThis.URL(options.proxyUrl) : null;
    const scheme =
      options.proxyUrl instanceof URL
        ? options.proxyUrl.scheme
        : (raw ?? (options.proxyUrl as globalThis.URL)).protocol.slice(0, -1);
    if (scheme !== "http" && scheme !== "https") {
      const hint = scheme.startsWith("socks") ? " (for a SOCKS proxy, use SOCKSProxy)" : "";
      throw argumentError(`the proxy URL must be http: or https:, not ${scheme}:${hint}`);
    }
    const url = options.proxyUrl instanceof URL ? options.proxyUrl : new URL(options.proxyUrl);
    if (options.proxyTls !== undefined && url.scheme !== "https") {
      throw argumentError(
        "proxyTls was given, but the proxy URL is http: (use an https: proxy URL for TLS to the proxy)",
      );
    }
    this.#proxyOrigin = new Origin(
      url.scheme,
      url.host,
      url.port ?? (url.scheme === "https" ? 443 : 80),
    );
    this.#proxyTls = options.proxyTls;
    this.#share = options.shareForwardConnections ?? true;

    let credentials: readonly [string, string] | undefined = options.proxyAuth;
    const source = raw ?? (options.proxyUrl instanceof globalThis.URL ? options.proxyUrl : null);
    if (credentials === undefined && source !== null && (source.username || source.password)) {
      credentials = [
        decodeUserinfo(source.username, "username"),
        decodeUserinfo(source.password, "password"),
      ];
    }
    const headers = toHeaderList(options.proxyHeaders);
    const authScheme = options.proxyAuthScheme ?? "basic";
    if (authScheme !== "basic" && authScheme !== "digest" && authScheme !== "any") {
      throw argumentError(`proxyAuthScheme must be "basic", "digest" or "any"`);
    }
    if (authScheme !== "basic" && credentials === undefined) {
      throw argumentError(
        `proxyAuthScheme "${authScheme}" needs credentials: proxyAuth, or a username and password in the proxy URL`,
      );
    }
    let authenticator: ProxyAuthenticator | undefined;
    if (credentials !== undefined) {
      const [username, password] = credentials;
      if (typeof username !== "string" || typeof password !== "string") {
        throw argumentError("proxyAuth must be [username, password] strings");
      }
      if (UNSAFE.test(username) || UNSAFE.test(password) || username.includes(":")) {
        throw argumentError(
          "proxy credentials must not contain CR, LF or NUL, nor a colon in the username",
        );
      }
      if (authScheme !== "basic") {
        authenticator = new ProxyAuthenticator({ username, password, scheme: authScheme });
      } else if (getHeader(headers, "Proxy-Authorization") === undefined) {
        headers.push(["Proxy-Authorization", basicAuth(username, password)]);
      }
    }
    this.#proxyHeaders = headers;
    this.#authenticator = authenticator;
  }

  protected override createConnection(origin: Origin): ConnectionInterface {
    const common = {
      ...this.connectionOptions(),
      proxyOrigin: this.#proxyOrigin,
      remoteOrigin: origin,
      proxyHeaders: this.#proxyHeaders,
      proxyTls: this.#proxyTls,
      proxyAuthenticator: this.#authenticator,
    };
    if (origin.scheme === "http") {
      return new ForwardHTTPConnection({ ...common, shareForwardConnections: this.#share });
    }
    return new TunnelHTTPConnection(common);
  }
}
