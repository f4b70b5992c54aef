// Readers turn buffered bytes into events, one reader per (role, state) or body framing.
// Each returns an event, or null when more bytes are needed; a body reader also knows
// what EOF means for its framing (`readEof`). Syntax errors are thrown as
// LocalProtocolError; the Connection re-raises them as RemoteProtocolError.

import { CHUNK_HEADER_RE } from "./abnf.js";
import { LocalProtocolError, RemoteProtocolError } from "./errors.js";
import type {
  Data,
  EndOfMessage,
  Event,
  InformationalResponse,
  Request,
  Response,
} from "./events.js";
import {
  checkLineEnds,
  LineCursor,
  type LineRules,
  parseFields,
  parseRequestLine,
  parseStatusLine,
} from "./head.js";
import type { HeaderScan } from "./headers.js";
import type { ReceiveBuffer } from "./receive-buffer.js";

// The end of a body without trailers: one shared event (events are read-only).
const END_OF_MESSAGE: EndOfMessage = Object.freeze({
  type: "EndOfMessage" as const,
  headers: Object.freeze([]) as readonly [],
});

export type { LineRules } from "./head.js";

export interface Reader {
  read(buf: ReceiveBuffer): Event | null;
  readEof?(): Event;
}

/** A reader of heads: it keeps the scan of the last head's fields for the Connection. */
export interface HeadReader extends Reader {
  scan: HeaderScan | null;
}

function tooLarge(limit: number): () => never {
  return () => {
    throw new RemoteProtocolError(`message head is larger than the limit of ${limit} bytes`, 431);
  };
}

/** A bare first byte below "!" can never start a request or status line. */
function checkObviouslyInvalid(buf: ReceiveBuffer): void {
  const first = buf.peek();
  if (first !== -1 && first < 0x21) throw new LocalProtocolError("illegal request line");
}

export class RequestHeadReader implements HeadReader {
  scan: HeaderScan | null = null;
  readonly #limit: number;
  readonly #tooLarge: () => never;
  readonly #rules: LineRules;

  constructor(limit: number, rules: LineRules) {
    this.#limit = limit;
    this.#tooLarge = tooLarge(limit);
    this.#rules = rules;
  }

  read(buf: ReceiveBuffer): Request | null {
    const head = buf.extractHead(this.#limit, this.#tooLarge);
    if (head === null) {
      checkObviouslyInvalid(buf);
      return null;
    }
    if (!this.#rules.bareLF) checkLineEnds(head, buf.headLength);
    const cursor = new LineCursor(head, buf.headLength);
    const line = cursor.next();
    if (line === null) throw new LocalProtocolError("no request line received");
    const { method, target, version } = parseRequestLine(line);
    const scan = parseFields(cursor, this.#rules.obsFold);
    this.scan = scan;
    return { type: "Request", method, target, headers: scan.headers, httpVersion: version };
  }
}

export class ResponseHeadReader implements HeadReader {
  scan: HeaderScan | null = null;
  readonly #limit: number;
  readonly #tooLarge: () => never;
  readonly #rules: LineRules;

  constructor(limit: number, rules: LineRules) {
    this.#limit = limit;
    this.#tooLarge = tooLarge(limit);
    this.#rules = rules;
  }

  read(buf: ReceiveBuffer): InformationalResponse | Response | null {
    const head = buf.extractHead(this.#limit, this.#tooLarge);
    if (head === null) {
      checkObviouslyInvalid(buf);
      return null;
    }
    if (!this.#rules.bareLF) checkLineEnds(head, buf.headLength);
    const cursor = new LineCursor(head, buf.headLength);
    const lineEnd = cursor.nextEnd();
    if (lineEnd === 0) throw new LocalProtocolError("no response line received");
    const { version, status, reason } = parseStatusLine(head, 0, lineEnd);
    const scan = parseFields(cursor, this.#rules.obsFold);
    this.scan = scan;
    if (status < 100) {
      throw new LocalProtocolError(
        `InformationalResponse status must be in range [100, 200), not ${status}`,
      );
    }
    return {
      type: status < 200 ? "InformationalResponse" : "Response",
      status,
      reason,
      headers: scan.headers,
      httpVersion: version,
    };
  }
}

/** After a message, until the next cycle: any byte is an error, EOF is ConnectionClosed. */
export const EXPECT_NOTHING: Reader = {
  read(buf: ReceiveBuffer): null {
    if (buf.length > 0) throw new LocalProtocolError("Got data when expecting EOF");
    return null;
  },
};

export class ContentLengthReader implements Reader {
  readonly #length: number;
  #remaining: number;

  constructor(length: number) {
    this.#length = length;
    this.#remaining = length;
  }

  read(buf: ReceiveBuffer): Data | EndOfMessage | null {
    if (this.#remaining === 0) return END_OF_MESSAGE;
    const data = buf.extractAtMost(this.#remaining);
    if (data === null) return null;
    this.#remaining -= data.length;
    return { type: "Data", data, chunkStart: false, chunkEnd: false };
  }

  readEof(): never {
    throw new RemoteProtocolError(
      "peer closed connection without sending complete message body: " +
        `received ${this.#length - this.#remaining} bytes, expected ${this.#length}`,
    );
  }
}

// Chunk sizes above this are refused (they cannot be counted exactly, and no real body
// needs them); llhttp refuses sizes that overflow 64 bits.
const MAX_CHUNK_SIZE = Number.MAX_SAFE_INTEGER;

const LF = 0x0a;

export class ChunkedReader implements Reader {
  #bytesInChunk = 0;
  // The CRLF after a chunk's data still to be matched and thrown away.
  #discard = "";
  #readingTrailer = false;
  #startPending = false;
  readonly #limit: number;
  readonly #tooLarge: () => never;
  readonly #rules: LineRules;

  constructor(limit: number, rules: LineRules) {
    this.#limit = limit;
    this.#tooLarge = tooLarge(limit);
    this.#rules = rules;
  }

  read(buf: ReceiveBuffer): Data | EndOfMessage | null {
    if (this.#readingTrailer) {
      // An empty trailer section is its blank line alone, which extractHead takes as an
      // empty head whatever ends it: a bare LF there is refused here (checkLineEnds sees
      // only the lines of a head that has some).
      if (!this.#rules.bareLF && buf.peek() === LF) {
        throw new LocalProtocolError(
          "the trailer section ends in a bare LF: only CR LF ends a line here",
        );
      }
      const head = buf.extractHead(this.#limit, this.#tooLarge);
      if (head === null) return null;
      if (!this.#rules.bareLF) checkLineEnds(head, buf.headLength);
      const cursor = new LineCursor(head, buf.headLength);
      return { type: "EndOfMessage", headers: parseFields(cursor, this.#rules.obsFold).headers };
    }
    while (this.#discard !== "") {
      const data = buf.extractAtMost(this.#discard.length);
      if (data === null) return null;
      for (let i = 0; i < data.length; i++) {
        if (data[i] !== this.#discard.charCodeAt(i)) {
          throw new LocalProtocolError(
            `malformed chunk footer: expected CRLF after the chunk data, got byte ${data[i]}`,
          );
        }
      }
      this.#discard = this.#discard.slice(data.length);
    }
    let chunkStart = false;
    if (this.#bytesInChunk === 0) {
      const line = buf.extractNextLine();
      if (line === null) return null;
      const match = CHUNK_HEADER_RE.exec(line);
      if (match === null)
        throw new LocalProtocolError(`illegal chunk header: ${JSON.stringify(line)}`);
      const size = Number.parseInt(match[1]!, 16);
      if (size > MAX_CHUNK_SIZE)
        throw new LocalProtocolError(`chunk size ${match[1]} is too large`);
      if (size === 0) {
        this.#readingTrailer = true;
        return this.read(buf);
      }
      this.#bytesInChunk = size;
      chunkStart = true;
    }
    const data = buf.extractAtMost(this.#bytesInChunk);
    if (data === null) {
      // The size line was taken but none of the chunk's data has come: the first Data
      // event of this chunk, whenever it comes, still opens it.
      if (chunkStart) this.#startPending = true;
      return null;
    }
    if (this.#startPending) {
      chunkStart = true;
      this.#startPending = false;
    }
    this.#bytesInChunk -= data.length;
    const chunkEnd = this.#bytesInChunk === 0;
    if (chunkEnd) this.#discard = "\r\n";
    return { type: "Data", data, chunkStart, chunkEnd };
  }

  readEof(): never {
    throw new RemoteProtocolError(
      "peer closed connection without sending complete message body: incomplete chunked read",
    );
  }
}

/** A body delimited by the connection closing (HTTP/1.0 style responses). */
export class Http10Reader implements Reader {
  read(buf: ReceiveBuffer): Data | null {
    const data = buf.extractAtMost(Number.MAX_SAFE_INTEGER);
    if (data === null) return null;
    return { type: "Data", data, chunkStart: false, chunkEnd: false };
  }

  readEof(): EndOfMessage {
    return END_OF_MESSAGE;
  }
}
