import { FIELD_NAME_RE, FIELD_VALUE_RE } from "./abnf.js";
import { LocalProtocolError } from "./errors.js";
import type { Headers } from "./events.js";

// Content-Length values above this are refused: lengths are JavaScript numbers.
const MAX_CONTENT_LENGTH = Number.MAX_SAFE_INTEGER;

// `name` when it equals `lower` (lower-case letters and "-") ignoring ASCII case, else
// null, without allocating. `usual` is the case it is usually written in: two whole-string
// compares (a memcmp each) settle the common spellings before the loop, whose charCodeAt
// calls cost ~25 instructions a character. Spelled exactly `usual` or `lower`, the name is
// returned as that constant: a received name is a slice of the head's text, and a slice of
// 13 characters or more keeps the whole text (head, and body bytes read with it) alive for
// as long as the caller keeps the headers.
function sameName(name: string, lower: string, usual: string): string | null {
  if (name === usual) return usual;
  if (name === lower) return lower;
  return name.length === lower.length && equalsLower(name, 0, lower) ? name : null;
}

/** `name` equals `lower` ignoring ASCII case (see sameName). */
export function isName(name: string, lower: string, usual: string): boolean {
  return sameName(name, lower, usual) !== null;
}

const isOWS = (c: number): boolean => c === 0x20 || c === 0x09;

// `value`, a comma-separated list, holds `token` (lower-case) as one of its elements,
// ignoring ASCII case and optional whitespace: "Keep-Alive" is not "close", without a
// lower-cased copy or a split.
function hasToken(value: string, token: string): boolean {
  if (value === token) return true;
  const n = value.length;
  let start = 0;
  while (start < n) {
    let end = value.indexOf(",", start);
    if (end === -1) end = n;
    let from = start;
    let to = end;
    while (from < to && isOWS(value.charCodeAt(from))) from++;
    while (to > from && isOWS(value.charCodeAt(to - 1))) to--;
    if (to - from === token.length && equalsLower(value, from, token)) return true;
    start = end + 1;
  }
  return false;
}

// text[from, from + lower.length) equals `lower` ignoring ASCII case.
function equalsLower(text: string, from: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = text.charCodeAt(from + i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function hasAnyToken(value: string): boolean {
  for (const part of value.split(",")) {
    if (part.trim() !== "") return true;
  }
  return false;
}

/**
 * A head's fields, validated, with what framing and keep-alive need gathered in the same
 * pass. Built field by field with `add()`; `finish()` applies the rules that span fields.
 *
 * Received heads are `strict`: stricter than h11, as RFC 9112 §6.3 and §11.2 allow,
 * Content-Length together with Transfer-Encoding, Content-Length given twice or as a list,
 * and Content-Length too large are refused, since each is a request-smuggling vector.
 * Heads we send are normalised as h11 does instead: repeated or listed Content-Lengths with
 * one value collapse to one field, and with Transfer-Encoding the Content-Length is dropped
 * (RFC 9112 §6.2: a sender must not send both).
 */
export class HeaderScan {
  /**
   * The fields, with a Transfer-Encoding value lower-cased as h11 does. A received head's
   * list is replaced by one of its exact size when the scan finishes (see finish()).
   */
  headers: Array<[string, string]> = [];
  /** The Content-Length, or -1 when absent. */
  contentLength = -1;
  /** `Transfer-Encoding: chunked` was given. */
  chunked = false;
  /** `Connection: close` was given. */
  close = false;
  /** An `Upgrade` field with a value was given. */
  upgrade = false;
  /** `Expect: 100-continue` was given. */
  expect100 = false;
  /** How many `Host` fields there are. */
  hostCount = 0;
  #transferEncoding = false;
  #lowerNames: string[] | null = null;
  readonly #strict: boolean;

  constructor(strict = true) {
    this.#strict = strict;
  }

  /** Lower-cased names, index for index with `headers` (computed on first use). */
  get lowerNames(): string[] {
    this.#lowerNames ??= this.headers.map(([name]) => name.toLowerCase());
    return this.#lowerNames;
  }

  /**
   * Adds one field; `name` must already be a valid token and `value` a valid field value.
   * `given`, the caller's own pair for it, is kept as it is when nothing in it changes (no
   * copy per field sent).
   */
  add(name: string, value: string, given?: readonly [string, string]): void {
    // Only a few names matter to framing; look at the length before comparing. A name that
    // is one of them is kept as the constant it matched (see sameName).
    let known: string | null;
    switch (name.length) {
      case 4:
        known = sameName(name, "host", "Host");
        if (known !== null) {
          name = known;
          this.hostCount++;
        }
        break;
      case 6:
        known = sameName(name, "expect", "Expect");
        if (known !== null) {
          name = known;
          if (!this.expect100 && hasToken(value, "100-continue")) this.expect100 = true;
        }
        break;
      case 7:
        known = sameName(name, "upgrade", "Upgrade");
        if (known !== null) {
          name = known;
          if (!this.upgrade && hasAnyToken(value)) this.upgrade = true;
        }
        break;
      case 10:
        known = sameName(name, "connection", "Connection");
        if (known !== null) {
          name = known;
          if (!this.close && hasToken(value, "close")) this.close = true;
        }
        break;
      case 14:
        known = sameName(name, "content-length", "Content-Length");
        if (known !== null) {
          name = known;
          const normalised = this.#contentLength(value);
          if (normalised === null) return;
          value = normalised;
        }
        break;
      case 17:
        known = sameName(name, "transfer-encoding", "Transfer-Encoding");
        if (known !== null) {
          name = known;
          value = this.#transferEncodingValue(value);
        }
        break;
    }
    this.headers.push(
      given !== undefined && given[0] === name && given[1] === value
        ? (given as [string, string])
        : [name, value],
    );
  }

  // The value to keep, or null when this field repeats one already kept.
  #contentLength(value: string): string | null {
    if (!this.#strict) {
      const values = new Set(value.split(",").map((v) => v.trim()));
      if (values.size !== 1) throw new LocalProtocolError("conflicting Content-Length headers");
      value = [...values][0]!;
    }
    // 1*DIGIT, at most 20 of them (as h11), and within what a number holds exactly.
    let length = 0;
    const n = value.length;
    for (let i = 0; i < n; i++) {
      const d = value.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) length = -1;
      if (length === -1) break;
      length = length * 10 + d;
    }
    if (n === 0 || n > 20 || length === -1) {
      throw new LocalProtocolError(`bad Content-Length ${JSON.stringify(value)}`);
    }
    if (length > MAX_CONTENT_LENGTH) {
      throw new LocalProtocolError(`Content-Length ${value} is too large`);
    }
    if (this.contentLength !== -1) {
      if (this.#strict) throw new LocalProtocolError("Content-Length given more than once");
      if (this.contentLength !== length)
        throw new LocalProtocolError("conflicting Content-Length headers");
      return null;
    }
    this.contentLength = length;
    return value;
  }

  #transferEncodingValue(value: string): string {
    if (this.#transferEncoding)
      throw new LocalProtocolError("multiple Transfer-Encoding headers", 501);
    this.#transferEncoding = true;
    const lower = value.toLowerCase();
    if (lower !== "chunked")
      throw new LocalProtocolError("Only Transfer-Encoding: chunked is supported", 501);
    this.chunked = true;
    return lower;
  }

  /** Applies the rules that span fields; returns this. */
  finish(): this {
    if (this.chunked && this.contentLength !== -1) {
      if (this.#strict) {
        throw new LocalProtocolError(
          "both Content-Length and Transfer-Encoding were given: refused, as request smuggling uses this",
        );
      }
      // Transfer-Encoding wins; the Content-Length is not sent.
      const kept = this.headers.filter(
        ([name]) => !isName(name, "content-length", "Content-Length"),
      );
      this.headers.length = 0;
      this.headers.push(...kept);
      this.#lowerNames = null;
      this.contentLength = -1;
    }
    // A list grown by push() has room for 16 pairs or more. A received head's list goes to
    // the caller, who may keep it (with the response) long after the head was read: keep
    // one of the exact size instead (a copy of the references, ~100 instructions).
    if (this.#strict && this.headers.length > 0) this.headers = this.headers.slice();
    return this;
  }
}

/**
 * True when `name` can be sent as a header name: a non-empty token (RFC 9110 §5.6.2), that
 * is letters, digits and ``!#$%&'*+-.^_`|~``. `send()` refuses any other name.
 *
 * @example
 * isValidHeaderName("X-Request-Id") // true
 * isValidHeaderName("X Request Id") // false: a space is not a token character
 */
export function isValidHeaderName(name: string): boolean {
  return typeof name === "string" && FIELD_NAME_RE.test(name);
}

/**
 * True when `value` can be sent, exactly as it is, as a header value: characters U+0000 to
 * U+00FF (one byte each, latin1) other than NUL, CR, LF, VT and FF, with spaces and tabs
 * only between other characters (none leading or trailing), or the empty string. This is
 * what `send()` checks; it trims nothing, so a value that passes goes out byte for byte and
 * one that fails is refused.
 *
 * @example
 * isValidHeaderValue("text/html; q=0.9") // true
 * isValidHeaderValue("caf\xe9\xa0") // true: U+00A0 is a byte like any other here
 * isValidHeaderValue(" padded") // false: surrounding whitespace is refused, not trimmed
 * isValidHeaderValue("a\x0bb") // false: VT (like NUL, CR, LF, FF) is never allowed
 */
export function isValidHeaderValue(value: string): boolean {
  return typeof value === "string" && FIELD_VALUE_RE.test(value);
}

/**
 * Validates header fields given by the caller (isValidHeaderName, isValidHeaderValue) and
 * scans them.
 */
export function scanHeaders(input: Headers): HeaderScan {
  const scan = new HeaderScan(false);
  for (let i = 0; i < input.length; i++) {
    const pair = input[i]!;
    const [name, value] = pair;
    if (!isValidHeaderName(name)) {
      throw new LocalProtocolError(`Illegal header name ${JSON.stringify(name)}`);
    }
    if (!isValidHeaderValue(value)) {
      throw new LocalProtocolError(`Illegal header value ${JSON.stringify(value)}`);
    }
    scan.add(name, value, pair);
  }
  return scan.finish();
}

/** The comma-separated tokens of every field named `lowerName`, lower-cased and trimmed. */
export function getCommaHeader(scan: HeaderScan, lowerName: string): string[] {
  const out: string[] = [];
  const lowerNames = scan.lowerNames;
  for (let i = 0; i < lowerNames.length; i++) {
    if (lowerNames[i] !== lowerName) continue;
    for (const part of scan.headers[i]![1].toLowerCase().split(",")) {
      const token = part.trim();
      if (token) out.push(token);
    }
  }
  return out;
}

/**
 * The fields with every `lowerName` field removed and `values` appended under `titleName`,
 * scanned again.
 */
export function setCommaHeader(
  scan: HeaderScan,
  lowerName: string,
  titleName: string,
  values: readonly string[],
): HeaderScan {
  const next = new HeaderScan(false);
  const lowerNames = scan.lowerNames;
  for (let i = 0; i < scan.headers.length; i++) {
    if (lowerNames[i] !== lowerName) next.add(scan.headers[i]![0], scan.headers[i]![1]);
  }
  for (const value of values) next.add(titleName, value);
  return next.finish();
}
