// Parsing a head's text (from ReceiveBuffer.extractHead) in one pass: a cursor walks the
// lines, and fields are checked against the byte-class tables as they are scanned.

import { FIELD_LINES_RE, REQUEST_LINE_RE } from "./abnf.js";
import { NEVER_IN_LINE, TCHAR } from "./chars.js";
import { LocalProtocolError } from "./errors.js";
import { HeaderScan } from "./headers.js";

const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;

/**
 * Walks the lines of a head by index; `next()` gives a line without its CR LF, or null at
 * the blank line that ends the head. The head is `text[0, end)`, empty or ending in the LF
 * of that blank line (as ReceiveBuffer.extractHead gives it); more may follow it.
 */
export class LineCursor {
  readonly text: string;
  readonly end: number;
  /** Where the next line starts. */
  pos = 0;

  constructor(text: string, end: number = text.length) {
    this.text = text;
    this.end = end;
  }

  next(): string | null {
    const start = this.pos;
    const stop = this.nextEnd();
    return stop === start ? null : this.text.slice(start, stop);
  }

  /** Moves past the next line; returns where its content ends (before CR LF). */
  nextEnd(): number {
    const text = this.text;
    const start = this.pos;
    if (start >= this.end) return start;
    // The head ends in LF, so one is found before `end`. At a blank line the byte before
    // is the previous line's LF (or, at 0, NaN): never CR.
    const end = text.indexOf("\n", start);
    this.pos = end + 1;
    return text.charCodeAt(end - 1) === CR ? end - 1 : end;
  }

  /** True when the next line continues this one (obs-fold: it starts with SP or HTAB). */
  continues(): boolean {
    const c = this.text.charCodeAt(this.pos);
    return c === SP || c === HTAB;
  }
}

/**
 * What a reader accepts beyond the strict grammar (ConnectionOptions.lenient, resolved for
 * the role): true lets the shape through.
 */
export interface LineRules {
  readonly bareLF: boolean;
  readonly obsFold: boolean;
}

/**
 * Refuses a bare LF (one without CR before it) in the head `text[0, end)`: every line,
 * the blank one that ends the head included, must end in CR LF.
 */
export function checkLineEnds(text: string, end: number): void {
  for (let at = text.indexOf("\n"); at !== -1 && at < end; at = text.indexOf("\n", at + 1)) {
    // At 0, charCodeAt(-1) is NaN: refused too.
    if (text.charCodeAt(at - 1) !== CR) {
      throw new LocalProtocolError(
        `a line of the head ends in a bare LF (at byte ${at}): only CR LF ends a line here`,
      );
    }
  }
}

function illegalLine(line: string): LocalProtocolError {
  return new LocalProtocolError(`illegal header line: ${JSON.stringify(line)}`);
}

/** Adds the field on line `text[start, end)` (already known to be well formed) to the scan. */
function addKnownGoodLine(scan: HeaderScan, text: string, start: number, end: number): void {
  const colon = text.indexOf(":", start);
  let from = colon + 1;
  let to = end;
  while (from < to && (text.charCodeAt(from) === SP || text.charCodeAt(from) === HTAB)) from++;
  while (to > from && (text.charCodeAt(to - 1) === SP || text.charCodeAt(to - 1) === HTAB)) to--;
  scan.add(text.slice(start, colon), text.slice(from, to));
}

/** Checks one field line `text[start, end)` the slow way, to say what is wrong with it. */
function checkLine(text: string, start: number, end: number): void {
  const line = text.slice(start, end);
  let i = 0;
  // The text is latin1 (every code unit a byte); past the end charCodeAt is NaN, and
  // TCHAR[NaN] is undefined: the scan stops there.
  while (TCHAR[line.charCodeAt(i)] === 1) i++;
  if (i === 0 || line.charCodeAt(i) !== 0x3a) throw illegalLine(line);
  for (let j = i + 1; j < line.length; j++)
    if (NEVER_IN_LINE[line.charCodeAt(j)] === 1) throw illegalLine(line);
}

/**
 * Reads the fields that follow, joining obs-fold continuations with a space as h11 does.
 * The common case (every line well formed) is checked by one regular expression over the
 * whole head; only a head that fails it is walked line by line to word the error.
 */
export function parseFields(cursor: LineCursor, allowFold: boolean): HeaderScan {
  const scan = new HeaderScan();
  const text = cursor.text;
  if (cursor.pos >= cursor.end) return scan;
  if (cursor.continues()) throw new LocalProtocolError("continuation line at start of headers");
  FIELD_LINES_RE.lastIndex = cursor.pos;
  // A match ends at the first blank line, which is where the head ends.
  const wellFormed = FIELD_LINES_RE.test(text);
  for (;;) {
    const start = cursor.pos;
    const end = cursor.nextEnd();
    if (end === start) break;
    if (!cursor.continues()) {
      if (!wellFormed) checkLine(text, start, end);
      addKnownGoodLine(scan, text, start, end);
      continue;
    }
    if (!allowFold) {
      throw new LocalProtocolError(
        `obs-fold (a field line continued on the next line) after ${JSON.stringify(text.slice(start, end))}`,
      );
    }
    let line = text.slice(start, end);
    while (cursor.continues()) {
      // A continuation starts with SP or HTAB: never the blank line. Past its end,
      // charCodeAt is NaN.
      const more = cursor.next()!;
      let i = 0;
      while (more.charCodeAt(i) === SP || more.charCodeAt(i) === HTAB) i++;
      line += ` ${more.slice(i)}`;
    }
    if (!wellFormed) checkLine(line, 0, line.length);
    addKnownGoodLine(scan, line, 0, line.length);
  }
  if (!wellFormed) {
    // Every line passed on its own: the fault is a stray byte (say a bare CR) in the ending.
    throw new LocalProtocolError("illegal header block");
  }
  return scan.finish();
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

// The version digits of a start line at `at` that begins "HTTP/1.y" (the major was
// checked): the common two without slicing.
function versionOf(text: string, at: number): string {
  const minor = text.charCodeAt(at + 7);
  if (minor === 0x31) return "1.1";
  if (minor === 0x30) return "1.0";
  return text.slice(at + 5, at + 8);
}

/**
 * status-line = HTTP-version SP status-code [ SP reason-phrase ], as h11 reads it: the line
 * `text[start, end)`, read in place (a slice of a head would make every charCodeAt go
 * through the slice).
 */
export function parseStatusLine(
  text: string,
  start: number,
  end: number,
): { version: string; status: number; reason: string } {
  const n = end - start;
  const at = (i: number): number => text.charCodeAt(start + i);
  const ok =
    n >= 12 &&
    at(0) === 0x48 && // H
    at(1) === 0x54 && // T
    at(2) === 0x54 && // T
    at(3) === 0x50 && // P
    at(4) === 0x2f && // /
    isDigit(at(5)) &&
    at(6) === 0x2e &&
    isDigit(at(7)) &&
    at(8) === SP &&
    isDigit(at(9)) &&
    isDigit(at(10)) &&
    isDigit(at(11)) &&
    (n === 12 || at(12) === SP);
  if (!ok) throw illegalStatusLine(text.slice(start, end));
  if (at(5) !== 0x31) throw unsupportedVersion(text.slice(start + 5, start + 8), 400);
  for (let i = start + 13; i < end; i++) {
    // reason-phrase = *( HTAB / SP / VCHAR / obs-text ); like h11, other control bytes pass.
    if (NEVER_IN_LINE[text.charCodeAt(i)] === 1) throw illegalStatusLine(text.slice(start, end));
  }
  return {
    version: versionOf(text, start),
    status: (at(9) - 0x30) * 100 + (at(10) - 0x30) * 10 + (at(11) - 0x30),
    reason: reasonOf(text, start + 13, end),
  };
}

// The reason phrase text[from, end): the usual "OK" as a constant (nothing to allocate, no
// copy kept with each response), others sliced (none when from > end: "").
function reasonOf(text: string, from: number, end: number): string {
  if (end - from === 2 && text.charCodeAt(from) === 0x4f && text.charCodeAt(from + 1) === 0x4b) {
    return "OK";
  }
  return text.slice(from, end);
}

// Only HTTP/1.x is HTTP/1.1's to read (RFC 9112 §2.3): any other major version is not.
function unsupportedVersion(version: string, hint: number): LocalProtocolError {
  return new LocalProtocolError(
    `HTTP/${version} is not a version of HTTP/1 (only HTTP/1.x is read here)`,
    hint,
  );
}

function illegalStatusLine(line: string): LocalProtocolError {
  return new LocalProtocolError(`illegal status line: ${JSON.stringify(line)}`);
}

/** request-line = method SP request-target SP HTTP-version */
export function parseRequestLine(line: string): {
  method: string;
  target: string;
  version: string;
} {
  const match = REQUEST_LINE_RE.exec(line);
  if (match === null) throw new LocalProtocolError(`illegal request line: ${JSON.stringify(line)}`);
  const version = match[3]!;
  if (version.charCodeAt(0) !== 0x31) throw unsupportedVersion(version, 505);
  return { method: match[1]!, target: match[2]!, version };
}
