import { argumentError, describeType, LocalProtocolError, UnsupportedProtocol } from "./errors.js";

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443, ws: 80, wss: 443 };

/** The default port of a scheme, or null. */
function defaultPort(scheme: string): number | null {
  return DEFAULT_PORTS[scheme] ?? null;
}

/** A host as written in a URL: an IPv6 address in brackets. */
function bracketed(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** Throws UnsupportedProtocol unless the scheme is one we speak. */
function checkScheme(scheme: string): void {
  if (scheme === "") {
    throw new UnsupportedProtocol("Request URL is missing an 'http://' or 'https://' protocol.");
  }
  if (!(scheme in DEFAULT_PORTS)) {
    throw new UnsupportedProtocol(`Request URL has an unsupported protocol '${scheme}://'.`);
  }
}

/**
 * Where a connection goes: scheme, host and port. Two requests with equal origins can
 * share a connection. Prints with the port always shown.
 *
 * @example
 * new Origin("https", "example.com", 443).toString() // "https://example.com:443"
 */
export class Origin {
  readonly scheme: string;
  readonly host: string;
  readonly port: number;

  constructor(scheme: string, host: string, port: number) {
    this.scheme = scheme;
    this.host = host;
    this.port = port;
  }

  /** True when scheme, host and port are all equal. */
  equals(other: Origin): boolean {
    return this.scheme === other.scheme && this.host === other.host && this.port === other.port;
  }

  /** The host with IPv6 brackets, and the port when it is not the scheme's default. */
  get authority(): string {
    const host = bracketed(this.host);
    return this.port === defaultPort(this.scheme) ? host : `${host}:${this.port}`;
  }

  toString(): string {
    return `${this.scheme}://${bracketed(this.host)}:${this.port}`;
  }
}

/** True for the schemes whose connections start with TLS (`https`, `wss`). */
export function usesTLS(scheme: string): boolean {
  return scheme === "https" || scheme === "wss";
}

/**
 * The parts of a URL a request needs.
 *
 * @example
 * new URL({ scheme: "https", host: "example.com", port: 8443, target: "/a?b=1" })
 */
export interface URLParts {
  readonly scheme: string;
  readonly host: string;
  readonly port?: number | null;
  readonly target?: string;
}

function badUrl(text: string, why: string): LocalProtocolError {
  return new LocalProtocolError(`Invalid URL ${JSON.stringify(text)}: ${why}`);
}

// Parsed URL strings, reused: clients send to the same URLs over and over, and the WHATWG
// parser costs microseconds. URL objects are immutable, so sharing them is safe.
const CACHE_LIMIT = 1024;
const cache = new Map<string, URL>();

/** `url` as a URL, parsing a string at most once while it stays in a small cache. */
export function toURL(url: string | URL | globalThis.URL): URL {
  if (url instanceof URL) return url;
  if (typeof url !== "string") return new URL(url);
  let parsed = cache.get(url);
  if (parsed === undefined) {
    parsed = new URL(url);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(url, parsed);
  }
  return parsed;
}

/**
 * The port written in `text` when it is the scheme's default (which the WHATWG parser
 * drops: "https://a.com:443/" has port "" there), or null when none is written. httpcore's
 * URL keeps it, and so does this one.
 */
function explicitDefaultPort(text: string, scheme: string): number | null {
  const port = defaultPort(scheme);
  // Most URLs name no port: one search settles those.
  if (port === null || !text.includes(`:${port}`, scheme.length + 1)) return null;
  const authority = /^[a-zA-Z][a-zA-Z0-9+.-]*:[/\\]*([^/?#\\]*)/.exec(text)?.[1] ?? "";
  // The port ends the authority (a user:password is followed by "@" and the host).
  const written = /:(\d+)$/.exec(authority)?.[1];
  return written === undefined ? null : Number(written);
}

/**
 * A request URL split as httpcore splits it: `scheme`, `host` (no brackets), `port` (null
 * when not given) and `target` (path and query, as sent on the request line).
 *
 * @example
 * const url = new URL("https://example.com:8443/a?b=1");
 * url.origin.toString(); // "https://example.com:8443"
 * url.target;            // "/a?b=1"
 */
export class URL {
  readonly scheme: string;
  readonly host: string;
  readonly port: number | null;
  readonly target: string;
  #origin: Origin | null = null;

  constructor(url: string | URLParts | globalThis.URL) {
    if (typeof url === "string" || url instanceof globalThis.URL) {
      const text = String(url);
      if (typeof url === "string" && /[\0-\x20\x7f]/.test(text.trim())) {
        throw badUrl(text, "it contains whitespace or control characters");
      }
      const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(text);
      if (schemeMatch === null) checkScheme("");
      const scheme = schemeMatch![1]!.toLowerCase();
      checkScheme(scheme);
      let parsed: globalThis.URL;
      try {
        parsed = url instanceof globalThis.URL ? url : new globalThis.URL(text);
      } catch (cause) {
        throw new LocalProtocolError(`Invalid URL ${JSON.stringify(text)}`, { cause });
      }
      this.scheme = scheme;
      this.host = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
      this.port =
        parsed.port !== ""
          ? Number(parsed.port)
          : typeof url === "string"
            ? explicitDefaultPort(text, scheme)
            : null;
      // An http(s) or ws(s) URL's path is never empty: "/" at least.
      this.target = `${parsed.pathname}${parsed.search}`;
    } else {
      if (typeof url !== "object" || url === null) {
        throw argumentError(
          `a URL must be a string, a URL or { scheme, host, port, target }, not ${describeType(url)}`,
          "ERR_INVALID_ARG_TYPE",
        );
      }
      checkScheme(url.scheme);
      if (!url.host) throw badUrl(String(url.host), "it has no host");
      this.scheme = url.scheme;
      this.host = url.host;
      this.port = url.port ?? null;
      this.target = url.target ?? "/";
    }
    if (
      this.port !== null &&
      (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535)
    ) {
      throw badUrl(String(url), `port ${this.port} is out of range`);
    }
    // request-target: visible ASCII only. Checked once here (URLs are immutable and
    // cached), not on every request.
    if (/[^\x21-\x7e]/.test(this.target)) {
      throw new LocalProtocolError(
        `Illegal characters in request target ${JSON.stringify(this.target)}`,
      );
    }
  }

  /** The origin, with the scheme's default port filled in. */
  get origin(): Origin {
    if (this.#origin === null) {
      this.#origin = new Origin(this.scheme, this.host, this.port ?? defaultPort(this.scheme)!);
    }
    return this.#origin;
  }

  toString(): string {
    const port = this.port === null ? "" : `:${this.port}`;
    return `${this.scheme}://${bracketed(this.host)}${port}${this.target}`;
  }
}
