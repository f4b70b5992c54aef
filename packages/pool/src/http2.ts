// HTTP2Connection: many requests at once over one NetworkStream, each on a stream of its
// own, spoken by Node's node:http2 (nghttp2: HPACK, framing, flow control).
//
// The session is handed the pool's socket itself (a NodeStream's net.Socket or
// tls.TLSSocket, TLS in TLS inside a tunnel), so nothing is copied in JavaScript on the
// way; any other NetworkStream (a MockBackend's, a test double) is bridged with a Duplex.
//
// Capacity. A place is a stream: the connection takes requests (tryReserve) while fewer
// than the server's SETTINGS_MAX_CONCURRENT_STREAMS hold a place, and none after a GOAWAY.
// Opening waits for the server's SETTINGS (within the request's read timeout: a server that
// never sends them is a ReadTimeout), so the capacity is known before the first request.
//
// Each request's stream is its own: an abort, a read timeout or a response closed before
// its end resets that stream only (RST_STREAM CANCEL); a stream the server resets fails its
// request only (RemoteProtocolError with `errorCode`). A GOAWAY stops new streams; those
// above its last stream id were never processed and fail with ConnectionNotAvailable, which
// the pool answers by sending them again on another connection. The connection closes
// itself once a GOAWAY has come and its last stream is done.
//
// Back-pressure. The response body is read from the stream in paused mode: nghttp2 gives the
// server more window (WINDOW_UPDATE) only as the body is consumed, so a reader that stops
// holds the server back.

import * as http2 from "node:http2";
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { type AbortSignalLike, watchAbort } from "./abort.js";
import { Body } from "./body.js";
import type { ConnectionInterface } from "./connection-interface.js";
import {
  ConnectionNotAvailable,
  LocalProtocolError,
  ReadError,
  ReadTimeout,
  RemoteProtocolError,
  WriteError,
  WriteTimeout,
} from "./errors.js";
import { ExtraInfoStream } from "./http11.js";
import { type HeaderList, type Request, Response } from "./models.js";
import type { NetworkStream } from "./network.js";
import { NodeStream } from "./node-backend.js";
import { printable } from "./printable.js";
import { SETTLED } from "./settled.js";
import { traced } from "./trace.js";
import type { Origin } from "./url.js";

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

// node:http2's errors for a request it refuses to send (a bad header for HTTP/2).
const LOCAL_ERRORS = new Set([
  "ERR_HTTP2_INVALID_CONNECTION_HEADERS",
  "ERR_HTTP2_INVALID_HEADER_VALUE",
  "ERR_INVALID_HTTP_TOKEN",
  "ERR_INVALID_CHAR",
  "ERR_HTTP2_HEADER_SINGLE_VALUE",
  "ERR_HTTP2_INVALID_PSEUDOHEADER",
]);

const noop = (): void => {};

// Flow-control windows we give the server: per stream (what a paused reader lets it send
// ahead) and for the whole connection (what all streams together may have in flight). The
// defaults (64 KiB each) let one connection carry about one 64 KiB response per round trip.
const STREAM_WINDOW = 1024 * 1024;
const CONNECTION_WINDOW = 16 * 1024 * 1024;

/**
 * The states of an HTTP/2 connection: ACTIVE while a request holds a stream, IDLE when none.
 *
 * @example
 * if (conn.state === "IDLE") console.log("no stream open")
 */
export type HTTP2State = "ACTIVE" | "IDLE" | "CLOSED";

/**
 * Options of an HTTP2Connection.
 *
 * @example
 * await HTTP2Connection.open(origin, stream, request, { keepaliveExpiry: 30_000 })
 */
export interface HTTP2ConnectionOptions {
  /** Milliseconds an idle connection may be kept; undefined keeps it until the server closes it. */
  readonly keepaliveExpiry?: number | undefined;
  /** Aborts opening (waiting for the server's SETTINGS): `open()` then closes and rejects. */
  readonly signal?: AbortSignalLike | undefined;
}

// Fields HTTP/2 forbids (RFC 9113 §8.2.2), and Host, which becomes :authority.
const DROPPED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
]);

// HTTP/2's error codes (RFC 9113 §7), by value, for messages.
const CODE_NAMES = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

// node:http2's error for what nghttp2 refused in the server's bytes (a bad preface, a frame
// out of place): the server broke the protocol.
function isProtocolError(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "ERR_HTTP2_ERROR";
}

/** The error a broken connection fails with: RemoteProtocolError when the server broke HTTP/2. */
function brokenError(message: string, cause: unknown): ReadError | RemoteProtocolError {
  const options = cause === null || cause === undefined ? {} : { cause };
  return isProtocolError(cause)
    ? new RemoteProtocolError(`${message}: the server broke the HTTP/2 protocol`, options)
    : new ReadError(message, options);
}

function codeName(code: number): string {
  return CODE_NAMES[code] ?? `0x${code.toString(16)}`;
}

/**
 * A RemoteProtocolError for a stream the server reset: `errorCode` is the RST_STREAM code.
 */
function resetError(code: number, cause?: unknown): RemoteProtocolError & { errorCode: number } {
  return Object.assign(
    new RemoteProtocolError(`the server reset the stream (RST_STREAM ${codeName(code)})`, {
      cause,
    }),
    { errorCode: code },
  );
}

// The request's header fields as node:http2 takes them: pseudo-headers first, names in
// lower case, connection-specific fields dropped, Host as :authority.
function toH2Headers(request: Request): http2.OutgoingHttpHeaders {
  const url = request.url;
  const headers: http2.OutgoingHttpHeaders = Object.create(null);
  let authority: string | undefined;
  const fields: Record<string, string | string[]> = Object.create(null);
  for (const [rawName, value] of request.headers) {
    const name = rawName.toLowerCase();
    if (name === "host") {
      authority ??= value;
      continue;
    }
    if (DROPPED.has(name)) continue;
    // TE: only "trailers" may go (RFC 9113 §8.2.2), in the one spelling node:http2 takes.
    if (name === "te") {
      if (value.trim().toLowerCase() !== "trailers") continue;
      fields.te = "trailers";
      continue;
    }
    const had = fields[name];
    if (had === undefined) fields[name] = value;
    else if (Array.isArray(had)) had.push(value);
    else fields[name] = [had, value];
  }
  headers[":method"] = request.method;
  headers[":authority"] = authority ?? url.origin.authority;
  // CONNECT has :authority alone (RFC 9113 §8.5): node:http2 refuses it with :scheme or :path.
  if (request.method !== "CONNECT") {
    headers[":scheme"] =
      url.origin.scheme === "wss"
        ? "https"
        : url.origin.scheme === "ws"
          ? "http"
          : url.origin.scheme;
    headers[":path"] = url.target;
  }
  for (const name in fields) headers[name] = fields[name];
  return headers;
}

/**
 * @internal Header pairs from node:http2's raw list [name, value, name, value ...], without
 * pseudo-headers; from its header object when no raw list is given.
 */
export function fromRaw(raw: string[] | undefined, headers: http2.IncomingHttpHeaders): HeaderList {
  const list: HeaderList = [];
  if (raw !== undefined) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.charCodeAt(0) !== 0x3a) list.push([name, raw[i + 1]!]);
    }
    return list;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) list.push([name, v]);
    else list.push([name, String(value)]);
  }
  return list;
}

/**
 * A Duplex over any NetworkStream, for node:http2 to speak over when the stream is not a
 * Node socket (a MockBackend's, a test double, a tunnel of your own).
 */
function bridge(stream: NetworkStream): Duplex {
  let reading = false;
  const duplex: Duplex = new Duplex({
    read(): void {
      if (reading) return;
      reading = true;
      void pump();
    },
    write(chunk: Uint8Array, _encoding, callback): void {
      stream.write(chunk).then(
        () => callback(),
        (error: Error) => callback(error),
      );
    },
    final(callback): void {
      callback();
    },
    destroy(error, callback): void {
      stream.close().then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
  const pump = async (): Promise<void> => {
    try {
      for (;;) {
        const data = await stream.read(64 * 1024);
        if (data.length === 0) {
          duplex.push(null);
          return;
        }
        if (!duplex.push(data)) {
          reading = false;
          return;
        }
      }
    } catch (error) {
      duplex.destroy(error as Error);
    }
  };
  return duplex;
}

/**
 * An HTTP/2 connection over an open NetworkStream: many requests at once, each on its own
 * stream, up to the server's SETTINGS_MAX_CONCURRENT_STREAMS. Made with `open()`, which
 * waits for the server's SETTINGS.
 *
 * @example
 * const stream = await new NodeBackend().connectTcp("localhost", 8080);
 * const conn = await HTTP2Connection.open(new Origin("http", "localhost", 8080), stream, request);
 * const res = await conn.handleRequest(request);
 */
export class HTTP2Connection implements ConnectionInterface {
  readonly #origin: Origin;
  readonly #session: http2.ClientHttp2Session;
  readonly #socket: Socket | Duplex;
  readonly #keepaliveExpiry: number | undefined;
  #closed = false;
  #settings = false;
  #settingsWaiters: Array<(error: unknown) => void> = [];
  #goaway: { lastStreamId: number; code: number } | null = null;
  #sessionError: unknown = null;
  #requestCount = 0;
  // Requests holding a place (tryReserve), and exchanges under way (handleRequest until the
  // response is closed).
  readonly #reserved = new Set<Request>();
  #active = 0;
  #expireAt: number | null = null;
  // Whether a response byte has come on this connection (for the retry rule).
  #received = false;
  readonly #exchanges = new Set<H2Exchange>();
  /** @internal What responses carry as `extensions.networkStream`: looking, not reading. */
  readonly infoStream: ExtraInfoStream;

  /**
   * Starts HTTP/2 over `stream` (TLS, if any, already done) and waits for the server's
   * SETTINGS within `request`'s read timeout (ReadTimeout otherwise), tracing
   * `http2.send_connection_init`.
   */
  static async open(
    origin: Origin,
    stream: NetworkStream,
    request: Request,
    options: HTTP2ConnectionOptions = {},
  ): Promise<HTTP2Connection> {
    const socket = stream instanceof NodeStream ? stream.handOver() : bridge(stream);
    const connection = new HTTP2Connection(origin, socket, new ExtraInfoStream(stream), options);
    try {
      await traced("http2.send_connection_init", request, { request }, () =>
        connection.#waitForSettings(request.extensions.timeout?.read, options.signal),
      );
    } catch (error) {
      await connection.close();
      throw error;
    }
    return connection;
  }

  private constructor(
    origin: Origin,
    socket: Socket | Duplex,
    infoStream: ExtraInfoStream,
    options: HTTP2ConnectionOptions,
  ) {
    this.#origin = origin;
    this.infoStream = infoStream;
    this.#socket = socket;
    this.#keepaliveExpiry = options.keepaliveExpiry;
    // The URL's scheme and host are only node:http2's defaults for :scheme and :authority,
    // which toH2Headers always sets (CONNECT: :authority, and no :scheme, as it must):
    // any URL would do. The socket is ours, TLS or not.
    const session = http2.connect("http://localhost", {
      createConnection: () => socket,
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW },
      // Many streams at once buffer more than the default 10 MB allows.
      maxSessionMemory: 64,
    });
    this.#session = session;
    session.once("connect", () => {
      if (!session.destroyed) session.setLocalWindowSize(CONNECTION_WINDOW);
    });
    session.on("remoteSettings", () => {
      this.#settings = true;
      const waiters = this.#settingsWaiters;
      this.#settingsWaiters = [];
      for (const w of waiters) w(null);
    });
    session.on("goaway", (code: number, lastStreamId: number) => {
      this.#goaway = { code, lastStreamId };
      // Streams above the last id will not be processed (RFC 9113 §6.8): nghttp2 leaves
      // those that have their head open, so they fail now (and the pool sends them again).
      for (const exchange of this.#exchanges) exchange.goneAway(lastStreamId);
      if (this.#isUnused()) void this.close();
    });
    session.on("error", (error: unknown) => {
      this.#sessionError ??= error;
    });
    session.on("close", () => {
      this.#closed = true;
      this.#failSettingsWaiters();
    });
    // A socket that breaks before the session has it still says so.
    socket.on("error", (error: unknown) => {
      this.#sessionError ??= error;
    });
  }

  #failSettingsWaiters(): void {
    const waiters = this.#settingsWaiters;
    this.#settingsWaiters = [];
    const cause = this.#sessionError;
    for (const w of waiters) {
      w(brokenError("the connection closed before the server's SETTINGS arrived", cause));
    }
  }

  #waitForSettings(
    timeout: number | undefined,
    signal: AbortSignalLike | undefined,
  ): Promise<void> {
    if (this.#settings) return SETTLED;
    if (this.#closed) {
      return Promise.reject(new ReadError("the connection closed before the server's SETTINGS"));
    }
    if (signal?.aborted) {
      return Promise.reject(new ConnectionNotAvailable("the connection was closed while opening"));
    }
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => {
        const at = this.#settingsWaiters.indexOf(done);
        if (at !== -1) this.#settingsWaiters.splice(at, 1);
        done(new ConnectionNotAvailable("the connection was closed while opening"));
      };
      const done = (error: unknown): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (error === null) resolve();
        else reject(error);
      };
      this.#settingsWaiters.push(done);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          const at = this.#settingsWaiters.indexOf(done);
          if (at !== -1) this.#settingsWaiters.splice(at, 1);
          reject(new ReadTimeout(`the server sent no SETTINGS within ${timeout} ms`));
        }, timeout);
      }
    });
  }

  /** ACTIVE, IDLE or CLOSED. */
  get state(): HTTP2State {
    if (this.#closed) return "CLOSED";
    return this.#active > 0 || this.#reserved.size > 0 ? "ACTIVE" : "IDLE";
  }

  /** How many requests this connection has taken. */
  get requestCount(): number {
    return this.#requestCount;
  }

  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS (as node:http2 knows it). */
  get maxConcurrentStreams(): number {
    if (this.#closed) return 0;
    const max = this.#session.remoteSettings?.maxConcurrentStreams;
    return typeof max === "number" ? max : 100;
  }

  #isUnused(): boolean {
    return this.#active === 0 && this.#reserved.size === 0;
  }

  handleRequest(request: Request): Promise<Response> {
    if (!this.canHandleRequest(request.url.origin)) {
      return Promise.reject(
        new ConnectionNotAvailable(
          `Attempted to send request to ${request.url.origin} on connection to ${this.#origin}`,
        ),
      );
    }
    if (this.#closed || this.#goaway !== null || this.#session.destroyed) {
      return Promise.reject(new ConnectionNotAvailable("the HTTP/2 connection is closing"));
    }
    if (request.signal?.aborted) return Promise.reject(request.signal.reason);
    let headers: http2.OutgoingHttpHeaders;
    try {
      headers = toH2Headers(request);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#requestCount++;
    this.#active++;
    this.#expireAt = null;
    const exchange = new H2Exchange(this, request, this.#requestCount > 1 && this.#received);
    this.#exchanges.add(exchange);
    return exchange.start(this.#session, headers);
  }

  /** @internal A response byte (or head) arrived. */
  received(): void {
    this.#received = true;
  }

  /** @internal Why a stream ended early, as the error its request fails with. */
  streamError(stream: http2.ClientHttp2Stream, error: unknown): unknown {
    const goaway = this.#goaway;
    if (goaway !== null && (stream.id === undefined || stream.id > goaway.lastStreamId)) {
      // Never processed: the pool sends it again on a new connection, whatever its method.
      return Object.assign(
        new RemoteProtocolError(
          `the server went away (GOAWAY ${codeName(goaway.code)}, last stream ${goaway.lastStreamId}) before it processed the request`,
          { cause: error ?? undefined, retry: "unprocessed" },
        ),
        { errorCode: goaway.code },
      );
    }
    if (stream.id === undefined && (this.#closed || this.#session.destroyed)) {
      return new ConnectionNotAvailable("the HTTP/2 connection closed before the request was sent");
    }
    const code = stream.rstCode;
    if (goaway !== null && goaway.code !== NGHTTP2_NO_ERROR) {
      return Object.assign(
        new RemoteProtocolError(
          `the server closed the connection (GOAWAY ${codeName(goaway.code)})`,
          { cause: error ?? undefined },
        ),
        { errorCode: goaway.code },
      );
    }
    if (this.#sessionError !== null || this.#closed || this.#session.destroyed) {
      return brokenError("the HTTP/2 connection broke", this.#sessionError ?? error);
    }
    if (code === NGHTTP2_REFUSED_STREAM) {
      // Refused before any processing (RFC 9113 §8.7): safe to send again.
      const refused = resetError(code, error ?? undefined);
      refused.retry = "unprocessed";
      return refused;
    }
    if (typeof code === "number" && code !== NGHTTP2_NO_ERROR) {
      return resetError(code, error ?? undefined);
    }
    return new RemoteProtocolError("the server closed the stream before the response ended", {
      cause: error ?? undefined,
    });
  }

  /** @internal An exchange is over (its response closed, or it failed). */
  exchangeDone(exchange: H2Exchange): void {
    if (!this.#exchanges.delete(exchange)) return;
    this.#active--;
    this.#becameUnused();
  }

  #becameUnused(): void {
    if (!this.#isUnused() || this.#closed) return;
    if (this.#goaway !== null) {
      void this.close();
      return;
    }
    if (this.#keepaliveExpiry !== undefined) {
      this.#expireAt = performance.now() + this.#keepaliveExpiry;
    }
  }

  async close(): Promise<void> {
    if (this.#closed && this.#session.destroyed) return;
    this.#closed = true;
    this.#failSettingsWaiters();
    const session = this.#session;
    if (session.destroyed) return;
    const socket = this.#socket;
    await new Promise<void>((resolve) => {
      session.once("close", () => resolve());
      // nghttp2 waits for a write under way before it says the session closed: a stream
      // that never takes our bytes would hold it forever, so the socket goes too.
      socket.once("close", () => resolve());
      if (this.#exchanges.size === 0) {
        // A GOAWAY for the server, then the socket is closed.
        session.close();
        setImmediate(() => {
          session.destroy();
          socket.destroy();
        });
      } else {
        session.destroy();
        socket.destroy();
      }
    });
    socket.destroy();
  }

  canHandleRequest(origin: Origin): boolean {
    return origin.equals(this.#origin);
  }

  tryReserve(request: Request): boolean {
    if (!this.isAvailable()) return false;
    this.#reserved.add(request);
    this.#expireAt = null;
    return true;
  }

  unreserve(request: Request): void {
    if (this.#reserved.delete(request)) this.#becameUnused();
  }

  isAvailable(): boolean {
    if (this.#closed || this.#goaway !== null || this.#session.destroyed) return false;
    const max = this.maxConcurrentStreams;
    return this.#reserved.size < max && this.#active < max;
  }

  hasExpired(): boolean {
    if (this.#closed || this.#session.destroyed) return true;
    if (!this.#isUnused()) return false;
    if (this.#goaway !== null) return true;
    return this.#expireAt !== null && performance.now() > this.#expireAt;
  }

  isIdle(): boolean {
    return !this.#closed && this.#isUnused();
  }

  isClosed(): boolean {
    return this.#closed;
  }

  info(): string {
    return `'${this.#origin}', HTTP/2, ${this.state}, Request Count: ${this.#requestCount}`;
  }

  /** Closes it: `await using conn = await HTTP2Connection.open(...)`, as the others. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `<HTTP2Connection [${this.info()}]>`;
  }
}

printable(HTTP2Connection);

type Waiter = {
  resolve: (chunk: Uint8Array | null) => void;
  reject: (error: unknown) => void;
};

/**
 * One request on one stream, and its response body. The body is read in paused mode, so
 * the server gets window only as it is consumed.
 */
class H2Exchange extends Body {
  readonly #connection: HTTP2Connection;
  readonly #request: Request;
  readonly #reused: boolean;
  readonly #readTimeout: number | undefined;
  #stream: http2.ClientHttp2Stream | null = null;
  #ended = false;
  #failure: unknown = null;
  #headWaiter: { resolve: (r: Response) => void; reject: (e: unknown) => void } | null = null;
  #waiter: Waiter | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #stopWatching: (() => void) | null = null;
  readonly #extensions: Record<string, unknown>;
  #started = false;
  #gotHead = false;
  #finished = false;

  constructor(connection: HTTP2Connection, request: Request, reused: boolean) {
    super();
    this.#connection = connection;
    this.#request = request;
    this.#reused = reused;
    this.#readTimeout = request.extensions.timeout?.read;
    this.#extensions = {
      httpVersion: "HTTP/2",
      reasonPhrase: "",
      networkStream: connection.infoStream,
    };
  }

  /** @internal A GOAWAY came: a stream above its last id that has not ended fails. */
  goneAway(lastStreamId: number): void {
    const stream = this.#stream;
    if (stream === null || this.#endStream === true || this.#finished) return;
    if (stream.id !== undefined && stream.id <= lastStreamId) return;
    this.#fail(this.#connection.streamError(stream, null), NGHTTP2_CANCEL);
  }

  start(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<Response> {
    const head = new Promise<Response>((resolve, reject) => {
      this.#headWaiter = { resolve, reject };
    });
    if (this.#request.extensions.trace === undefined) {
      this.#send(session, headers);
      return head;
    }
    head.catch(() => {});
    return this.#tracedStart(session, headers, head);
  }

  async #tracedStart(
    session: http2.ClientHttp2Session,
    headers: http2.OutgoingHttpHeaders,
    head: Promise<Response>,
  ): Promise<Response> {
    const request = this.#request;
    let sending: Promise<void> | null = null;
    await traced("http2.send_request_headers", request, { request }, async () => {
      sending = this.#send(session, headers);
    });
    if (sending !== null) {
      const body: Promise<void> = sending;
      // Until the body is sent, or the server has answered already.
      await traced("http2.send_request_body", request, { request }, () =>
        Promise.race([body, head.then(noop, noop)]),
      );
    }
    return traced("http2.receive_response_headers", request, { request }, () => head);
  }

  // Opens the stream with the request's head; returns the body's sending, if there is a body.
  #send(
    session: http2.ClientHttp2Session,
    headers: http2.OutgoingHttpHeaders,
  ): Promise<void> | null {
    const request = this.#request;
    const content = request.content;
    const empty = content === undefined || (content instanceof Uint8Array && content.length === 0);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: empty });
    } catch (error) {
      const code = (error as { code?: string }).code;
      const message = (error as Error).message;
      this.#fail(
        code !== undefined && LOCAL_ERRORS.has(code)
          ? new LocalProtocolError(`the request cannot be sent over HTTP/2: ${message}`, {
              cause: error,
            })
          : new ConnectionNotAvailable(`no new stream on this connection: ${message}`, {
              cause: error,
            }),
      );
      return null;
    }
    this.#stream = stream;
    this.#listen(stream);
    const signal = request.signal;
    if (signal !== undefined) {
      this.#stopWatching = watchAbort(signal, () => this.#fail(signal.reason, NGHTTP2_CANCEL));
    }
    this.#armTimer();
    return empty ? null : this.#sendBody(stream);
  }

  #listen(stream: http2.ClientHttp2Stream): void {
    // Whether the response ended with END_STREAM. node:http2 ends the readable side the same
    // way for END_STREAM and for a reset with NO_ERROR; what differs is when: END_STREAM
    // ends it while the stream is still open, a reset after the stream closed. So the first
    // end pushed tells which (a truncated body is then an error, with or without
    // Content-Length). If node:http2 ever pushes its end another way, nothing is told
    // apart, as before.
    const push = stream.push;
    stream.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (chunk === null && this.#endStream === null) this.#endStream = !stream.closed;
      return push.call(stream, chunk, encoding);
    };
    stream.on("response", (headers, _flags, raw?: string[]) => {
      this.#connection.received();
      this.#gotHead = true;
      this.#armTimer();
      const head = this.#headWaiter;
      this.#headWaiter = null;
      const status = Number(headers[":status"]);
      const length = headers["content-length"];
      if (
        typeof length === "string" &&
        /^\d+$/.test(length) &&
        this.#request.method !== "HEAD" &&
        status !== 204 &&
        status !== 304
      ) {
        this.#expectedLength = Number(length);
      }
      const response = new Response(status, {
        headers: fromRaw(raw, headers),
        content: this,
        extensions: this.#extensions,
      });
      head?.resolve(response);
    });
    stream.on("trailers", (headers, _flags, raw?: string[]) => {
      this.#extensions.trailers = fromRaw(raw, headers);
    });
    stream.on("readable", this.#onReadable);
    stream.on("end", () => {
      if (this.#failure !== null) {
        this.#rejectWaiter();
        return;
      }
      // node:http2 ends the readable side when the stream closes, however it closed: a reset
      // (RST_STREAM with an error code, the session going away) is told by its code, and a
      // reset with NO_ERROR before the body's declared length by the length.
      const code = stream.rstCode;
      if ((typeof code === "number" && code !== NGHTTP2_NO_ERROR) || !this.#gotHead) {
        this.#fail(this.#connection.streamError(stream, null));
        return;
      }
      // node:http2 pushes the end after the stream closed for END_STREAM too, when the
      // reader was paused with the stream's window full: a body whose declared length all
      // came is whole either way.
      if (this.#endStream === false && this.#receivedLength !== this.#expectedLength) {
        this.#fail(
          Object.assign(
            new RemoteProtocolError(
              `the server reset the stream (RST_STREAM NO_ERROR) before the response ended (after ${this.#receivedLength} bytes of the body)`,
            ),
            { errorCode: NGHTTP2_NO_ERROR },
          ),
        );
        return;
      }
      if (this.#expectedLength !== null && this.#receivedLength !== this.#expectedLength) {
        this.#fail(
          new RemoteProtocolError(
            `the stream ended after ${this.#receivedLength} of the ${this.#expectedLength} bytes the server announced`,
          ),
        );
        return;
      }
      this.#ended = true;
      this.#extensions.trailers ??= [];
      this.#settle(null);
    });
    stream.on("error", (error: unknown) => {
      if (this.#failure === null && !this.#ended) {
        this.#fail(this.#connection.streamError(stream, error));
      }
    });
    stream.on("close", () => {
      if (this.#failure === null && !this.#ended) {
        this.#fail(this.#connection.streamError(stream, null));
      }
    });
  }

  // True when the response ended with END_STREAM, false when a reset ended it (null: not yet).
  #endStream: boolean | null = null;
  // The body's Content-Length (when it has one), and the bytes read so far.
  #expectedLength: number | null = null;
  #receivedLength = 0;

  #rejectWaiter(): void {
    const waiter = this.#waiter;
    if (waiter === null) return;
    this.#waiter = null;
    waiter.reject(this.#failure);
  }

  readonly #onReadable = (): void => {
    const waiter = this.#waiter;
    if (waiter === null || this.#stream === null) return;
    const chunk = this.#stream.read() as Uint8Array | null;
    if (chunk !== null) {
      this.#receivedLength += chunk.length;
      this.#settle(chunk);
    }
  };

  #armTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const timeout = this.#readTimeout;
    if (timeout === undefined) return;
    // While nobody waits for a byte (head arrived, body not being read) nothing is timed.
    if (this.#gotHead && this.#waiter === null) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#fail(new ReadTimeout(`no data arrived within ${timeout} ms`), NGHTTP2_CANCEL);
    }, timeout);
  }

  async #sendBody(stream: http2.ClientHttp2Stream): Promise<void> {
    const request = this.#request;
    const timeout = request.extensions.timeout?.write;
    try {
      const content = request.content;
      if (content instanceof Uint8Array) {
        stream.end(content);
        return;
      }
      for await (const chunk of request.stream()) {
        if (this.#failure !== null || this.#ended) return;
        if (!stream.write(chunk)) await drained(stream, timeout);
      }
      if (this.#failure === null) stream.end();
    } catch (error) {
      if (this.#failure !== null) return;
      // A server that answered already (say, a 413) is heard; the rest is not sent.
      if (error instanceof WriteError && this.#gotHead) return;
      this.#fail(error, NGHTTP2_CANCEL);
    }
  }

  // Settles the pending read with a chunk or the end.
  #settle(chunk: Uint8Array | null): void {
    const waiter = this.#waiter;
    if (waiter === null) return;
    this.#waiter = null;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    waiter.resolve(chunk);
  }

  // Fails the exchange: the head's promise or the pending read rejects; the stream is reset
  // with `code` when given (we end it), else it was the server's doing.
  #fail(error: unknown, code?: number): void {
    if (this.#failure !== null || this.#finished) return;
    const signal = this.#request.signal;
    this.#failure = signal?.aborted ? signal.reason : error;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const stream = this.#stream;
    if (code !== undefined && stream !== null && !stream.closed) stream.close(code);
    const head = this.#headWaiter;
    if (head !== null) {
      this.#headWaiter = null;
      // Failed before a byte of the response: a reused connection's failure may be retried.
      if (
        this.#reused &&
        !this.#gotHead &&
        this.#failure instanceof ReadError &&
        this.#failure.retry === undefined
      ) {
        this.#failure.retry = "reused-connection";
      }
      this.#done();
      head.reject(this.#failure);
      return;
    }
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.reject(this.#failure);
    }
  }

  // The exchange holds its stream no more.
  #done(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#stopWatching?.();
    this.#stopWatching = null;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const stream = this.#stream;
    if (stream !== null && !stream.closed && !this.#ended) stream.close(NGHTTP2_CANCEL);
    this.#connection.exchangeDone(this);
  }

  protected pull(): Uint8Array | null | Promise<Uint8Array | null> {
    const trace = this.#request.extensions.trace;
    if (trace !== undefined) return this.#tracedPull(trace);
    return this.#next();
  }

  #next(): Uint8Array | null | Promise<Uint8Array | null> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const stream = this.#stream!;
    const chunk = stream.read() as Uint8Array | null;
    if (chunk !== null) {
      this.#receivedLength += chunk.length;
      return chunk;
    }
    if (this.#ended) return null;
    return new Promise<Uint8Array | null>((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#armTimer();
      // 'end' comes only once a read has found the buffer empty at the end.
      const again = stream.read() as Uint8Array | null;
      if (again !== null) {
        this.#receivedLength += again.length;
        this.#settle(again);
      }
    });
  }

  async #tracedPull(
    trace: NonNullable<Request["extensions"]["trace"]>,
  ): Promise<Uint8Array | null> {
    const request = this.#request;
    if (!this.#started) {
      this.#started = true;
      await trace("http2.receive_response_body.started", { request });
    }
    let chunk: Uint8Array | null;
    try {
      chunk = await this.#next();
    } catch (error) {
      await trace("http2.receive_response_body.failed", { request, exception: error });
      throw error;
    }
    if (chunk === null) await trace("http2.receive_response_body.complete", { request });
    return chunk;
  }

  protected finish(): Promise<void> {
    return traced("http2.response_closed", this.#request, {}, () => {
      this.#done();
      return SETTLED;
    });
  }

  protected override failure(error: unknown): unknown {
    const signal = this.#request.signal;
    return signal?.aborted ? signal.reason : error;
  }
}

// Waits until `stream` takes more (its 'drain'), or fails.
function drained(stream: http2.ClientHttp2Stream, timeout: number | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (error: Error | null): void => {
      stream.off("drain", onDrain);
      stream.off("close", onClose);
      if (timer !== undefined) clearTimeout(timer);
      if (error === null) resolve();
      else reject(error);
    };
    const onDrain = (): void => done(null);
    const onClose = (): void => done(new WriteError("the stream closed while sending the body"));
    stream.on("drain", onDrain);
    stream.on("close", onClose);
    if (timeout !== undefined) {
      timer = setTimeout(
        () => done(new WriteTimeout(`the server did not take our bytes within ${timeout} ms`)),
        timeout,
      );
    }
  });
}
