// A received head at the edges of RFC 9112's grammar, as h11 reads it: the status-line
// (§4), the request-line (§3), field lines and obs-fold (§5), each byte of the fixed parts
// changed in turn, and the boundaries of each rule.
import { describe, expect, it } from "vitest";
import { Connection, type ConnectionOptions } from "../src/index.js";
import { type Plain, receive, refusal } from "./helpers.js";

/** A client that has sent a GET and waits for the answer. */
function client(options?: ConnectionOptions): Connection {
  const c = new Connection("client", options);
  c.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
  c.send({ type: "EndOfMessage" });
  return c;
}

/** Expects `wire` refused with `hint`, by a message that holds `message`. */
function expectRefused(conn: Connection, wire: string, message: string, hint = 400): void {
  const error = refusal(conn, wire);
  expect([JSON.stringify(wire), error.message]).toEqual([
    JSON.stringify(wire),
    expect.stringContaining(message),
  ]);
  expect(error.errorStatusHint, JSON.stringify(wire)).toBe(hint);
}

const first = (events: Plain[]): Plain | undefined => events[0];

describe("the status-line", () => {
  const LINE = "HTTP/1.1 200 OK";
  // For each byte of "HTTP/1.1 200", bytes that must not stand there: the neighbours of
  // the letter in either case, of the digits ("/" and ":"), of "." and of SP.
  const WRONG: Record<number, string[]> = {
    0: ["h", "G", "I"],
    1: ["t", "S", "U"],
    2: ["t", "S", "U"],
    3: ["p", "O", "Q"],
    4: ["\\", ".", "0"],
    5: ["/", ":", "a"],
    6: [",", "/", "1"],
    7: ["/", ":", "a"],
    8: ["\t", "!", "\x1f"],
    9: ["/", ":", "a"],
    10: ["/", ":", "a"],
    11: ["/", ":", "a"],
  };
  for (const [at, bytes] of Object.entries(WRONG)) {
    for (const byte of bytes) {
      const line = LINE.slice(0, Number(at)) + byte + LINE.slice(Number(at) + 1);
      it(`${JSON.stringify(line)} is refused as an illegal status line`, () => {
        expectRefused(
          client(),
          `${line}\r\nContent-Length: 0\r\n\r\n`,
          `illegal status line: ${JSON.stringify(line)}`,
        );
      });
    }
  }

  it("is refused when shorter than HTTP-version SP 3DIGIT, whatever follows it", () => {
    for (const line of ["HTTP/1.1 20", "HTTP/1.1 2", "HTTP/1.1 ", "HTTP/1.1", "HTTP/1.", "H"]) {
      expectRefused(client(), `${line}\r\n\r\n`, `illegal status line: ${JSON.stringify(line)}`);
      expectRefused(client(), `${line}\n\n`, `illegal status line: ${JSON.stringify(line)}`);
    }
  });

  it("takes exactly HTTP-version SP 3DIGIT, with no reason and no space, at either line end", () => {
    for (const eol of ["\r\n", "\n"]) {
      expect(first(receive(client(), `HTTP/1.1 200${eol}Content-Length: 0${eol}${eol}`))).toEqual({
        type: "Response",
        status: 200,
        reason: "",
        headers: [["Content-Length", "0"]],
        httpVersion: "1.1",
      });
    }
  });

  it("needs SP, not another byte or a fourth digit, after the status code", () => {
    for (const line of ["HTTP/1.1 2000", "HTTP/1.1 2000 OK", "HTTP/1.1 200\tOK", "HTTP/1.1 200x"]) {
      expectRefused(
        client(),
        `${line}\r\nContent-Length: 0\r\n\r\n`,
        `illegal status line: ${JSON.stringify(line)}`,
      );
    }
  });

  // 0 and 9 in every digit of the status code, and their value.
  it.each([
    ["100", 100, "InformationalResponse"],
    ["199", 199, "InformationalResponse"],
    ["909", 909, "Response"],
    ["990", 990, "Response"],
    ["509", 509, "Response"],
  ])("reads the status code %s as %d", (code, status, type) => {
    expect(first(receive(client(), `HTTP/1.1 ${code} x\r\n\r\n`))).toEqual({
      type,
      status,
      reason: "x",
      headers: [],
      httpVersion: "1.1",
    });
  });

  it.each(["0", "1", "2", "5", "9"])("reads HTTP/1.%s as that version", (minor) => {
    const wire = `HTTP/1.${minor} 204 No Content\r\n\r\n`;
    expect(first(receive(client(), wire))).toMatchObject({
      type: "Response",
      status: 204,
      httpVersion: `1.${minor}`,
    });
  });

  it.each(["0.9", "2.0", "2.1", "3.0", "9.9"])(
    "refuses HTTP/%s: not a version of HTTP/1 (hint 400, the response is not ours to answer)",
    (version) => {
      expectRefused(
        client(),
        `HTTP/${version} 200 OK\r\nContent-Length: 0\r\n\r\n`,
        `HTTP/${version} is not a version of HTTP/1`,
        400,
      );
    },
  );

  // reason-phrase = *( HTAB / SP / VCHAR / obs-text ); like h11, other control bytes pass
  // but NUL, VT, FF and a bare CR do not.
  it.each(["\0", "\x0b", "\x0c", "\r"])("refuses %j in the reason phrase", (byte) => {
    const line = `HTTP/1.1 200 O${byte}K`;
    expectRefused(
      client(),
      `${line}\r\nContent-Length: 0\r\n\r\n`,
      `illegal status line: ${JSON.stringify(line)}`,
    );
  });

  it.each(["oK", "0K", "O", "OKK", "O K"])("the reason %j is kept as sent, not as OK", (reason) => {
    expect(first(receive(client(), `HTTP/1.1 200 ${reason}\r\n\r\n`))).toMatchObject({ reason });
  });

  it("an empty head is refused as no response line", () => {
    expectRefused(client(), "\r\nHTTP/1.1 200 OK\r\n\r\n", "no response line received");
  });

  it.each(["\x01", "\x1f", "\x7f", "\t", " ", "\xff"])("keeps %j in the reason phrase", (byte) => {
    const reason = `a${byte}b`;
    expect(first(receive(client(), `HTTP/1.1 200 ${reason}\r\n\r\n`))).toMatchObject({
      type: "Response",
      reason,
    });
  });
});

describe("the request-line", () => {
  it("an empty head is refused as no request line", () => {
    expectRefused(
      new Connection("server"),
      "\r\nGET / HTTP/1.1\r\n\r\n",
      "no request line received",
    );
  });

  it("a line that is not method SP target SP HTTP-version is refused, quoted", () => {
    for (const line of ["GET /", "GET  / HTTP/1.1", "GET / HTTP/1.1 ", "GET / HTTP/1"]) {
      expectRefused(
        new Connection("server"),
        `${line}\r\nHost: a\r\n\r\n`,
        `illegal request line: ${JSON.stringify(line)}`,
      );
    }
  });

  it.each(["0.9", "2.0", "3.1"])("HTTP/%s is refused with 505", (version) => {
    expectRefused(
      new Connection("server"),
      `GET / HTTP/${version}\r\nHost: a\r\n\r\n`,
      `HTTP/${version} is not a version of HTTP/1 (only HTTP/1.x is read here)`,
      505,
    );
  });
});

describe("field lines", () => {
  const server = (): Connection => new Connection("server");
  const lenient = (): Connection =>
    new Connection("server", { lenient: { bareLF: true, obsFold: true } });

  it.each([
    ["no name", ": v"],
    ["no colon", "NoColon"],
    ["a space before the colon", "X : v"],
    ["a tab before the colon", "X\t: v"],
    ["a non-token byte in the name", "X@Y: v"],
    ["a latin1 byte in the name", "X\xe9: v"],
    ["NUL in the value", "X: a\0b"],
    ["VT in the value", "X: a\x0bb"],
    ["FF in the value", "X: a\x0cb"],
    ["a bare CR in the value", "X: a\rb"],
    ["a bare CR at the value's end", "X: a\r"],
    ["a CR line of its own", "\r"],
  ])("%s: the line is refused, quoted", (_name, line) => {
    expectRefused(
      server(),
      `GET / HTTP/1.1\r\nHost: a\r\n${line}\r\n\r\n`,
      `illegal header line: ${JSON.stringify(line)}`,
    );
  });

  it("the first bad line is the one named", () => {
    expectRefused(
      server(),
      "GET / HTTP/1.1\r\nHost: a\r\nOk: 1\r\nBad : 2\r\nAlso bad\r\n\r\n",
      'illegal header line: "Bad : 2"',
    );
  });

  it("a continuation before any field is refused as such, even when obs-fold is allowed", () => {
    for (const make of [server, lenient]) {
      for (const fold of [" folded", "\tfolded: x"]) {
        expectRefused(
          make(),
          `GET / HTTP/1.1\r\n${fold}\r\nHost: a\r\n\r\n`,
          "continuation line at start of headers",
        );
      }
    }
  });

  it("a bad byte in a continuation line is refused in the joined line", () => {
    expectRefused(
      lenient(),
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\x0bc\r\n\r\n",
      'illegal header line: "X: a b\\u000bc"',
    );
  });

  it("obs-fold is refused with the line it continues, unless allowed", () => {
    expectRefused(
      server(),
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n",
      'obs-fold (a field line continued on the next line) after "X: a"',
    );
  });

  it("OWS (SP, HTAB) around a value goes, inside it stays; other bytes stay", () => {
    const events = receive(
      server(),
      "GET / HTTP/1.1\r\nHost:a\r\nA:\t a \t b\t \r\nB: \x01\x7f\xff \r\nC:\t\r\nD:\r\n\r\n",
    );
    expect(first(events)).toMatchObject({
      headers: [
        ["Host", "a"],
        ["A", "a \t b"],
        ["B", "\x01\x7f\xff"],
        ["C", ""],
        ["D", ""],
      ],
    });
  });

  it("a field of only OWS continued by only OWS is empty", () => {
    const events = receive(
      lenient(),
      "GET / HTTP/1.1\r\nHost: a\r\nX: \r\n \t\r\n\t\r\nY: z\r\n\r\n",
    );
    expect(first(events)).toMatchObject({
      headers: [
        ["Host", "a"],
        ["X", ""],
        ["Y", "z"],
      ],
    });
  });

  it("a body that starts with LF is not part of a strict head", () => {
    // 64 bytes or more, whole: the head is read from a window that holds the body too.
    const s = server();
    const events = receive(
      s,
      `POST / HTTP/1.1\r\nHost: a\r\nX-Pad: ${"p".repeat(64)}\r\nContent-Length: 3\r\n\r\n\nx\n`,
    );
    expect(events.slice(1)).toEqual([
      { type: "Data", data: "\nx\n" },
      { type: "EndOfMessage", headers: [] },
    ]);
  });

  it("a colon in the value is part of the value", () => {
    const events = receive(server(), "GET / HTTP/1.1\r\nHost: a:80\r\nX-Time:: 12:00 :\r\n\r\n");
    expect(first(events)).toMatchObject({
      headers: [
        ["Host", "a:80"],
        ["X-Time", ": 12:00 :"],
      ],
    });
  });
});
