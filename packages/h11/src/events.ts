import { LocalProtocolError } from "./errors.js";

/**
 * Header fields as `[name, value]` pairs, strings holding bytes as latin1. Received names
 * keep the case they had on the wire; compare them case-insensitively.
 *
 * @example
 * const headers: Headers = [["Host", "example.com"], ["Accept", "application/json"]]
 */
export type Headers = ReadonlyArray<readonly [name: string, value: string]>;

/**
 * A request head. `httpVersion` defaults to `"1.1"` when sent.
 *
 * @example
 * conn.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a.com"]] })
 */
export interface Request {
  readonly type: "Request";
  readonly method: string;
  readonly target: string;
  readonly headers: Headers;
  readonly httpVersion?: string;
}

/**
 * A 1xx response head (100-199), e.g. `100 Continue` or `101 Switching Protocols`.
 *
 * @example
 * conn.send({ type: "InformationalResponse", status: 100, headers: [] })
 */
export interface InformationalResponse {
  readonly type: "InformationalResponse";
  readonly status: number;
  readonly reason?: string;
  readonly headers: Headers;
  readonly httpVersion?: string;
}

/**
 * A final response head (200-999).
 *
 * @example
 * conn.send({ type: "Response", status: 200, reason: "OK", headers: [["Content-Length", "2"]] })
 */
export interface Response {
  readonly type: "Response";
  readonly status: number;
  readonly reason?: string;
  readonly headers: Headers;
  readonly httpVersion?: string;
}

/**
 * Part of a message body. When received in a chunked body, `chunkStart` / `chunkEnd`
 * say whether it opens or closes a chunk of the wire encoding.
 *
 * @example
 * conn.send({ type: "Data", data: new TextEncoder().encode("ok") })
 */
export interface Data {
  readonly type: "Data";
  readonly data: Uint8Array;
  readonly chunkStart?: boolean;
  readonly chunkEnd?: boolean;
}

/**
 * The end of a message body, with the trailer fields of a chunked body.
 *
 * @example
 * conn.send({ type: "EndOfMessage", headers: [["X-Checksum", "abc"]] }) // trailers, with chunked bodies
 */
export interface EndOfMessage {
  readonly type: "EndOfMessage";
  readonly headers?: Headers;
}

/**
 * The peer closed its side of the connection (or, when sent, we close ours).
 *
 * @example
 * conn.send({ type: "ConnectionClosed" }); socket.end()
 */
export interface ConnectionClosed {
  readonly type: "ConnectionClosed";
}

/**
 * Everything `send()` takes and `nextEvent()` gives.
 *
 * @example
 * conn.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a.com"]] });
 */
export type Event =
  | Request
  | InformationalResponse
  | Response
  | Data
  | EndOfMessage
  | ConnectionClosed;

/**
 * The shape of `NEED_DATA`.
 *
 * @example
 * const ev: Event | NeedData | Paused = conn.nextEvent()
 */
export interface NeedData {
  readonly type: "NEED_DATA";
}

/**
 * The shape of `PAUSED`.
 *
 * @example
 * if (conn.nextEvent().type === "PAUSED") conn.startNextCycle()
 */
export interface Paused {
  readonly type: "PAUSED";
}

/**
 * Returned by `nextEvent()` when the buffered bytes do not yet make a whole event:
 * feed more with `receiveData()`.
 *
 * @example
 * while ((ev = conn.nextEvent()) === NEED_DATA) conn.receiveData(await read());
 */
export const NEED_DATA: NeedData = Object.freeze({ type: "NEED_DATA" as const });

/**
 * Returned by `nextEvent()` when the peer's message is done (or the protocol is switching)
 * and more bytes are buffered: call `startNextCycle()` (or read `trailingData`) to go on.
 *
 * @example
 * if (conn.nextEvent() === PAUSED && conn.theirState === SWITCHED_PROTOCOL) useTunnel(conn.trailingData.data);
 */
export const PAUSED: Paused = Object.freeze({ type: "PAUSED" as const });

function fail(message: string): never {
  throw new LocalProtocolError(message);
}

function checkHeadersShape(headers: unknown, what: string): void {
  if (!Array.isArray(headers)) fail(`${what}.headers must be an array of [name, value] pairs`);
  for (const pair of headers) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      fail(`${what}.headers must hold [name, value] pairs`);
    }
    if (typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      fail(`${what}.headers names and values must be strings`);
    }
  }
}

function checkVersion(version: unknown, what: string): void {
  if (version !== undefined && (typeof version !== "string" || !/^[0-9]\.[0-9]$/.test(version))) {
    fail(`${what}.httpVersion must look like "1.1"`);
  }
}

function checkStatus(status: unknown, low: number, high: number, what: string): void {
  if (typeof status !== "number" || !Number.isInteger(status)) {
    fail(`${what}.status must be an integer`);
  }
  if (status < low || status >= high) {
    fail(`${what} status must be in range [${low}, ${high}), not ${status}`);
  }
}

/**
 * Checks the shape of an event given to `send()` (types and ranges); the header grammar
 * is checked when the headers are normalised. Throws LocalProtocolError.
 */
export function checkEventShape(event: Event): void {
  if (event === null || typeof event !== "object") fail("an event must be an object");
  switch (event.type) {
    case "Request":
      if (typeof event.method !== "string") fail("Request.method must be a string");
      if (typeof event.target !== "string") fail("Request.target must be a string");
      checkHeadersShape(event.headers, "Request");
      checkVersion(event.httpVersion, "Request");
      return;
    case "InformationalResponse":
      checkStatus(event.status, 100, 200, "InformationalResponse");
      checkHeadersShape(event.headers, "InformationalResponse");
      checkVersion(event.httpVersion, "InformationalResponse");
      if (event.reason !== undefined && typeof event.reason !== "string") {
        fail("InformationalResponse.reason must be a string");
      }
      return;
    case "Response":
      checkStatus(event.status, 200, 1000, "Response");
      checkHeadersShape(event.headers, "Response");
      checkVersion(event.httpVersion, "Response");
      if (event.reason !== undefined && typeof event.reason !== "string") {
        fail("Response.reason must be a string");
      }
      return;
    case "Data":
      if (!(event.data instanceof Uint8Array)) fail("Data.data must be a Uint8Array");
      return;
    case "EndOfMessage":
      if (event.headers !== undefined) checkHeadersShape(event.headers, "EndOfMessage");
      return;
    case "ConnectionClosed":
      return;
    default:
      fail(`unknown event type ${JSON.stringify((event as { type?: unknown }).type)}`);
  }
}
