// ProxyAgent: an http.Agent whose sockets go through the proxy @x/proxy's router picks.
//
// node:http asks an Agent for a socket per request (`createConnection`, which may answer
// later through its callback) and keeps the socket alive for the next request of the same
// name. This Agent answers with:
//   - `https:`/`wss:` targets (and `http:` ones through SOCKS): a tunnel opened by @x/proxy's
//     dialers (CONNECT with Basic or Digest, TLS to an https: proxy, SOCKS 4/4a/5/5h), and for
//     https TLS to the origin on top (ALPN http/1.1). The TLS socket is handed to node:http
//     as a real tls.TLSSocket (NodeStream.detach()); any other stream as a NetworkSocket.
//   - `http:` targets through an HTTP proxy: a plain connection to the proxy, the request
//     rewritten to absolute form with the proxy headers (as http-proxy-agent does).
//   - targets the router sends direct: an ordinary net/tls connection.
// One agent serves http: and https: requests alike; which one a request is follows
// agent-base: the request's `secureEndpoint` or `protocol` option, else whether node:https
// is on the stack (node:https asks for `agent.protocol` before it passes any option).

import { createHash, type Hash } from "node:crypto";
import { Agent, type AgentOptions, type ClientRequest, type ClientRequestArgs } from "node:http";
import type { AgentOptions as HttpsAgentOptions } from "node:https";
import { connect as netConnect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type ConnectionOptions as TlsOptions, connect as tlsConnect } from "node:tls";
import { inspect } from "node:util";
import {
  type Dialer,
  HTTP11_ALPN,
  NetworkSocket,
  type NetworkStream,
  NodeBackend,
  NodeStream,
  Origin,
  Request,
  startTlsFor,
} from "@x/pool";
import {
  basicAuth,
  ConnectDialer,
  ProxyAuthenticator,
  type ProxyAuthScheme,
  ProxyRouter,
  type ProxyRoutes,
  SOCKSDialer,
  type SOCKSVersion,
} from "@x/proxy";
import { DigestForwardStream } from "./digest-forward.js";

/**
 * Options of a ProxyAgent: node:http's Agent options (keepAlive defaults to true), and the
 * proxy's, as HTTPProxy takes them.
 *
 * @example
 * new ProxyAgent({ proxyUrl: "http://127.0.0.1:3128", proxyAuth: ["user", "pass"], tls: { ca } })
 */
export interface ProxyAgentOptions extends AgentOptions {
  /** One proxy for every request: http:, https:, socks4:, socks4a:, socks5: or socks5h:. */
  readonly proxyUrl?: string | URL | undefined;
  /** Or routes, as ProxyRouter takes them (key → proxy URL, null for direct). */
  readonly routes?: ProxyRoutes | undefined;
  /** Hosts that go direct (a NO_PROXY list). */
  readonly noProxy?: string | undefined;
  /** Credentials for a proxy whose URL has none. */
  readonly proxyAuth?: readonly [username: string, password: string] | undefined;
  /** HTTP proxies: "basic" (default), "digest" or "any", as HTTPProxy. */
  readonly proxyAuthScheme?: ProxyAuthScheme | undefined;
  /** Headers for HTTP proxies: with CONNECT, and with forwarded requests. */
  readonly proxyHeaders?: Readonly<Record<string, string>> | undefined;
  /** TLS options for the connection to an https: proxy. */
  readonly proxyTls?: TlsOptions | undefined;
  /** TLS options for the origins (a request's own ca, servername ... win). */
  readonly tls?: TlsOptions | undefined;
}

/** The TLS options node:https passes per request, which apply to the origin. */
const REQUEST_TLS_KEYS = [
  "ca",
  "cert",
  "key",
  "pfx",
  "passphrase",
  "ciphers",
  "crl",
  "ecdhCurve",
  "honorCipherOrder",
  "minVersion",
  "maxVersion",
  "secureOptions",
  "secureProtocol",
  "sessionIdContext",
  "checkServerIdentity",
  "rejectUnauthorized",
  "servername",
] as const;

interface ConnectOptions extends Omit<TlsOptions, "host" | "port" | "timeout"> {
  host?: string | null;
  hostname?: string | null;
  port?: number | string | null;
  secureEndpoint?: boolean;
  protocol?: string | null;
  timeout?: number;
}

interface ProxyTarget {
  readonly scheme: string;
  readonly host: string;
  readonly port: number;
  readonly credentials: readonly [string, string] | undefined;
}

type Callback = (error: Error | null, socket: Duplex) => void;

function parseProxy(url: string): ProxyTarget {
  const parsed = new URL(url.includes("://") ? url : `http://${url}`);
  const scheme = parsed.protocol.slice(0, -1);
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  const defaults: Record<string, number> = { http: 80, https: 443 };
  const port = parsed.port === "" ? (defaults[scheme] ?? 1080) : Number(parsed.port);
  const credentials: [string, string] | undefined =
    parsed.username || parsed.password
      ? [decodeURIComponent(parsed.username), decodeURIComponent(parsed.password)]
      : undefined;
  return { scheme, host, port, credentials };
}

const hostOf = (options: ConnectOptions): string =>
  String(options.hostname ?? options.host ?? "localhost").replace(/^\[|\]$/g, "");

/**
 * An `http.Agent` that sends requests through the proxies @x/proxy speaks — HTTP and HTTPS
 * proxies (CONNECT for https:, forwarding for http:, Basic or Digest) and SOCKS 4, 4a, 5 and
 * 5h — for node:http, node:https and the clients built on them (axios, got, node-fetch, ws).
 *
 * @example
 * const agent = new ProxyAgent({ proxyUrl: "socks5h://127.0.0.1:1080" }); // or ProxyAgent.fromEnv()
 * https.get("https://example.com/", { agent }, (res) => res.pipe(process.stdout));
 */
export class ProxyAgent extends Agent {
  /**
   * node:http's Agent keeps its options here (its types leave the field out; https.Agent's
   * declare it): declared so that a ProxyAgent is an `https.Agent` to types that want one,
   * as got's `agent.https` does. Holds node:http's options only, never the proxy's.
   */
  declare options: HttpsAgentOptions;
  readonly #router: ProxyRouter;
  readonly #auth: readonly [string, string] | undefined;
  readonly #authScheme: ProxyAuthScheme;
  readonly #authenticators = new Map<string, ProxyAuthenticator>();
  readonly #proxyHeaders: Readonly<Record<string, string>>;
  readonly #proxyTls: TlsOptions | undefined;
  readonly #tls: TlsOptions | undefined;
  readonly #opening = new Set<AbortController>();
  readonly #backend = new NodeBackend();
  readonly #decisions = new Map<string, string | null>();
  #protocolSet: string | undefined;
  #defaultPortSet: number | undefined;

  constructor(options: ProxyAgentOptions = {}, router?: ProxyRouter) {
    const {
      proxyUrl,
      routes,
      noProxy,
      proxyAuth,
      proxyAuthScheme,
      proxyHeaders,
      proxyTls,
      tls,
      ...agentOptions
    } = options;
    // Only node:http's own options reach its Agent (and its `options`, which print).
    super({ keepAlive: true, ...agentOptions });
    const given = routes ?? (proxyUrl === undefined ? {} : { "all://": String(proxyUrl) });
    this.#router =
      router ??
      new ProxyRouter({
        routes: given,
        ...(noProxy === undefined ? {} : { noProxy }),
      });
    this.#auth = proxyAuth;
    this.#authScheme = proxyAuthScheme ?? "basic";
    this.#proxyHeaders = proxyHeaders ?? {};
    this.#proxyTls = proxyTls;
    this.#tls = tls;
  }

  /**
   * An agent that routes as the environment says, with curl's rules (`http_proxy`,
   * `https_proxy`, `all_proxy`, `no_proxy`; see ProxyRouter.fromEnv).
   *
   * @example
   * const agent = ProxyAgent.fromEnv(); // HTTPS_PROXY=http://proxy.corp:3128 NO_PROXY=.internal
   */
  static fromEnv(
    env: Readonly<Record<string, string | undefined>> = process.env,
    options: Omit<ProxyAgentOptions, "proxyUrl" | "routes" | "noProxy"> = {},
  ): ProxyAgent {
    return new ProxyAgent(options, ProxyRouter.fromEnv(env));
  }

  /** The proxy URL a request to `url` goes through (credentials hidden), or null for direct. */
  proxyFor(url: string | URL): string | null {
    const proxy = this.#router.proxyFor(String(url));
    return proxy === null ? null : hideCredentials(proxy);
  }

  // node:http's Agent assigns `protocol` and `defaultPort` in its constructor; like
  // agent-base, they follow each request unless set.
  get protocol(): string {
    if (#protocolSet in this && this.#protocolSet !== undefined) return this.#protocolSet;
    return this.#isSecure(undefined) ? "https:" : "http:";
  }

  set protocol(value: string) {
    if (#protocolSet in this) this.#protocolSet = value;
  }

  get defaultPort(): number {
    if (#defaultPortSet in this && this.#defaultPortSet !== undefined) return this.#defaultPortSet;
    return this.protocol === "https:" ? 443 : 80;
  }

  set defaultPort(value: number) {
    if (#defaultPortSet in this) this.#defaultPortSet = value;
  }

  #isSecure(options: ConnectOptions | undefined): boolean {
    if (options !== undefined) {
      if (typeof options.secureEndpoint === "boolean") return options.secureEndpoint;
      if (typeof options.protocol === "string") return options.protocol === "https:";
    }
    return calledFromHttps();
  }

  // The router's decision for a request's origin, kept by origin (the router parses a URL
  // each time; an agent sees the same few origins over and over).
  #proxyFor(options: ConnectOptions, secure: boolean): string | null {
    const key = `${secure ? "s" : ""}${hostOf(options)} ${options.port ?? ""}`;
    let proxy = this.#decisions.get(key);
    if (proxy === undefined) {
      proxy = this.#router.proxyFor(this.#targetUrl(options, secure));
      if (this.#decisions.size >= 1024) this.#decisions.clear();
      this.#decisions.set(key, proxy);
    }
    return proxy;
  }

  #targetUrl(options: ConnectOptions, secure: boolean): string {
    const host = hostOf(options);
    const port = Number(options.port ?? (secure ? 443 : 80));
    return `${secure ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}/`;
  }

  override getName(options?: ConnectOptions): string {
    const secure = this.#isSecure(options);
    // http: and https: sockets to one host:port never mix; nor do TLS settings.
    const name = super.getName(options as never);
    if (!secure) return name;
    return `${name}:tls:${tlsSettingsKey(options ?? {})}`;
  }

  /** @internal node:http's (undocumented in its types): the request gets a socket. */
  addRequest(req: ClientRequest, options: ConnectOptions): void {
    const secure = this.#isSecure(options);
    const withSecure = { ...options, secureEndpoint: secure };
    const proxy = this.#proxyFor(withSecure, secure);
    if (proxy !== null && !secure) {
      const target = parseProxy(proxy);
      if (target.scheme === "http" || target.scheme === "https")
        this.#forward(req, withSecure, target);
    }
    (
      Agent.prototype as unknown as { addRequest: (r: ClientRequest, o: object) => void }
    ).addRequest.call(this, req, withSecure);
  }

  // Forwarding: the request line in absolute form, and the proxy's headers.
  #forward(req: ClientRequest, options: ConnectOptions, proxy: ProxyTarget): void {
    const host = hostOf(options);
    const port = Number(options.port ?? 80);
    const authority = `${host.includes(":") ? `[${host}]` : host}${port === 80 ? "" : `:${port}`}`;
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(req.path)) req.path = `http://${authority}${req.path}`;
    for (const [name, value] of Object.entries(this.#proxyHeaders)) req.setHeader(name, value);
    const credentials = proxy.credentials ?? this.#auth;
    if (credentials === undefined) return;
    if (this.#authScheme === "basic") {
      if (req.getHeader("proxy-authorization") === undefined)
        req.setHeader("Proxy-Authorization", basicAuth(credentials[0], credentials[1]));
      return;
    }
    // Digest: the answer at once when the proxy's challenge is known (from a tunnel or an
    // earlier request); else the connection answers the 407 (DigestForwardStream).
    const authorization = this.#authenticatorFor(proxy, credentials).authorization(
      req.method,
      req.path,
    );
    if (authorization !== undefined) req.setHeader("Proxy-Authorization", authorization);
    req.prependOnceListener("socket", (socket) => {
      if (socket instanceof NetworkSocket && socket.stream instanceof DigestForwardStream)
        socket.stream.begin(req);
    });
  }

  // One authenticator per proxy keeps the last challenge for the next tunnel or request.
  #authenticatorFor(
    proxy: ProxyTarget,
    credentials: readonly [string, string],
  ): ProxyAuthenticator {
    const key = `${proxy.scheme}://${proxy.host}:${proxy.port}`;
    let authenticator = this.#authenticators.get(key);
    if (authenticator === undefined) {
      authenticator = new ProxyAuthenticator({
        username: credentials[0],
        password: credentials[1],
        scheme: this.#authScheme === "basic" ? "digest" : this.#authScheme,
      });
      this.#authenticators.set(key, authenticator);
    }
    return authenticator;
  }

  override createConnection(options: ClientRequestArgs, callback?: Callback): Duplex | undefined {
    return this.#connect(options as ConnectOptions, callback);
  }

  #connect(options: ConnectOptions, callback: Callback | undefined): Duplex | undefined {
    const secure = this.#isSecure(options);
    const proxy = this.#proxyFor(options, secure);
    if (proxy === null) return this.#direct(options, secure);
    const target = parseProxy(proxy);
    if (!secure && (target.scheme === "http" || target.scheme === "https")) {
      const credentials = target.credentials ?? this.#auth;
      if (credentials !== undefined && this.#authScheme !== "basic") {
        // Forwarded with Digest: through a connection that answers the proxy's 407s.
        this.#forwardingConnection(options, target, credentials).then(
          (socket) => callback?.(null, socket),
          (error: unknown) => callback?.(error as Error, undefined as never),
        );
        return undefined;
      }
      // Forwarded: node:http speaks to the proxy itself.
      const to = { ...options, host: target.host, port: target.port };
      delete to.path;
      delete (to as { hostname?: unknown }).hostname;
      if (target.scheme === "http") return netConnect(to as never);
      return tlsConnect({
        ...to,
        ...this.#proxyTls,
        servername: target.host,
        ALPNProtocols: [...HTTP11_ALPN],
      } as TlsOptions);
    }
    this.#tunnel(options, secure, target).then(
      (socket) => callback?.(null, socket),
      (error: unknown) => callback?.(error as Error, undefined as never),
    );
    return undefined;
  }

  async #forwardingConnection(
    options: ConnectOptions,
    proxy: ProxyTarget,
    credentials: readonly [string, string],
  ): Promise<Duplex> {
    const open = async (): Promise<NetworkStream> => {
      const controller = new AbortController();
      this.#opening.add(controller);
      try {
        const timeout = options.timeout === undefined ? {} : { timeout: options.timeout };
        const stream = await this.#backend.connectTcp(proxy.host, proxy.port, {
          ...timeout,
          signal: controller.signal,
        });
        if (proxy.scheme === "http") return stream;
        try {
          return await stream.startTls(
            { ...this.#proxyTls, ALPNProtocols: [...HTTP11_ALPN] },
            proxy.host,
            options.timeout,
            controller.signal,
          );
        } catch (error) {
          await stream.close();
          throw error;
        }
      } finally {
        this.#opening.delete(controller);
      }
    };
    const authenticator = this.#authenticatorFor(proxy, credentials);
    return new NetworkSocket(new DigestForwardStream(await open(), authenticator, open));
  }

  #direct(options: ConnectOptions, secure: boolean): Socket {
    const host = hostOf(options);
    if (!secure) return netConnect({ ...options, host } as never);
    return tlsConnect({
      ALPNProtocols: [...HTTP11_ALPN],
      ...this.#tls,
      ...pickTls(options),
      host,
      port: Number(options.port ?? 443),
    } as TlsOptions);
  }

  #dialerFor(proxy: ProxyTarget): Dialer {
    const credentials = proxy.credentials ?? this.#auth;
    if (proxy.scheme.startsWith("socks")) {
      return new SOCKSDialer({
        proxyHost: proxy.host,
        proxyPort: proxy.port,
        version: proxy.scheme as SOCKSVersion,
        ...(credentials === undefined ? {} : { proxyAuth: credentials }),
      });
    }
    const headers: Array<[string, string]> = Object.entries(this.#proxyHeaders);
    let authenticator: ProxyAuthenticator | undefined;
    if (credentials !== undefined) {
      if (this.#authScheme === "basic") {
        headers.push(["Proxy-Authorization", basicAuth(credentials[0], credentials[1])]);
      } else {
        authenticator = this.#authenticatorFor(proxy, credentials);
      }
    }
    return new ConnectDialer({
      proxyOrigin: new Origin(proxy.scheme, proxy.host, proxy.port),
      proxyHeaders: headers,
      proxyTls: this.#proxyTls,
      proxyAuthenticator: authenticator,
    });
  }

  async #tunnel(options: ConnectOptions, secure: boolean, proxy: ProxyTarget): Promise<Socket> {
    const url = this.#targetUrl(options, secure);
    const origin = new Origin(
      secure ? "https" : "http",
      hostOf(options),
      Number(options.port ?? (secure ? 443 : 80)),
    );
    const controller = new AbortController();
    this.#opening.add(controller);
    const dialer = this.#dialerFor(proxy);
    const servername =
      typeof options.servername === "string" && options.servername !== ""
        ? options.servername
        : undefined;
    const request = new Request("GET", url, {
      extensions: {
        ...(options.timeout === undefined ? {} : { timeout: { connect: options.timeout } }),
        ...(servername === undefined ? {} : { sniHostname: servername }),
      },
      signal: controller.signal,
    });
    try {
      const stream = await dialer.dial(origin, request, controller.signal);
      let socket: Socket;
      try {
        const opened = await startTlsFor(
          origin,
          stream,
          request,
          { ...this.#tls, ...pickTls(options) },
          HTTP11_ALPN,
          controller.signal,
          dialer.tlsTraceName,
        );
        socket =
          (opened instanceof NodeStream ? opened.detach() : null) ??
          (new NetworkSocket(opened) as unknown as Socket);
      } catch (error) {
        await stream.close();
        throw error;
      }
      // The dialer holds the connection to the proxy (CONNECT): release it with the socket.
      socket.once("close", () => void dialer.close?.());
      return socket;
    } catch (error) {
      await dialer.close?.();
      throw error;
    } finally {
      this.#opening.delete(controller);
    }
  }

  /** Closes every socket, and abandons the tunnels being opened. */
  override destroy(): void {
    for (const controller of this.#opening) controller.abort(new Error("the agent was destroyed"));
    this.#opening.clear();
    void this.#router.close();
    super.destroy();
  }

  override toString(): string {
    return `<ProxyAgent [${String(this.#router)}]>`;
  }
}

Object.defineProperty(ProxyAgent.prototype, inspect.custom, {
  value(this: ProxyAgent): string {
    return this.toString();
  },
  configurable: true,
  writable: true,
});

/**
 * The TLS options that tell kept-alive sockets apart: the ones node:https's own
 * Agent.getName puts in a socket's name (lib/https.js), and `checkServerIdentity`, which
 * this agent also passes to the origin's TLS. Each value counts by its content.
 */
const NAME_TLS_KEYS = [
  "ca",
  "cert",
  "clientCertEngine",
  "ciphers",
  "key",
  "pfx",
  "rejectUnauthorized",
  "servername",
  "minVersion",
  "maxVersion",
  "secureProtocol",
  "crl",
  "honorCipherOrder",
  "ecdhCurve",
  "dhparam",
  "secureOptions",
  "sessionIdContext",
  "sigalgs",
  "privateKeyIdentifier",
  "privateKeyEngine",
  "checkServerIdentity",
] as const;

// A CA bundle is often the same Buffer or array on every request: its digest is kept by
// identity (so a Buffer changed in place after its first use keeps its first digest).
const digests = new WeakMap<object, string>();
const functionIds = new WeakMap<object, number>();
let lastFunctionId = 0;

/** A sha256 over the socket-relevant TLS options' content ("" when there are none). */
function tlsSettingsKey(options: ConnectOptions): string {
  let hash: Hash | undefined;
  for (const key of NAME_TLS_KEYS) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined || value === null || value === "") continue;
    if (key === "rejectUnauthorized" && value !== false) continue; // true is the default
    if (key === "servername" && (value === options.host || value === options.hostname)) continue;
    hash ??= createHash("sha256");
    hash.update(`${key}=`);
    if (typeof value === "object") {
      let digest = digests.get(value);
      if (digest === undefined) {
        const inner = createHash("sha256");
        feed(inner, value);
        digest = inner.digest("base64");
        digests.set(value, digest);
      }
      hash.update(digest);
    } else {
      feed(hash, value);
    }
    hash.update("\n");
  }
  return hash === undefined ? "" : hash.digest("base64url");
}

// Each value with its type and length first, so that no two different values feed the
// same bytes.
function feed(hash: Hash, value: unknown): void {
  if (typeof value === "string") {
    hash.update(`s${Buffer.byteLength(value)}:`);
    hash.update(value);
  } else if (ArrayBuffer.isView(value)) {
    hash.update(`b${value.byteLength}:`);
    hash.update(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  } else if (Array.isArray(value)) {
    hash.update(`a${value.length}:`);
    for (const item of value) feed(hash, item);
  } else if (typeof value === "function") {
    let id = functionIds.get(value);
    if (id === undefined) functionIds.set(value, (id = ++lastFunctionId));
    hash.update(`f${id};`);
  } else if (typeof value === "object" && value !== null) {
    // The keys in code-unit order (sort's own, as `<` compares strings), whatever order
    // they were added in.
    const keys = Object.keys(value).sort();
    hash.update(`o${keys.length}:`);
    for (const key of keys) {
      feed(hash, key);
      feed(hash, (value as Record<string, unknown>)[key]);
    }
  } else {
    hash.update(`v${String(value)};`);
  }
}

// Whether node:https is on the stack (as agent-base asks), from V8's call sites: the
// protocol getter asks this for every request, and a formatted `new Error().stack` cost a
// tenth of a request's CPU time through a tunnel.
const collectSites = (_error: Error, sites: NodeJS.CallSite[]): NodeJS.CallSite[] => sites;
function calledFromHttps(): boolean {
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  const holder: { stack?: unknown } = {};
  try {
    Error.stackTraceLimit = 6; // #isSecure, a getter or two, ClientRequest, https.request
    Error.prepareStackTrace = collectSites;
    Error.captureStackTrace(holder, calledFromHttps);
    const sites = holder.stack;
    if (!Array.isArray(sites)) return false;
    return (sites as NodeJS.CallSite[]).some((site) => {
      const file = site.getFileName();
      return file === "node:https" || file === "https.js";
    });
  } finally {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = prepare;
  }
}

function pickTls(options: ConnectOptions): TlsOptions {
  const out: Record<string, unknown> = {};
  for (const key of REQUEST_TLS_KEYS) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined && !(key === "servername" && value === "")) out[key] = value;
  }
  return out as TlsOptions;
}

function hideCredentials(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
