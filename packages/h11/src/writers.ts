// Writers turn events into bytes: one for request heads, one for response heads, and one
// per body framing. Heads are assembled as one latin1 string and encoded once; body data
// is passed through without a copy.

import { LocalProtocolError } from "./errors.js";
import { type HeaderScan, isName } from "./headers.js";
import { encodeKnownLatin1, encodeLatin1 } from "./latin1.js";

const CRLF = encodeLatin1("\r\n");
const LAST_CHUNK = encodeLatin1("0\r\n");

function fieldsText(scan: HeaderScan): string {
  // Host goes first, as RFC 9112 §3.2 recommends and h11 does.
  let host = "";
  let rest = "";
  const headers = scan.headers;
  const hasHost = scan.hostCount > 0;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (hasHost && isName(name, "host", "Host")) {
      host += `${name}: ${value}\r\n`;
    } else {
      rest += `${name}: ${value}\r\n`;
    }
  }
  return `${host}${rest}\r\n`;
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
  // Every part was validated as bytes already (method, target, names, values).
  return encodeKnownLatin1(`${method} ${target} HTTP/1.1\r\n${fieldsText(scan)}`);
}

export function writeResponseHead(
  status: number,
  reason: string,
  version: string | undefined,
  scan: HeaderScan,
): Uint8Array {
  checkVersion(version);
  // Every part was validated as bytes already (reason, names, values).
  return encodeKnownLatin1(`HTTP/1.1 ${status} ${reason}\r\n${fieldsText(scan)}`);
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
    out.push(trailers === null ? CRLF : encodeKnownLatin1(fieldsText(trailers)));
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
