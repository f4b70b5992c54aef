import { isValidHeaderName, isValidHeaderValue } from "@x/h11";
import type { AbortSignalLike } from "./abort.js";
import { type Body, type ResponseStream, toBody } from "./body.js";
import { concat } from "./bytes.js";
import {
  argumentError,
  describeType,
  LocalProtocolError,
  ResponseNotRead,
  StreamConsumed,
} from "./errors.js";
import type { NetworkStream } from "./network.js";
import { printable } from "./printable.js";
import { SETTLED } from "./settled.js";
import { toURL, type URL } from "./url.js";

/**
 * Header fields: a record, or `[name, value]` pairs (for repeated names and order).
 *
 * @example
 * await pool.request("GET", url, { headers: { Accept: "application/json" } }) // or [["Accept", "application/json"]]
 */
export type HeadersInit =
  | Readonly<Record<string, string | number>>
  | ReadonlyArray<readonly [string, string | number]>;

/**
 * Header fields as `[name, value]` pairs; strings hold bytes as latin1.
 *
 * @example
 * const headers: HeaderList = [["Accept", "application/json"], ["Accept", "text/html"]]
 */
export type HeaderList = Array<[string, string]>;

/**
 * A request body: bytes, a string (sent as UTF-8), or a (async) iterable of byte chunks.
 *
 * @example
 * await pool.request("PUT", url, { content: fs.createReadStream("big.bin") }) // any async iterable of Uint8Array
 */
export type RequestContent = Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Timeouts, in milliseconds. A missing one means no limit.
 *
 * @example
 * const timeout: Timeouts = { connect: 5000, read: 10_000, write: 10_000, pool: 1000 }
 */
export interface Timeouts {
  readonly connect?: number;
  readonly read?: number;
  readonly write?: number;
  readonly pool?: number;
}

/**
 * Called with httpcore's trace event names, e.g. "http11.send_request_headers.started".
 *
 * @example
 * const trace: TraceCallback = (name, info) => console.log(performance.now(), name)
 */
export type TraceCallback = (name: string, info: Record<string, unknown>) => void | Promise<void>;

/**
 * Per-request extensions, as httpcore's `extensions` dict.
 *
 * @example
 * await pool.request("GET", url, { extensions: { timeout: { read: 5000 }, trace: (name) => console.log(name) } })
 */
export interface RequestExtensions {
  readonly timeout?: Timeouts;
  readonly trace?: TraceCallback;
  /** The TLS server name to use instead of the URL's host. */
  readonly sniHostname?: string;
  /**
   * The request target to send instead of the URL's path and query, as httpcore's "target"
   * extension: `"*"` for `OPTIONS *`, an absolute URL, a path the URL parser would
   * normalise. Visible ASCII only.
   */
  readonly target?: string;
  readonly [key: string]: unknown;
}

/**
 * Per-response extensions.
 *
 * @example
 * console.log(r.extensions.httpVersion, r.extensions.reasonPhrase) // "HTTP/1.1" "OK"
 */
export interface ResponseExtensions {
  /** "HTTP/1.1", "HTTP/1.0" or "HTTP/2". */
  readonly httpVersion?: string;
  /**
   * The trailer fields (HTTP/2, or a chunked HTTP/1.1 body's), once the body has been read
   * to the end: a header list, empty when there were none.
   */
  readonly trailers?: HeaderList;
  /** The status line's reason phrase, e.g. "OK". */
  readonly reasonPhrase?: string;
  /**
   * The connection's stream, on every response from a connection (httpcore's
   * "network_stream"). After a 2xx to CONNECT or a 101 it is the raw stream, now speaking
   * the new protocol, to read and write; on any other response an ExtraInfoStream, which
   * answers `getExtraInfo()` ("server_addr", "client_addr", "ssl_object", "is_readable" …)
   * and refuses reads and writes, which would take the body.
   */
  readonly networkStream?: NetworkStream;
  readonly [key: string]: unknown;
}

export type { ResponseStream } from "./body.js";

const TOKEN_RE = /^[-!#$%&'*+.^_`|~0-9a-zA-Z]+$/;
const TARGET_RE = /^[\x21-\x7e]+$/;

/**
 * Headers as validated pairs, with @x/h11's rules (what it would refuse to send is refused
 * here, before any connection is used) and nothing altered: a value is sent byte for byte
 * as given, a number as `String(number)`. Throws LocalProtocolError for a bad name or value.
 *
 * @example
 * toHeaderList({ Accept: "application/json" }) // [["Accept", "application/json"]]
 */
export function toHeaderList(init: HeadersInit | undefined): HeaderList {
  if (init === undefined) return [];
  if (typeof init !== "object" || init === null) {
    throw argumentError(
      `headers must be a record or a list of [name, value] pairs, not ${describeType(init)}`,
      "ERR_INVALID_ARG_TYPE",
    );
  }
  const pairs: ReadonlyArray<readonly [string, string | number]> = Array.isArray(init)
    ? (init as ReadonlyArray<readonly [string, string | number]>)
    : Object.entries(init as Record<string, string | number>);
  // Sized up front: a list grown by push() keeps room for 16 more pairs it never uses,
  // and many requests may be queued at once.
  const out: HeaderList = new Array(pairs.length);
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new LocalProtocolError("headers must be a record or a list of [name, value] pairs");
    }
    const name = pair[0];
    const value = typeof pair[1] === "number" ? String(pair[1]) : pair[1];
    if (!isValidHeaderName(name)) {
      throw new LocalProtocolError(`Illegal header name ${JSON.stringify(name)}`);
    }
    // The value itself is left out of the message: it may be a credential.
    if (!isValidHeaderValue(value)) {
      throw new LocalProtocolError(
        `Illegal header value for ${name}: CR, LF, NUL, VT, FF, characters above U+00FF and a space or tab at either end are not allowed (values are sent as given, never trimmed)`,
      );
    }
    out[i] = [name, value];
  }
  return out;
}

/**
 * The value of the first header named `name` (case-insensitively), or undefined.
 *
 * @example
 * getHeader(response.headers, "content-type") // "application/json"
 */
export function getHeader(
  headers: ReadonlyArray<readonly [string, string]>,
  name: string,
): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of headers) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/**
 * Options of a Request.
 *
 * @example
 * new Request("GET", "https://a.com/", { headers: { Host: "a.com" }, signal: AbortSignal.timeout(5000) })
 */
export interface RequestOptions {
  readonly headers?: HeadersInit;
  readonly content?: RequestContent;
  readonly extensions?: RequestExtensions;
  readonly signal?: AbortSignalLike;
}

const EMPTY = new Uint8Array(0);
// Shared by requests without extensions (many may be queued at once).
const NO_EXTENSIONS: RequestExtensions = Object.freeze({});

/**
 * An HTTP request as the transport sees it: method, URL, headers as given (nothing added),
 * an optional body, extensions and an AbortSignal (or AbortSignalLike).
 *
 * @example
 * const req = new Request("GET", "https://example.com/", { headers: { Host: "example.com" } });
 * const res = await pool.handleRequest(req);
 */
export class Request {
  readonly method: string;
  readonly url: URL;
  readonly headers: HeaderList;
  readonly content: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | undefined;
  readonly extensions: RequestExtensions;
  readonly signal: AbortSignalLike | undefined;

  constructor(method: string, url: string | URL | globalThis.URL, options: RequestOptions = {}) {
    if (typeof method !== "string") {
      throw argumentError(
        `method must be a string, not ${describeType(method)}`,
        "ERR_INVALID_ARG_TYPE",
      );
    }
    if (!TOKEN_RE.test(method)) {
      throw new LocalProtocolError(`Illegal method ${JSON.stringify(method)}`);
    }
    if (typeof options !== "object" || options === null) {
      throw argumentError(
        `options must be an object, not ${describeType(options)}`,
        "ERR_INVALID_ARG_TYPE",
      );
    }
    this.method = method;
    this.url = toURL(url);
    this.headers = toHeaderList(options.headers);
    const content = options.content;
    this.content = typeof content === "string" ? new TextEncoder().encode(content) : content;
    if (
      this.content !== undefined &&
      !(this.content instanceof Uint8Array) &&
      !(Symbol.asyncIterator in Object(this.content)) &&
      !(Symbol.iterator in Object(this.content))
    ) {
      throw argumentError(
        "content must be a Uint8Array, a string, or an (async) iterable of Uint8Array",
        "ERR_INVALID_ARG_TYPE",
      );
    }
    const extensions = options.extensions;
    if (extensions === undefined) {
      this.extensions = NO_EXTENSIONS;
    } else {
      if (typeof extensions !== "object" || extensions === null) {
        throw argumentError(
          `extensions must be an object, not ${describeType(extensions)}`,
          "ERR_INVALID_ARG_TYPE",
        );
      }
      const target = extensions.target;
      if (target !== undefined && (typeof target !== "string" || !TARGET_RE.test(target))) {
        throw new LocalProtocolError(
          `Illegal request target ${JSON.stringify(target)}: visible ASCII characters only`,
        );
      }
      this.extensions = extensions;
    }
    const signal = options.signal;
    if (
      signal !== undefined &&
      (typeof signal !== "object" ||
        signal === null ||
        typeof (signal as AbortSignalLike).aborted !== "boolean" ||
        typeof (signal as AbortSignalLike).addEventListener !== "function" ||
        typeof (signal as AbortSignalLike).removeEventListener !== "function")
    ) {
      throw argumentError(
        `signal must be an AbortSignal (or AbortSignalLike), not ${describeType(signal)}`,
        "ERR_INVALID_ARG_TYPE",
      );
    }
    this.signal = signal;
  }

  /** What goes on the request line: the `target` extension, or the URL's path and query. */
  get target(): string {
    return this.extensions.target ?? this.url.target;
  }

  /** True when the body can be sent again (no body, bytes, or an array of chunks). */
  get replayable(): boolean {
    return (
      this.content === undefined ||
      this.content instanceof Uint8Array ||
      Array.isArray(this.content)
    );
  }

  /** The body's chunks (none for no body). */
  async *stream(): AsyncIterable<Uint8Array> {
    const content = this.content;
    if (content === undefined) return;
    if (content instanceof Uint8Array) {
      if (content.length > 0) yield content;
      return;
    }
    for await (const chunk of content as AsyncIterable<Uint8Array>) {
      if (!(chunk instanceof Uint8Array))
        throw argumentError("request body chunks must be Uint8Array", "ERR_INVALID_ARG_TYPE");
      yield chunk;
    }
  }

  toString(): string {
    return `<Request [${this.method}]>`;
  }
}

printable(Request);

/**
 * Options of a Response.
 *
 * @example
 * new Response(200, { headers: { "Content-Type": "text/plain" }, content: new TextEncoder().encode("hi") })
 */
export interface ResponseOptions {
  readonly headers?: HeadersInit;
  readonly content?: Uint8Array | ResponseStream;
  readonly extensions?: ResponseExtensions;
}

/**
 * An HTTP response. From `request()` its body is read already (`content`); from `stream()`
 * iterate it once, or `read()` it, and `close()` it (or `await using`) to free the
 * connection.
 *
 * @example
 * await using res = await pool.stream("GET", "https://example.com/");
 * for await (const chunk of res) process(chunk);
 */
export class Response {
  readonly status: number;
  readonly headers: HeaderList;
  readonly extensions: ResponseExtensions;
  // The body until it is read whole (then `#content`), as a Body whatever it was given as.
  #body: Body | null;
  #content: Uint8Array | null = null;
  #iterated = false;

  constructor(status: number, options: ResponseOptions = {}) {
    this.status = status;
    // A response's fields come from the parser (validated there) or from a test: keep them.
    const headers = options.headers;
    this.headers =
      headers === undefined
        ? []
        : Array.isArray(headers)
          ? (headers as HeaderList)
          : Object.entries(headers).map(([k, v]): [string, string] => [k, String(v)]);
    this.extensions = options.extensions ?? {};
    const content = options.content;
    if (content === undefined || content instanceof Uint8Array) {
      this.#content = content ?? EMPTY;
      this.#body = null;
    } else {
      this.#body = toBody(content);
    }
  }

  /** The body; throws ResponseNotRead until `read()` has finished. */
  get content(): Uint8Array {
    if (this.#content === null) {
      throw new ResponseNotRead(
        "Attempted to access 'response.content' on a streaming response. Call 'response.read()' first.",
      );
    }
    return this.#content;
  }

  /** The body stream, before it is read (httpcore's `response.stream`); null once read. */
  get stream(): ResponseStream | null {
    return this.#content === null ? this.#body : null;
  }

  /** Reads the whole body (once; later calls return it again) and releases the connection. */
  async read(): Promise<Uint8Array> {
    if (this.#content !== null) return this.#content;
    const body = this.#body;
    if (this.#iterated || body === null) {
      throw new StreamConsumed("the response body was already consumed: bodies stream once");
    }
    this.#iterated = true;
    const all = body.readRest();
    this.#content = concat(Array.isArray(all) ? all : await all);
    return this.#content;
  }

  /** The body decoded as UTF-8. */
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.read());
  }

  /** The body parsed as JSON. */
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  /** Iterates the body's chunks; a body can be iterated once. Ending or leaving the loop closes it. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const content = this.#content;
    if (content !== null) {
      let sent = content.length === 0;
      return {
        next: async () => {
          if (sent) return { done: true, value: undefined };
          sent = true;
          return { done: false, value: content };
        },
      };
    }
    if (this.#iterated || this.#body === null) {
      throw new StreamConsumed("the response body was already consumed: bodies stream once");
    }
    this.#iterated = true;
    return this.#body;
  }

  /** Releases the connection; an unread body closes it. */
  close(): Promise<void> {
    return this.#body?.close() ?? SETTLED;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `<Response [${this.status}]>`;
  }
}

printable(Response);
