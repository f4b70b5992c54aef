// Byte classes of the RFC 9110 grammar as lookup tables, for the hot paths where a regex
// per header line costs too much. They encode the same classes as abnf.ts.

function table(test: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = test(c) ? 1 : 0;
  return t;
}

const TCHARS = "!#$%&'*+-.^_`|~";

/** tchar: the characters of a token (header names, methods). */
export const TCHAR: Uint8Array = table(
  (c) =>
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    TCHARS.includes(String.fromCharCode(c)),
);

/** True when `text` is a non-empty token. */
export function isToken(text: string): boolean {
  const n = text.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || TCHAR[c] === 0) return false;
  }
  return true;
}

/** True when `text` is a non-empty run of VCHAR (%x21-7E), as a request-target is. */
export function isVisibleAscii(text: string): boolean {
  const n = text.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Bytes that may appear nowhere in a head's lines: NUL, VT, FF and CR (a CR is allowed only
 * right before LF, which line splitting removes). Every other byte is either a field-vchar,
 * SP or HTAB, which is all a field value or reason phrase may hold; names and the start
 * line are checked more strictly on their own.
 */
export const NEVER_IN_LINE: Uint8Array = table(
  (c) => c === 0x00 || c === 0x0b || c === 0x0c || c === 0x0d,
);
