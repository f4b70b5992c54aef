// ProxyRouter: a transport that sends each request direct or through one of several
// proxies, chosen by the request URL's scheme, host and port (httpx's mounts), or by the
// environment's proxy variables (curl's rules).
//
// It composes pools rather than being one: a ConnectionPool for direct requests, and one
// HTTPProxy or SOCKSProxy per distinct proxy URL, made on first use with the router's pool
// options. Limits (maxConnections ...) therefore apply to each of those pools on its own.

import type { ConnectionOptions as TlsOptions } from "node:tls";
import {
  type ConnectionInterface,
  ConnectionPool,
  type ConnectionPoolOptions,
  type HeadersInit,
  printable,
  type Request,
  type RequestCallOptions,
  type Response,
  type ResponseReceiver,
  URL,
} from "@x/pool";
import { argumentError } from "./arguments.js";
import { type Environment, proxyUrlFromEnv, readEnvProxies } from "./env.js";
import { HTTPProxy } from "./http-proxy.js";
import {
  type Address,
  inRange,
  isSubdomainOrSelf,
  type NoProxy,
  normalizeName,
  parseIPv4,
  parseIPv6,
  parseNoProxy,
  parsePort,
  parseRange,
  type Range,
  requestHost,
} from "./no-proxy.js";
import { SOCKS_SCHEMES } from "./socks.js";
import { SOCKSProxy } from "./socks-proxy.js";

/** `text` with any userinfo (`user:pass@`) after a scheme replaced by `***@`. */
function redact(text: string): string {
  return text.replace(/^([^:/?#\s]*:\/\/)[^/?#]*@/, "$1***@");
}

/**
 * Where requests go: route keys (httpx's mount patterns) to a proxy URL, or `null` for
 * direct.
 *
 * @example
 * const routes: ProxyRoutes = { "all://": "http://proxy.corp:3128", "https://*.internal": null };
 */
export type ProxyRoutes = Readonly<Record<string, string | null>>;

/**
 * Options of a ProxyRouter: every pool option (given to the direct pool and to each proxy),
 * the routes, and the options of the proxies.
 *
 * @example
 * new ProxyRouter({ routes: { "all://": "http://proxy.corp:3128" }, noProxy: "localhost,.internal", maxConnections: 20 })
 */
export interface ProxyRouterOptions extends ConnectionPoolOptions {
  /** Route keys to proxy URLs (or null: direct). Without a matching route, requests go direct. */
  readonly routes?: ProxyRoutes | undefined;
  /**
   * Hosts that always go direct, whatever the routes say: a NO_PROXY list (see
   * `parseNoProxy`), or one already parsed.
   */
  readonly noProxy?: string | NoProxy | undefined;
  /** Credentials for every proxy whose URL has none (HTTP proxies: Basic; SOCKS: RFC 1929). */
  readonly proxyAuth?: readonly [username: string, password: string] | undefined;
  /** Headers for HTTP proxies (with forwarded requests, and with CONNECT). */
  readonly proxyHeaders?: HeadersInit | undefined;
  /** TLS options for the connection to `https:` proxies. */
  readonly proxyTls?: TlsOptions | undefined;
  /** HTTP proxies: forwarded requests to every origin share connections (default true). */
  readonly shareForwardConnections?: boolean | undefined;
}

type HostPattern =
  | { readonly kind: "any" }
  /** "example.com": that name only. */
  | { readonly kind: "exact"; readonly name: string }
  /** "*.example.com": its subdomains, not the name itself. */
  | { readonly kind: "subdomains"; readonly name: string }
  /** "*example.com": the name and its subdomains. */
  | { readonly kind: "self-and-subdomains"; readonly name: string }
  /** An address (a full-length range) or a CIDR range. */
  | { readonly kind: "range"; readonly range: Range };

interface Route {
  readonly key: string;
  readonly proxy: string | null;
  /** null: every scheme ("all://"). */
  readonly scheme: string | null;
  readonly host: HostPattern;
  readonly port: number | null;
  /** Sorts the routes, most specific first. */
  readonly rank: readonly number[];
}

const ROUTE_SCHEMES = new Set(["all", "http", "https", "ws", "wss"]);
const PROXY_SCHEMES: readonly string[] = ["http:", "https:", ...SOCKS_SCHEMES];
const KEY_FORMS =
  'write "all://", "https://", "all://example.com", "https://*.example.com:8443", "all://10.0.0.0/8" or "all://[fd00::]/8"';

function parseHost(host: string, cidr: string | null, where: string): HostPattern {
  const fail = (why: string) => argumentError(`${where}: ${why}`);
  if (host === "" || host === "*") {
    if (cidr !== null) throw fail("a CIDR range needs an address before the slash");
    return { kind: "any" };
  }
  let address: Address | null = null;
  if (host.startsWith("[")) {
    if (!host.endsWith("]")) throw fail("an opening '[' without a closing ']'");
    address = parseIPv6(host.slice(1, -1));
    if (address === null) throw fail("not a valid IPv6 address between the brackets");
  } else if (/^[0-9.]+$/.test(host)) {
    address = parseIPv4(host.endsWith(".") ? host.slice(0, -1) : host);
    if (address === null) {
      throw fail("not a valid IPv4 address (four decimal numbers 0-255, without leading zeros)");
    }
  }
  if (address !== null) {
    if (cidr === null)
      return { kind: "range", range: { network: address, bits: address.length * 8 } };
    const range = parseRange(`${host}/${cidr}`);
    if (typeof range === "string") throw fail(range);
    return { kind: "range", range };
  }
  if (cidr !== null) throw fail("a CIDR range needs an IPv4 or IPv6 address before the slash");
  let kind: "exact" | "subdomains" | "self-and-subdomains" = "exact";
  let name = host;
  if (host.startsWith("*.")) {
    kind = "subdomains";
    name = host.slice(2);
  } else if (host.startsWith("*")) {
    kind = "self-and-subdomains";
    name = host.slice(1);
  }
  const normalized = normalizeName(name);
  if (typeof normalized === "string") throw fail(normalized);
  return { kind, name: normalized.name };
}

// A route key: scheme://[host][:port][/cidr-bits]
function parseRoute(key: string, proxy: string | null, index: number): Route {
  const where = `routes[${JSON.stringify(redact(key))}]`;
  const fail = (why: string) => argumentError(`${where}: ${why}`);
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(?:\/([^/]*))?$/.exec(key);
  if (match === null) throw fail(`not a route key: ${KEY_FORMS}`);
  const scheme = match[1]!.toLowerCase();
  if (!ROUTE_SCHEMES.has(scheme)) {
    throw fail(`the scheme must be all, http, https, ws or wss, not ${JSON.stringify(scheme)}`);
  }
  const authority = match[2]!;
  const path = match[3];
  if (/[@?#\\\s]/.test(authority) || /[@?#\\\s]/.test(path ?? "")) {
    throw fail(`a route key has no userinfo, path, query or fragment: ${KEY_FORMS}`);
  }
  if (path !== undefined && path !== "" && !/^[0-9]+$/.test(path)) {
    throw fail(`a route key has no path (only a CIDR prefix length): ${KEY_FORMS}`);
  }
  let host = authority;
  let port: number | null = null;
  const portMatch = /^(\[[^\]]*\]|[^:[\]]*):([^:]*)$/.exec(authority);
  if (portMatch !== null) {
    host = portMatch[1]!;
    port = parsePort(portMatch[2]!);
    if (port === null) throw fail("the port must be a number from 1 to 65535");
  } else if (!authority.startsWith("[") && authority.includes(":")) {
    throw fail("an IPv6 address goes in brackets: all://[fd00::1]");
  }
  const hostPattern = parseHost(host, path === undefined || path === "" ? null : path, where);
  // Specificity of the host: httpx's length of the host pattern for names ("*.a.com" is
  // 7), and for addresses the prefix length plus one (an address is a full-length range).
  // Names and addresses never match the same host, so the two measures never compete.
  let specificity = 0;
  let wildcard = 0;
  switch (hostPattern.kind) {
    case "any":
      break;
    case "range":
      specificity = hostPattern.range.bits + 1;
      break;
    case "exact":
      specificity = hostPattern.name.length;
      break;
    case "subdomains":
      specificity = hostPattern.name.length + 2;
      wildcard = 1;
      break;
    case "self-and-subdomains":
      specificity = hostPattern.name.length + 1;
      wildcard = 1;
      break;
  }
  const schemeLength = scheme === "all" ? 0 : scheme.length;
  return {
    key,
    proxy,
    scheme: scheme === "all" ? null : scheme,
    host: hostPattern,
    port,
    // httpx's order: a port first, then the longer host, then the longer scheme; then (where
    // httpx keeps the order given) a name before a wildcard, then the order given.
    rank: [port === null ? 1 : 0, -specificity, -schemeLength, wildcard, index],
  };
}

function compareRanks(a: Route, b: Route): number {
  for (let i = 0; i < a.rank.length; i++) {
    const d = a.rank[i]! - b.rank[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

function routeMatches(
  route: Route,
  scheme: string,
  host: { address: Address } | { name: string },
  port: number,
): boolean {
  if (route.scheme !== null && route.scheme !== scheme) return false;
  if (route.port !== null && route.port !== port) return false;
  const pattern = route.host;
  switch (pattern.kind) {
    case "any":
      return true;
    case "range":
      return "address" in host && inRange(host.address, pattern.range.network, pattern.range.bits);
    case "exact":
      return "name" in host && host.name === pattern.name;
    case "subdomains":
      return (
        "name" in host && host.name !== pattern.name && isSubdomainOrSelf(host.name, pattern.name)
      );
    case "self-and-subdomains":
      return "name" in host && isSubdomainOrSelf(host.name, pattern.name);
  }
}

/** Checks a proxy URL; returns it parsed. */
function checkProxyUrl(value: unknown, where: string): globalThis.URL {
  if (typeof value !== "string") {
    throw argumentError(
      `${where}: a proxy URL is a string (or null for direct), not ${typeof value}`,
    );
  }
  const shown = JSON.stringify(redact(value));
  let url: globalThis.URL;
  try {
    url = new globalThis.URL(value);
  } catch {
    throw argumentError(`${where}: ${shown} is not a URL`);
  }
  if (!PROXY_SCHEMES.includes(url.protocol)) {
    throw argumentError(
      `${where}: ${shown} is not a proxy URL: the scheme must be http:, https:, socks4:, socks4a:, socks5: or socks5h:`,
    );
  }
  if (url.hostname === "") throw argumentError(`${where}: ${shown} has no host`);
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    throw argumentError(
      `${where}: ${shown} has a path, query or fragment: a proxy URL is scheme://host:port`,
    );
  }
  for (const part of [url.username, url.password]) {
    try {
      decodeURIComponent(part);
    } catch {
      throw argumentError(`${where}: the proxy URL's userinfo is not valid percent-encoding`);
    }
  }
  return url;
}

const COUNTS = /Requests: (\d+) active, (\d+) queued \| Connections: (\d+) active, (\d+) idle/;

// Options for the pools: the router's, without its own.
function poolOptions(options: ProxyRouterOptions): ConnectionPoolOptions {
  const {
    routes: _routes,
    noProxy: _noProxy,
    proxyAuth: _auth,
    proxyHeaders: _headers,
    proxyTls: _tls,
    shareForwardConnections: _share,
    ...rest
  } = options;
  return rest;
}

/**
 * A transport that sends each request direct or through a proxy, chosen by the request
 * URL: routes keyed by httpx's mount patterns (`all://`, `https://`, `all://*.example.com`,
 * ports, IP addresses and CIDR ranges; the most specific key wins), or the environment's
 * proxy variables (`ProxyRouter.fromEnv()`, curl's rules). Same surface as a ConnectionPool.
 * Direct requests share one pool; each proxy URL gets its own HTTPProxy or SOCKSProxy,
 * made on first use and closed with the router.
 *
 * @example
 * await using router = new ProxyRouter({
 *   routes: {
 *     "all://": "http://proxy.corp:3128",
 *     "https://*.internal": null,
 *     "all://10.0.0.0/8": null,
 *     "http://legacy.example.com": "socks5h://127.0.0.1:1080",
 *   },
 *   proxyAuth: ["user", "pass"],
 * });
 * router.proxyFor("https://api.internal/x"); // null
 * const r = await router.request("GET", "https://example.com/");
 */
export class ProxyRouter {
  readonly #options: ProxyRouterOptions;
  readonly #routes: readonly Route[];
  readonly #noProxy: NoProxy | null;
  readonly #direct: ConnectionPool;
  // Proxy pools by the proxy URL's normalized form (its href), in the order they were
  // first used: "http://p:3128" and "http://P:3128/" share one.
  readonly #proxies = new Map<string, ConnectionPool>();
  // The proxy URLs of the routes, as given, parsed.
  readonly #parsed = new Map<string, globalThis.URL>();
  // Decisions by origin (a router sees the same few origins over and over).
  readonly #decisions = new Map<string, string | null>();

  constructor(options: ProxyRouterOptions = {}) {
    const routes = options.routes ?? {};
    if (typeof routes !== "object" || routes === null) {
      throw argumentError("routes must be an object of route keys to proxy URLs (or null)");
    }
    const parsed: Route[] = [];
    for (const [key, proxy] of Object.entries(routes)) {
      const route = parseRoute(key, proxy, parsed.length);
      if (proxy !== null) {
        const url = checkProxyUrl(proxy, `routes[${JSON.stringify(redact(key))}]`);
        this.#parsed.set(proxy, url);
      }
      parsed.push(route);
    }
    this.#routes = parsed.sort(compareRanks);
    const auth = options.proxyAuth;
    if (
      auth !== undefined &&
      (!Array.isArray(auth) ||
        auth.length !== 2 ||
        typeof auth[0] !== "string" ||
        typeof auth[1] !== "string")
    ) {
      throw argumentError("proxyAuth must be [username, password] strings");
    }
    const noProxy = options.noProxy;
    this.#noProxy =
      noProxy === undefined ? null : typeof noProxy === "string" ? parseNoProxy(noProxy) : noProxy;
    this.#options = options;
    this.#direct = new ConnectionPool(poolOptions(options));
  }

  /**
   * A router from the environment, as curl reads it: `http_proxy` (lower case only),
   * `HTTPS_PROXY`, `ALL_PROXY` (for schemes without their own) and `NO_PROXY`, each also in
   * lower case, which wins; an empty variable counts as unset; a value without a scheme is
   * an `http://` proxy. `options` are the router's other options.
   *
   * @example
   * // https_proxy=http://proxy.corp:3128 NO_PROXY=localhost,.internal node app.js
   * await using router = ProxyRouter.fromEnv();
   * router.proxyFor("https://example.com/"); // "http://proxy.corp:3128"
   */
  static fromEnv(
    env: Environment = process.env,
    options: Omit<ProxyRouterOptions, "routes" | "noProxy"> = {},
  ): ProxyRouter {
    const settings = readEnvProxies(env);
    const routes: Record<string, string> = {};
    for (const [key, setting] of [
      ["http://", settings.http],
      ["https://", settings.https],
      ["all://", settings.all],
    ] as const) {
      if (setting === undefined) continue;
      const url = proxyUrlFromEnv(setting.value);
      checkProxyUrl(url, setting.variable);
      routes[key] = url;
    }
    return new ProxyRouter({
      ...options,
      routes,
      noProxy: parseNoProxy(settings.noProxy?.value),
    });
  }

  /** The NO_PROXY list this router consults before its routes, or null. */
  get noProxy(): NoProxy | null {
    return this.#noProxy;
  }

  /**
   * The proxy a request to `url` goes through: its URL as given in the routes (or made
   * from the environment), or null for direct.
   *
   * @example
   * router.proxyFor("https://api.internal/x"); // null
   */
  proxyFor(url: string | URL | globalThis.URL): string | null {
    return this.#decide(url instanceof URL ? url : new URL(url));
  }

  #decide(url: URL): string | null {
    const origin = url.origin;
    const cacheKey = `${origin.scheme} ${origin.host} ${origin.port}`;
    const known = this.#decisions.get(cacheKey);
    if (known !== undefined) return known;
    const decision = this.#route(origin.scheme, origin.host, origin.port);
    if (this.#decisions.size >= 1024) this.#decisions.clear();
    this.#decisions.set(cacheKey, decision);
    return decision;
  }

  #route(scheme: string, hostText: string, port: number): string | null {
    if (this.#noProxy?.matches(hostText, port)) return null;
    const host = requestHost(hostText);
    for (const route of this.#routes) {
      if (routeMatches(route, scheme, host, port)) return route.proxy;
    }
    return null;
  }

  // The pool for `proxy` (null: the direct pool), made on first use.
  #poolFor(proxy: string | null): ConnectionPool {
    if (proxy === null) return this.#direct;
    const url = this.#parsed.get(proxy)!;
    let pool = this.#proxies.get(url.href);
    if (pool !== undefined) return pool;
    const o = this.#options;
    const hasUserinfo = url.username !== "" || url.password !== "";
    const auth = hasUserinfo ? {} : o.proxyAuth === undefined ? {} : { proxyAuth: o.proxyAuth };
    if (url.protocol === "http:" || url.protocol === "https:") {
      pool = new HTTPProxy({
        ...poolOptions(o),
        proxyUrl: proxy,
        ...auth,
        proxyHeaders: o.proxyHeaders,
        proxyTls: url.protocol === "https:" ? o.proxyTls : undefined,
        shareForwardConnections: o.shareForwardConnections,
      });
    } else {
      pool = new SOCKSProxy({ ...poolOptions(o), proxyUrl: proxy, ...auth });
    }
    this.#proxies.set(url.href, pool);
    return pool;
  }

  /** Sends a request, direct or through its proxy, and reads the whole response body. */
  request(
    method: string,
    url: string | URL | globalThis.URL,
    options: RequestCallOptions = {},
  ): Promise<Response> {
    return this.#start("request", method, url, options);
  }

  /** Sends a request; the body is left to read (iterate it, then close the response). */
  stream(
    method: string,
    url: string | URL | globalThis.URL,
    options: RequestCallOptions = {},
  ): Promise<Response> {
    return this.#start("stream", method, url, options);
  }

  /** stream() with the outcome handed to `receiver` (see ConnectionPool.streamTo). */
  streamTo(
    method: string,
    url: string | URL | globalThis.URL,
    options: RequestCallOptions,
    receiver: ResponseReceiver,
  ): void {
    let pool: ConnectionPool;
    let parsed: URL;
    try {
      parsed = url instanceof URL ? url : new URL(url);
      pool = this.#poolFor(this.#decide(parsed));
    } catch (error) {
      receiver.onError(error);
      return;
    }
    pool.streamTo(method, parsed, options, receiver);
  }

  #start(
    how: "request" | "stream",
    method: string,
    url: string | URL | globalThis.URL,
    options: RequestCallOptions,
  ): Promise<Response> {
    try {
      const parsed = url instanceof URL ? url : new URL(url);
      return this.#poolFor(this.#decide(parsed))[how](method, parsed, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The core entry point: sends `request` as it is, by the route of `request.url`. */
  handleRequest(request: Request): Promise<Response> {
    try {
      return this.#poolFor(this.#decide(request.url)).handleRequest(request);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Every connection of every route: the direct pool's, then each proxy's in the order the
   * proxies were first used (each pool's most recently used first).
   */
  get connections(): ConnectionInterface[] {
    const all = [...this.#direct.connections];
    for (const pool of this.#proxies.values()) all.push(...pool.connections);
    return all;
  }

  /** Closes every connection of every pool. The router can still be used afterwards. */
  async close(): Promise<void> {
    const pools = [this.#direct, ...this.#proxies.values()];
    this.#proxies.clear();
    await Promise.all(pools.map((p) => p.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * `<ProxyRouter [Routes: 3 | Requests: 0 active, 0 queued | Connections: 0 active, 2 idle]>`:
   * the number of route keys (and of NO_PROXY entries, when there are any), then the
   * requests and connections of all its pools together.
   */
  toString(): string {
    const sums = [0, 0, 0, 0];
    for (const pool of [this.#direct, ...this.#proxies.values()]) {
      const m = COUNTS.exec(pool.toString());
      for (let i = 0; i < 4; i++) sums[i]! += Number(m?.[i + 1] ?? 0);
    }
    const noProxy = this.#noProxy?.describe().taken.length ?? 0;
    const routes = `Routes: ${this.#routes.length}${noProxy > 0 ? `, No proxy: ${noProxy}` : ""}`;
    return (
      `<ProxyRouter [${routes} | Requests: ${sums[0]} active, ${sums[1]} queued` +
      ` | Connections: ${sums[2]} active, ${sums[3]} idle]>`
    );
  }
}

printable(ProxyRouter);
