import { brandClass } from "./brand.js";

/**
 * The base of both protocol errors. `errorStatusHint` is the HTTP status a server
 * would answer with (400 unless the error says otherwise: 431 for a head too large,
 * 501 for an unsupported Transfer-Encoding).
 *
 * @example
 * try { conn.nextEvent() } catch (e) { if (e instanceof ProtocolError) reply(e.errorStatusHint) }
 */
export abstract class ProtocolError extends Error {
  readonly errorStatusHint: number;
  abstract readonly code: string;

  constructor(message: string, errorStatusHint = 400) {
    super(message);
    this.errorStatusHint = errorStatusHint;
  }
}
brandClass(ProtocolError, "@x/h11.ProtocolError");

/**
 * We (the local side) tried to do something HTTP/1.1 forbids: send an invalid event,
 * or an event the current state does not allow.
 *
 * @example
 * conn.send({ type: "Data", data }) // before a Request: throws LocalProtocolError
 */
export class LocalProtocolError extends ProtocolError {
  override readonly name = "LocalProtocolError";
  readonly code = "H11_LOCAL_PROTOCOL_ERROR";
}
brandClass(LocalProtocolError, "@x/h11.LocalProtocolError");

/**
 * The peer sent bytes that break HTTP/1.1 (bad syntax, bad framing, a head too
 * large, or it closed the connection in the middle of a message).
 *
 * @example
 * conn.receiveData(bytes("HTTP/1.1 2OO OK\r\n\r\n")); conn.nextEvent() // throws RemoteProtocolError
 */
export class RemoteProtocolError extends ProtocolError {
  override readonly name = "RemoteProtocolError";
  readonly code = "H11_REMOTE_PROTOCOL_ERROR";
}
brandClass(RemoteProtocolError, "@x/h11.RemoteProtocolError");

/**
 * A TypeError with a Node-style `code`, for arguments a caller got wrong (a programming
 * error, not a protocol one).
 */
export function argumentError(
  message: string,
  code = "ERR_INVALID_ARG_VALUE",
): TypeError & { code: string } {
  return Object.assign(new TypeError(message), { code });
}
