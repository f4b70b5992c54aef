import { expect } from "vitest";
import {
  Connection,
  type Event,
  NEED_DATA,
  PAUSED,
  RemoteProtocolError,
  type Role,
} from "../src/index.js";

const errorWith = (code: string, message: string | RegExp) =>
  expect.objectContaining({
    code,
    message:
      typeof message === "string"
        ? expect.stringContaining(message)
        : expect.stringMatching(message),
  });

/** For toThrow(): a LocalProtocolError (by its code) whose message has `message`. */
export const localError = (message: string | RegExp) =>
  errorWith("H11_LOCAL_PROTOCOL_ERROR", message);

/** For toThrow(): a RemoteProtocolError (by its code) whose message has `message`. */
export const remoteError = (message: string | RegExp) =>
  errorWith("H11_REMOTE_PROTOCOL_ERROR", message);

export const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
export const dec = (b: Uint8Array): string => String.fromCharCode(...b);

export type Split = "whole" | "bytes" | "random";
export const SPLITS: Split[] = ["whole", "bytes", "random"];

/** Deterministic pseudo-random split points, so a failure can be replayed. */
export function splitBytes(data: Uint8Array, how: Split, seed = 1): Uint8Array[] {
  if (how === "whole") return [data];
  if (how === "bytes") return Array.from(data, (b) => Uint8Array.of(b));
  const out: Uint8Array[] = [];
  let s = seed;
  let i = 0;
  while (i < data.length) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (s % 7);
    out.push(data.slice(i, i + n));
    i += n;
  }
  return out;
}

/** Normalised events: consecutive Data merged, data as a string, chunk flags dropped. */
export type Plain =
  | { type: "Data"; data: string }
  | Exclude<Event, { type: "Data" }>
  | { type: "NEED_DATA" }
  | { type: "PAUSED" };

/** Drains events until NEED_DATA or PAUSED (included), merging Data events. */
export function drain(conn: Connection): Plain[] {
  const out: Plain[] = [];
  for (;;) {
    const ev = conn.nextEvent();
    if (ev === NEED_DATA || ev === PAUSED) {
      out.push({ type: ev.type });
      return out;
    }
    if (ev.type === "Data") {
      const last = out[out.length - 1];
      if (last?.type === "Data") last.data += dec(ev.data);
      else out.push({ type: "Data", data: dec(ev.data) });
      continue;
    }
    out.push(ev);
    if (ev.type === "ConnectionClosed") return out;
  }
}

/** Feeds `data` (split as asked), draining after each piece; returns all events, merged. */
export function receive(
  conn: Connection,
  data: Uint8Array | string,
  how: Split = "whole",
  eof = false,
): Plain[] {
  const bytes = typeof data === "string" ? enc(data) : data;
  const all: Plain[] = [];
  const pieces = splitBytes(bytes, how);
  if (eof) pieces.push(new Uint8Array(0));
  for (const piece of pieces) {
    conn.receiveData(piece);
    for (const ev of drain(conn)) {
      const last = all[all.length - 1];
      if (ev.type === "NEED_DATA") continue;
      if (ev.type === "Data" && last?.type === "Data") last.data += ev.data;
      else all.push(ev);
    }
  }
  return all;
}

/** What receiving `wire` whole throws, checked to be a RemoteProtocolError (by its code). */
export function refusal(conn: Connection, wire: string): RemoteProtocolError {
  let error: unknown = null;
  try {
    receive(conn, wire);
  } catch (e) {
    error = e;
  }
  expect(error, JSON.stringify(wire)).toBeInstanceOf(RemoteProtocolError);
  expect((error as RemoteProtocolError).code).toBe("H11_REMOTE_PROTOCOL_ERROR");
  return error as RemoteProtocolError;
}

export function newPair(): { client: Connection; server: Connection } {
  return { client: new Connection("client"), server: new Connection("server") };
}

export function conn(role: Role): Connection {
  return new Connection(role);
}

export function sendAll(c: Connection, events: Event[]): string {
  let out = "";
  for (const ev of events) {
    const bytes = c.send(ev as Exclude<Event, { type: "ConnectionClosed" }>);
    if (bytes) out += dec(bytes);
  }
  return out;
}
