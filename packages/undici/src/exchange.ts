// Exchange: one dispatched request, from undici's handler to a pool and back.
//
// Theory of operation. undici has two handler APIs. undici 7's (onRequestStart,
// onResponseStart/Data/End/Error, onRequestUpgrade) hands the handler a controller with
// pause(), resume() and abort(); the older one (onConnect, onHeaders, onData, onComplete,
// onError, onUpgrade), which undici 7's own fetch() and request() and the undici inside
// Node's global fetch still use, pauses by returning false from onHeaders/onData and
// resumes through the callback given to onHeaders. An Exchange is the controller for
// both and calls whichever the handler has, with the pool's header list kept as it came
// (the older API gets raw name/value Buffers, names in their case on the wire).
//
// The body is pulled from the pool's response one chunk at a time, and only while the
// handler is not paused: a paused handler stops the reads, and so the socket. An abort
// (the controller's, or the abort function of onConnect) aborts the pool request's signal,
// an AbortFlag — the pool closes that request's connection and no other — and reports the
// reason to the handler once. Every failure reaches the handler as the pool raised it (a
// TransportError with its cause), so fetch's "fetch failed" TypeError carries it.

import {
  type AbortSignalLike,
  NetworkSocket,
  URL as PoolURL,
  type RequestContent,
  type Response,
  type ResponseReceiver,
} from "@x/pool";
import { errors } from "undici";
import { AbortFlag } from "./abort-flag.js";
import { requestUrl, toContent, toHeaderPairs } from "./request-parts.js";

type Chunk = Uint8Array | null | Promise<Uint8Array | null>;

/**
 * What an Exchange needs of a pool: undici's handler talks to `stream()`. Its `signal` is
 * an AbortSignalLike (what @x/pool's Request takes), not a real AbortSignal: a pool of your
 * own that must hand one to `fetch` or node:net makes it with @x/pool's `toAbortSignal()`.
 */
export interface StreamingPool {
  stream(method: string, url: string | PoolURL, options?: StreamOptions): Promise<Response>;
  /**
   * Optional: stream() with the outcome handed to callbacks (a ConnectionPool's, with no
   * promise per request). Used when there.
   */
  streamTo?(
    method: string,
    url: string | PoolURL,
    options: StreamOptions,
    receiver: ResponseReceiver,
  ): void;
}

/** The options an Exchange gives a pool's `stream()` or `streamTo()`. */
export interface StreamOptions {
  headers?: Array<[string, string]>;
  content?: RequestContent;
  signal?: AbortSignalLike;
  extensions?: Record<string, unknown>;
}

/** The fields of undici's DispatchOptions an Exchange reads. */
export interface DispatchInput {
  readonly origin?: unknown;
  readonly path: string;
  readonly method: string;
  readonly body?: unknown;
  readonly headers?: unknown;
  readonly query?: unknown;
  readonly upgrade?: boolean | string | null;
  readonly headersTimeout?: number | null;
  readonly bodyTimeout?: number | null;
}

/** Both handler APIs, as undici declares them (loosely: handlers are plain objects). */
export interface AnyHandler {
  onRequestStart?(controller: Exchange, context: unknown): void;
  onRequestUpgrade?(
    controller: Exchange,
    status: number,
    headers: HeaderRecord,
    socket: NetworkSocket,
  ): void;
  onResponseStart?(
    controller: Exchange,
    status: number,
    headers: HeaderRecord,
    statusMessage?: string,
  ): void;
  onResponseData?(controller: Exchange, chunk: Buffer): void;
  onResponseEnd?(controller: Exchange, trailers: HeaderRecord): void;
  onResponseError?(controller: Exchange, error: Error): void;
  onConnect?(abort: (reason?: Error) => void, context?: unknown): void;
  onResponseStarted?(): void;
  onHeaders?(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): unknown;
  onData?(chunk: Buffer): unknown;
  onComplete?(trailers: Buffer[] | null): void;
  onError?(error: Error): void;
  onUpgrade?(status: number, rawHeaders: Buffer[], socket: NetworkSocket): void;
}

type HeaderRecord = Record<string, string | string[]>;

function headerRecord(headers: ReadonlyArray<readonly [string, string]>): HeaderRecord {
  const out: HeaderRecord = {};
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const seen = out[key];
    if (seen === undefined) out[key] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[key] = [seen, value];
  }
  return out;
}

function rawHeaders(headers: ReadonlyArray<readonly [string, string]>): Buffer[] {
  const out: Buffer[] = new Array(headers.length * 2);
  let i = 0;
  for (const [name, value] of headers) {
    out[i++] = Buffer.from(name, "latin1");
    out[i++] = Buffer.from(value, "latin1");
  }
  return out;
}

const asBuffer = (chunk: Uint8Array): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);

const NO_TRAILERS: HeaderRecord = Object.freeze({}) as HeaderRecord;

type Readable = { readChunk?(): Chunk } & AsyncIterator<Uint8Array>;

/**
 * One request dispatched to a pool; the controller its handler gets (undici's
 * DispatchController: abort, pause, resume, aborted, paused, reason).
 */
export class Exchange implements ResponseReceiver {
  readonly #handler: AnyHandler;
  readonly #legacy: boolean;
  // What the pool watches, and this controller's aborted and reason: aborted with the
  // reason the handler gets.
  readonly #signal = new AbortFlag();
  readonly #onSettled: (exchange: Exchange) => void;
  #paused = false;
  // The handler has had its last call (end, error, or upgrade).
  #done = false;
  #response: Response | null = null;
  #body: Readable | null = null;
  #reading = false;
  #pumping = false;
  // The request asked for a protocol switch (an upgrade, or CONNECT).
  #switching = false;
  /** @internal Its place among its dispatcher's exchanges in flight (see InFlight). */
  slot = -1;

  constructor(handler: AnyHandler, onSettled: (exchange: Exchange) => void) {
    this.#handler = handler;
    this.#legacy =
      typeof handler.onRequestStart !== "function" &&
      typeof handler.onResponseStart !== "function" &&
      typeof handler.onResponseData !== "function";
    this.#onSettled = onSettled;
  }

  get aborted(): boolean {
    return this.#signal.aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return (this.#signal.reason as Error | undefined) ?? null;
  }

  /** Aborts the request: its connection is closed, and the handler gets `reason` as its error. */
  abort(reason?: Error): void {
    if (this.#done || this.#signal.aborted) return;
    const error = reason ?? abortError();
    this.#signal.abort(error);
    this.#fail(error);
  }

  /** Stops reading the body (and so the socket) until resume(). */
  pause(): void {
    this.#paused = true;
  }

  /** Reads the body again after pause(). */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (!this.#pumping && !this.#reading && this.#body !== null) this.#pump();
  }

  /** Starts the exchange: the handler's start, then the pool's request. */
  start(pool: StreamingPool, options: DispatchInput): void {
    try {
      if (this.#legacy) this.#handler.onConnect?.((reason) => this.abort(reason), {});
      else this.#handler.onRequestStart?.(this, {});
    } catch (error) {
      this.abort(error as Error);
      return;
    }
    if (this.#done) return;
    let url: string | PoolURL;
    let headers: Array<[string, string]>;
    let content: RequestContent | undefined;
    try {
      const method = options.method;
      if (method === "CONNECT") {
        // The target is the path as given (authority-form), sent to the origin's connection.
        const origin = new PoolURL(requestUrl(options.origin, "/", null)).origin;
        url = new PoolURL({
          scheme: origin.scheme,
          host: origin.host,
          port: origin.port,
          target: options.path,
        });
      } else {
        url = requestUrl(options.origin, options.path, options.query);
      }
      headers = toHeaderPairs(options.headers);
      const upgrade = options.upgrade;
      if (typeof upgrade === "string" && method !== "CONNECT") {
        headers.push(["connection", "upgrade"], ["upgrade", upgrade]);
      }
      content = toContent(options.body);
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    const read = Math.max(options.headersTimeout ?? 0, options.bodyTimeout ?? 0);
    const streamOptions: StreamOptions = {
      headers,
      signal: this.#signal,
    };
    if (content !== undefined) streamOptions.content = content;
    if (read > 0) streamOptions.extensions = { timeout: { read } };
    this.#switching = typeof options.upgrade === "string" || options.method === "CONNECT";
    // The pool answers this exchange's onResponse or onError.
    if (typeof pool.streamTo === "function") {
      try {
        pool.streamTo(options.method, url, streamOptions, this);
      } catch (error) {
        this.#fail(error as Error);
      }
      return;
    }
    pool.stream(options.method, url, streamOptions).then(
      (response) => this.onResponse(response),
      (error: unknown) => this.onError(error),
    );
  }

  /** @internal The pool's answer: the response, its head arrived (ResponseReceiver). */
  onResponse(response: Response): void {
    if (this.#done) {
      response.close().catch(ignore);
      return;
    }
    this.#response = response;
    const status = response.status;
    const stream = response.extensions.networkStream;
    if (stream !== undefined && this.#switching) {
      // The connection now speaks the new protocol: hand it over. Closing the socket closes
      // the response, which closes the connection it used.
      const socket = new NetworkSocket(stream, { onClose: () => response.close().catch(ignore) });
      this.#settle();
      try {
        if (this.#legacy) this.#handler.onUpgrade?.(status, rawHeaders(response.headers), socket);
        else this.#handler.onRequestUpgrade?.(this, status, headerRecord(response.headers), socket);
      } catch (error) {
        socket.destroy(error as Error);
      }
      return;
    }
    const statusText = response.extensions.reasonPhrase ?? "";
    try {
      if (this.#legacy) {
        this.#handler.onResponseStarted?.();
        const more = this.#handler.onHeaders?.(
          status,
          rawHeaders(response.headers),
          () => this.resume(),
          statusText,
        );
        if (more === false) this.#paused = true;
      } else {
        this.#handler.onResponseStart?.(this, status, headerRecord(response.headers), statusText);
      }
    } catch (error) {
      this.abort(error as Error);
      return;
    }
    if (this.#done) return;
    // A response read already (a pool whose stream() is its request(), say) has no stream:
    // its body is its content, in one chunk.
    this.#body = (response.stream as Readable | null) ?? once(response.content);
    if (!this.#paused) this.#pump();
  }

  // Reads and delivers chunks while the handler wants them; waits for a chunk that has not
  // arrived, and stops when paused (resume() starts it again). `first` is a chunk that
  // arrived after a wait: delivered here too, so that a handler's resume() during it does
  // not start a second pump (and a second read) beside this one.
  #pump(first?: Uint8Array): void {
    const body = this.#body!;
    this.#pumping = true;
    try {
      if (first !== undefined) this.#deliver(first);
      while (!this.#paused && !this.#done) {
        let next: Chunk;
        try {
          next = typeof body.readChunk === "function" ? body.readChunk() : nextOf(body);
        } catch (error) {
          this.#fail(error as Error);
          return;
        }
        if (next === null) {
          this.#end();
          return;
        }
        if (next instanceof Uint8Array) {
          this.#deliver(next);
          continue;
        }
        this.#reading = true;
        next.then(
          (chunk) => {
            this.#reading = false;
            if (this.#done) return;
            if (chunk === null) this.#end();
            else this.#pump(chunk);
          },
          (error: unknown) => {
            this.#reading = false;
            this.#fail(error as Error);
          },
        );
        return;
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** @internal The pool's answer: the request failed (ResponseReceiver). */
  onError(error: unknown): void {
    this.#fail(error as Error);
  }

  #deliver(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    try {
      if (this.#legacy) {
        if (this.#handler.onData?.(asBuffer(chunk)) === false) this.#paused = true;
      } else {
        this.#handler.onResponseData?.(this, asBuffer(chunk));
      }
    } catch (error) {
      this.abort(error as Error);
    }
  }

  #end(): void {
    if (this.#done) return;
    this.#settle();
    try {
      if (this.#legacy) this.#handler.onComplete?.([]);
      else this.#handler.onResponseEnd?.(this, NO_TRAILERS);
    } catch {
      // The response is complete; a handler that throws at its end has nothing left to stop.
    }
  }

  #fail(error: Error): void {
    if (this.#done) return;
    this.#settle();
    // A response not read to its end closes its connection; one read to the end is released.
    this.#response?.close().catch(ignore);
    if (this.#legacy) {
      this.#handler.onError?.(error);
    } else {
      this.#handler.onResponseError?.(this, error);
    }
  }

  #settle(): void {
    this.#done = true;
    this.#onSettled(this);
  }
}

const ignore = (): void => {};

// A body already in memory, as a Readable of one chunk (#pump reads it with readChunk).
function once(content: Uint8Array): Readable {
  let left: Uint8Array | null = content;
  const readChunk = (): Uint8Array | null => {
    const chunk = left;
    left = null;
    return chunk;
  };
  return { readChunk } as Readable;
}

function nextOf(iterator: AsyncIterator<Uint8Array>): Promise<Uint8Array | null> {
  return iterator.next().then((r) => (r.done ? null : r.value));
}

function abortError(): Error {
  return new errors.RequestAbortedError();
}
