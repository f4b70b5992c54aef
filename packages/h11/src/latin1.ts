import { LocalProtocolError } from "./errors.js";

// Headers travel as strings whose code units are bytes (latin1). TextDecoder cannot do
// this (its "latin1" is windows-1252). Where the runtime has Node's Buffer we use its
// native latin1 codec, found on globalThis (no import; elsewhere the portable code runs).

const APPLY_CHUNK = 8192;

interface NativeLatin1 {
  latin1Slice(this: Uint8Array, start: number, end: number): string;
}
interface NativeBufferFrom {
  from(text: string, encoding: "latin1"): Uint8Array;
}

const nativeBuffer = (
  globalThis as { Buffer?: NativeBufferFrom & { prototype: Partial<NativeLatin1> } }
).Buffer;
const nativeSlice = nativeBuffer?.prototype.latin1Slice;
const nativeFrom = nativeSlice === undefined ? undefined : nativeBuffer;

/** True when decodeLatin1 is native (cheap per byte; a call costs ~900 instructions). */
export const NATIVE_LATIN1: boolean = nativeSlice !== undefined;

/** Bytes `[start, end)` of `bytes` as a latin1 string. */
export function decodeLatin1(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length <= 0) return "";
  if (nativeSlice !== undefined) return nativeSlice.call(bytes, start, end);
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

/** `text` (latin1) as bytes. Throws LocalProtocolError for a code unit above 0xFF. */
export function encodeLatin1(text: string): Uint8Array {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) {
      throw new LocalProtocolError(
        `character U+${code.toString(16).padStart(4, "0")} cannot be sent: header strings hold bytes (latin1)`,
      );
    }
  }
  return encodeKnownLatin1(text);
}

/** `text` as bytes, when every code unit is known to be 0xFF or below (already validated). */
export function encodeKnownLatin1(text: string): Uint8Array {
  if (nativeFrom !== undefined) return nativeFrom.from(text, "latin1");
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
