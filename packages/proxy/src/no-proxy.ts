// NO_PROXY lists, and the host and address matching ProxyRouter's route keys share with them.
//
// An entry is a name (matching itself and its subdomains), an IPv4 or IPv6 address, or a
// CIDR range of addresses, optionally with a port. Names match names and addresses match
// addresses: `localhost` never matches 127.0.0.1, nor 127.0.0.0/8 `localhost` (nothing is
// resolved), as in curl. Loopback is not special.

import { domainToASCII } from "node:url";

/** An IP address as bytes: 4 for IPv4, 16 for IPv6. */
export type Address = Uint8Array;

/** "10.0.0.1" as 4 bytes; null unless four decimal numbers 0-255 without leading zeros. */
export function parseIPv4(text: string): Address | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes[i] = n;
  }
  return bytes;
}

/** "fd00::1" (no brackets, no zone) as 16 bytes; null when it is not an IPv6 address. */
export function parseIPv6(text: string): Address | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIPv4(part);
        if (v4 === null) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(Number.parseInt(part, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  // An IPv4 tail is only allowed last.
  if (halves.length === 2 && halves[0]!.includes(".")) return null;
  const count = head.length + tail.length;
  if (halves.length === 2 ? count > 7 : count !== 8) return null;
  const all = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = all[i]! >> 8;
    bytes[2 * i + 1] = all[i]! & 0xff;
  }
  return bytes;
}

/** An address in a URL's host (IPv6 with or without brackets), or null for a name. */
export function parseAddress(host: string): Address | null {
  if (host.startsWith("[") && host.endsWith("]")) return parseIPv6(host.slice(1, -1));
  return host.includes(":") ? parseIPv6(host) : parseIPv4(host);
}

/** True when the first `bits` bits of `a` and `network` are equal (same family only). */
export function inRange(a: Address, network: Address, bits: number): boolean {
  if (a.length !== network.length) return false;
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (a[i] !== network[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (a[i]! & mask) === (network[i]! & mask);
}

/** The address as text: dotted IPv4, or compressed IPv6 (RFC 5952). */
export function formatAddress(a: Address): string {
  if (a.length === 4) return a.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((a[i]! << 8) | a[i + 1]!);
  // The longest run of two or more zero groups becomes "::".
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((n) => n.toString(16)).join(":");
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLength))}`;
}

/** The address with the bits past `bits` cleared (the network of a CIDR range). */
function networkOf(a: Address, bits: number): Address {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    out[i] = a[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** A CIDR range: "10.0.0.0/8", "fd00::/8" (the address part bracketed or not). */
export interface Range {
  readonly network: Address;
  readonly bits: number;
}

/** Parses "address/bits"; a string saying what is wrong, or the range. */
export function parseRange(text: string): Range | string {
  const slash = text.indexOf("/");
  let address = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  const a = address.includes(":") ? parseIPv6(address) : parseIPv4(address);
  if (a === null) return "a CIDR range needs an IPv4 or IPv6 address before the slash";
  const max = a.length * 8;
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(bitsText) || Number(bitsText) > max) {
    return `the prefix length must be a number from 0 to ${max}`;
  }
  const bits = Number(bitsText);
  return { network: networkOf(a, bits), bits };
}

/** The range as text: "10.0.0.0/8", "fd00::/8". */
export function formatRange(range: Range): string {
  return `${formatAddress(range.network)}/${range.bits}`;
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * A host name made ready to compare: lower case, punycode for non-ASCII, no trailing dot.
 * A string saying what is wrong when it is not a valid name.
 */
export function normalizeName(text: string): { name: string } | string {
  let name = text.endsWith(".") ? text.slice(0, -1) : text;
  if (name === "") return "the name is empty";
  if (/[^\x00-\x7f]/.test(name)) {
    const ascii = domainToASCII(name);
    if (ascii === "") return "not a valid international domain name";
    name = ascii;
  }
  name = name.toLowerCase();
  if (name.length > 253) return "a name has at most 253 characters";
  const labels = name.split(".");
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) {
    return "not a valid IPv4 address (four decimal numbers 0-255, without leading zeros)";
  }
  for (const label of labels) {
    if (!LABEL.test(label)) {
      return label.includes("*")
        ? "a wildcard is only allowed as a leading '*.'"
        : `not a valid host name (the label ${JSON.stringify(label)})`;
    }
  }
  return { name };
}

/** A request's host made ready to compare with names and addresses. */
export function requestHost(host: string): { address: Address } | { name: string } {
  let name = host.endsWith(".") ? host.slice(0, -1) : host;
  const address = parseAddress(name);
  if (address !== null) return { address };
  if (/[^\x00-\x7f]/.test(name)) name = domainToASCII(name) || name;
  return { name: name.toLowerCase() };
}

/** `name` is `suffix` or one of its subdomains (both normalized). */
export function isSubdomainOrSelf(name: string, suffix: string): boolean {
  return (
    name === suffix ||
    (name.length > suffix.length &&
      name.endsWith(suffix) &&
      name.charCodeAt(name.length - suffix.length - 1) === 0x2e)
  );
}

/**
 * An entry of a NO_PROXY list that was taken: what it matches.
 *
 * @example
 * parseNoProxy(".example.com:8443").describe().taken[0]
 * // { entry: ".example.com:8443", kind: "name", host: "example.com", port: 8443 }
 */
export interface NoProxyEntry {
  /** The entry as written. */
  readonly entry: string;
  /**
   * "all" (`*`: every host), "name" (the name and its subdomains), "address" (one IP
   * address) or "range" (a CIDR range of addresses).
   */
  readonly kind: "all" | "name" | "address" | "range";
  /** What it matches, normalized: "example.com", "10.1.2.3", "::1", "10.0.0.0/8", "*". */
  readonly host: string;
  /** The port it is restricted to, or null for any port. */
  readonly port: number | null;
}

/**
 * An entry of a NO_PROXY list that was skipped, and why.
 *
 * @example
 * parseNoProxy("10.0.0.0/33").describe().skipped[0]
 * // { entry: "10.0.0.0/33", reason: "the prefix length must be a number from 0 to 32" }
 */
export interface NoProxySkipped {
  readonly entry: string;
  readonly reason: string;
}

/**
 * What a NO_PROXY list says: the entries taken and those skipped (plain data).
 *
 * @example
 * const { taken, skipped } = parseNoProxy(process.env.NO_PROXY).describe();
 * for (const s of skipped) console.warn(`NO_PROXY: ignoring ${s.entry}: ${s.reason}`);
 */
export interface NoProxyDescription {
  readonly taken: readonly NoProxyEntry[];
  readonly skipped: readonly NoProxySkipped[];
}

/**
 * A parsed NO_PROXY list: which hosts (and ports) go direct.
 *
 * @example
 * const noProxy = parseNoProxy("localhost, .internal, 10.0.0.0/8");
 * noProxy.matches("api.internal", 443); // true
 */
export interface NoProxy {
  /**
   * True when a request to `host` (a URL's host: a name, an IPv4 address, or an IPv6
   * address with or without brackets) on `port` should not go through a proxy. Entries
   * with a port match only when `port` is given and equal.
   */
  matches(host: string, port?: number | null): boolean;
  /** The entries taken and those skipped, with the reason. */
  describe(): NoProxyDescription;
}

type Matcher =
  | { readonly kind: "all" }
  | { readonly kind: "name"; readonly name: string; readonly port: number | null }
  | { readonly kind: "range"; readonly range: Range; readonly port: number | null };

/** "8080" as a port, or null when it is not a decimal number from 1 to 65535. */
export function parsePort(text: string): number | null {
  if (!/^[0-9]{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

const BAD_PORT = "the port must be a number from 1 to 65535";

// One entry: a matcher and its description, or the reason it is skipped.
function parseEntry(entry: string): { matcher: Matcher; taken: NoProxyEntry } | string {
  if (entry === "*") {
    return "'*' means every host only as the whole value (as in curl), not as one entry of a list";
  }
  if (entry.includes("://")) return "a scheme is not allowed: write the host alone";
  if (/[@?#\\]/.test(entry)) return "not a host: write a name, an address or a CIDR range";
  let host = entry;
  let port: number | null = null;
  if (host.startsWith("[")) {
    // [v6], [v6]:port, [v6]/bits
    const close = host.indexOf("]");
    if (close < 0) return "an opening '[' without a closing ']'";
    const rest = host.slice(close + 1);
    if (rest.startsWith(":")) {
      port = parsePort(rest.slice(1));
      if (port === null) return BAD_PORT;
      host = host.slice(0, close + 1);
    } else if (rest !== "" && !rest.startsWith("/")) {
      return "unexpected text after ']'";
    }
    if (parseIPv6(host.slice(1, close)) === null && !rest.startsWith("/")) {
      return "not a valid IPv6 address between the brackets";
    }
  } else if (!host.includes("/")) {
    const colons = host.split(":").length - 1;
    if (colons === 1) {
      const colon = host.indexOf(":");
      port = parsePort(host.slice(colon + 1));
      if (port === null) return BAD_PORT;
      host = host.slice(0, colon);
    }
  }
  if (host.includes("/")) {
    if (port !== null || /^[^[]*\/.*:/.test(host)) return "a CIDR range takes no port";
    const range = parseRange(host);
    if (typeof range === "string") return range;
    return {
      matcher: { kind: "range", range, port: null },
      taken: { entry, kind: "range", host: formatRange(range), port: null },
    };
  }
  // An IPv4 address may end in a dot, as in a URL.
  const address = parseAddress(/^[0-9.]+\.$/.test(host) ? host.slice(0, -1) : host);
  if (address !== null) {
    const range = { network: address, bits: address.length * 8 };
    return {
      matcher: { kind: "range", range, port },
      taken: { entry, kind: "address", host: formatAddress(address), port },
    };
  }
  if (host.includes(":")) return "not a valid IPv6 address (to give a port, use [address]:port)";
  // A name: a leading "." or "*." is optional.
  const bare = host.startsWith("*.") ? host.slice(2) : host.startsWith(".") ? host.slice(1) : host;
  const normalized = normalizeName(bare);
  if (typeof normalized === "string") return normalized;
  return {
    matcher: { kind: "name", name: normalized.name, port },
    taken: { entry, kind: "name", host: normalized.name, port },
  };
}

class NoProxyList implements NoProxy {
  readonly #matchers: readonly Matcher[];
  readonly #description: NoProxyDescription;

  constructor(matchers: readonly Matcher[], description: NoProxyDescription) {
    this.#matchers = matchers;
    this.#description = description;
  }

  matches(host: string, port?: number | null): boolean {
    if (this.#matchers.length === 0) return false;
    const target = requestHost(host);
    for (const m of this.#matchers) {
      if (m.kind === "all") return true;
      if (m.port !== null && m.port !== port) continue;
      if (m.kind === "name") {
        if ("name" in target && isSubdomainOrSelf(target.name, m.name)) return true;
      } else if ("address" in target && inRange(target.address, m.range.network, m.range.bits)) {
        return true;
      }
    }
    return false;
  }

  describe(): NoProxyDescription {
    const { taken, skipped } = this.#description;
    return { taken: taken.map((t) => ({ ...t })), skipped: skipped.map((s) => ({ ...s })) };
  }

  toString(): string {
    return this.#description.taken.map((t) => t.entry).join(",");
  }
}

/**
 * Parses a NO_PROXY list (curl's rules, and more): entries separated by commas or spaces;
 * `*` as the whole value bypasses the proxy for every host; a name matches itself and its
 * subdomains (a leading `.` or `*.` is optional; `example.com` does not match
 * `notexample.com`), case-insensitively, ignoring a trailing dot; IPv4 and IPv6 addresses
 * (bracketed or not) and CIDR ranges match addresses; `:port` restricts an entry to one
 * port. A malformed entry is skipped, not fatal: `describe()` says which and why.
 *
 * @example
 * const noProxy = parseNoProxy("localhost,.corp.example, 10.0.0.0/8 [fd00::]/8 api.example.com:8443");
 * noProxy.matches("build.corp.example", 443); // true
 * noProxy.matches("api.example.com", 443);    // false: only port 8443
 * noProxy.describe().skipped;                 // []
 */
export function parseNoProxy(value: string | null | undefined): NoProxy {
  const text = value ?? "";
  if (text.trim() === "*") {
    return new NoProxyList([{ kind: "all" }], {
      taken: [{ entry: "*", kind: "all", host: "*", port: null }],
      skipped: [],
    });
  }
  const matchers: Matcher[] = [];
  const taken: NoProxyEntry[] = [];
  const skipped: NoProxySkipped[] = [];
  for (const entry of text.split(/[\s,]+/)) {
    if (entry === "") continue;
    const parsed = parseEntry(entry);
    if (typeof parsed === "string") {
      skipped.push({ entry, reason: parsed });
    } else {
      matchers.push(parsed.matcher);
      taken.push(parsed.taken);
    }
  }
  return new NoProxyList(matchers, { taken, skipped });
}
