// The state machine's transitions, checked against h11's own tables (h11/_state.py,
// EVENT_TRIGGERED_TRANSITIONS and STATE_TRIGGERED_TRANSITIONS) written out here as data:
// state.ts encodes them as code, so the two encodings check each other.
import { describe, expect, it } from "vitest";
import { applyStateTriggered, eventTriggered, type Role, type State } from "../src/state.js";

const H11_EVENT_TRIGGERED: Record<Role, Record<string, Record<string, State>>> = {
  client: {
    IDLE: { Request: "SEND_BODY", ConnectionClosed: "CLOSED" },
    SEND_BODY: { Data: "SEND_BODY", EndOfMessage: "DONE" },
    DONE: { ConnectionClosed: "CLOSED" },
    MUST_CLOSE: { ConnectionClosed: "CLOSED" },
    CLOSED: { ConnectionClosed: "CLOSED" },
    MIGHT_SWITCH_PROTOCOL: {},
    SWITCHED_PROTOCOL: {},
    ERROR: {},
  },
  server: {
    IDLE: { ConnectionClosed: "CLOSED", Response: "SEND_BODY", "Request/client": "SEND_RESPONSE" },
    SEND_RESPONSE: {
      InformationalResponse: "SEND_RESPONSE",
      Response: "SEND_BODY",
      "InformationalResponse/UPGRADE": "SWITCHED_PROTOCOL",
      "Response/CONNECT": "SWITCHED_PROTOCOL",
    },
    SEND_BODY: { Data: "SEND_BODY", EndOfMessage: "DONE" },
    DONE: { ConnectionClosed: "CLOSED" },
    MUST_CLOSE: { ConnectionClosed: "CLOSED" },
    CLOSED: { ConnectionClosed: "CLOSED" },
    SWITCHED_PROTOCOL: {},
    ERROR: {},
  },
};

const STATES: State[] = [
  "IDLE",
  "SEND_RESPONSE",
  "SEND_BODY",
  "DONE",
  "MUST_CLOSE",
  "CLOSED",
  "ERROR",
  "MIGHT_SWITCH_PROTOCOL",
  "SWITCHED_PROTOCOL",
];
const KEYS = [
  "Request",
  "InformationalResponse",
  "Response",
  "Data",
  "EndOfMessage",
  "ConnectionClosed",
  "Request/client",
  "InformationalResponse/UPGRADE",
  "Response/CONNECT",
  "Response/UPGRADE",
  "InformationalResponse/CONNECT",
];

describe("state machine transitions (against h11's tables)", () => {
  it("every (role, state, event) moves where h11 moves it, or nowhere", () => {
    let checked = 0;
    for (const role of ["client", "server"] as const) {
      for (const state of STATES) {
        for (const key of KEYS) {
          const expected = H11_EVENT_TRIGGERED[role][state]?.[key];
          expect({ role, state, key, next: eventTriggered(role, state, key) }).toEqual({
            role,
            state,
            key,
            next: expected,
          });
          checked++;
        }
      }
    }
    expect(checked).toBe(2 * STATES.length * KEYS.length);
  });

  it("every (client, server) pair is followed by h11's state-triggered change", () => {
    const H11_STATE_TRIGGERED: Record<string, Partial<Record<Role, State>>> = {
      "MIGHT_SWITCH_PROTOCOL SWITCHED_PROTOCOL": { client: "SWITCHED_PROTOCOL" },
      "CLOSED DONE": { server: "MUST_CLOSE" },
      "CLOSED IDLE": { server: "MUST_CLOSE" },
      "ERROR DONE": { server: "MUST_CLOSE" },
      "DONE CLOSED": { client: "MUST_CLOSE" },
      "DONE ERROR": { client: "MUST_CLOSE" },
      "IDLE CLOSED": { client: "MUST_CLOSE" },
    };
    let changed = 0;
    for (const client of STATES) {
      for (const server of STATES) {
        const states = { client, server };
        applyStateTriggered(states);
        const change = H11_STATE_TRIGGERED[`${client} ${server}`] ?? {};
        expect({ before: [client, server], after: states }).toEqual({
          before: [client, server],
          after: { client: change.client ?? client, server: change.server ?? server },
        });
        if (states.client !== client || states.server !== server) changed++;
      }
    }
    expect(changed).toBe(Object.keys(H11_STATE_TRIGGERED).length);
  });
});
