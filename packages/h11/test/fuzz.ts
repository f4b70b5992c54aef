// Shared by the fuzz test (a short run in CI) and `pnpm fuzz` (a long run).
import fc from "fast-check";
import { Connection, type Event, RemoteProtocolError, type State } from "../src/index.js";

export const SEEDS: Record<"client" | "server", string[]> = {
  server: [
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n\x16\x03",
    "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: ws\r\nConnection: upgrade\r\n\r\n",
    "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
    "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
  ],
  client: [
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\n\r\nuntil close",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.0 200 OK\r\nX: a\r\n  folded\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 101 Switching\r\nUpgrade: ws\r\n\r\nframes",
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
  ],
};

/** The client seeds that answer a request proposing `Upgrade: ws` (the client sends one). */
export const ANSWERS_UPGRADE: ReadonlySet<string> = new Set([
  "HTTP/1.1 101 Switching\r\nUpgrade: ws\r\n\r\nframes",
]);

const ALPHABET = [
  "\r",
  "\n",
  "\r\n",
  " ",
  "\t",
  ":",
  ";",
  "0",
  "9",
  "f",
  "\0",
  "\x7f",
  "\xff",
  "HTTP/1.1",
  "chunked",
  "Content-Length: ",
  "Transfer-Encoding: ",
  ",",
];

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

type Mutation = { at: number; del: number; ins: string };

export const mutationArb: fc.Arbitrary<Mutation[]> = fc.array(
  fc.record({
    at: fc.nat(),
    del: fc.nat({ max: 4 }),
    ins: fc.oneof(fc.constantFrom(...ALPHABET), fc.string({ maxLength: 4 }), fc.constant("")),
  }),
  { maxLength: 6 },
);

export function mutate(seed: string, mutations: Mutation[]): string {
  let s = seed;
  for (const m of mutations) {
    const at = s.length === 0 ? 0 : m.at % (s.length + 1);
    s = s.slice(0, at) + m.ins + s.slice(at + m.del);
  }
  return s;
}

/** What driving one input gave: its events, summarised, and the error that ended it. */
export interface Driven {
  /** One line an event, consecutive Data merged (see summary()). */
  readonly events: string[];
  /** The RemoteProtocolError that stopped the input, or null when it was read cleanly. */
  readonly error: RemoteProtocolError | null;
}

const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);
const fields = (headers: ReadonlyArray<readonly [string, string]>): string =>
  headers.map(([k, v]) => ` ${k}: ${v}`).join(";");

function summary(ev: Event): string {
  switch (ev.type) {
    case "Request":
      return `Request ${ev.method} ${ev.target} HTTP/${ev.httpVersion}${fields(ev.headers)}`;
    case "InformationalResponse":
    case "Response":
      return `${ev.type} HTTP/${ev.httpVersion} ${ev.status} ${ev.reason}${fields(ev.headers)}`;
    case "Data":
      return `Data ${latin1(ev.data)}`;
    case "EndOfMessage":
      return `EndOfMessage${fields(ev.headers ?? [])}`;
    case "ConnectionClosed":
      return "ConnectionClosed";
  }
}

// Our state, read afresh (TypeScript keeps what an earlier comparison narrowed it to).
const stateOf = (conn: Connection): State => conn.ourState;

/** Counts the inputs driven (the fuzz test checks that its property ran). */
export const counter = { inputs: 0 };

/**
 * Drives a connection with `input` split at `cuts` (then EOF, when `eof`). A client first
 * sends a GET (proposing an upgrade to ws when `proposeUpgrade`); a server answers
 * each request it reads (200, or a 200 that switches protocols for CONNECT); both sides go
 * on to the next cycle when both are DONE. Only a RemoteProtocolError (bad input) may stop
 * it, and is returned: anything else is thrown, a LocalProtocolError included (the driver's
 * own sends are valid, so one means the state machine went wrong). Each call must make
 * progress: a bounded number of events per byte.
 */
export function drive(
  role: "client" | "server",
  input: string,
  cuts: number[],
  eof: boolean,
  proposeUpgrade = false,
): Driven {
  counter.inputs++;
  const events: string[] = [];
  const record = (ev: Event): void => {
    const last = events.length - 1;
    if (ev.type === "Data" && events[last]?.startsWith("Data ")) events[last] += latin1(ev.data);
    else events.push(summary(ev));
  };
  const conn = new Connection(role, { maxIncompleteEventSize: 4096 });
  if (role === "client") {
    const upgrade: Array<[string, string]> = [
      ["Upgrade", "ws"],
      ["Connection", "upgrade"],
    ];
    const headers: Array<[string, string]> = [["Host", "a"], ...(proposeUpgrade ? upgrade : [])];
    conn.send({ type: "Request", method: "GET", target: "/", headers });
    conn.send({ type: "EndOfMessage" });
  }
  const bytes = enc(input);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    pieces.push(bytes.slice(last, p));
    last = p;
  }
  pieces.push(bytes.slice(last));
  if (eof) pieces.push(new Uint8Array(0));
  const budget = bytes.length * 4 + 64;
  let steps = 0;
  try {
    for (const piece of pieces) {
      if (piece.length === 0 && piece !== pieces[pieces.length - 1]) continue;
      conn.receiveData(piece);
      for (;;) {
        if (++steps > budget) throw new Error(`no progress after ${steps} events`);
        const ev = conn.nextEvent();
        if (ev.type === "NEED_DATA") break;
        if (ev.type === "PAUSED") {
          if (conn.ourState === "SEND_RESPONSE" || conn.ourState === "SEND_BODY") break;
          if (conn.theirState === "DONE" && conn.ourState === "DONE") {
            events.push("next cycle");
            conn.startNextCycle();
            continue;
          }
          break;
        }
        record(ev);
        if (ev.type === "ConnectionClosed") break;
        if (role === "server" && ev.type === "EndOfMessage" && conn.ourState === "SEND_RESPONSE") {
          conn.send({ type: "Response", status: 200, headers: [["Content-Length", "0"]] });
          // A 2xx to CONNECT switches protocols: there is no body to end.
          if (stateOf(conn) === "SEND_BODY") conn.send({ type: "EndOfMessage" });
        }
      }
      if (events.at(-1) === "ConnectionClosed") break;
    }
  } catch (error) {
    if (error instanceof RemoteProtocolError) return { events, error };
    throw error;
  }
  if (conn.theirState === "SWITCHED_PROTOCOL") {
    events.push(`switched protocols, then ${JSON.stringify(latin1(conn.trailingData.data))}`);
  }
  return { events, error: null };
}

export function fuzzProperty(): fc.IPropertyWithHooks<
  [string, "client" | "server", Mutation[], number[], boolean]
> {
  return fc.property(
    fc.constantFrom("a", "b"),
    fc.constantFrom<"client" | "server">("client", "server"),
    mutationArb,
    fc.array(fc.nat(), { maxLength: 8 }),
    fc.boolean(),
    (_tag, role, mutations, cuts, eof) => {
      for (const seed of SEEDS[role]) {
        drive(role, mutate(seed, mutations), cuts, eof, ANSWERS_UPGRADE.has(seed));
      }
    },
  );
}
