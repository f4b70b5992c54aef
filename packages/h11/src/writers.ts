// Writers turn events into bytes: one for request heads, one for response heads, and one
// per body framing. A head is written straight into one buffer of its exact size (no
// intermediate strings); body data is passed through without a copy.

import { LocalProtocolError } from "./errors.js";
import { type HeaderScan, isName } from "./headers.js";
import { allocBytes, encodeKnownLatin1, encodeLatin1, putLatin1 } from "./latin1.js";

const CRLF = encodeLatin1("\r\n");
const LAST_CHUNK = encodeLatin1("0\r\n");

function putField(out: Uint8Array, at: number, name: string, value: string): number {
  at = putLatin1(out, at, name);
  out[at++] = 0x3a; // ":"
  out[at++] = 0x20;
  at = putLatin1(out, at, value);
  out[at++] = 0x0d;
  out[at++] = 0x0a;
  return at;
}

// `startLine` (with its CRLF, or "" for trailers), the fields and the blank line, as bytes.
// Every part was validated as bytes already (method, target, reason, names, values).
function headBytes(startLine: string, scan: HeaderScan): Uint8Array {
  const headers = scan.headers;
  const n = headers.length;
  let size = startLine.length + 2;
  for (let i = 0; i < n; i++) {
    const field = headers[i]!;
    size += field[0].length + field[1].length + 4;
  }
  const out = allocBytes(size);
  let at = putLatin1(out, 0, startLine);
  // Host goes first, as RFC 9112 §3.2 recommends and h11 does.
  const hostCount = scan.hostCount;
  if (hostCount === 0) {
    for (let i = 0; i < n; i++) at = putField(out, at, headers[i]![0], headers[i]![1]);
  } else {
    for (let i = 0; i < n; i++) {
      const [name, value] = headers[i]!;
      if (isName(name, "host", "Host")) at = putField(out, at, name, value);
    }
    for (let i = 0; i < n; i++) {
      const [name, value] = headers[i]!;
      if (!isName(name, "host", "Host")) at = putField(out, at, name, value);
    }
  }
  out[at++] = 0x0d;
  out[at] = 0x0a;
  return out;
}

function checkVersion(version: string | undefined): void {
  if (version !== undefined && version !== "1.1") {
    throw new LocalProtocolError(`I only send HTTP/1.1, not HTTP/${version}`);
  }
}

export function writeRequestHead(
  method: string,
  target: string,
  version: string | undefined,
  scan: HeaderScan,
): Uint8Array {
  checkVersion(version);
  return headBytes(`${method} ${target} HTTP/1.1\r\n`, scan);
}

export function writeResponseHead(
  status: number,
  reason: string,
  version: string | undefined,
  scan: HeaderScan,
): Uint8Array {
  checkVersion(version);
  return headBytes(`HTTP/1.1 ${status} ${reason}\r\n`, scan);
}

export interface BodyWriter {
  data(data: Uint8Array, out: Uint8Array[]): void;
  endOfMessage(trailers: HeaderScan | null, out: Uint8Array[]): void;
}

export class ContentLengthWriter implements BodyWriter {
  #remaining: number;

  constructor(length: number) {
    this.#remaining = length;
  }

  data(data: Uint8Array, out: Uint8Array[]): void {
    this.#remaining -= data.length;
    if (this.#remaining < 0)
      throw new LocalProtocolError("Too much data for declared Content-Length");
    out.push(data);
  }

  endOfMessage(trailers: HeaderScan | null, _out: Uint8Array[]): void {
    if (this.#remaining !== 0)
      throw new LocalProtocolError("Too little data for declared Content-Length");
    if (trailers !== null && trailers.headers.length > 0) {
      throw new LocalProtocolError("Content-Length and trailers don't mix");
    }
  }
}

export class ChunkedWriter implements BodyWriter {
  data(data: Uint8Array, out: Uint8Array[]): void {
    // An empty chunk would end the body: send nothing instead.
    if (data.length === 0) return;
    out.push(encodeKnownLatin1(`${data.length.toString(16)}\r\n`), data, CRLF);
  }

  endOfMessage(trailers: HeaderScan | null, out: Uint8Array[]): void {
    out.push(LAST_CHUNK);
    out.push(trailers === null ? CRLF : headBytes("", trailers));
  }
}

/** A body delimited by closing the connection (to HTTP/1.0 peers). */
export class Http10Writer implements BodyWriter {
  data(data: Uint8Array, out: Uint8Array[]): void {
    out.push(data);
  }

  endOfMessage(trailers: HeaderScan | null, _out: Uint8Array[]): void {
    if (trailers !== null && trailers.headers.length > 0) {
      throw new LocalProtocolError("can't send trailers to HTTP/1.0 client");
    }
  }
}
