import { describe, expect, it } from "vitest";
import { Connection, ERROR, LocalProtocolError, MUST_CLOSE, SEND_BODY } from "../src/index.js";
import { dec, enc, receive, sendAll } from "./helpers.js";

function serverWith(request: string): Connection {
  const s = new Connection("server");
  receive(s, request);
  return s;
}

describe("sending", () => {
  it("writes a request with Host first and passes the body through", () => {
    const c = new Connection("client");
    const wire = sendAll(c, [
      {
        type: "Request",
        method: "POST",
        target: "/x",
        headers: [
          ["Content-Length", "3"],
          ["Host", "a.com"],
        ],
      },
      { type: "Data", data: enc("abc") },
      { type: "EndOfMessage" },
    ]);
    expect(wire).toBe("POST /x HTTP/1.1\r\nHost: a.com\r\nContent-Length: 3\r\n\r\nabc");
  });

  it("writes a chunked request with trailers; empty Data sends nothing", () => {
    const c = new Connection("client");
    const wire = sendAll(c, [
      {
        type: "Request",
        method: "PUT",
        target: "/",
        headers: [
          ["Host", "a"],
          ["Transfer-Encoding", "chunked"],
        ],
      },
      { type: "Data", data: enc("hello world, this is 26 b.") },
      { type: "Data", data: new Uint8Array(0) },
      { type: "EndOfMessage", headers: [["X-Sum", "1"]] },
    ]);
    expect(wire).toBe(
      "PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1a\r\nhello world, this is 26 b.\r\n0\r\nX-Sum: 1\r\n\r\n",
    );
  });

  it("sendWithDataPassthrough hands back the caller's own array", () => {
    const c = new Connection("client");
    c.send({
      type: "Request",
      method: "POST",
      target: "/",
      headers: [
        ["Host", "a"],
        ["Transfer-Encoding", "chunked"],
      ],
    });
    const body = enc("abc");
    const parts = c.sendWithDataPassthrough({ type: "Data", data: body });
    expect(parts).toHaveLength(3);
    expect(parts[1]).toBe(body);
  });

  it("Content-Length is enforced on send", () => {
    const c = new Connection("client");
    c.send({
      type: "Request",
      method: "POST",
      target: "/",
      headers: [
        ["Host", "a"],
        ["Content-Length", "2"],
      ],
    });
    expect(() => c.send({ type: "Data", data: enc("abc") })).toThrow("Too much data");
    expect(c.ourState).toBe(ERROR);

    const d = new Connection("client");
    d.send({
      type: "Request",
      method: "POST",
      target: "/",
      headers: [
        ["Host", "a"],
        ["Content-Length", "2"],
      ],
    });
    expect(() => d.send({ type: "EndOfMessage" })).toThrow("Too little data");

    const e = new Connection("client");
    e.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
    expect(() => e.send({ type: "Data", data: enc("x") })).toThrow(LocalProtocolError);
  });

  it("a response of unknown length to an HTTP/1.1 peer is chunked", () => {
    const s = serverWith("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    const wire = sendAll(s, [
      { type: "Response", status: 200, reason: "OK", headers: [["Content-Type", "text/plain"]] },
      { type: "Data", data: enc("hi") },
      { type: "EndOfMessage" },
    ]);
    expect(wire).toBe(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    );
  });

  it("a response of unknown length to an HTTP/1.0 peer is delimited by close", () => {
    const s = serverWith("GET / HTTP/1.0\r\n\r\n");
    const wire = sendAll(s, [
      {
        type: "Response",
        status: 200,
        headers: [
          ["Transfer-Encoding", "chunked"],
          ["Connection", "keep-alive"],
        ],
      },
      { type: "Data", data: enc("hi") },
      { type: "EndOfMessage" },
    ]);
    expect(wire).toBe("HTTP/1.1 200 \r\nConnection: close\r\n\r\nhi");
    expect(s.ourState).toBe(MUST_CLOSE);
  });

  it("HEAD responses keep the framing headers a GET would get", () => {
    const s = serverWith("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    const wire = sendAll(s, [
      { type: "Response", status: 200, headers: [] },
      { type: "EndOfMessage" },
    ]);
    expect(wire).toBe("HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n");
  });

  it("Connection: close from the client is echoed by the server", () => {
    const s = serverWith("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    const wire = sendAll(s, [{ type: "Response", status: 204, headers: [] }]);
    expect(wire).toBe("HTTP/1.1 204 \r\nConnection: close\r\n\r\n");
  });

  it("only HTTP/1.1 is sent", () => {
    const c = new Connection("client");
    expect(() =>
      c.send({ type: "Request", method: "GET", target: "/", headers: [], httpVersion: "1.0" }),
    ).toThrow("I only send HTTP/1.1");
  });

  it("events the state does not allow put us in ERROR", () => {
    const c = new Connection("client");
    expect(() => c.send({ type: "Response", status: 200, headers: [] })).toThrow(
      /can't handle event type Response/,
    );
    expect(c.ourState).toBe(ERROR);
    expect(() => c.send({ type: "ConnectionClosed" })).toThrow(
      "Can't send data when our state is ERROR",
    );
  });

  it("sendFailed puts us in ERROR", () => {
    const c = new Connection("client");
    c.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
    c.sendFailed();
    expect(c.ourState).toBe(ERROR);
  });

  it("sending ConnectionClosed returns undefined and closes our side", () => {
    const c = new Connection("client");
    expect(c.send({ type: "ConnectionClosed" })).toBeUndefined();
    expect(c.ourState).toBe("CLOSED");
  });

  it("a 101 without an Upgrade proposal is refused", () => {
    const s = serverWith("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    expect(() => s.send({ type: "InformationalResponse", status: 101, headers: [] })).toThrow(
      LocalProtocolError,
    );
  });

  it("CONNECT accepted by the server switches both sides", () => {
    const s = serverWith("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
    expect(dec(s.send({ type: "Response", status: 200, headers: [] }))).toBe(
      "HTTP/1.1 200 \r\n\r\n",
    );
    expect(s.ourState).toBe("SWITCHED_PROTOCOL");
    expect(s.theirState).toBe("SWITCHED_PROTOCOL");
  });
});

// Malformed events: refused before any byte, with the state left as it was.
const MALFORMED: Array<[string, unknown]> = [
  [
    "CR LF in a header value",
    { type: "Request", method: "GET", target: "/", headers: [["Host", "a\r\nX-Evil: 1"]] },
  ],
  [
    "LF in a header value",
    {
      type: "Request",
      method: "GET",
      target: "/",
      headers: [
        ["Host", "a"],
        ["X", "a\nb"],
      ],
    },
  ],
  [
    "NUL in a header value",
    { type: "Request", method: "GET", target: "/", headers: [["Host", "a\0"]] },
  ],
  [
    "colon in a header name",
    {
      type: "Request",
      method: "GET",
      target: "/",
      headers: [
        ["Host", "a"],
        ["X:Y", "1"],
      ],
    },
  ],
  [
    "space in a header name",
    {
      type: "Request",
      method: "GET",
      target: "/",
      headers: [
        ["Host", "a"],
        ["X Y", "1"],
      ],
    },
  ],
  [
    "CR LF in a method",
    { type: "Request", method: "GET\r\n", target: "/", headers: [["Host", "a"]] },
  ],
  [
    "space in a target",
    { type: "Request", method: "GET", target: "/ HTTP/1.1\r\nX: y", headers: [["Host", "a"]] },
  ],
  ["NUL in a target", { type: "Request", method: "GET", target: "/\0", headers: [["Host", "a"]] }],
  ["empty target", { type: "Request", method: "GET", target: "", headers: [["Host", "a"]] }],
  [
    "non-latin1 value",
    { type: "Request", method: "GET", target: "/", headers: [["Host", "\u2603"]] },
  ],
  ["no Host on HTTP/1.1", { type: "Request", method: "GET", target: "/", headers: [] }],
  ["headers not an array", { type: "Request", method: "GET", target: "/", headers: { Host: "a" } }],
  [
    "a header that is not a pair",
    { type: "Request", method: "GET", target: "/", headers: [["Host"]] },
  ],
  ["a non-string value", { type: "Request", method: "GET", target: "/", headers: [["Host", 1]] }],
  [
    "a bad httpVersion",
    { type: "Request", method: "GET", target: "/", headers: [["Host", "a"]], httpVersion: 1.1 },
  ],
  ["an unknown type", { type: "Nope" }],
  ["not an object", null],
];

describe("malformed events", () => {
  for (const [name, event] of MALFORMED) {
    it(name, () => {
      const c = new Connection("client");
      expect(() => c.send(event as never)).toThrow(LocalProtocolError);
      expect(c.ourState).toBe("IDLE");
    });
  }

  it.each([
    ["CR in a reason", { type: "Response", status: 200, reason: "OK\r\nX: 1", headers: [] }],
    ["status out of range", { type: "Response", status: 1000, headers: [] }],
    [
      "informational status out of range",
      { type: "InformationalResponse", status: 200, headers: [] },
    ],
    ["non-integer status", { type: "Response", status: 200.5, headers: [] }],
    ["Data without bytes", { type: "Data", data: "text" }],
  ])("%s", (_name, event) => {
    const s = serverWith("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    expect(() => s.send(event as never)).toThrow(LocalProtocolError);
    expect(s.ourState).toBe("SEND_RESPONSE");
  });

  it("the constructor checks its arguments", () => {
    expect(() => new Connection("proxy" as never)).toThrow(TypeError);
    expect(() => new Connection("proxy" as never)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }),
    );
    expect(() => new Connection("client").receiveData("text" as never)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }),
    );
    expect(() => new Connection("client", { maxIncompleteEventSize: 0 })).toThrow(TypeError);
  });
});

describe("a full exchange between our own client and server", () => {
  it("round-trips request and response, twice on one connection", () => {
    const client = new Connection("client");
    const server = new Connection("server");
    for (const target of ["/one", "/two"]) {
      const req = sendAll(client, [
        {
          type: "Request",
          method: "POST",
          target,
          headers: [
            ["Host", "a"],
            ["Transfer-Encoding", "chunked"],
          ],
        },
        { type: "Data", data: enc("payload") },
        { type: "EndOfMessage" },
      ]);
      const got = receive(server, req);
      expect(got.map((e) => e.type)).toEqual(["Request", "Data", "EndOfMessage"]);
      const res = sendAll(server, [
        { type: "Response", status: 200, headers: [["Content-Length", "2"]] },
        { type: "Data", data: enc("ok") },
        { type: "EndOfMessage" },
      ]);
      expect(receive(client, res).map((e) => e.type)).toEqual(["Response", "Data", "EndOfMessage"]);
      expect(client.ourState).toBe("DONE");
      client.startNextCycle();
      server.startNextCycle();
    }
    expect(SEND_BODY).toBe("SEND_BODY");
  });
});

describe("framing headers we send are normalised as h11 does", () => {
  function serverAfter(method: string, version: string): Connection {
    const s = new Connection("server");
    receive(s, `${method} / HTTP/${version}\r\nHost: example.com\r\n\r\n`);
    return s;
  }

  it.each(["GET", "HEAD"])(
    "%s: Content-Length + Transfer-Encoding, Transfer-Encoding wins",
    (method) => {
      const s = serverAfter(method, "1.1");
      const head = s.send({
        type: "Response",
        status: 200,
        headers: [
          ["Content-Length", "100"],
          ["Transfer-Encoding", "chunked"],
        ],
      });
      expect(dec(head)).toBe("HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n");
    },
  );

  it("to an HTTP/1.0 peer, every framing header goes and Connection: close comes", () => {
    for (const headers of [
      [["Transfer-Encoding", "chunked"]],
      [],
      [
        ["Transfer-Encoding", "chunked"],
        ["Content-Length", "100"],
      ],
    ] as const) {
      const s = serverAfter("GET", "1.0");
      expect(dec(s.send({ type: "Response", status: 200, headers }))).toBe(
        "HTTP/1.1 200 \r\nConnection: close\r\n\r\n",
      );
    }
  });

  it("repeated or listed Content-Length with one value is sent once; differing values are refused", () => {
    const c = new Connection("client");
    const head = c.send({
      type: "Request",
      method: "POST",
      target: "/",
      headers: [
        ["Host", "a"],
        ["Content-Length", "3, 3"],
        ["Content-Length", "3"],
      ],
    });
    expect(dec(head)).toBe("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n");
    const d = new Connection("client");
    expect(() =>
      d.send({
        type: "Request",
        method: "POST",
        target: "/",
        headers: [
          ["Host", "a"],
          ["Content-Length", "3, 4"],
        ],
      }),
    ).toThrow("conflicting Content-Length headers");
  });

  it("a request with both is sent chunked, without the Content-Length", () => {
    const c = new Connection("client");
    const head = c.send({
      type: "Request",
      method: "PUT",
      target: "/",
      headers: [
        ["Host", "a"],
        ["Content-Length", "3"],
        ["Transfer-Encoding", "chunked"],
      ],
    });
    expect(dec(head)).toBe("PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  });

  it("a spontaneous 408 from a server that has seen nothing", () => {
    const s = new Connection("server");
    // As h11: the Connection field is rewritten (title-cased) when the connection will close.
    expect(dec(s.send({ type: "Response", status: 408, headers: [["connection", "close"]] }))).toBe(
      "HTTP/1.1 408 \r\nConnection: close\r\n\r\n",
    );
  });

  it("after receiving gibberish a server can still answer 400", () => {
    const s = new Connection("server");
    s.receiveData(enc("gibberish\r\n\r\n"));
    expect(() => s.nextEvent()).toThrow();
    expect(s.theirState).toBe("ERROR");
    expect(s.ourState).not.toBe("ERROR");
    expect(dec(s.send({ type: "Response", status: 400, headers: [] }))).toBe(
      "HTTP/1.1 400 \r\nConnection: close\r\n\r\n",
    );
  });
});
