import { decodeLatin1, NATIVE_LATIN1 } from "./latin1.js";

// Theory of operation
//
// Bytes arrive in chunks and leave as heads (lines), chunk-size lines and body slices.
// Two rules keep this cheap:
//
// 1. Searching is O(n). Looking for the end of a head (a blank line) or of a line starts
//    where the previous search stopped, so feeding a head one byte at a time still costs
//    linear time. Both marks reset when bytes are taken out. The first look for a head's
//    end is the exception, bounded: it decodes up to HEAD_WINDOW bytes as text and
//    searches them natively; the head is parsed from that text (bytes after the head
//    included, so that the parse reads a flat string), and the next look, if any, goes on
//    byte by byte.
//
// 2. Body bytes are not copied when they need not be. A chunk that arrives while the
//    buffer is empty is *adopted*: kept as it is, never written to, and body data is
//    handed out as views of it. The caller gives up the chunk to us (receiveData's
//    contract), so those views stay valid forever. Bytes that had to be gathered into
//    our own storage (a partial head or line followed by more bytes) are handed out as
//    copies, because that storage is compacted and reused.

const EMPTY = new Uint8Array(0);
const indexOf = Uint8Array.prototype.indexOf;
const subarray = Uint8Array.prototype.subarray;

// Bytes looked at one by one before handing the search to the native indexOf: a line is
// usually shorter than this, and TypedArray#indexOf is a call into C++ costing about as much
// as a few hundred bytes of this loop (measured with callgrind).
const SHORT_SCAN = 256;

// The index of `byte` in bytes[from, end), or -1. Scans no further than `end` (owned
// storage holds stale bytes past it) and makes no view when the range runs to the end.
function find(bytes: Uint8Array, byte: number, from: number, end: number): number {
  const stop = end - from > SHORT_SCAN ? from + SHORT_SCAN : end;
  for (let i = from; i < stop; i++) if (bytes[i] === byte) return i;
  if (stop === end) return -1;
  if (end === bytes.length) return indexOf.call(bytes, byte, stop);
  const at = indexOf.call(subarray.call(bytes, stop, end), byte);
  return at === -1 ? -1 : stop + at;
}
const LF = 0x0a;
const CR = 0x0d;

// The first look for the end of a head decodes up to this many bytes at once and lets the
// native string search find the blank line: a JS loop costs ~12 instructions a byte, the
// decode ~0.5 and the search less, plus ~650 for the two searches (measured with
// callgrind). Heads rarely need more; below HEAD_WINDOW_FROM bytes the loop is cheaper.
const HEAD_WINDOW = 1024;
const HEAD_WINDOW_FROM = 64;

// Where the first blank line (LF LF or LF CR LF) in `text` ends, or -1.
function blankLineEnd(text: string): number {
  const crlf = text.indexOf("\n\r\n");
  const lf = text.indexOf("\n\n");
  if (lf !== -1 && (crlf === -1 || lf < crlf)) return lf + 2;
  return crlf === -1 ? -1 : crlf + 3;
}

export class ReceiveBuffer {
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  // True while #buf is a caller's chunk that we must not write into.
  #adopted = false;
  // Where the next search for a blank line / a CRLF resumes, relative to #start.
  #headSearch = 0;
  #lineSearch = 0;

  get length(): number {
    return this.#end - this.#start;
  }

  /**
   * The bytes held count against a limit: all but a last CR, which may be the start of the
   * line end (or the blank line) that completes what is being read.
   */
  get countedLength(): number {
    const end = this.#end;
    return end - this.#start - (end > this.#start && this.#buf[end - 1] === CR ? 1 : 0);
  }

  append(chunk: Uint8Array): void {
    const length = this.#end - this.#start;
    if (length === 0) {
      this.#buf = chunk;
      this.#start = 0;
      this.#end = chunk.length;
      this.#adopted = true;
      return;
    }
    const needed = length + chunk.length;
    if (!this.#adopted && this.#buf.length - this.#end >= chunk.length) {
      this.#buf.set(chunk, this.#end);
      this.#end += chunk.length;
      return;
    }
    if (!this.#adopted && this.#buf.length >= needed) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      const next = new Uint8Array(Math.max(1024, needed * 2));
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#adopted = false;
    }
    this.#buf.set(chunk, length);
    this.#start = 0;
    this.#end = needed;
  }

  /** The first buffered byte, or -1. */
  peek(): number {
    return this.#start < this.#end ? this.#buf[this.#start]! : -1;
  }

  /** A copy of everything buffered. */
  toBytes(): Uint8Array {
    return this.#buf.slice(this.#start, this.#end);
  }

  /** Up to `count` bytes from the front, or null when empty. */
  extractAtMost(count: number): Uint8Array | null {
    const length = this.#end - this.#start;
    if (length === 0) return null;
    const take = Math.min(count, length);
    const from = this.#start;
    const buf = this.#buf;
    const out = this.#adopted
      ? new Uint8Array(buf.buffer, buf.byteOffset + from, take)
      : buf.slice(from, from + take);
    this.#consume(take);
    return out;
  }

  /**
   * Where the head that starts the buffer ends (just past its blank line), or -1 when the
   * blank line has not arrived. A blank line is LF LF or LF CR LF.
   */
  findHeadEnd(): number {
    const buf = this.#buf;
    const start = this.#start;
    const end = this.#end;
    let at = start + this.#headSearch;
    while (at < end) {
      const p = find(buf, LF, at, end);
      if (p === -1) break;
      if (p + 1 >= end) {
        this.#headSearch = p - start;
        return -1;
      }
      const next = buf[p + 1];
      if (next === LF) return p + 2 - start;
      if (next === CR) {
        if (p + 2 >= end) {
          this.#headSearch = p - start;
          return -1;
        }
        if (buf[p + 2] === LF) return p + 3 - start;
      }
      at = p + 1;
    }
    this.#headSearch = end - start;
    return -1;
  }

  /** The length of the head at the start of the text extractHead last returned. */
  headLength = 0;

  /**
   * Takes a head out of the buffer and returns latin1 text that starts with it, blank line
   * included (`headLength` says where it ends; bytes after it may follow in the text, and
   * stay in the buffer), or returns null when it has not all arrived. An empty head (the
   * buffer starting with a blank line) is "". `limit` bounds the head, its final blank
   * line not counted: past it `onTooLarge` is called.
   */
  extractHead(limit: number, onTooLarge: () => never): string | null {
    const length = this.#end - this.#start;
    if (length >= 1 && this.#buf[this.#start] === LF) {
      this.#consume(1);
      this.headLength = 0;
      return "";
    }
    if (length >= 2 && this.#buf[this.#start] === CR && this.#buf[this.#start + 1] === LF) {
      this.#consume(2);
      this.headLength = 0;
      return "";
    }
    if (this.#headSearch === 0 && NATIVE_LATIN1 && length >= HEAD_WINDOW_FROM) {
      // First look: decode a window and search it natively. When the blank line is not in
      // it, the byte scan below goes on from the window's last two bytes next time.
      const window = Math.min(length, HEAD_WINDOW);
      const text = decodeLatin1(this.#buf, this.#start, this.#start + window);
      const headEnd = blankLineEnd(text);
      if (headEnd !== -1) {
        // The blank line that ends the head is not counted (see below).
        if (headEnd - (text.charCodeAt(headEnd - 2) === CR ? 2 : 1) > limit) onTooLarge();
        this.#consume(headEnd);
        // The whole window, not a slice of it: a sliced string makes each character read
        // of the parse that follows go through the slice (~1,300 instructions a head).
        this.headLength = headEnd;
        return text;
      }
      this.#headSearch = Math.max(0, window - 2);
      if (window === length) return null;
    }
    const headEnd = this.findHeadEnd();
    if (headEnd === -1) return null;
    // `limit` bounds the head without the blank line that ends it: what h11 lets a head
    // reach while it is incomplete, so a head that arrives in pieces, none of them past the
    // limit, is taken whole however its last piece is cut.
    if (headEnd - (this.#buf[this.#start + headEnd - 2] === CR ? 2 : 1) > limit) onTooLarge();
    const text = decodeLatin1(this.#buf, this.#start, this.#start + headEnd);
    this.#consume(headEnd);
    this.headLength = headEnd;
    return text;
  }

  /** Takes one line ending in CRLF (kept) out of the buffer, or returns null. */
  extractNextLine(): string | null {
    const buf = this.#buf;
    const start = this.#start;
    const end = this.#end;
    let at = start + this.#lineSearch;
    while (at < end) {
      const p = find(buf, CR, at, end);
      if (p === -1) break;
      if (p + 1 >= end) {
        this.#lineSearch = p - start;
        return null;
      }
      if (buf[p + 1] === LF) {
        const line = decodeLatin1(buf, start, p + 2);
        this.#consume(p + 2 - start);
        return line;
      }
      at = p + 1;
    }
    this.#lineSearch = end - start;
    return null;
  }

  #consume(count: number): void {
    this.#start += count;
    this.#headSearch = 0;
    this.#lineSearch = 0;
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
      if (this.#adopted) {
        this.#buf = EMPTY;
        this.#adopted = false;
      }
    }
  }
}
