// The Connection: the one public object. It owns the state machine, the receive buffer,
// and the reader and writer that the current states call for, and it applies the
// HTTP/1.1 rules that span events: framing (RFC 9112 §6), keep-alive (§9.3), 100-continue
// and protocol switches. It does no I/O: bytes in, events out; events in, bytes out.

import { isToken, isVisibleAscii } from "./chars.js";
import { argumentError, LocalProtocolError, RemoteProtocolError } from "./errors.js";
import {
  type ConnectionClosed,
  checkEventShape,
  type Event,
  NEED_DATA,
  type NeedData,
  PAUSED,
  type Paused,
} from "./events.js";
import { getCommaHeader, type HeaderScan, scanHeaders, setCommaHeader } from "./headers.js";
import {
  ChunkedReader,
  ContentLengthReader,
  EXPECT_NOTHING,
  type HeadReader,
  Http10Reader,
  type LineRules,
  type Reader,
  RequestHeadReader,
  ResponseHeadReader,
} from "./readers.js";
import { ReceiveBuffer } from "./receive-buffer.js";
import {
  CLIENT,
  CLOSED,
  ConnectionState,
  DONE,
  ERROR,
  IDLE,
  MIGHT_SWITCH_PROTOCOL,
  MUST_CLOSE,
  type Role,
  SEND_BODY,
  SEND_RESPONSE,
  SERVER,
  type State,
  SWITCHED_PROTOCOL,
  type Switch,
} from "./state.js";
import {
  type BodyWriter,
  ChunkedWriter,
  ContentLengthWriter,
  Http10Writer,
  writeRequestHead,
  writeResponseHead,
} from "./writers.js";

/**
 * Options for a Connection.
 *
 * @example
 * new Connection("server", { maxIncompleteEventSize: 64 * 1024 })
 */
export interface ConnectionOptions {
  /**
   * The most bytes a head (request or status line plus fields), a chunk-size line or a
   * trailer may take, not counting the line end or blank line that completes it. Past it
   * the peer gets RemoteProtocolError with errorStatusHint 431. It is h11's rule (a bound
   * on what is buffered while incomplete) made independent of how the bytes arrive: a head
   * of exactly this size is taken whether it comes whole, in pieces or byte by byte, and one
   * byte more is refused in every case. Default 16 KiB.
   */
  readonly maxIncompleteEventSize?: number;
  /**
   * Line shapes to accept from the peer that RFC 9112 lets a recipient accept but that are
   * request-smuggling vectors when a server and the server in front of it read them
   * differently. The server role refuses both by default (RemoteProtocolError, status hint
   * 400); the client role accepts both by default (real servers send them in responses).
   * Turn them on for a server only when it must talk to broken clients and no other HTTP
   * parser sits in front of it.
   */
  readonly lenient?: LenientOptions;
}

/**
 * What a Connection accepts from its peer beyond the strict grammar (see
 * `ConnectionOptions.lenient`).
 *
 * @example
 * new Connection("server", { lenient: { bareLF: true, obsFold: true } }) // accepts what h11 accepts
 */
export interface LenientOptions {
  /** A bare LF (without CR) as the end of a line in a head or trailer. */
  readonly bareLF?: boolean;
  /** A field line continued on the next line (obs-fold, RFC 9112 §5.2), joined with a space. */
  readonly obsFold?: boolean;
}

/**
 * The default `maxIncompleteEventSize`: 16 KiB.
 *
 * @example
 * new Connection("client", { maxIncompleteEventSize: 4 * DEFAULT_MAX_INCOMPLETE_EVENT_SIZE })
 */
export const DEFAULT_MAX_INCOMPLETE_EVENT_SIZE: number = 16 * 1024;

// How a body is delimited: a length (>= 0), or one of these.
type Framing = number;
const CHUNKED = -1;
const UNTIL_CLOSE = -2;

/** RFC 9112 §6.3: how the body of a message that enters SEND_BODY is delimited. */
function bodyFraming(requestMethod: string | null, event: Event, scan: HeaderScan): Framing {
  if (event.type === "Response") {
    const status = event.status;
    if (
      status === 204 ||
      status === 304 ||
      requestMethod === "HEAD" ||
      (requestMethod === "CONNECT" && status >= 200 && status < 300)
    ) {
      return 0;
    }
  }
  if (scan.chunked) return CHUNKED;
  if (scan.contentLength !== -1) return scan.contentLength;
  return event.type === "Request" ? 0 : UNTIL_CLOSE;
}

// HTTP/1.1 is persistent unless someone says close; we do not keep HTTP/1.0 alive at all.
function keepAlive(version: string | undefined, scan: HeaderScan): boolean {
  return !scan.close && (version === undefined || version === "1.1" || version >= "1.1");
}

/**
 * One HTTP/1.1 connection, seen from one side: feed it the bytes you receive and take
 * events out; hand it the events you want to send and write the bytes it returns.
 *
 * @example
 * const conn = new Connection("client");
 * socket.write(conn.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a.com"]] }));
 * socket.write(conn.send({ type: "EndOfMessage" }));
 * conn.receiveData(await read(socket)); // an empty Uint8Array means EOF
 * for (let ev = conn.nextEvent(); ev !== NEED_DATA && ev.type !== "EndOfMessage"; ev = conn.nextEvent()) console.log(ev);
 */
export class Connection {
  /** Our side: "client" or "server". */
  readonly ourRole: Role;
  /** The peer's side. */
  readonly theirRole: Role;
  /** The HTTP version the peer last spoke ("1.1", "1.0"), or null before its first head. */
  theirHttpVersion: string | null = null;
  /** True between a client's `Expect: 100-continue` request and the server's first answer or body. */
  clientIsWaitingFor100Continue = false;

  readonly #maxIncompleteEventSize: number;
  readonly #cstate = new ConnectionState();
  readonly #buffer = new ReceiveBuffer();
  #closed = false;
  #requestMethod: string | null = null;
  #reader: Reader | null;
  #writer: BodyWriter | null = null;
  readonly #headReader: HeadReader;
  readonly #weAreClient: boolean;
  readonly #lineRules: LineRules;
  // Client role: bytes were buffered when we sent a request, so they cannot answer it.
  #unsolicited = false;

  constructor(ourRole: Role, options: ConnectionOptions = {}) {
    if (ourRole !== CLIENT && ourRole !== SERVER) {
      throw argumentError(`expected "client" or "server", not ${JSON.stringify(ourRole)}`);
    }
    const max = options.maxIncompleteEventSize ?? DEFAULT_MAX_INCOMPLETE_EVENT_SIZE;
    if (!Number.isInteger(max) || max < 1) {
      throw argumentError("maxIncompleteEventSize must be a positive integer");
    }
    this.#maxIncompleteEventSize = max;
    this.ourRole = ourRole;
    this.theirRole = ourRole === CLIENT ? SERVER : CLIENT;
    this.#weAreClient = ourRole === CLIENT;
    // What we read from a client is strict by default, what we read from a server lenient.
    const lenientByDefault = this.theirRole === SERVER;
    this.#lineRules = {
      bareLF: options.lenient?.bareLF ?? lenientByDefault,
      obsFold: options.lenient?.obsFold ?? lenientByDefault,
    };
    this.#headReader =
      this.theirRole === CLIENT
        ? new RequestHeadReader(max, this.#lineRules)
        : new ResponseHeadReader(max, this.#lineRules);
    this.#reader = this.#headReader;
  }

  // Our state and theirs, for the hot paths (the public getters go through the role).
  #ours(): State {
    return this.#weAreClient ? this.#cstate.client : this.#cstate.server;
  }

  #theirs(): State {
    return this.#weAreClient ? this.#cstate.server : this.#cstate.client;
  }

  /** Our state. */
  get ourState(): State {
    return this.#cstate.get(this.ourRole);
  }

  /** The peer's state. */
  get theirState(): State {
    return this.#cstate.get(this.theirRole);
  }

  /** The client's state. */
  get clientState(): State {
    return this.#cstate.client;
  }

  /** The server's state. */
  get serverState(): State {
    return this.#cstate.server;
  }

  /** True when we are the server and the client waits for `100 Continue` before its body. */
  get theyAreWaitingFor100Continue(): boolean {
    return this.theirRole === CLIENT && this.clientIsWaitingFor100Continue;
  }

  /**
   * Bytes received but not parsed (after a protocol switch: the first bytes of the new
   * protocol), and whether the peer has closed.
   */
  get trailingData(): { data: Uint8Array; closed: boolean } {
    return { data: this.#buffer.toBytes(), closed: this.#closed };
  }

  /**
   * Adds received bytes; an empty array means the peer closed (EOF). The connection keeps
   * the array and may hand out views of it in Data events: do not modify it afterwards.
   */
  receiveData(data: Uint8Array): void {
    if (!(data instanceof Uint8Array))
      throw argumentError("receiveData takes a Uint8Array", "ERR_INVALID_ARG_TYPE");
    if (data.length === 0) {
      this.#closed = true;
      return;
    }
    if (this.#closed) {
      throw new LocalProtocolError("received data after the peer closed (after an empty chunk)");
    }
    this.#buffer.append(data);
  }

  /**
   * The next event from the received bytes, NEED_DATA when more bytes are needed, or PAUSED
   * when the peer's message is done and `startNextCycle()` (or a protocol switch) must come
   * first. Throws RemoteProtocolError when the peer breaks the protocol.
   */
  nextEvent(): Event | NeedData | Paused {
    if (this.#theirs() === ERROR) {
      throw new RemoteProtocolError("Can't receive data when peer state is ERROR");
    }
    if (this.#unsolicited) {
      // Bytes that were here before our request went out cannot be its answer: taking them
      // for it would let whoever sent them choose the answer (response-queue poisoning).
      this.#unsolicited = false;
      this.#processError(this.theirRole);
      throw new RemoteProtocolError(
        "received bytes before the request was sent: the server sent something nobody asked for",
      );
    }
    try {
      const event = this.#extractNextReceiveEvent();
      if (event.type === "NEED_DATA") {
        if (this.#buffer.countedLength > this.#maxIncompleteEventSize) {
          throw new RemoteProtocolError("Receive buffer too long", 431);
        }
        if (this.#closed) throw new RemoteProtocolError("peer unexpectedly closed connection");
        return event;
      }
      if (event.type === "Data") {
        // Data never changes a state (SEND_BODY to SEND_BODY): only the 100-continue flag.
        if (this.theirRole === CLIENT) this.clientIsWaitingFor100Continue = false;
      } else if (event.type !== "PAUSED") {
        let scan: HeaderScan | null = null;
        if (
          event.type === "Request" ||
          event.type === "Response" ||
          event.type === "InformationalResponse"
        ) {
          scan = this.#headReader.scan;
          this.#headReader.scan = null;
        }
        this.#processEvent(this.theirRole, event, scan);
      }
      return event;
    } catch (error) {
      this.#processError(this.theirRole);
      if (error instanceof LocalProtocolError) {
        throw new RemoteProtocolError(error.message, error.errorStatusHint);
      }
      throw error;
    }
  }

  /**
   * The bytes for `event`, or undefined for ConnectionClosed. Throws LocalProtocolError for
   * an invalid event or one the state does not allow (the connection then enters ERROR,
   * unless the event itself was malformed).
   */
  send(event: ConnectionClosed): undefined;
  send(event: Exclude<Event, ConnectionClosed>): Uint8Array;
  send(event: Event): Uint8Array | undefined;
  send(event: Event): Uint8Array | undefined {
    const parts = this.sendWithDataPassthrough(event);
    if (parts === undefined) return undefined;
    if (parts.length === 1) return parts[0]!;
    let length = 0;
    for (const part of parts) length += part.length;
    const out = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  /**
   * Like `send()`, but returns the bytes as a list whose body parts are the Data event's own
   * array (not copied): write them in order.
   */
  sendWithDataPassthrough(event: ConnectionClosed): undefined;
  sendWithDataPassthrough(event: Exclude<Event, ConnectionClosed>): Uint8Array[];
  sendWithDataPassthrough(event: Event): Uint8Array[] | undefined;
  sendWithDataPassthrough(event: Event): Uint8Array[] | undefined {
    if (this.#ours() === ERROR) {
      throw new LocalProtocolError("Can't send data when our state is ERROR");
    }
    checkEventShape(event);
    const scan = this.#validateOutgoing(event);
    try {
      let outgoing = event;
      let outgoingScan = scan;
      if (event.type === "Response" && scan !== null) {
        outgoingScan = this.#cleanUpResponseHeaders(event, scan);
        outgoing = { ...event, headers: outgoingScan.headers };
      }
      const writer = this.#writer;
      const role = this.ourRole;
      const state = this.#ours();
      if (outgoing.type === "Data" && state === SEND_BODY && writer !== null) {
        // Data never changes a state: only the 100-continue flag.
        if (role === CLIENT) this.clientIsWaitingFor100Continue = false;
        const out: Uint8Array[] = [];
        writer.data(outgoing.data, out);
        return out;
      }
      this.#processEvent(role, outgoing, outgoingScan);
      if (outgoing.type === "Request" && this.#buffer.length > 0) this.#unsolicited = true;
      const out: Uint8Array[] = [];
      switch (outgoing.type) {
        case "ConnectionClosed":
          return undefined;
        case "Request":
          out.push(
            writeRequestHead(outgoing.method, outgoing.target, outgoing.httpVersion, outgoingScan!),
          );
          break;
        case "InformationalResponse":
        case "Response":
          out.push(
            writeResponseHead(
              outgoing.status,
              outgoing.reason ?? "",
              outgoing.httpVersion,
              outgoingScan!,
            ),
          );
          break;
        case "Data":
          if (writer === null) throw this.#cannot(outgoing.type, role, state);
          writer.data(outgoing.data, out);
          break;
        case "EndOfMessage":
          if (writer === null) throw this.#cannot(outgoing.type, role, state);
          writer.endOfMessage(scan, out);
          break;
      }
      return out;
    } catch (error) {
      this.#processError(this.ourRole);
      throw error;
    }
  }

  /**
   * Tells the connection that sending failed part way (the bytes did not all reach the
   * peer): our state becomes ERROR.
   */
  sendFailed(): void {
    this.#processError(this.ourRole);
  }

  /**
   * Starts the next request/response cycle on a kept-alive connection: both sides must be
   * DONE. Throws LocalProtocolError otherwise.
   */
  startNextCycle(): void {
    const ourBefore = this.#ours();
    const theirBefore = this.#theirs();
    this.#cstate.startNextCycle();
    this.#requestMethod = null;
    this.#respondToStateChanges(ourBefore, theirBefore, null, null);
  }

  // Checks what the event carries against the grammar; a bad event leaves the state alone.
  #validateOutgoing(event: Event): HeaderScan | null {
    switch (event.type) {
      case "Request": {
        // method = token; request-target = 1*VCHAR (abnf.ts), checked with the byte tables.
        if (!isToken(event.method)) {
          throw new LocalProtocolError(`Illegal method ${JSON.stringify(event.method)}`);
        }
        if (!isVisibleAscii(event.target)) {
          throw new LocalProtocolError(
            `Illegal target characters in ${JSON.stringify(event.target)}`,
          );
        }
        const scan = scanHeaders(event.headers);
        checkHost(event.httpVersion, scan);
        return scan;
      }
      case "InformationalResponse":
      case "Response":
        if (event.reason !== undefined && /[\0\r\n]|[^\0-\xff]/.test(event.reason)) {
          throw new LocalProtocolError(`Illegal reason phrase ${JSON.stringify(event.reason)}`);
        }
        return scanHeaders(event.headers);
      case "EndOfMessage":
        return event.headers === undefined ? null : scanHeaders(event.headers);
      default:
        return null;
    }
  }

  #cannot(type: string, role: Role, state: State): LocalProtocolError {
    return new LocalProtocolError(
      `can't handle event type ${type} when role=${role} and state=${state}`,
    );
  }

  #extractNextReceiveEvent(): Event | NeedData | Paused {
    const state = this.#theirs();
    // In DONE we may still see ConnectionClosed, but buffered bytes belong to the next
    // cycle: pause until startNextCycle().
    if (state === DONE && this.#buffer.length > 0) return PAUSED;
    if (state === MIGHT_SWITCH_PROTOCOL || state === SWITCHED_PROTOCOL) return PAUSED;
    const reader = this.#reader;
    if (reader === null) return NEED_DATA;
    let event = reader.read(this.#buffer);
    if (event === null && this.#buffer.length === 0 && this.#closed) {
      event = reader.readEof ? reader.readEof() : { type: "ConnectionClosed" };
    }
    return event ?? NEED_DATA;
  }

  #processEvent(role: Role, event: Event, scan: HeaderScan | null): void {
    const cstate = this.#cstate;
    const ourBefore = this.#ours();
    const theirBefore = this.#theirs();
    const type = event.type;
    if (role === CLIENT && type === "Request") {
      if (event.method === "CONNECT") cstate.processClientSwitchProposal("CONNECT");
      if (scan!.upgrade) cstate.processClientSwitchProposal("UPGRADE");
      if (role === this.theirRole) checkHost(event.httpVersion, scan!);
    }
    let serverSwitch: Switch | null = null;
    if (role === SERVER) {
      if (type === "InformationalResponse" && event.status === 101) serverSwitch = "UPGRADE";
      else if (
        type === "Response" &&
        cstate.pendingSwitches.size > 0 &&
        cstate.pendingSwitches.has("CONNECT") &&
        event.status >= 200 &&
        event.status < 300
      ) {
        serverSwitch = "CONNECT";
      }
    }
    cstate.processEvent(role, type, serverSwitch);

    if (type === "Request") this.#requestMethod = event.method;
    const isHead = type === "Request" || type === "Response" || type === "InformationalResponse";
    if (isHead && role === this.theirRole) this.theirHttpVersion = event.httpVersion ?? "1.1";
    if ((type === "Request" || type === "Response") && !keepAlive(event.httpVersion, scan!)) {
      cstate.processKeepAliveDisabled();
    }

    if (type === "Request" && (event.httpVersion ?? "1.1") >= "1.1" && scan!.expect100) {
      this.clientIsWaitingFor100Continue = true;
    }
    if (type === "InformationalResponse" || type === "Response") {
      this.clientIsWaitingFor100Continue = false;
    }
    if (role === CLIENT && (type === "Data" || type === "EndOfMessage")) {
      this.clientIsWaitingFor100Continue = false;
    }
    this.#respondToStateChanges(ourBefore, theirBefore, event, scan);
  }

  #processError(role: Role): void {
    const ourBefore = this.#ours();
    const theirBefore = this.#theirs();
    this.#cstate.processError(role);
    this.#respondToStateChanges(ourBefore, theirBefore, null, null);
  }

  // After any state change, pick the reader and writer the new states call for.
  #respondToStateChanges(
    ourBefore: State,
    theirBefore: State,
    event: Event | null,
    scan: HeaderScan | null,
  ): void {
    const ours = this.#ours();
    if (ours !== ourBefore) {
      this.#writer =
        ours === SEND_BODY
          ? this.#bodyWriter(bodyFraming(this.#requestMethod, event!, scan!))
          : null;
    }
    const theirs = this.#theirs();
    if (theirs !== theirBefore) this.#reader = this.#readerFor(this.theirRole, theirs, event, scan);
  }

  #readerFor(
    role: Role,
    state: State,
    event: Event | null,
    scan: HeaderScan | null,
  ): Reader | null {
    switch (state) {
      case IDLE:
        return this.#headReader;
      case SEND_RESPONSE:
        return role === SERVER ? this.#headReader : null;
      case SEND_BODY: {
        const framing = bodyFraming(this.#requestMethod, event!, scan!);
        if (framing === CHUNKED) {
          return new ChunkedReader(this.#maxIncompleteEventSize, this.#lineRules);
        }
        if (framing === UNTIL_CLOSE) return new Http10Reader();
        return new ContentLengthReader(framing);
      }
      case DONE:
      case MUST_CLOSE:
      case CLOSED:
        return EXPECT_NOTHING;
      default:
        return null;
    }
  }

  #bodyWriter(framing: Framing): BodyWriter {
    if (framing === CHUNKED) return new ChunkedWriter();
    if (framing === UNTIL_CLOSE) return new Http10Writer();
    return new ContentLengthWriter(framing);
  }

  // h11's rewriting of a response's framing headers on send: a body of unknown length is
  // chunked to an HTTP/1.1 peer and delimited by close to anyone else; and when the
  // connection will close, say so.
  #cleanUpResponseHeaders(event: Event & { type: "Response" }, scan: HeaderScan): HeaderScan {
    let next = scan;
    let needClose = false;
    const method = this.#requestMethod === "HEAD" ? "GET" : this.#requestMethod;
    const framing = bodyFraming(method, event, scan);
    if (framing < 0) {
      next = setCommaHeader(next, "content-length", "Content-Length", []);
      const version = this.theirHttpVersion;
      if (version === null || version < "1.1") {
        next = setCommaHeader(next, "transfer-encoding", "Transfer-Encoding", []);
        if (this.#requestMethod !== "HEAD") needClose = true;
      } else {
        next = setCommaHeader(next, "transfer-encoding", "Transfer-Encoding", ["chunked"]);
      }
    }
    if (!this.#cstate.keepAlive || needClose) {
      const tokens = new Set(getCommaHeader(next, "connection"));
      tokens.delete("keep-alive");
      tokens.add("close");
      next = setCommaHeader(next, "connection", "Connection", [...tokens].sort());
    }
    return next;
  }
}

function checkHost(version: string | undefined, scan: HeaderScan): void {
  if ((version ?? "1.1") !== "1.1") return;
  if (scan.hostCount === 0) throw new LocalProtocolError("Missing mandatory Host: header");
  if (scan.hostCount > 1) throw new LocalProtocolError("Found multiple Host: headers");
}
