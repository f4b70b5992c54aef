import { LocalProtocolError } from "./errors.js";

// Headers travel as strings whose code units are bytes (latin1). TextDecoder cannot do
// this (its "latin1" is windows-1252), so these two helpers do it by hand.

const APPLY_CHUNK = 8192;

/** Bytes `[start, end)` of `bytes` as a latin1 string. */
export function decodeLatin1(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length <= 0) return "";
  if (length <= APPLY_CHUNK) {
    return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  let out = "";
  for (let i = start; i < end; i += APPLY_CHUNK) {
    const stop = Math.min(i + APPLY_CHUNK, end);
    out += String.fromCharCode.apply(null, bytes.subarray(i, stop) as unknown as number[]);
  }
  return out;
}

/** Writes `text` (latin1) into `out` at `offset`; returns the offset after it. */
export function writeLatin1(text: string, out: Uint8Array, offset: number): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) {
      throw new LocalProtocolError(
        `character U+${code.toString(16).padStart(4, "0")} cannot be sent: header strings hold bytes (latin1)`,
      );
    }
    out[offset++] = code;
  }
  return offset;
}

/** `text` (latin1) as bytes. */
export function encodeLatin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  writeLatin1(text, out, 0);
  return out;
}
