// The HTTP/1.1 state machine, as tables. This file does not know which role we play:
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

// Keys: "<EventType>" or "<EventType>/<Switch>" for the server's acceptance of a switch,
// or "Request/client" for the server seeing the client's request.
type Transitions = Readonly<Record<string, Readonly<Record<string, State>>>>;

const EVENT_TRIGGERED: Readonly<Record<Role, Transitions>> = {
  client: {
    IDLE: { Request: SEND_BODY, ConnectionClosed: CLOSED },
    SEND_BODY: { Data: SEND_BODY, EndOfMessage: DONE },
    DONE: { ConnectionClosed: CLOSED },
    MUST_CLOSE: { ConnectionClosed: CLOSED },
    CLOSED: { ConnectionClosed: CLOSED },
    MIGHT_SWITCH_PROTOCOL: {},
    SWITCHED_PROTOCOL: {},
    ERROR: {},
  },
  server: {
    IDLE: {
      ConnectionClosed: CLOSED,
      Response: SEND_BODY,
      "Request/client": SEND_RESPONSE,
    },
    SEND_RESPONSE: {
      InformationalResponse: SEND_RESPONSE,
      Response: SEND_BODY,
      "InformationalResponse/UPGRADE": SWITCHED_PROTOCOL,
      "Response/CONNECT": SWITCHED_PROTOCOL,
    },
    SEND_BODY: { Data: SEND_BODY, EndOfMessage: DONE },
    DONE: { ConnectionClosed: CLOSED },
    MUST_CLOSE: { ConnectionClosed: CLOSED },
    CLOSED: { ConnectionClosed: CLOSED },
    SWITCHED_PROTOCOL: {},
    ERROR: {},
  },
};

// (client state, server state) -> the changes that follow from them.
const STATE_TRIGGERED: Readonly<
  Record<string, Readonly<Record<string, Partial<Record<Role, State>>>>>
> = {
  MIGHT_SWITCH_PROTOCOL: { SWITCHED_PROTOCOL: { client: SWITCHED_PROTOCOL } },
  CLOSED: { DONE: { server: MUST_CLOSE }, IDLE: { server: MUST_CLOSE } },
  ERROR: { DONE: { server: MUST_CLOSE } },
  DONE: { CLOSED: { client: MUST_CLOSE }, ERROR: { client: MUST_CLOSE } },
  IDLE: { CLOSED: { client: MUST_CLOSE } },
};

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
    const next = EVENT_TRIGGERED[role][state]![key];
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
      const changes = STATE_TRIGGERED[this.client]?.[this.server];
      if (changes !== undefined) {
        if (changes.client !== undefined) this.client = changes.client;
        if (changes.server !== undefined) this.server = changes.server;
      }
      if (this.client === client && this.server === server) return;
    }
  }
}
