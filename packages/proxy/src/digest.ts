// HTTP Digest access authentication, the client's side (RFC 7616): the response to a
// challenge for MD5, MD5-sess, SHA-256 and SHA-256-sess, with qop=auth (or, for servers of
// RFC 2069's time, no qop), userhash, and opaque echoed back.
//
// Strings that came off the wire (realm, nonce, opaque, the request target) are the latin1
// text of their octets and are hashed as those octets; the username and password are hashed
// as UTF-8, as RFC 7616 §4 (charset=UTF-8) and what clients send.

import { createHash } from "node:crypto";

/**
 * The Digest algorithms this package answers, by their RFC 7616 names.
 *
 * @example
 * const algorithm: DigestAlgorithm = "SHA-256";
 */
export type DigestAlgorithm = "MD5" | "MD5-sess" | "SHA-256" | "SHA-256-sess";

const ALGORITHMS: ReadonlyMap<string, DigestAlgorithm> = new Map([
  ["md5", "MD5"],
  ["md5-sess", "MD5-sess"],
  ["sha-256", "SHA-256"],
  ["sha-256-sess", "SHA-256-sess"],
]);

/**
 * The algorithm a challenge's `algorithm` parameter names (case-insensitively), MD5 when it
 * names none, or null for one this package does not answer (SHA-512-256, say).
 *
 * @example
 * digestAlgorithm("sha-256") // "SHA-256"
 */
export function digestAlgorithm(param: string | undefined): DigestAlgorithm | null {
  if (param === undefined) return "MD5";
  return ALGORITHMS.get(param.toLowerCase()) ?? null;
}

/**
 * What a Digest response is computed from.
 *
 * @example
 * digestResponse({ algorithm: "MD5", username: "Mufasa", password: "Circle of Life", realm, nonce, method: "GET", uri: "/dir/index.html", qop: "auth", nc: 1, cnonce })
 */
export interface DigestInput {
  readonly algorithm: DigestAlgorithm;
  readonly username: string;
  readonly password: string;
  readonly realm: string;
  readonly nonce: string;
  readonly method: string;
  /** The request-target as sent: `/path`, `http://host/path` when forwarding, `host:port` for CONNECT. */
  readonly uri: string;
  /** "auth", or null for a challenge that offered no qop (RFC 2069: no cnonce nor nc). */
  readonly qop: "auth" | null;
  /** The nonce count: 1 for the first request with this nonce, then 2, 3 ... */
  readonly nc: number;
  readonly cnonce: string;
  readonly opaque?: string | undefined;
  /** Send H(username:realm) in place of the username (the challenge said userhash=true). */
  readonly userhash?: boolean | undefined;
}

type Part = string | { readonly utf8: string };

// The hex digest of the parts joined by ":" (wire strings as latin1 octets, secrets as UTF-8).
function hash(algorithm: DigestAlgorithm, parts: readonly Part[]): string {
  const h = createHash(algorithm.startsWith("SHA-256") ? "sha256" : "md5");
  parts.forEach((part, i) => {
    if (i > 0) h.update(":", "latin1");
    if (typeof part === "string") h.update(part, "latin1");
    else h.update(part.utf8, "utf8");
  });
  return h.digest("hex");
}

/** The nonce count as sent: eight hex digits. */
export function formatNonceCount(nc: number): string {
  return nc.toString(16).padStart(8, "0");
}

/**
 * The `response` value (hex) of RFC 7616 §3.4.1.
 *
 * @example
 * digestResponse({ ...rfc7616Example, algorithm: "SHA-256" }) // "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
 */
export function digestResponse(input: DigestInput): string {
  const { algorithm, realm, nonce, cnonce } = input;
  let ha1 = hash(algorithm, [{ utf8: input.username }, realm, { utf8: input.password }]);
  if (algorithm.endsWith("-sess")) ha1 = hash(algorithm, [ha1, nonce, cnonce]);
  const ha2 = hash(algorithm, [input.method, input.uri]);
  if (input.qop === null) return hash(algorithm, [ha1, nonce, ha2]);
  return hash(algorithm, [ha1, nonce, formatNonceCount(input.nc), cnonce, input.qop, ha2]);
}

/**
 * The username as sent with userhash=true: H(username ":" realm) in hex (RFC 7616 §3.4.4).
 *
 * @example
 * digestUserhash("SHA-256", "Mufasa", "http-auth@example.org")
 */
export function digestUserhash(
  algorithm: DigestAlgorithm,
  username: string,
  realm: string,
): string {
  return hash(algorithm, [{ utf8: username }, realm]);
}

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

// Printable ASCII: what a quoted-string carries as itself.
const PLAIN_ASCII = /^[\x20-\x7e]*$/;

/**
 * The Proxy-Authorization (or Authorization) value answering a Digest challenge:
 * `Digest username="…", realm="…", uri="…", algorithm=…, nonce="…", nc=…, cnonce="…",
 * qop=auth, response="…", opaque="…"`. A username that is not printable ASCII goes as
 * `username*` (RFC 8187's UTF-8 encoding) unless userhash hides it.
 *
 * @example
 * digestAuthorization({ algorithm: "MD5", username: "u", password: "p", realm: "r", nonce: "n", method: "GET", uri: "/", qop: "auth", nc: 1, cnonce: "c" })
 */
export function digestAuthorization(input: DigestInput): string {
  const { algorithm, realm, nonce } = input;
  const fields: string[] = [];
  if (input.userhash) {
    fields.push(`username=${quoted(digestUserhash(algorithm, input.username, realm))}`);
  } else if (PLAIN_ASCII.test(input.username)) {
    fields.push(`username=${quoted(input.username)}`);
  } else {
    fields.push(`username*=UTF-8''${encodeRfc8187(input.username)}`);
  }
  fields.push(
    `realm=${quoted(realm)}`,
    `uri=${quoted(input.uri)}`,
    `algorithm=${algorithm}`,
    `nonce=${quoted(nonce)}`,
  );
  if (input.qop !== null) {
    fields.push(`nc=${formatNonceCount(input.nc)}`, `cnonce=${quoted(input.cnonce)}`, "qop=auth");
  }
  fields.push(`response=${quoted(digestResponse(input))}`);
  if (input.opaque !== undefined) fields.push(`opaque=${quoted(input.opaque)}`);
  if (input.userhash) fields.push("userhash=true");
  return `Digest ${fields.join(", ")}`;
}

// RFC 8187 §3.2.1 value-chars: attr-char as itself, every other octet of the UTF-8 as %XX.
function encodeRfc8187(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9!#$&+.^_`|~-]/.test(c)
      ? c
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
