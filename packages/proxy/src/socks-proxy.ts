import {
  type ConnectionInterface,
  ConnectionPool,
  type ConnectionPoolOptions,
  type Origin,
} from "@x/pool";
import { argumentError, decodeUserinfo } from "./arguments.js";
import { SOCKS_SCHEMES, SOCKSConnection, type SOCKSVersion, socksCredentials } from "./socks.js";

/**
 * Options of a SOCKSProxy: every pool option, plus the proxy's.
 *
 * @example
 * new SOCKSProxy({ proxyUrl: "socks5h://127.0.0.1:1080/", proxyAuth: ["user", "pass"], maxConnections: 20 })
 */
export interface SOCKSProxyOptions extends ConnectionPoolOptions {
  /**
   * The proxy: "socks4://", "socks4a://", "socks5://" or "socks5h://" host[:port] (1080 by
   * default). socks4: and socks5: resolve names here; socks4a: and socks5h: at the proxy.
   * Userinfo becomes the credentials (percent-decoded).
   */
  readonly proxyUrl: string | globalThis.URL;
  /** SOCKS5: [username, password] (RFC 1929). SOCKS4/4a: the username is the user id. */
  readonly proxyAuth?: readonly [username: string, password: string] | undefined;
}

/**
 * A connection pool that sends every request through a SOCKS proxy: one tunnel per origin
 * (`http:` and `https:` alike; TLS to the origin inside it for `https:`), kept alive and
 * reused as the pool's connections are.
 *
 * @example
 * const proxy = new SOCKSProxy({ proxyUrl: "socks5h://user:pass@127.0.0.1:1080/" });
 * const r = await proxy.request("GET", "https://www.example.com/");
 * console.log(proxy.connections); // [ <SOCKSConnection ['https://www.example.com:443', HTTP/1.1, IDLE, Request Count: 1]> ]
 */
export class SOCKSProxy extends ConnectionPool {
  readonly #host: string;
  readonly #port: number;
  readonly #version: SOCKSVersion;
  readonly #auth: readonly [string, string] | undefined;

  constructor(options: SOCKSProxyOptions) {
    super(options);
    if (options === undefined || options.proxyUrl === undefined) {
      throw argumentError("proxyUrl is required");
    }
    let url: globalThis.URL;
    try {
      url =
        options.proxyUrl instanceof globalThis.URL
          ? options.proxyUrl
          : new globalThis.URL(String(options.proxyUrl));
    } catch {
      throw argumentError(
        `the proxy URL is not a URL: ${JSON.stringify(String(options.proxyUrl))}`,
      );
    }
    if (!SOCKS_SCHEMES.includes(url.protocol)) {
      throw argumentError(
        `the proxy URL must be ${SOCKS_SCHEMES.join(", ")} (not ${url.protocol}): socks4 and socks5 resolve names here, socks4a and socks5h at the proxy`,
      );
    }
    this.#version = url.protocol.slice(0, -1) as SOCKSVersion;
    this.#host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    if (this.#host === "") throw argumentError("the proxy URL has no host");
    this.#port = url.port === "" ? 1080 : Number(url.port);
    let auth = options.proxyAuth;
    if (auth === undefined && (url.username !== "" || url.password !== "")) {
      auth = [decodeUserinfo(url.username, "username"), decodeUserinfo(url.password, "password")];
    }
    // Checked now, before any byte is sent: at most 255 bytes each, no NUL.
    if (auth !== undefined) socksCredentials(auth[0], auth[1]);
    this.#auth = auth;
  }

  protected override createConnection(origin: Origin): ConnectionInterface {
    return new SOCKSConnection({
      ...this.connectionOptions(),
      remoteOrigin: origin,
      proxyHost: this.#host,
      proxyPort: this.#port,
      version: this.#version,
      proxyAuth: this.#auth,
    });
  }
}
