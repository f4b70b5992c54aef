// HTTP11Connection: one request at a time over one NetworkStream, framed by @x/h11.
//
// Lifecycle: NEW → ACTIVE (a request is in flight) → IDLE (kept alive) → ACTIVE ... and
// CLOSED when either side will not go on. A response's body must be read to the end (or
// the response closed) before the connection is IDLE again; closing a response whose body
// was not read to the end closes the connection, since the bytes left on the wire would
// otherwise be taken for the next response.
//
// Requests with a body are written while the response is already being read, so a server
// that answers early (a 413 before the upload is over) is heard, as httpcore hears it when
// the write fails.
//
// A connection is not reused while what the server sent right behind a response may still
// be on its way to us: such bytes (junk, a second response nobody asked for, a body sent
// after HEAD) would answer the next request. Bytes read together with the end of a response
// close the connection when the response ends (#responseClosed). Bytes of the same poll
// phase that come in a later read (the read that ended the response filled its buffer, so
// the socket is read again at once; the stream says so with "read_may_continue") are waited
// for: the request goes in the check phase after that poll phase (setImmediate), when the
// connection is looked at again. A request that must not be sent twice (see canRetry) waits
// longer, until a whole poll phase has passed (two check phases): a FIN, a reset or stray
// bytes the server sent right behind its response may be in the kernel already, not yet
// delivered to us. A stale connection fails the request with ConnectionNotAvailable, which
// the pool answers with another connection.
// While other exchanges are in flight, a request for a connection released in this pass
// waits for the pass's check phase all the same, so that the requests answered in one poll
// phase leave together: a busy server is then woken once for them, not once for each (64 KiB
// responses on 50 connections: ~9% more per second, and half the server's context
// switches). Alone, after a read that emptied the socket, a request goes at once: nothing
// more can arrive before the next poll phase, however long we wait in this one.

import {
  Connection as H11Connection,
  type Event as H11Event,
  ProtocolError as H11ProtocolError,
  NEED_DATA,
} from "@x/h11";
import { type AbortSignalLike, watchAbort } from "./abort.js";
import { Body } from "./body.js";
import { concat } from "./bytes.js";
import {
  type ConnectionInterface,
  canRetry,
  type ResponseReceiver,
} from "./connection-interface.js";
import {
  ConnectionNotAvailable,
  LocalProtocolError,
  NetworkError,
  RemoteProtocolError,
  WriteError,
} from "./errors.js";
import { type HeaderList, type Request, Response, type Timeouts } from "./models.js";
import type { NetworkStream } from "./network.js";
import { printable } from "./printable.js";
import { SETTLED } from "./settled.js";
import { traced } from "./trace.js";
import type { Origin } from "./url.js";

/**
 * The states of an HTTP/1.1 connection.
 *
 * @example
 * if (conn.state === "IDLE") console.log("ready for the next request")
 */
export type HTTP11State = "NEW" | "ACTIVE" | "IDLE" | "CLOSED";

/**
 * Options of an HTTP11Connection.
 *
 * @example
 * new HTTP11Connection(origin, stream, { keepaliveExpiry: 30_000 })
 */
export interface HTTP11ConnectionOptions {
  /** Milliseconds an idle connection may be kept; undefined keeps it until the server closes it. */
  readonly keepaliveExpiry?: number | undefined;
  /** Shared by the connections of one pool (see WriteScheduler); default: a shared one. */
  readonly writeScheduler?: WriteScheduler | undefined;
  /**
   * The most bytes a response head may take (status line and fields, the blank line that
   * ends it not counted), and likewise a chunk-size line or the trailers. Default 100 KiB,
   * as httpcore. A larger one is a RemoteProtocolError, however it arrives.
   */
  readonly maxHeaderSize?: number | undefined;
}

const SETTLE_TURNS = 2;

/**
 * The turns of the event loop that connections sharing it count, and how many of them have
 * an exchange in flight: the state behind the write timing at the top of http11.ts. A pool
 * gives one to all its connections (`HTTPConnectionOptions.writeScheduler`), so that the
 * requests it releases together leave together, and one pool's traffic never delays
 * another's writes. Connections made without one share a default.
 *
 * `turn` moves on in each check phase (where setImmediate runs) while a request waits for
 * it. A connection that became idle at turn T has been through a whole poll phase (the
 * kernel's news about its socket delivered) once turn is T + 2; since turns are counted only
 * while someone waits, that may be later than needed, never sooner.
 *
 * @example
 * const writeScheduler = new WriteScheduler();
 * const a = new HTTPConnection(originA, { writeScheduler }), b = new HTTPConnection(originB, { writeScheduler });
 */
export class WriteScheduler {
  /** The current turn. */
  turn = 0;
  /** Connections with an exchange in flight (state ACTIVE). */
  exchanges = 0;
  #ticking = false;
  // Callbacks due when this turn ends, and when the one after it ends; a spare array.
  #dueNext: Array<() => void> = [];
  #dueAfter: Array<() => void> = [];
  #spare: Array<() => void> = [];
  readonly #tick = (): void => {
    this.turn++;
    const due = this.#dueNext;
    this.#dueNext = this.#dueAfter;
    this.#dueAfter = this.#spare;
    if (this.#dueNext.length > 0) setImmediate(this.#tick);
    else this.#ticking = false;
    for (let i = 0; i < due.length; i++) {
      try {
        due[i]!();
      } catch (error) {
        // One connection's failure must not cost the others their turn; it is still thrown.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    due.length = 0;
    this.#spare = due;
  };

  /** Calls `f` when `turn` reaches `until` (turn + 1 or turn + 2). */
  atTurn(until: number, f: () => void): void {
    (until <= this.turn + 1 ? this.#dueNext : this.#dueAfter).push(f);
    if (!this.#ticking) {
      this.#ticking = true;
      setImmediate(this.#tick);
    }
  }
}

const DEFAULT_SCHEDULER = new WriteScheduler();

// As large as NodeBackend's read buffers, so that a read is never split.
const READ_NUM_BYTES = 128 * 1024;
const DEFAULT_MAX_HEADER_SIZE = 100 * 1024;
// Bodies up to this size are written together with the head, in one write.
const COALESCE_LIMIT = 16 * 1024;
// A server's "Keep-Alive: timeout=N" is trusted minus this margin, so that we stop using the
// connection before the server closes it.
const KEEPALIVE_HINT_MARGIN_MS = 1000;

// "Keep-Alive" in any case, without lower-casing ("Connection" has the same length).
function isKeepAliveName(name: string): boolean {
  if (name === "Keep-Alive" || name === "keep-alive") return true;
  if (name.length !== 10) return false;
  for (let i = 0; i < 10; i++) {
    let c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== "keep-alive".charCodeAt(i)) return false;
  }
  return true;
}

// A server sends the same Keep-Alive value every time: its parse is kept for the next one.
let lastKeepAlive = "";
let lastHint: number | null = null;

function keepAliveHint(headers: HeaderList): number | null {
  let value: string | undefined;
  for (const [name, v] of headers) {
    if (isKeepAliveName(name)) {
      value = v;
      break;
    }
  }
  if (value === undefined) return null;
  if (value !== lastKeepAlive) {
    const match = /(?:^|[,;\s])timeout\s*=\s*"?(\d+)/i.exec(value);
    lastHint = match === null ? null : Number(match[1]) * 1000;
    lastKeepAlive = value;
  }
  return lastHint;
}

const NO_TIMEOUTS: Timeouts = {};

// A failure found before anything was sent, handed over a microtask later: a receiver is
// never called from within sendTo (the pool may be placing other requests then).
function later(receiver: ResponseReceiver, error: unknown): void {
  queueMicrotask(() => receiver.onError(error));
}

// "HTTP/1.1" for "1.1": the usual two without building a string.
function httpVersionName(version: string | undefined): string {
  if (version === undefined || version === "1.1") return "HTTP/1.1";
  return version === "1.0" ? "HTTP/1.0" : `HTTP/${version}`;
}

type ResponseHead = H11Event & { type: "Response" | "InformationalResponse" };

// The events that end the wait for a response: a final response, or a switch (101).
function isResponseHead(event: H11Event): event is ResponseHead {
  return (
    event.type === "Response" || (event.type === "InformationalResponse" && event.status === 101)
  );
}

// Bodies up to COALESCE_LIMIT bytes are written with the head; others are streamed.
function fitsOneWrite(content: Request["content"]): content is Uint8Array | undefined {
  return (
    content === undefined || (content instanceof Uint8Array && content.length <= COALESCE_LIMIT)
  );
}

/**
 * A stream with bytes already read from it put back in front: after a protocol switch (2xx
 * to CONNECT, 101) the bytes h11 had read past the response head, after a SOCKS handshake
 * those read past the proxy's reply. Reads give them first. TLS cannot start while any are
 * left (a TLS client speaks first): `startTls` then fails with RemoteProtocolError.
 *
 * @example
 * const stream = new PrefixedStream(inner, leftover);
 */
export class PrefixedStream implements NetworkStream {
  readonly #stream: NetworkStream;
  #trailing: Uint8Array;

  constructor(stream: NetworkStream, trailing: Uint8Array) {
    this.#stream = stream;
    this.#trailing = trailing;
  }

  read(maxBytes: number, timeout?: number): Promise<Uint8Array> {
    if (this.#trailing.length > 0) {
      const out = this.#trailing.subarray(0, maxBytes);
      this.#trailing = this.#trailing.subarray(out.length);
      return Promise.resolve(out);
    }
    return this.#stream.read(maxBytes, timeout);
  }

  write(data: Uint8Array, timeout?: number): Promise<void> {
    return this.#stream.write(data, timeout);
  }

  close(): Promise<void> {
    return this.#stream.close();
  }

  startTls(...args: Parameters<NetworkStream["startTls"]>): Promise<NetworkStream> {
    if (this.#trailing.length > 0) {
      // A TLS client speaks first: bytes the peer sent after its switch and before our
      // ClientHello are not TLS we can start on, and dropping them would hide them.
      const count = this.#trailing.length;
      this.#trailing = this.#trailing.subarray(count);
      return this.#stream.close().then(() => {
        throw new RemoteProtocolError(
          `${count} byte(s) arrived after the switch (a 2xx to CONNECT, a 101, a SOCKS reply) and before TLS began`,
        );
      });
    }
    return this.#stream.startTls(...args);
  }

  getExtraInfo(key: string): unknown {
    if (key === "is_readable" && this.#trailing.length > 0) return true;
    return this.#stream.getExtraInfo(key);
  }
}

/**
 * The network stream as an ordinary response shows it (`extensions.networkStream`, as
 * httpcore's "network_stream"): for looking at, not for reading. `getExtraInfo()` answers
 * ("server_addr", "client_addr", "ssl_object" with the TLS socket, its ALPN protocol and
 * certificate, "is_readable", ...); `read`, `write`, `startTls` and `close` reject with
 * LocalProtocolError, since the bytes on this stream are the response's body and the
 * connection's next responses. Only after a protocol switch (101, 2xx to CONNECT) does a
 * response carry the stream itself.
 *
 * @example
 * const alpn = (response.extensions.networkStream?.getExtraInfo("ssl_object") as TLSSocket | undefined)?.alpnProtocol
 */
export class ExtraInfoStream implements NetworkStream {
  readonly #stream: NetworkStream;

  constructor(stream: NetworkStream) {
    this.#stream = stream;
  }

  #refuse(what: string): Promise<never> {
    return Promise.reject(
      new LocalProtocolError(
        `cannot ${what} the network stream of a response that did not switch protocols: its bytes are the connection's, this response's body among them (read response.stream); it answers getExtraInfo() only`,
      ),
    );
  }

  read(): Promise<Uint8Array> {
    return this.#refuse("read from");
  }

  write(): Promise<void> {
    return this.#refuse("write to");
  }

  close(): Promise<void> {
    return this.#refuse("close");
  }

  startTls(): Promise<NetworkStream> {
    return this.#refuse("start TLS on");
  }

  getExtraInfo(key: string): unknown {
    return this.#stream.getExtraInfo(key);
  }
}

/**
 * An HTTP/1.1 connection over an open NetworkStream, one request at a time.
 *
 * @example
 * const stream = await new NodeBackend().connectTcp("example.com", 80);
 * const conn = new HTTP11Connection(new Origin("http", "example.com", 80), stream);
 * const res = await conn.handleRequest(new Request("GET", "http://example.com/", { headers: { Host: "example.com" } }));
 */
export class HTTP11Connection implements ConnectionInterface {
  readonly #origin: Origin;
  readonly #stream: NetworkStream;
  // What ordinary responses carry as networkStream (made on the first).
  #infoStream: ExtraInfoStream | null = null;
  readonly #keepaliveExpiry: number | undefined;
  readonly #scheduler: WriteScheduler;
  #h11: H11Connection;
  #state: HTTP11State = "NEW";
  #requestCount = 0;
  #expireAt: number | null = null;
  #keepaliveHint: number | null = null;
  // Response bytes received in the current cycle.
  #received = 0;
  // The turn of the event loop in which the connection last became idle (see the top).
  #idleTurn = -SETTLE_TURNS;
  // The request holding this connection's one place (tryReserve), until unreserve.
  #reservedFor: Request | null = null;
  // The extensions of the response being read, which get its trailers at its end.
  #extensions: Record<string, unknown> | null = null;
  // Stops watching the AbortSignal of the request in flight.
  #stopWatching: (() => void) | null = null;
  // The signal of the request in flight, watched until its response is closed.
  #signal: AbortSignalLike | null = null;
  // Where the outcome of the request in flight goes, until its response head has arrived
  // (or it failed); and a request taken while idle only just now, until its settled turn.
  #receiver: ResponseReceiver | null = null;
  #waiting: Request | null = null;
  // The request whose round trip (written, its response head read) is under way.
  #current: Request | null = null;

  constructor(origin: Origin, stream: NetworkStream, options: HTTP11ConnectionOptions = {}) {
    this.#origin = origin;
    this.#stream = stream;
    this.#keepaliveExpiry = options.keepaliveExpiry;
    this.#scheduler = options.writeScheduler ?? DEFAULT_SCHEDULER;
    this.#h11 = new H11Connection("client", {
      maxIncompleteEventSize: options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
    });
  }

  #setState(next: HTTP11State): void {
    if (next === "ACTIVE") {
      if (this.#state !== "ACTIVE") this.#scheduler.exchanges++;
    } else if (this.#state === "ACTIVE") {
      this.#scheduler.exchanges--;
    }
    this.#state = next;
  }

  /** NEW, ACTIVE, IDLE or CLOSED. */
  get state(): HTTP11State {
    return this.#state;
  }

  /** How many requests this connection has taken. */
  get requestCount(): number {
    return this.#requestCount;
  }

  handleRequest(request: Request): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      this.sendTo(request, { onResponse: resolve, onError: reject });
    });
  }

  /**
   * handleRequest with the outcome handed to `receiver` (see ConnectionInterface.sendTo):
   * the pool's way in, with no promise between the connection and the pool.
   */
  sendTo(request: Request, receiver: ResponseReceiver): void {
    let refusal: unknown = null;
    if (!this.canHandleRequest(request.url.origin)) {
      refusal = new ConnectionNotAvailable(
        `Attempted to send request to ${request.url.origin} on connection to ${this.#origin}`,
      );
    } else if (this.#state !== "NEW" && this.#state !== "IDLE") {
      refusal = new ConnectionNotAvailable(`the connection is ${this.#state}`);
    } else if (request.signal?.aborted) {
      refusal = request.signal.reason;
    } else if (this.#state === "IDLE") {
      const scheduler = this.#scheduler;
      const wait = !canRetry(request)
        ? SETTLE_TURNS
        : scheduler.exchanges > 0 || this.#stream.getExtraInfo("read_may_continue") !== false
          ? 1
          : 0;
      const settled = this.#idleTurn + wait;
      if (scheduler.turn < settled) {
        // Idle only just now: taken at once, used once the wait (see the top) is over.
        this.#setState("ACTIVE");
        this.#waiting = request;
        this.#receiver = receiver;
        scheduler.atTurn(settled, this.#sendWaiting);
        return;
      }
      refusal = this.#closeIfExpired();
    }
    if (refusal !== null) {
      later(receiver, refusal);
      return;
    }
    this.#start(request, receiver);
  }

  // The settled turn of a request taken while the connection was idle only just now.
  readonly #sendWaiting = (): void => {
    const request = this.#waiting!;
    const receiver = this.#receiver!;
    this.#waiting = null;
    this.#receiver = null;
    if (this.#state === "CLOSED") {
      receiver.onError(new WriteError("the connection was closed before the request was sent"));
      return;
    }
    this.#setState("IDLE");
    if (request.signal?.aborted) {
      // Aborted before a byte was written: the connection is as it was.
      receiver.onError(request.signal.reason);
      return;
    }
    const expired = this.#closeIfExpired();
    if (expired !== null) {
      receiver.onError(expired);
      return;
    }
    this.#start(request, receiver);
  };

  // An idle connection that has expired (its keep-alive time is up, or the server closed
  // it) is closed; what the request it was to take fails with, or null.
  #closeIfExpired(): ConnectionNotAvailable | null {
    if (!this.hasExpired()) return null;
    void this.close();
    return new ConnectionNotAvailable("the server closed the connection while it was idle");
  }

  #start(request: Request, receiver: ResponseReceiver): void {
    let head: Uint8Array;
    try {
      // h11 checks the head before it changes any state: a request it refuses (say, two Host
      // fields) fails here, with nothing written and the connection still usable.
      head = this.#send({
        type: "Request",
        method: request.method,
        target: request.target,
        headers: request.headers,
      });
    } catch (error) {
      // Nothing was written. A connection that never carried a request is open with nothing
      // in flight now: idle, so that the next request (or the pool, making room) can use it.
      if (this.#state === "NEW") {
        this.#setState("IDLE");
        this.#startExpiryClock();
      }
      later(receiver, error);
      return;
    }
    this.#requestCount++;
    this.#setState("ACTIVE");
    this.#expireAt = null;
    this.#received = 0;
    this.#receiver = receiver;
    // An abort from now until the response is closed costs the connection (HTTP/1.1 cannot
    // take back a request in flight). Until the head has arrived it also fails the request
    // at once, whatever the round trip was waiting for: a stream whose write does not fail
    // on close() (the NetworkStream contract asks only reads to) must not hold it.
    const signal = request.signal;
    if (signal !== undefined) {
      this.#signal = signal;
      this.#stopWatching = watchAbort(signal, this.#onAbort);
    }
    this.#roundTrip(request, head);
  }

  readonly #onAbort = (): void => {
    const reason = this.#signal?.reason;
    void this.close();
    this.#settle(null, reason);
  };

  // Hands the round trip's outcome to the receiver of the request in flight (none after an
  // abort has: the connection is closed, and a response that came after is dropped).
  #settle(response: Response | null, error: unknown): void {
    const receiver = this.#receiver;
    if (receiver === null) return;
    this.#receiver = null;
    if (response !== null) receiver.onResponse(response);
    else receiver.onError(error);
  }

  // Sends the request in flight and reads its response head. The common case (no trace, a
  // body that fits one write) runs on functions made once per connection (#readHead and
  // the callbacks of its reads), with no async function or closure per request; the rest
  // is #exchange's. Either way the outcome goes through #settle.
  #roundTrip(request: Request, head: Uint8Array): void {
    this.#current = request;
    const content = request.content;
    try {
      if (request.extensions.trace !== undefined || !fitsOneWrite(content)) {
        const timeouts = request.extensions.timeout ?? NO_TIMEOUTS;
        this.#exchange(request, head, timeouts.write, timeouts.read).then(
          this.#headArrived,
          this.#roundTripFailed,
        );
        return;
      }
      // The whole request in one write, then the head.
      const writing = this.#stream.write(
        this.#wholeRequest(head, content),
        request.extensions.timeout?.write,
      );
      if (writing !== SETTLED) {
        writing.then(this.#readHead, this.#writeFailed);
        return;
      }
    } catch (error) {
      this.#roundTripFailed(error);
      return;
    }
    this.#readHead();
  }

  // A write that failed with WriteError may still have a response to read (a server that
  // answered and closed before taking the whole request).
  readonly #writeFailed = (error: unknown): void => {
    if (error instanceof WriteError) this.#readHead();
    else this.#roundTripFailed(error);
  };

  // Takes h11's events until the response head, reading the stream while it needs bytes
  // (without a promise when the stream can: readOrWait).
  readonly #readHead = (): void => {
    let event: H11Event | null;
    try {
      for (;;) {
        event = this.#pull();
        if (event === null) {
          const stream = this.#stream;
          const timeout = this.#current!.extensions.timeout?.read;
          if (stream.readOrWait === undefined) {
            stream.read(READ_NUM_BYTES, timeout).then(this.#headBytes, this.#roundTripFailed);
            return;
          }
          const data = stream.readOrWait(
            READ_NUM_BYTES,
            timeout,
            this.#headBytes,
            this.#roundTripFailed,
          );
          if (data === null) return;
          this.#feed(data);
          continue;
        }
        if (isResponseHead(event)) break;
      }
    } catch (error) {
      this.#roundTripFailed(error);
      return;
    }
    this.#headArrived(event);
  };

  readonly #headBytes = (data: Uint8Array): void => {
    try {
      this.#feed(data);
    } catch (error) {
      this.#roundTripFailed(error);
      return;
    }
    this.#readHead();
  };

  readonly #headArrived = (head: ResponseHead): void => {
    const request = this.#current!;
    let response: Response;
    try {
      response = this.#makeResponse(request, head);
    } catch (error) {
      this.#roundTripFailed(error);
      return;
    }
    // The connection holds no request of the caller's past its round trip (its body, say).
    this.#current = null;
    this.#settle(response, null);
  };

  readonly #roundTripFailed = (error: unknown): void => {
    void this.#afterFailure(this.#current!, error);
  };

  // The round trip failed: the connection closes, and the request fails (with the signal's
  // reason when it was aborted; marked for another try on a new connection when a kept-alive
  // connection failed before any byte of the response).
  async #afterFailure(request: Request, error: unknown): Promise<void> {
    this.#current = null;
    try {
      await traced("http11.response_closed", request, {}, () => this.#responseClosed());
    } catch (traceError) {
      this.#settle(null, traceError);
      return;
    }
    if (request.signal?.aborted) {
      this.#settle(null, request.signal.reason);
      return;
    }
    if (
      this.#requestCount > 1 &&
      this.#received === 0 &&
      (error instanceof NetworkError || error instanceof RemoteProtocolError)
    ) {
      error.retry = "reused-connection";
    }
    this.#settle(null, error);
  }

  // A request without a body, or with a small one: head, body and end in one array.
  #wholeRequest(head: Uint8Array, content: Uint8Array | undefined): Uint8Array {
    if (content === undefined || content.length === 0) {
      const end = this.#send({ type: "EndOfMessage" });
      return end.length === 0 ? head : concat([head, end]);
    }
    const data = this.#sendParts({ type: "Data", data: content });
    return concat([head, ...data, this.#send({ type: "EndOfMessage" })]);
  }

  // Sends the request and reads the response head.
  async #exchange(
    request: Request,
    head: Uint8Array,
    writeTimeout: number | undefined,
    readTimeout: number | undefined,
  ): Promise<ResponseHead> {
    const content = request.content;
    if (fitsOneWrite(content)) {
      const bytes = this.#wholeRequest(head, content);
      if (request.extensions.trace !== undefined) {
        await traced("http11.send_request_headers", request, { request }, async () => {});
      }
      try {
        await traced("http11.send_request_body", request, { request }, () =>
          this.#stream.write(bytes, writeTimeout),
        );
      } catch (error) {
        if (!(error instanceof WriteError)) throw error;
      }
      return traced("http11.receive_response_headers", request, { request }, () =>
        this.#receiveResponseHead(readTimeout),
      );
    }

    await traced("http11.send_request_headers", request, { request }, () =>
      this.#stream.write(head, writeTimeout),
    );
    // The body is written while we listen for the response (see the top of this file).
    let sendError: unknown = null;
    const sending = traced("http11.send_request_body", request, { request }, () =>
      this.#sendBody(request, writeTimeout),
    ).catch((error: unknown) => {
      if (error instanceof WriteError) return;
      sendError = error;
      void this.#stream.close();
    });
    const receiving = this.#receiveResponseHead(readTimeout);
    receiving.catch(() => {});
    await Promise.race([sending, receiving.then(undefined, () => {})]);
    try {
      return await traced("http11.receive_response_headers", request, { request }, () => receiving);
    } catch (error) {
      // Not waiting for the upload: its body may be stalled (an iterator that yields
      // nothing for a long time), and an abort or a timeout must not wait for it. Its
      // failure, if it came first, is the one to report (it closed the stream); once this
      // connection is closed, its next chunk fails it quietly.
      throw sendError ?? error;
    }
  }

  async #sendBody(request: Request, timeout: number | undefined): Promise<void> {
    for await (const chunk of request.stream()) {
      if (this.#state === "CLOSED")
        throw new WriteError("the connection closed while sending the body");
      for (const part of this.#sendParts({ type: "Data", data: chunk })) {
        await this.#stream.write(part, timeout);
      }
    }
    await this.#stream.write(this.#send({ type: "EndOfMessage" }), timeout);
  }

  #send(event: Exclude<H11Event, { type: "ConnectionClosed" }>): Uint8Array {
    return concat(this.#sendParts(event));
  }

  // h11's bytes for an event; the body is passed through without a copy.
  #sendParts(event: Exclude<H11Event, { type: "ConnectionClosed" }>): Uint8Array[] {
    try {
      return this.#h11.sendWithDataPassthrough(event);
    } catch (error) {
      if (error instanceof H11ProtocolError) {
        throw new LocalProtocolError(error.message, { cause: error });
      }
      throw error;
    }
  }

  // The next event from h11, or null when it needs bytes. Throws RemoteProtocolError.
  #pull(): H11Event | null {
    let event: ReturnType<H11Connection["nextEvent"]>;
    try {
      event = this.#h11.nextEvent();
    } catch (error) {
      if (error instanceof H11ProtocolError)
        throw new RemoteProtocolError(error.message, { cause: error });
      throw error;
    }
    if (event === NEED_DATA) return null;
    if (event.type === "PAUSED") return { type: "EndOfMessage" };
    return event as H11Event;
  }

  // What h11 holds once the response is done: NEED_DATA (nothing), PAUSED (bytes beyond it)
  // or ConnectionClosed.
  #pullAfterResponse(): unknown {
    try {
      return this.#h11.nextEvent();
    } catch {
      return null;
    }
  }

  // Hands bytes read from the stream to h11 (none: the peer closed).
  #feed(data: Uint8Array): void {
    if (data.length === 0 && this.#h11.theirState === "SEND_RESPONSE") {
      throw new RemoteProtocolError("Server disconnected without sending a response.");
    }
    this.#received += data.length;
    this.#h11.receiveData(data);
  }

  // Reads from the stream into h11 once.
  async #fill(timeout: number | undefined): Promise<void> {
    this.#feed(await this.#stream.read(READ_NUM_BYTES, timeout));
  }

  async #receiveResponseHead(timeout: number | undefined): Promise<ResponseHead> {
    for (;;) {
      const event = this.#pull();
      if (event === null) await this.#fill(timeout);
      else if (isResponseHead(event)) return event;
    }
  }

  #makeResponse(request: Request, head: ResponseHead): Response {
    const headers = head.headers as HeaderList;
    this.#keepaliveHint = keepAliveHint(headers);
    const switched =
      head.status === 101 ||
      (request.method === "CONNECT" && head.status >= 200 && head.status < 300);
    const extensions: Record<string, unknown> = {
      httpVersion: httpVersionName(head.httpVersion),
      reasonPhrase: head.reason ?? "",
    };
    this.#extensions = switched ? null : extensions;
    extensions.networkStream = switched
      ? new PrefixedStream(this.#stream, this.#h11.trailingData.data)
      : (this.#infoStream ??= new ExtraInfoStream(this.#stream));
    return new Response(head.status, {
      headers,
      content: new HTTP11Body(this, request, switched),
      extensions,
    });
  }

  /**
   * @internal The next chunk of the body, or null at its end. Events already buffered are
   * taken without waiting; only when h11 needs bytes is the stream read.
   */
  nextChunk(timeout: number | undefined): Uint8Array | null | Promise<Uint8Array | null> {
    for (;;) {
      let event: H11Event | null;
      try {
        event = this.#pull();
      } catch (error) {
        return Promise.reject(error);
      }
      if (event === null) {
        return this.#stream.read(READ_NUM_BYTES, timeout).then((data) => {
          this.#feed(data);
          return this.nextChunk(timeout);
        });
      }
      if (event.type === "Data") return event.data;
      if (event.type === "EndOfMessage") {
        // Trailers (a chunked body's) go with the response, once its body is read.
        const extensions = this.#extensions;
        if (extensions !== null) {
          extensions.trailers = (event.headers as HeaderList | undefined) ?? [];
          this.#extensions = null;
        }
        return null;
      }
    }
  }

  /**
   * @internal Called when a response is closed: back to IDLE (returning SETTLED, nothing to
   * wait for), or closed.
   */
  responseClosed(): Promise<void> {
    return this.#responseClosed();
  }

  #responseClosed(): Promise<void> {
    this.#unwatch();
    if (this.#state === "CLOSED") return SETTLED;
    const h11 = this.#h11;
    if (h11.ourState !== "DONE" || h11.theirState !== "DONE") return this.close();
    // Bytes read together with the end of the response (a second response nobody asked
    // for, a body sent after HEAD, 204 or 304, junk) would answer the next request: the
    // connection cannot be trusted with one. h11 says PAUSED when such bytes wait, and
    // ConnectionClosed when the server has closed; only NEED_DATA leaves it reusable.
    if (this.#pullAfterResponse() !== NEED_DATA) return this.close();
    this.#setState("IDLE");
    this.#idleTurn = this.#scheduler.turn;
    h11.startNextCycle();
    this.#startExpiryClock();
    return SETTLED;
  }

  // An idle connection expires after keepaliveExpiry, or sooner when the server's
  // Keep-Alive timeout (less a margin) says so.
  #startExpiryClock(): void {
    let expiry = this.#keepaliveExpiry ?? null;
    if (this.#keepaliveHint !== null) {
      const hint = Math.max(0, this.#keepaliveHint - KEEPALIVE_HINT_MARGIN_MS);
      expiry = expiry === null ? hint : Math.min(expiry, hint);
    }
    if (expiry !== null) this.#expireAt = performance.now() + expiry;
  }

  #unwatch(): void {
    const stop = this.#stopWatching;
    if (stop !== null) {
      this.#stopWatching = null;
      this.#signal = null;
      stop();
    }
  }

  async close(): Promise<void> {
    this.#unwatch();
    if (this.#state === "CLOSED") return;
    this.#setState("CLOSED");
    await this.#stream.close();
  }

  canHandleRequest(origin: Origin): boolean {
    return origin.equals(this.#origin);
  }

  tryReserve(request: Request): boolean {
    if (this.#reservedFor !== null || (this.#state !== "NEW" && this.#state !== "IDLE")) {
      return false;
    }
    this.#reservedFor = request;
    return true;
  }

  unreserve(request: Request): void {
    if (this.#reservedFor === request) this.#reservedFor = null;
  }

  isAvailable(): boolean {
    return this.#state === "IDLE" && this.#reservedFor === null;
  }

  hasExpired(): boolean {
    if (this.#expireAt !== null && performance.now() > this.#expireAt) return true;
    // Idle, yet readable: the peer closed it or sent bytes nobody asked for.
    return this.#state === "IDLE" && this.#stream.getExtraInfo("is_readable") === true;
  }

  isIdle(): boolean {
    return this.#state === "IDLE";
  }

  isClosed(): boolean {
    return this.#state === "CLOSED";
  }

  info(): string {
    return `'${this.#origin}', HTTP/1.1, ${this.#state}, Request Count: ${this.#requestCount}`;
  }

  /** Closes it: `await using conn = new HTTP11Connection(origin, stream)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `<HTTP11Connection ['${this.#origin}', ${this.#state}, Request Count: ${this.#requestCount}]>`;
  }
}

printable(HTTP11Connection);

/** A response body read from an HTTP11Connection; closing it releases the connection. */
class HTTP11Body extends Body {
  readonly #connection: HTTP11Connection;
  readonly #request: Request;
  readonly #timeout: number | undefined;
  // After a switch the body is empty: the stream belongs to the new protocol.
  readonly #switched: boolean;
  #started = false;

  constructor(connection: HTTP11Connection, request: Request, switched: boolean) {
    super();
    this.#connection = connection;
    this.#request = request;
    this.#timeout = request.extensions.timeout?.read;
    this.#switched = switched;
  }

  protected pull(): Uint8Array | null | Promise<Uint8Array | null> {
    if (this.#switched) return null;
    // With a trace callback, every event is reported, in order.
    if (this.#request.extensions.trace !== undefined) return this.#tracedPull();
    return this.#connection.nextChunk(this.#timeout);
  }

  async #tracedPull(): Promise<Uint8Array | null> {
    const trace = this.#request.extensions.trace!;
    const request = this.#request;
    if (!this.#started) {
      this.#started = true;
      await trace("http11.receive_response_body.started", { request });
    }
    let chunk: Uint8Array | null;
    try {
      const next = this.#connection.nextChunk(this.#timeout);
      chunk = next instanceof Uint8Array || next === null ? next : await next;
    } catch (error) {
      await trace("http11.receive_response_body.failed", { request, exception: error });
      throw error;
    }
    if (chunk === null) await trace("http11.receive_response_body.complete", { request });
    return chunk;
  }

  protected finish(): Promise<void> {
    // Without a trace callback, straight to the connection (no info object, no closure).
    if (this.#request.extensions.trace === undefined) return this.#connection.responseClosed();
    return traced("http11.response_closed", this.#request, {}, () =>
      this.#connection.responseClosed(),
    );
  }

  // What a failed read reports: the signal's reason when the request was aborted.
  protected override failure(error: unknown): unknown {
    const signal = this.#request.signal;
    return signal?.aborted ? signal.reason : error;
  }
}
