const EMPTY = new Uint8Array(0);

/** The parts as one array (the part itself when there is only one). */
export function concat(parts: readonly Uint8Array[], length?: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 0) return EMPTY;
  let total = length ?? 0;
  if (length === undefined) for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
