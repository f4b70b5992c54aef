// The HTTP/1.1 state machine. This file does not know which role we play:
// it tracks both sides, the client's and the server's, and the Connection asks it what
// each may do next.
//
// Theory of operation (after h11's _state.py):
//
// Each side moves between states when it sends (or we receive) an event; those moves are
// EVENT_TRIGGERED. Some moves depend on the two sides together, for example once the
// client has closed, a server that has finished its response can only close; those are
// STATE_TRIGGERED and are applied until nothing changes.
//
// Keep-alive: once either side says `Connection: close` (or speaks HTTP/1.0), DONE turns
// into MUST_CLOSE for both sides. Protocol switches: a client that sends CONNECT or
// Upgrade makes a "proposal"; when it has finished its request it waits in
// MIGHT_SWITCH_PROTOCOL until the server accepts (2xx to CONNECT, 101 to Upgrade) and both
// sides land in SWITCHED_PROTOCOL, or refuses with any other response and the client
// drops back to DONE.

import { LocalProtocolError } from "./errors.js";

/**
 * The client side of the connection.
 *
 * @example
 * new Connection(CLIENT)
 */
export const CLIENT = "client";
/**
 * The server side of the connection.
 *
 * @example
 * new Connection(SERVER)
 */
export const SERVER = "server";
/**
 * Which side of the connection: `"client"` or `"server"`.
 *
 * @example
 * const role: Role = "client"
 */
export type Role = typeof CLIENT | typeof SERVER;

/**
 * Nothing sent yet in this cycle.
 *
 * @example
 * if (conn.theirState === IDLE) awaitNextRequest()
 */
export const IDLE = "IDLE";
/**
 * The server has seen a request and owes a response.
 *
 * @example
 * if (conn.ourState === SEND_RESPONSE) socket.write(conn.send({ type: "Response", status: 200, headers: [] }))
 */
export const SEND_RESPONSE = "SEND_RESPONSE";
/**
 * The head is out; body data and then EndOfMessage follow.
 *
 * @example
 * if (conn.ourState === SEND_BODY) socket.write(conn.send({ type: "Data", data }))
 */
export const SEND_BODY = "SEND_BODY";
/**
 * The message is complete; `startNextCycle()` may reuse the connection.
 *
 * @example
 * if (conn.ourState === DONE && conn.theirState === DONE) conn.startNextCycle()
 */
export const DONE = "DONE";
/**
 * The message is complete and the connection cannot be reused: close it.
 *
 * @example
 * if (conn.ourState === MUST_CLOSE) socket.end()
 */
export const MUST_CLOSE = "MUST_CLOSE";
/**
 * This side has closed the connection.
 *
 * @example
 * if (conn.theirState === CLOSED) socket.end()
 */
export const CLOSED = "CLOSED";
/**
 * A protocol error happened: the connection is unusable.
 *
 * @example
 * if (conn.theirState === ERROR) socket.destroy()
 */
export const ERROR = "ERROR";
/**
 * The client asked to switch protocols (CONNECT or Upgrade) and waits for the answer.
 *
 * @example
 * conn.send({ type: "Request", method: "CONNECT", target: "a.com:443", headers: [["Host", "a.com:443"]] }); conn.send({ type: "EndOfMessage" }); conn.ourState === MIGHT_SWITCH_PROTOCOL // true
 */
export const MIGHT_SWITCH_PROTOCOL = "MIGHT_SWITCH_PROTOCOL";
/**
 * The protocol switched: the bytes that follow are no longer HTTP/1.1.
 *
 * @example
 * if (conn.theirState === SWITCHED_PROTOCOL) tunnel.write(conn.trailingData.data)
 */
export const SWITCHED_PROTOCOL = "SWITCHED_PROTOCOL";

/**
 * A state of one side of the connection.
 *
 * @example
 * const state: State = conn.ourState
 */
export type State =
  | typeof IDLE
  | typeof SEND_RESPONSE
  | typeof SEND_BODY
  | typeof DONE
  | typeof MUST_CLOSE
  | typeof CLOSED
  | typeof ERROR
  | typeof MIGHT_SWITCH_PROTOCOL
  | typeof SWITCHED_PROTOCOL;

/** The event types that move the state machine. */
type EventType =
  | "Request"
  | "InformationalResponse"
  | "Response"
  | "Data"
  | "EndOfMessage"
  | "ConnectionClosed";

/** A protocol switch a client can propose and a server can accept. */
export type Switch = "CONNECT" | "UPGRADE";

// The transitions are h11's two tables written out as code: looking a variable key up in
// nested objects is a megamorphic property load in V8 (~900 instructions per parsed
// response in a callgrind profile), a comparison of interned strings is a pointer compare.

// EVENT_TRIGGERED: the state an event moves one side to, or undefined when that side may not
// send it in `state`. `key` is the event type; "<type>/<switch>" for the server accepting a
// switch; "Request/client" for the server's side seeing the client's request.
export function eventTriggered(role: Role, state: State, key: string): State | undefined {
  switch (state) {
    case IDLE:
      if (key === "ConnectionClosed") return CLOSED;
      if (role === CLIENT) return key === "Request" ? SEND_BODY : undefined;
      if (key === "Response") return SEND_BODY;
      return key === "Request/client" ? SEND_RESPONSE : undefined;
    case SEND_RESPONSE: // the server's only
      if (role !== SERVER) return undefined;
      if (key === "InformationalResponse") return SEND_RESPONSE;
      if (key === "Response") return SEND_BODY;
      if (key === "InformationalResponse/UPGRADE" || key === "Response/CONNECT") {
        return SWITCHED_PROTOCOL;
      }
      return undefined;
    case SEND_BODY:
      if (key === "Data") return SEND_BODY;
      return key === "EndOfMessage" ? DONE : undefined;
    case DONE:
    case MUST_CLOSE:
    case CLOSED:
      return key === "ConnectionClosed" ? CLOSED : undefined;
    default: // MIGHT_SWITCH_PROTOCOL, SWITCHED_PROTOCOL, ERROR: no event moves them
      return undefined;
  }
}

// STATE_TRIGGERED: applies what follows from the pair (client state, server state).
export function applyStateTriggered(states: { client: State; server: State }): void {
  const c = states.client;
  const s = states.server;
  if (c === MIGHT_SWITCH_PROTOCOL && s === SWITCHED_PROTOCOL) states.client = SWITCHED_PROTOCOL;
  else if ((c === CLOSED && (s === DONE || s === IDLE)) || (c === ERROR && s === DONE)) {
    states.server = MUST_CLOSE;
  } else if ((c === DONE && (s === CLOSED || s === ERROR)) || (c === IDLE && s === CLOSED)) {
    states.client = MUST_CLOSE;
  }
}

/** Both sides' states, keep-alive and pending switch proposals. */
export class ConnectionState {
  client: State = IDLE;
  server: State = IDLE;
  keepAlive = true;
  readonly pendingSwitches: Set<Switch> = new Set();

  get(role: Role): State {
    return role === CLIENT ? this.client : this.server;
  }

  processError(role: Role): void {
    this.#set(role, ERROR);
    this.#fireStateTriggered();
  }

  processKeepAliveDisabled(): void {
    this.keepAlive = false;
    this.#fireStateTriggered();
  }

  processClientSwitchProposal(proposal: Switch): void {
    this.pendingSwitches.add(proposal);
    this.#fireStateTriggered();
  }

  processEvent(role: Role, type: EventType, serverSwitch: Switch | null): void {
    let key: string = type;
    if (serverSwitch !== null) {
      if (!this.pendingSwitches.has(serverSwitch)) {
        throw new LocalProtocolError(
          `Received server ${serverSwitch} switch event without a pending proposal`,
        );
      }
      key = `${type}/${serverSwitch}`;
    } else if (type === "Response" && this.pendingSwitches.size > 0) {
      this.pendingSwitches.clear();
    }
    this.#fireEventTriggered(role, key, type);
    // The server's state machine sees the client's Request too.
    if (type === "Request") this.#fireEventTriggered(SERVER, "Request/client", type);
    this.#fireStateTriggered();
  }

  startNextCycle(): void {
    if (this.client !== DONE || this.server !== DONE) {
      throw new LocalProtocolError(
        `not in a reusable state (client ${this.client}, server ${this.server})`,
      );
    }
    this.client = IDLE;
    this.server = IDLE;
  }

  #set(role: Role, state: State): void {
    if (role === CLIENT) this.client = state;
    else this.server = state;
  }

  #fireEventTriggered(role: Role, key: string, type: EventType): void {
    const state = this.get(role);
    const next = eventTriggered(role, state, key);
    if (next === undefined) {
      throw new LocalProtocolError(
        `can't handle event type ${type} when role=${role} and state=${state}`,
      );
    }
    this.#set(role, next);
  }

  #fireStateTriggered(): void {
    for (;;) {
      const client = this.client;
      const server = this.server;
      // A switch proposal takes priority over MUST_CLOSE: an HTTP/1.0 CONNECT still waits
      // for the server's answer before it has to close.
      if (this.pendingSwitches.size > 0) {
        if (this.client === DONE) this.client = MIGHT_SWITCH_PROTOCOL;
      } else if (this.client === MIGHT_SWITCH_PROTOCOL) {
        this.client = DONE;
      }
      if (!this.keepAlive) {
        if (this.client === DONE) this.client = MUST_CLOSE;
        if (this.server === DONE) this.server = MUST_CLOSE;
      }
      applyStateTriggered(this);
      if (this.client === client && this.server === server) return;
    }
  }
}
