// The server role refuses the request shapes that are request-smuggling vectors (bare LF as
// a line end, obs-fold, a version that is not HTTP/1.x) unless told to be lenient; the client
// role accepts bare LF and obs-fold in responses but not another major version. Each case is
// fed whole, a byte at a time, in random pieces, and split in two at every byte.
import { describe, expect, it } from "vitest";
import {
  Connection,
  type ConnectionOptions,
  type Event,
  RemoteProtocolError,
} from "../src/index.js";
import { enc, type Plain, receive, remoteError, SPLITS } from "./helpers.js";

// Every way of feeding `wire`: the shared splits, then two pieces cut at each byte.
function feeds(wire: string): Array<[string, Uint8Array[]]> {
  const bytes = enc(wire);
  const out: Array<[string, Uint8Array[]]> = [];
  for (const how of SPLITS) out.push([how, []]);
  for (let i = 1; i < bytes.length; i++) {
    out.push([`cut at ${i}`, [bytes.slice(0, i), bytes.slice(i)]]);
  }
  return out;
}

// Feeds `wire` as `pieces` (or by `how` when pieces is empty); returns the events delivered
// before the error, and the error (null when there was none).
function feed(
  conn: Connection,
  wire: string,
  how: string,
  pieces: Uint8Array[],
): { events: Plain[]; error: unknown } {
  const events: Plain[] = [];
  try {
    if (pieces.length === 0) {
      events.push(...receive(conn, wire, how as (typeof SPLITS)[number]));
    } else {
      for (const piece of pieces) {
        for (const event of receive(conn, piece)) {
          const last = events[events.length - 1];
          if (event.type === "Data" && last?.type === "Data") last.data += event.data;
          else events.push(event);
        }
      }
    }
    return { events, error: null };
  } catch (error) {
    return { events, error };
  }
}

function responder(): Connection {
  const c = new Connection("client");
  c.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
  c.send({ type: "EndOfMessage" });
  return c;
}

const SMUGGLING_REQUESTS: Array<[string, string, number]> = [
  [
    "a bare LF between two fields (the Content-Length hides behind Dummy)",
    "GET / HTTP/1.1\r\nHost: a\r\nDummy: x\nContent-Length: 23\r\n\r\nGET / HTTP/1.1\r\nX: y\r\n\r\n",
    400,
  ],
  ["a bare LF after the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400],
  ["a bare LF as the blank line", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400],
  ["bare LF everywhere", "GET / HTTP/1.1\nHost: a\n\n", 400],
  ["a bare LF before the blank line", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400],
  [
    "obs-fold hiding a Content-Length",
    "GET / HTTP/1.1\r\nHost: a\r\nFoo: bar\r\n Content-Length: 38\r\n\r\n",
    400,
  ],
  ["obs-fold with a tab", "GET / HTTP/1.1\r\nHost: a\r\nFoo: bar\r\n\tbaz\r\n\r\n", 400],
  ["HTTP/5.6", "GET / HTTP/5.6\r\nHost: a\r\n\r\n", 505],
  ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
  ["HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505],
  [
    "a bare LF in a chunked body's trailer",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nT: 1\nContent-Length: 5\r\n\r\n",
    400,
  ],
  [
    "obs-fold in a chunked body's trailer",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nT: 1\r\n more\r\n\r\n",
    400,
  ],
];

describe("the server role refuses smuggling-shaped requests by default", () => {
  for (const [name, wire, hint] of SMUGGLING_REQUESTS) {
    it(`${name}: RemoteProtocolError ${hint}, split every way`, () => {
      const trailerCase = wire.startsWith("POST");
      for (const [how, pieces] of feeds(wire)) {
        const { events, error } = feed(new Connection("server"), wire, how, pieces);
        expect(error, how).toBeInstanceOf(RemoteProtocolError);
        expect((error as RemoteProtocolError).errorStatusHint, how).toBe(hint);
        expect((error as RemoteProtocolError).code).toBe("H11_REMOTE_PROTOCOL_ERROR");
        if (trailerCase) {
          // The head was fine: the error comes where the trailer is, before EndOfMessage.
          expect(
            events.some((e) => e.type === "EndOfMessage"),
            how,
          ).toBe(false);
        } else {
          expect(events, how).toEqual([]);
        }
      }
    });
  }

  it("the connection is in ERROR afterwards and stays there", () => {
    const conn = new Connection("server");
    expect(() => receive(conn, "GET / HTTP/1.1\nHost: a\n\n")).toThrow(RemoteProtocolError);
    expect(conn.theirState).toBe("ERROR");
    expect(() => conn.nextEvent()).toThrow(RemoteProtocolError);
  });

  it("CR LF heads, HTTP/1.0 and HTTP/1.1 still parse", () => {
    for (const wire of [
      "GET / HTTP/1.1\r\nHost: a\r\nFoo: bar\r\n\r\n",
      "GET / HTTP/1.0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nT: 1\r\n\r\n",
    ]) {
      for (const [how, pieces] of feeds(wire)) {
        const { events, error } = feed(new Connection("server"), wire, how, pieces);
        expect(error, how).toBeNull();
        expect(events[0]?.type, how).toBe("Request");
      }
    }
  });
});

describe("the server role's opt-out (lenient)", () => {
  const lenient: ConnectionOptions = { lenient: { bareLF: true, obsFold: true } };

  it("bareLF: a bare LF ends lines, as h11 reads it", () => {
    const wire = "GET / HTTP/1.1\r\nHost: a\r\nDummy: x\nContent-Length: 3\r\n\r\nabc";
    for (const [how, pieces] of feeds(wire)) {
      const { events, error } = feed(new Connection("server", lenient), wire, how, pieces);
      expect(error, how).toBeNull();
      expect(events[0], how).toMatchObject({
        type: "Request",
        headers: [
          ["Host", "a"],
          ["Dummy", "x"],
          ["Content-Length", "3"],
        ],
      });
      expect(events[1], how).toEqual({ type: "Data", data: "abc" });
    }
  });

  it("obsFold: a continuation line is joined with a space", () => {
    const wire = "GET / HTTP/1.1\r\nHost: a\r\nFoo: bar\r\n Content-Length: 38\r\n\r\n";
    for (const [how, pieces] of feeds(wire)) {
      const { events, error } = feed(new Connection("server", lenient), wire, how, pieces);
      expect(error, how).toBeNull();
      expect(events[0], how).toMatchObject({
        headers: [
          ["Host", "a"],
          ["Foo", "bar Content-Length: 38"],
        ],
      });
    }
  });

  it("each flag turns on only its own shape", () => {
    const bareLF = "GET / HTTP/1.1\nHost: a\n\n";
    const folded = "GET / HTTP/1.1\r\nHost: a\r\nFoo: bar\r\n baz\r\n\r\n";
    const onlyLF = () => new Connection("server", { lenient: { bareLF: true } });
    const onlyFold = () => new Connection("server", { lenient: { obsFold: true } });
    expect(receive(onlyLF(), bareLF)[0]?.type).toBe("Request");
    expect(() => receive(onlyLF(), folded)).toThrow(remoteError(/obs-fold/));
    expect(receive(onlyFold(), folded)[0]?.type).toBe("Request");
    expect(() => receive(onlyFold(), bareLF)).toThrow(remoteError(/bare LF/));
  });

  it("no opt-out accepts another major version", () => {
    expect(() => receive(new Connection("server", lenient), "GET / HTTP/2.0\r\n\r\n")).toThrow(
      RemoteProtocolError,
    );
  });
});

describe("the client role", () => {
  it("accepts bare LF and obs-fold in responses, split every way", () => {
    const wire = "HTTP/1.1 200 OK\nX-Folded: one\r\n two\nContent-Length: 2\n\nok";
    for (const [how, pieces] of feeds(wire)) {
      const { events, error } = feed(responder(), wire, how, pieces);
      expect(error, how).toBeNull();
      expect(events[0], how).toMatchObject({
        type: "Response",
        headers: [
          ["X-Folded", "one two"],
          ["Content-Length", "2"],
        ],
      });
      expect(events[1], how).toEqual({ type: "Data", data: "ok" });
    }
  });

  for (const version of ["5.6", "2.0", "0.9", "3.0"]) {
    it(`refuses HTTP/${version} as a response, split every way`, () => {
      const wire = `HTTP/${version} 200 OK\r\nContent-Length: 0\r\n\r\n`;
      for (const [how, pieces] of feeds(wire)) {
        const { events, error } = feed(responder(), wire, how, pieces);
        expect(error, how).toBeInstanceOf(RemoteProtocolError);
        expect(events, how).toEqual([]);
      }
    });
  }

  it("is strict too when asked (lenient: { bareLF: false, obsFold: false })", () => {
    const strict = (): Connection => {
      const c = new Connection("client", { lenient: { bareLF: false, obsFold: false } });
      c.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
      return c;
    };
    expect(() => receive(strict(), "HTTP/1.1 200 OK\nContent-Length: 0\n\n")).toThrow(
      remoteError(/bare LF/),
    );
    expect(() => receive(strict(), "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n")).toThrow(
      remoteError(/obs-fold/),
    );
    expect(receive(strict(), "HTTP/1.1 204 No Content\r\n\r\n")[0]?.type).toBe("Response");
  });
});

describe("the client role never takes bytes that came before its request as the answer", () => {
  const GET: Event = { type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] };

  for (const extra of ["HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil", "x", "\r\n"]) {
    it(`bytes after a response (${JSON.stringify(extra.slice(0, 12))}) fail the next cycle`, () => {
      const c = new Connection("client");
      c.send(GET);
      c.send({ type: "EndOfMessage" });
      const events = receive(c, `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok${extra}`);
      expect(events.map((e) => e.type)).toEqual(["Response", "Data", "EndOfMessage", "PAUSED"]);
      c.startNextCycle();
      c.send(GET);
      c.send({ type: "EndOfMessage" });
      expect(() => c.nextEvent()).toThrow(remoteError(/before the request was sent/));
      expect(c.theirState).toBe("ERROR");
    });
  }

  it("bytes that arrive after the request was sent are its answer", () => {
    const c = new Connection("client");
    c.send(GET);
    c.send({ type: "EndOfMessage" });
    receive(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.startNextCycle();
    c.send(GET);
    c.send({ type: "EndOfMessage" });
    expect(receive(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")[1]).toEqual({
      type: "Data",
      data: "next",
    });
  });

  it("the server role keeps pipelined requests for the next cycle", () => {
    const s = new Connection("server");
    const events = receive(
      s,
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    expect(events.map((e) => e.type)).toEqual(["Request", "EndOfMessage", "PAUSED"]);
    s.send({ type: "Response", status: 200, headers: [["Content-Length", "0"]] });
    s.send({ type: "EndOfMessage" });
    s.startNextCycle();
    expect(s.nextEvent()).toMatchObject({ type: "Request", target: "/2" });
  });
});
