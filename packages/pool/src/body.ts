// Body: the one response-body abstraction of this package. A body pulls chunks from its
// source and closes itself exactly once: when its end is read, when a read fails, or when
// the caller closes it. Subclasses say where chunks come from (`pull`) and what closing does
// (`finish`); this class gives the three ways of reading (the async iterator; `readChunk`,
// a chunk or null or a promise with no iterator result; and `readRest`, the whole body in
// one call, at once when it has all arrived) with one pair of flags. HTTP/1.1's body, the pool's
// and the adapter for any other AsyncIterable are Bodies; an HTTP/2 stream's will be one.

import { afterSettled, SETTLED } from "./settled.js";

/**
 * A response body as the connection hands it out: chunks, then `close()` to release.
 *
 * @example
 * const stream = response.stream; for await (const chunk of stream ?? []) use(chunk)
 */
export interface ResponseStream extends AsyncIterable<Uint8Array> {
  close?(): Promise<void>;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A response body that reads itself from a source and closes once.
 *
 * @example
 * class Chunks extends Body {
 *   #left = [new Uint8Array([1]), new Uint8Array([2])];
 *   protected pull() { return this.#left.shift() ?? null; }
 *   protected finish() { return Promise.resolve(); }
 * }
 */
export abstract class Body implements ResponseStream, AsyncIterator<Uint8Array> {
  // No chunk will be pulled any more: the end was read, a read failed, or it was closed.
  #done = false;
  // finish() has been called.
  #closed = false;

  /**
   * The next chunk: a chunk, null at the end, or a promise of either. Throws (or rejects)
   * when the source fails. Never called again after it gave null or failed.
   */
  protected abstract pull(): Uint8Array | null | Promise<Uint8Array | null>;

  /**
   * What closing does (release a connection, close a stream), called once: after the end
   * was read, after a failed read, or when the caller closes the body early. Returns
   * SETTLED when there was nothing to wait for.
   */
  protected abstract finish(): Promise<void>;

  /** What a failed read reports (say, the AbortSignal's reason); the error by default. */
  protected failure(error: unknown): unknown {
    return error;
  }

  /** True once no more chunks will come (read to the end, failed or closed). */
  protected get done(): boolean {
    return this.#done;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    const chunk = this.readChunk();
    if (chunk instanceof Uint8Array) return Promise.resolve({ done: false, value: chunk });
    if (chunk === null) return Promise.resolve(DONE);
    return chunk.then((c) => (c === null ? DONE : { done: false, value: c }));
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    return this.close().then(() => DONE);
  }

  /**
   * @internal The next chunk without an iterator result, and without a promise when it has
   * arrived already: a chunk, null at the end (the body has then closed itself), or a
   * promise of either. A failure closes the body and rejects.
   */
  readChunk(): Uint8Array | null | Promise<Uint8Array | null> {
    if (this.#done) return null;
    let next: Uint8Array | null | Promise<Uint8Array | null>;
    try {
      next = this.pull();
    } catch (error) {
      return this.#failed(error);
    }
    if (next instanceof Uint8Array) return next;
    if (next === null) return this.#ended();
    return next.then(
      (chunk) => (chunk === null ? this.#ended() : chunk),
      (error: unknown) => this.#failed(error),
    );
  }

  /**
   * @internal The rest of the body in one call (no iterator round trip per chunk), at once,
   * with no promise, when it has all arrived already (a small response usually has); the
   * body is then closed.
   */
  readRest(): Uint8Array[] | Promise<Uint8Array[]> {
    return this.#collect([]);
  }

  // Takes chunks while they come without waiting; a promise only when the source must wait.
  // Continuations, not an async function: many bodies may be in flight, and each would keep
  // a suspended frame.
  #collect(chunks: Uint8Array[]): Uint8Array[] | Promise<Uint8Array[]> {
    for (;;) {
      const next = this.readChunk();
      if (next === null) return chunks;
      if (next instanceof Uint8Array) {
        chunks.push(next);
        continue;
      }
      return next.then((chunk) => {
        if (chunk === null) return chunks;
        chunks.push(chunk);
        return this.#collect(chunks);
      });
    }
  }

  // The end was read: close, then say so (at once when closing had nothing to wait for).
  // (close() marks the body done, first thing.)
  #ended(): null | Promise<null> {
    return afterSettled(this.close(), null);
  }

  // A read failed: close, then reject with what failure() makes of the error.
  #failed(error: unknown): Promise<never> {
    return this.close().then(() => {
      throw this.failure(error);
    });
  }

  /** Closes the body (once; later calls return at once). An unread rest is dropped. */
  close(): Promise<void> {
    if (this.#closed) return SETTLED;
    this.#closed = true;
    this.#done = true;
    return this.finish();
  }
}

/** A Body over any AsyncIterable of chunks (with an optional `close()`). */
export class IterableBody extends Body {
  readonly #source: ResponseStream;
  #iterator: AsyncIterator<Uint8Array> | null = null;

  constructor(source: ResponseStream) {
    super();
    this.#source = source;
  }

  protected pull(): Promise<Uint8Array | null> {
    this.#iterator ??= this.#source[Symbol.asyncIterator]();
    return this.#iterator.next().then((r) => (r.done ? null : r.value));
  }

  protected finish(): Promise<void> {
    const closing = this.#source.close?.();
    return closing === undefined ? SETTLED : closing;
  }
}

/** The stream as a Body: itself when it is one, else wrapped. */
export function toBody(stream: ResponseStream): Body {
  return stream instanceof Body ? stream : new IterableBody(stream);
}
