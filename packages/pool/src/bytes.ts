const EMPTY = new Uint8Array(0);
// Below this, a zero-filled array costs no more than an uninitialised one.
const UNINITIALISED_FROM = 4096;

/** The parts as one array (the part itself when there is only one). */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 0) return EMPTY;
  let total = 0;
  for (const part of parts) total += part.length;
  // Every byte is written below: large arrays skip the zero-fill (one pass over memory
  // instead of two), in their own ArrayBuffer.
  const out =
    total < UNINITIALISED_FROM
      ? new Uint8Array(total)
      : new Uint8Array(Buffer.allocUnsafeSlow(total).buffer, 0, total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
