import { CONTENT_LENGTH_RE, FIELD_NAME_RE, FIELD_VALUE_RE } from "./abnf.js";
import { LocalProtocolError } from "./errors.js";
import type { Headers } from "./events.js";

/**
 * What the connection needs to know about a head's fields, gathered in one pass while
 * the fields are validated. Header names are compared lower-cased; values that carry
 * tokens (Connection, Expect, Transfer-Encoding) are compared lower-cased too.
 */
export interface HeaderScan {
  /** The fields, with a Transfer-Encoding value lower-cased as h11 does. */
  readonly headers: Array<[string, string]>;
  /** Lower-cased names, index for index with `headers`. */
  readonly lowerNames: string[];
  /** The Content-Length, or -1 when absent. */
  readonly contentLength: number;
  /** `Transfer-Encoding: chunked` was given. */
  readonly chunked: boolean;
  /** `Connection: close` was given. */
  readonly close: boolean;
  /** An `Upgrade` field with a value was given. */
  readonly upgrade: boolean;
  /** `Expect: 100-continue` was given. */
  readonly expect100: boolean;
  /** How many `Host` fields there are. */
  readonly hostCount: number;
}

// Content-Length values above this are refused: lengths are JavaScript numbers.
const MAX_CONTENT_LENGTH = Number.MAX_SAFE_INTEGER;

function hasToken(value: string, token: string): boolean {
  const lower = value.toLowerCase();
  if (lower === token) return true;
  if (!lower.includes(token)) return false;
  for (const part of lower.split(",")) {
    if (part.trim() === token) return true;
  }
  return false;
}

function hasAnyToken(value: string): boolean {
  for (const part of value.split(",")) {
    if (part.trim() !== "") return true;
  }
  return false;
}

/**
 * Validates header fields and gathers what framing and keep-alive need. `trusted` means the
 * names and values came out of the parser, which already matched them against the grammar.
 *
 * Stricter than h11 on framing, as RFC 9112 §6.3 and §11.2 allow: Content-Length together
 * with Transfer-Encoding, Content-Length given twice or as a list, and Content-Length too
 * large are refused, since each is a request-smuggling vector.
 */
export function scanHeaders(input: Headers, trusted: boolean): HeaderScan {
  const headers: Array<[string, string]> = [];
  const lowerNames: string[] = [];
  let contentLength = -1;
  let chunked = false;
  let transferEncoding = false;
  let close = false;
  let upgrade = false;
  let expect100 = false;
  let hostCount = 0;

  for (let i = 0; i < input.length; i++) {
    const pair = input[i]!;
    const name = pair[0];
    let value = pair[1];
    if (!trusted) {
      if (!FIELD_NAME_RE.test(name)) {
        throw new LocalProtocolError(`Illegal header name ${JSON.stringify(name)}`);
      }
      if (!FIELD_VALUE_RE.test(value)) {
        throw new LocalProtocolError(`Illegal header value ${JSON.stringify(value)}`);
      }
    }
    const lower = name.toLowerCase();
    switch (lower) {
      case "content-length":
        if (contentLength !== -1) {
          throw new LocalProtocolError("Content-Length given more than once");
        }
        if (!CONTENT_LENGTH_RE.test(value) || value.length > 20) {
          throw new LocalProtocolError(`bad Content-Length ${JSON.stringify(value)}`);
        }
        contentLength = Number(value);
        if (contentLength > MAX_CONTENT_LENGTH) {
          throw new LocalProtocolError(`Content-Length ${value} is too large`);
        }
        break;
      case "transfer-encoding":
        if (transferEncoding) {
          throw new LocalProtocolError("multiple Transfer-Encoding headers", 501);
        }
        transferEncoding = true;
        value = value.toLowerCase();
        if (value !== "chunked") {
          throw new LocalProtocolError("Only Transfer-Encoding: chunked is supported", 501);
        }
        chunked = true;
        break;
      case "connection":
        if (!close && hasToken(value, "close")) close = true;
        break;
      case "upgrade":
        if (!upgrade && hasAnyToken(value)) upgrade = true;
        break;
      case "expect":
        if (!expect100 && hasToken(value, "100-continue")) expect100 = true;
        break;
      case "host":
        hostCount++;
        break;
    }
    headers.push([name, value]);
    lowerNames.push(lower);
  }
  if (chunked && contentLength !== -1) {
    throw new LocalProtocolError(
      "both Content-Length and Transfer-Encoding were given: refused, as request smuggling uses this",
    );
  }
  return { headers, lowerNames, contentLength, chunked, close, upgrade, expect100, hostCount };
}

/** The comma-separated tokens of every field named `lowerName`, lower-cased and trimmed. */
export function getCommaHeader(scan: HeaderScan, lowerName: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < scan.lowerNames.length; i++) {
    if (scan.lowerNames[i] !== lowerName) continue;
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
  const next: Array<[string, string]> = [];
  for (let i = 0; i < scan.headers.length; i++) {
    if (scan.lowerNames[i] !== lowerName) next.push(scan.headers[i]!);
  }
  for (const value of values) next.push([titleName, value]);
  return scanHeaders(next, true);
}
