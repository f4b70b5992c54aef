// The latin1 codec, native (Node's Buffer) and portable (a module loaded without Buffer), on
// the edges the protocol tests do not reach: empty and reversed ranges, strings past one
// String.fromCharCode.apply chunk (8192), and a code unit above 0xFF.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as native from "../src/latin1.js";
import { localError } from "./helpers.js";

type Latin1 = typeof native;

let portable: Latin1;
beforeAll(async () => {
  const saved = globalThis.Buffer;
  // @ts-expect-error removed for the one import below, put back at once
  delete globalThis.Buffer;
  try {
    vi.resetModules();
    portable = await import("../src/latin1.js");
  } finally {
    globalThis.Buffer = saved;
  }
});
afterAll(() => vi.resetModules());

const bytes = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 7) % 256);
const text = String.fromCharCode(...bytes);

describe.each([
  ["native", () => native, true],
  ["portable", () => portable, false],
] as const)("%s", (_, codec, isNative) => {
  it("says which it is", () => {
    expect(codec().NATIVE_LATIN1).toBe(isNative);
  });

  it("decodes [start, end): whole, past one chunk, a middle slice, empty and reversed", () => {
    const { decodeLatin1 } = codec();
    expect(decodeLatin1(bytes, 0, bytes.length)).toBe(text);
    expect(decodeLatin1(bytes, 3, 8192 + 3)).toBe(text.slice(3, 8195));
    expect(decodeLatin1(bytes, 100, 16_500)).toBe(text.slice(100, 16_500));
    expect(decodeLatin1(bytes, 5, 9)).toBe(text.slice(5, 9));
    expect(decodeLatin1(bytes, 7, 7)).toBe("");
    expect(decodeLatin1(bytes, 9, 5)).toBe("");
  });

  it("decodes a megabyte (one String.fromCharCode.apply of it would overflow the stack)", () => {
    const big = new Uint8Array(1 << 20).fill(0x61);
    const decoded = codec().decodeLatin1(big, 1, big.length);
    expect(decoded.length).toBe(big.length - 1);
    expect(decoded).toBe("a".repeat(big.length - 1));
  });

  it("encodes every byte value, and refuses a code unit above 0xFF by name", () => {
    const { encodeLatin1, encodeKnownLatin1 } = codec();
    // Buffer or Uint8Array: compared as plain bytes.
    const plain = (b: Uint8Array) => Array.from(b);
    expect(plain(encodeLatin1(text))).toEqual(plain(bytes));
    expect(plain(encodeKnownLatin1(text.slice(0, 300)))).toEqual(plain(bytes.subarray(0, 300)));
    expect(plain(encodeLatin1("\u00ff"))).toEqual([0xff]);
    expect(plain(encodeLatin1(""))).toEqual([]);
    expect(() => encodeLatin1("ab\u0100")).toThrow(
      localError("character U+0100 cannot be sent: header strings hold bytes (latin1)"),
    );
    expect(() => encodeLatin1("\u20ac")).toThrow(localError("character U+20ac cannot be sent"));
  });
});
