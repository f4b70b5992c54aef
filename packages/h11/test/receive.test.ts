import { describe, expect, it } from "vitest";
import {
  CLOSED,
  Connection,
  DONE,
  IDLE,
  LocalProtocolError,
  MIGHT_SWITCH_PROTOCOL,
  MUST_CLOSE,
  NEED_DATA,
  PAUSED,
  RemoteProtocolError,
  SEND_BODY,
  SEND_RESPONSE,
  SWITCHED_PROTOCOL,
} from "../src/index.js";
import { dec, drain, enc, receive, SPLITS } from "./helpers.js";

function clientAfter(method: string, target = "/"): Connection {
  const c = new Connection("client");
  c.send({ type: "Request", method, target, headers: [["Host", "example.com"]] });
  c.send({ type: "EndOfMessage" });
  return c;
}

function server(): Connection {
  return new Connection("server");
}

// Each case: the bytes a client receives after sending `method`, and what it must see.
const RESPONSES: Array<{
  name: string;
  method?: string;
  wire: string;
  eof?: boolean;
  events: unknown[];
  state: string;
}> = [
  {
    name: "Content-Length body",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    events: [
      {
        type: "Response",
        status: 200,
        reason: "OK",
        headers: [["Content-Length", "5"]],
        httpVersion: "1.1",
      },
      { type: "Data", data: "hello" },
      { type: "EndOfMessage", headers: [] },
    ],
    state: DONE,
  },
  {
    name: "chunked body with extensions and trailers",
    wire:
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n5;ext=1\r\nhello\r\n" +
      "6 \r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n",
    events: [
      {
        type: "Response",
        status: 200,
        reason: "OK",
        headers: [["Transfer-Encoding", "chunked"]],
        httpVersion: "1.1",
      },
      { type: "Data", data: "hello world" },
      { type: "EndOfMessage", headers: [["X-Trailer", "yes"]] },
    ],
    state: DONE,
  },
  {
    name: "read until close",
    wire: "HTTP/1.1 200 OK\r\n\r\nsome bytes",
    eof: true,
    events: [
      { type: "Response", status: 200, reason: "OK", headers: [], httpVersion: "1.1" },
      { type: "Data", data: "some bytes" },
      { type: "EndOfMessage", headers: [] },
      { type: "ConnectionClosed" },
    ],
    state: CLOSED,
  },
  {
    name: "HEAD response has no body despite Content-Length",
    method: "HEAD",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
    events: [
      {
        type: "Response",
        status: 200,
        reason: "OK",
        headers: [["Content-Length", "100"]],
        httpVersion: "1.1",
      },
      { type: "EndOfMessage", headers: [] },
    ],
    state: DONE,
  },
  {
    name: "204 has no body",
    wire: "HTTP/1.1 204 No Content\r\n\r\n",
    events: [
      { type: "Response", status: 204, reason: "No Content", headers: [], httpVersion: "1.1" },
      { type: "EndOfMessage", headers: [] },
    ],
    state: DONE,
  },
  {
    name: "304 has no body",
    wire: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
    events: [
      {
        type: "Response",
        status: 304,
        reason: "Not Modified",
        headers: [["Content-Length", "10"]],
        httpVersion: "1.1",
      },
      { type: "EndOfMessage", headers: [] },
    ],
    state: DONE,
  },
  {
    name: "1xx then final, reason optional, names keep case, values trimmed",
    wire: "HTTP/1.1 100\r\n\r\nHTTP/1.1 200 \r\ncOnTeNt-LeNgTh:  2 \t\r\n\r\nok",
    events: [
      { type: "InformationalResponse", status: 100, reason: "", headers: [], httpVersion: "1.1" },
      {
        type: "Response",
        status: 200,
        reason: "",
        headers: [["cOnTeNt-LeNgTh", "2"]],
        httpVersion: "1.1",
      },
      { type: "Data", data: "ok" },
      { type: "EndOfMessage", headers: [] },
    ],
    state: DONE,
  },
  {
    name: "Connection: close makes both sides MUST_CLOSE",
    wire: "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
    events: [
      {
        type: "Response",
        status: 200,
        reason: "OK",
        headers: [
          ["Connection", "keep-alive, Close"],
          ["Content-Length", "0"],
        ],
        httpVersion: "1.1",
      },
      { type: "EndOfMessage", headers: [] },
    ],
    state: MUST_CLOSE,
  },
  {
    name: "an HTTP/1.0 response is never kept alive",
    wire: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
    events: [
      {
        type: "Response",
        status: 200,
        reason: "OK",
        headers: [["Content-Length", "1"]],
        httpVersion: "1.0",
      },
      { type: "Data", data: "x" },
      { type: "EndOfMessage", headers: [] },
    ],
    state: MUST_CLOSE,
  },
  {
    name: "obs-fold joins continuation lines with a space; bare LF ends lines",
    wire: "HTTP/1.1 200 OK\nX-Folded: one\n  two\n\ttwo-b\nContent-Length: 0\n\n",
    events: [
      {
        type: "Response",
        status: 200,
        reason: "OK",
        headers: [
          ["X-Folded", "one two two-b"],
          ["Content-Length", "0"],
        ],
        httpVersion: "1.1",
      },
      { type: "EndOfMessage", headers: [] },
    ],
    state: DONE,
  },
  {
    name: "obs-text and reason phrase bytes kept as latin1",
    wire: "HTTP/1.1 200 Ok\xe9\r\nX-Bytes: caf\xe9\r\nContent-Length: 0\r\n\r\n",
    events: [
      {
        type: "Response",
        status: 200,
        reason: "Ok\xe9",
        headers: [
          ["X-Bytes", "caf\xe9"],
          ["Content-Length", "0"],
        ],
        httpVersion: "1.1",
      },
      { type: "EndOfMessage", headers: [] },
    ],
    state: DONE,
  },
  // The first look for a head's end decodes up to 1024 bytes and searches them: heads
  // longer than that, blank lines across its edge, and bodies holding blank lines.
  ...[975, 976, 977, 978, 979, 3000].map((pad) => ({
    name: `a ${44 + pad + 4}-byte head, body after it`,
    wire: `HTTP/1.1 200 OK\r\nX-Pad: ${"p".repeat(pad)}\r\nContent-Length: 4\r\n\r\nbody`,
    events: [
      {
        type: "Response",
        status: 200,
        reason: "OK",
        headers: [
          ["X-Pad", "p".repeat(pad)],
          ["Content-Length", "4"],
        ],
        httpVersion: "1.1",
      },
      { type: "Data", data: "body" },
      { type: "EndOfMessage", headers: [] },
    ],
    state: DONE,
  })),
  ...[
    ["\n", "ab\r\n\r\ncd"],
    ["\r\n", "ab\n\ncd"],
    ["\r\n", "ab\n\r\ncd"],
  ].map(([eol, body]) => ({
    name: `the first blank line ends the head (${JSON.stringify(eol)} lines, body ${JSON.stringify(body)})`,
    wire: `HTTP/1.1 200 OK${eol}X-Pad: ${"p".repeat(40)}${eol}Content-Length: ${body!.length}${eol}${eol}${body}`,
    events: [
      {
        type: "Response",
        status: 200,
        reason: "OK",
        headers: [
          ["X-Pad", "p".repeat(40)],
          ["Content-Length", String(body!.length)],
        ],
        httpVersion: "1.1",
      },
      { type: "Data", data: body },
      { type: "EndOfMessage", headers: [] },
    ],
    state: DONE,
  })),
];

describe("client receiving responses", () => {
  for (const c of RESPONSES) {
    for (const how of SPLITS) {
      it(`${c.name} (${how})`, () => {
        const conn = clientAfter(c.method ?? "GET");
        expect(receive(conn, c.wire, how, c.eof)).toEqual(c.events);
        expect(conn.theirState).toBe(c.state);
      });
    }
  }

  it("CONNECT 2xx switches protocol and keeps the tunnel's bytes as trailing data", () => {
    const conn = clientAfter("CONNECT", "example.com:443");
    expect(conn.ourState).toBe(MIGHT_SWITCH_PROTOCOL);
    const events = receive(conn, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01");
    expect(events).toEqual([
      {
        type: "Response",
        status: 200,
        reason: "Connection established",
        headers: [],
        httpVersion: "1.1",
      },
      { type: "PAUSED" },
    ]);
    expect(conn.ourState).toBe(SWITCHED_PROTOCOL);
    expect(conn.theirState).toBe(SWITCHED_PROTOCOL);
    expect(dec(conn.trailingData.data)).toBe("\x16\x03\x01");
    expect(conn.trailingData.closed).toBe(false);
  });

  it("CONNECT refused with 407 reads the body and returns to DONE", () => {
    const conn = clientAfter("CONNECT", "example.com:443");
    const events = receive(
      conn,
      "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\nno!",
    );
    expect(events.map((e) => e.type)).toEqual(["Response", "Data", "EndOfMessage"]);
    expect(conn.ourState).toBe(DONE);
    expect(conn.theirState).toBe(DONE);
  });

  it("101 to an Upgrade request switches protocol", () => {
    const conn = new Connection("client");
    conn.send({
      type: "Request",
      method: "GET",
      target: "/",
      headers: [
        ["Host", "a"],
        ["Upgrade", "websocket"],
        ["Connection", "upgrade"],
      ],
    });
    conn.send({ type: "EndOfMessage" });
    expect(conn.ourState).toBe(MIGHT_SWITCH_PROTOCOL);
    receive(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nframes");
    expect(conn.theirState).toBe(SWITCHED_PROTOCOL);
    expect(dec(conn.trailingData.data)).toBe("frames");
  });

  it("a 200 to an Upgrade request declines the upgrade", () => {
    const conn = new Connection("client");
    conn.send({
      type: "Request",
      method: "GET",
      target: "/",
      headers: [
        ["Host", "a"],
        ["Upgrade", "h2c"],
      ],
    });
    conn.send({ type: "EndOfMessage" });
    receive(conn, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    expect(conn.ourState).toBe(DONE);
    expect(conn.theirState).toBe(DONE);
  });

  it("keep-alive: startNextCycle resets both sides to IDLE", () => {
    const conn = clientAfter("GET");
    receive(conn, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    conn.startNextCycle();
    expect([conn.ourState, conn.theirState]).toEqual([IDLE, IDLE]);
    conn.send({ type: "Request", method: "GET", target: "/2", headers: [["Host", "a"]] });
    expect(conn.ourState).toBe(SEND_BODY);
  });

  it("startNextCycle before both sides are DONE is a LocalProtocolError", () => {
    const conn = clientAfter("GET");
    expect(() => conn.startNextCycle()).toThrow(LocalProtocolError);
  });

  it("EOF in DONE gives ConnectionClosed and MUST_CLOSE for us", () => {
    const conn = clientAfter("GET");
    receive(conn, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    conn.receiveData(new Uint8Array(0));
    expect(conn.nextEvent()).toEqual({ type: "ConnectionClosed" });
    expect(conn.theirState).toBe(CLOSED);
    expect(conn.ourState).toBe(MUST_CLOSE);
  });

  it("bytes after a complete response pause until the next cycle", () => {
    const conn = clientAfter("GET");
    const events = receive(conn, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n");
    expect(events[events.length - 1]).toEqual({ type: "PAUSED" });
  });

  it("an unsolicited response on an idle connection is parsed (the pool must refuse it)", () => {
    const conn = new Connection("client");
    conn.receiveData(enc("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"));
    expect(conn.nextEvent()).toMatchObject({ type: "Response", status: 408 });
  });

  // The framing names are kept as constants when spelled the usual way or in lower case
  // (memory, not behaviour): every spelling must still come out as it was received.
  it.each([
    ["Content-Length", "0", ""],
    ["content-length", "0", ""],
    ["CONTENT-LENGTH", "0", ""],
    ["Content-length", "0", ""],
    ["Transfer-Encoding", "chunked", "0\r\n\r\n"],
    ["transfer-encoding", "chunked", "0\r\n\r\n"],
    ["TRANSFER-encoding", "chunked", "0\r\n\r\n"],
  ])("a received %s field keeps its name as sent", (name, value, body) => {
    const conn = clientAfter("GET");
    const wire = `HTTP/1.1 200 OK\r\n${name}: ${value}\r\nConnection: keep-alive\r\n\r\n${body}`;
    const events = receive(conn, wire);
    expect(events[0]).toMatchObject({
      headers: [
        [name, value],
        ["Connection", "keep-alive"],
      ],
    });
    expect(events.at(-1)).toEqual({ type: "EndOfMessage", headers: [] });
  });

  it.each(["Connection", "connection", "CONNECTION", "cOnnection"])(
    "a received %s field keeps its name as sent, and still closes",
    (name) => {
      const conn = clientAfter("GET");
      const events = receive(
        conn,
        `HTTP/1.1 200 OK\r\n${name}: close\r\nContent-Length: 0\r\n\r\n`,
      );
      expect(events[0]).toMatchObject({
        headers: [
          [name, "close"],
          ["Content-Length", "0"],
        ],
      });
      expect(conn.theirState).toBe(MUST_CLOSE);
    },
  );

  // "OK" is kept as a constant; other reasons, even ones starting with OK, as sent.
  it.each(["OK", "Ok", "ok", "OKAY", "OK!", "OK ", "Not Found", ""])(
    "the reason %j is kept as sent",
    (reason) => {
      const conn = clientAfter("GET");
      const events = receive(conn, `HTTP/1.1 200 ${reason}\r\nContent-Length: 0\r\n\r\n`);
      expect(events[0]).toMatchObject({ type: "Response", status: 200, reason });
    },
  );
});

describe("server receiving requests", () => {
  it.each(SPLITS)("GET with Host (%s)", (how) => {
    const s = server();
    expect(
      receive(s, "GET /path?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n", how),
    ).toEqual(
      [
        {
          type: "Request",
          method: "GET",
          target: "/path?q=1",
          headers: [
            ["Host", "example.com"],
            ["Accept", "*/*"],
          ],
          httpVersion: "1.1",
        },
        { type: "EndOfMessage", headers: [] },
        { type: "PAUSED" },
      ].slice(0, 2),
    );
    expect(s.theirState).toBe(DONE);
    expect(s.ourState).toBe(SEND_RESPONSE);
  });

  it.each(SPLITS)("POST with a chunked body (%s)", (how) => {
    const s = server();
    const wire =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n";
    const events = receive(s, wire, how);
    expect(events.map((e) => e.type)).toEqual(["Request", "Data", "EndOfMessage"]);
    expect(events[1]).toEqual({ type: "Data", data: "abc0123456789" });
  });

  it("absolute-form and authority-form targets", () => {
    const s = server();
    expect(receive(s, "GET http://a.com/x HTTP/1.1\r\nHost: a.com\r\n\r\n")[0]).toMatchObject({
      target: "http://a.com/x",
    });
    const t = server();
    expect(receive(t, "CONNECT a.com:443 HTTP/1.1\r\nHost: a.com:443\r\n\r\n")[0]).toMatchObject({
      method: "CONNECT",
      target: "a.com:443",
    });
    expect(t.theirState).toBe(MIGHT_SWITCH_PROTOCOL);
  });

  it.each(["Host", "host", "HOST", "hOST"])(
    "a received %s field keeps its name as sent",
    (name) => {
      const events = receive(
        server(),
        `GET / HTTP/1.1\r\n${name}: a\r\nexpect: 100-continue\r\n\r\n`,
      );
      expect(events[0]).toMatchObject({
        type: "Request",
        headers: [
          [name, "a"],
          ["expect", "100-continue"],
        ],
      });
    },
  );

  it("HTTP/1.0 without Host is fine and is not kept alive", () => {
    const s = server();
    receive(s, "GET / HTTP/1.0\r\n\r\n");
    expect(s.theirHttpVersion).toBe("1.0");
    expect(s.theirState).toBe(MUST_CLOSE);
  });

  it("pipelined requests pause after the first", () => {
    const s = server();
    const events = receive(
      s,
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    expect(events.map((e) => e.type)).toEqual(["Request", "EndOfMessage", "PAUSED"]);
    s.send({ type: "Response", status: 200, headers: [["Content-Length", "0"]] });
    s.send({ type: "EndOfMessage" });
    s.startNextCycle();
    expect(drain(s)[0]).toMatchObject({ type: "Request", target: "/2" });
  });

  // Connection and Expect are comma-separated lists: a token counts as a whole element,
  // in any case, with optional whitespace (SP, HTAB) around it.
  it.each([
    ["close", true],
    ["CLOSE", true],
    ["keep-alive", false],
    ["Keep-Alive", false],
    ["keep-alive, Close", true],
    ["keep-alive,close", true],
    [" \tclose\t ", true],
    ["upgrade ,  cLoSe  , keep-alive", true],
    [",,close,,", true],
    ["closed", false],
    ["xclose", false],
    ["clo se", false],
    ["keep-alive, closer", false],
    ["close\xa0", false],
    ["", false],
  ])("a response with Connection: %j closes: %s", (value, closes) => {
    const c = clientAfter("GET");
    receive(c, `HTTP/1.1 200 OK\r\nConnection: ${value}\r\nContent-Length: 0\r\n\r\n`);
    drain(c);
    expect(c.theirState).toBe(closes ? MUST_CLOSE : DONE);
  });

  it.each([
    ["100-continue", true],
    ["100-Continue", true],
    ["foo, 100-CONTINUE", true],
    ["100-continued", false],
    ["200-continue", false],
  ])("a request with Expect: %j waits for 100 Continue: %s", (value, waits) => {
    const s = server();
    receive(s, `POST / HTTP/1.1\r\nHost: a\r\nExpect: ${value}\r\nContent-Length: 2\r\n\r\n`);
    expect(s.theyAreWaitingFor100Continue).toBe(waits);
  });

  it("Expect: 100-continue sets the waiting flags until a response or body", () => {
    const s = server();
    receive(s, "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    expect(s.theyAreWaitingFor100Continue).toBe(true);
    expect(s.clientIsWaitingFor100Continue).toBe(true);
    s.send({ type: "InformationalResponse", status: 100, headers: [] });
    expect(s.theyAreWaitingFor100Continue).toBe(false);

    const t = server();
    receive(t, "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
    expect(t.theyAreWaitingFor100Continue).toBe(false);

    const c = new Connection("client");
    c.send({
      type: "Request",
      method: "POST",
      target: "/",
      headers: [
        ["Host", "a"],
        ["Expect", "100-continue"],
        ["Content-Length", "1"],
      ],
    });
    expect(c.clientIsWaitingFor100Continue).toBe(true);
    expect(c.theyAreWaitingFor100Continue).toBe(false);
    c.send({ type: "Data", data: enc("x") });
    expect(c.clientIsWaitingFor100Continue).toBe(false);
  });
});

// Bytes that must be refused: [name, role receiving them, wire, expected errorStatusHint]
const REJECTED: Array<[string, "client" | "server", string, number]> = [
  ["garbage request line", "server", "GARBAGE\r\n\r\n", 400],
  ["space-led request line", "server", " GET / HTTP/1.1\r\n", 400],
  ["lowercase version", "server", "GET / http/1.1\r\nHost: a\r\n\r\n", 400],
  ["two-digit version", "server", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", 400],
  ["empty head", "server", "\r\n\r\n", 400],
  ["missing Host in HTTP/1.1", "server", "GET / HTTP/1.1\r\n\r\n", 400],
  ["two Host fields", "server", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
  ["header without colon", "server", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400],
  ["whitespace before colon", "server", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400],
  [
    "continuation at start of headers",
    "server",
    "GET / HTTP/1.1\r\n folded\r\nHost: a\r\n\r\n",
    400,
  ],
  ["NUL in a value", "server", "GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", 400],
  ["bare CR in a value", "server", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400],
  [
    "Content-Length with Transfer-Encoding",
    "server",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
  ],
  [
    "Content-Length twice (same value)",
    "server",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    400,
  ],
  [
    "Content-Length as a list",
    "server",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
    400,
  ],
  [
    "conflicting Content-Length",
    "client",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
    400,
  ],
  ["signed Content-Length", "client", "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n", 400],
  [
    "Content-Length too large",
    "client",
    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
    400,
  ],
  [
    "Transfer-Encoding gzip",
    "server",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    501,
  ],
  [
    "Transfer-Encoding twice",
    "client",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    501,
  ],
  ["garbage status line", "client", "HTTP/1.1 2OO OK\r\n\r\n", 400],
  ["status line without version", "client", "200 OK\r\n\r\n", 400],
  ["status below 100", "client", "HTTP/1.1 099 Odd\r\n\r\n", 400],
  [
    "chunk size not hex",
    "client",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    400,
  ],
  [
    "chunk size overflowing",
    "client",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
    400,
  ],
  [
    "chunk size over 20 digits",
    "client",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n000000000000000000001\r\n",
    400,
  ],
  [
    "chunk data not followed by CRLF",
    "client",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
    400,
  ],
  [
    "bytes after a Connection: close response",
    "client",
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\nextra",
    400,
  ],
  [
    "head over the limit, complete",
    "client",
    `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(17000)}\r\n\r\n`,
    431,
  ],
  [
    "head over the limit, incomplete",
    "client",
    `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(17000)}`,
    431,
  ],
  [
    "chunk-size line over the limit",
    "client",
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;${"e".repeat(17000)}`,
    431,
  ],
];

describe("rejected input", () => {
  for (const [name, role, wire, hint] of REJECTED) {
    for (const how of SPLITS) {
      it(`${name} (${role}, ${how})`, () => {
        const conn = role === "client" ? clientAfter("GET") : server();
        let error: unknown;
        try {
          receive(conn, wire, how);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(RemoteProtocolError);
        expect((error as RemoteProtocolError).errorStatusHint).toBe(hint);
        expect((error as RemoteProtocolError).code).toBe("H11_REMOTE_PROTOCOL_ERROR");
        expect(conn.theirState).toBe("ERROR");
        expect(() => conn.nextEvent()).toThrow(RemoteProtocolError);
      });
    }
  }

  const EOF_CASES: Array<[string, string]> = [
    ["mid-head", "HTTP/1.1 200 OK\r\nContent-Le"],
    ["mid Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"],
    ["mid chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"],
  ];
  for (const [name, wire] of EOF_CASES) {
    it(`EOF ${name} is a RemoteProtocolError`, () => {
      const conn = clientAfter("GET");
      expect(() => receive(conn, wire, "whole", true)).toThrow(RemoteProtocolError);
    });
  }

  it("data after EOF is a LocalProtocolError (a caller bug)", () => {
    const conn = clientAfter("GET");
    conn.receiveData(new Uint8Array(0));
    expect(() => conn.receiveData(enc("x"))).toThrow(LocalProtocolError);
  });
});

describe("received Data", () => {
  it("stays valid after later receiveData calls", () => {
    const conn = clientAfter("GET");
    conn.receiveData(enc("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"));
    conn.nextEvent();
    const first = conn.nextEvent();
    conn.receiveData(enc("cde"));
    const second = conn.nextEvent();
    conn.receiveData(enc("fghij"));
    const third = conn.nextEvent();
    expect([first, second, third].map((e) => (e.type === "Data" ? dec(e.data) : e.type))).toEqual([
      "ab",
      "cde",
      "fghij",
    ]);
  });

  it("marks chunk boundaries", () => {
    const conn = clientAfter("GET");
    conn.receiveData(enc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"));
    conn.nextEvent();
    expect(conn.nextEvent()).toMatchObject({ type: "Data", chunkStart: true, chunkEnd: false });
    conn.receiveData(enc("cde\r\n0\r\n\r\n"));
    expect(conn.nextEvent()).toMatchObject({ type: "Data", chunkStart: false, chunkEnd: true });
    expect(conn.nextEvent()).toMatchObject({ type: "EndOfMessage" });
    expect(conn.nextEvent()).toBe(NEED_DATA);
  });

  it("PAUSED is returned, not an error, while switching", () => {
    const conn = clientAfter("CONNECT", "a:1");
    expect(conn.nextEvent()).toBe(NEED_DATA);
    receive(conn, "HTTP/1.1 200 OK\r\n\r\n");
    expect(conn.nextEvent()).toBe(PAUSED);
  });
});
