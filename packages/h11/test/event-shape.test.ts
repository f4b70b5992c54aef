// send() checks an event's shape before anything else, and says which field is wrong: each
// row must fail with its own message (a later check refusing the same event would hide a
// shape check that had gone).
import { describe, expect, it } from "vitest";
import { Connection, type Event } from "../src/index.js";
import { dec, localError } from "./helpers.js";

const host: [string, string][] = [["Host", "a"]];

const REQUESTS: [unknown, string][] = [
  [null, "an event must be an object"],
  ["Request", "an event must be an object"],
  [{ type: "Nope" }, 'unknown event type "Nope"'],
  [{ type: "Request", method: 1, target: "/", headers: host }, "Request.method must be a string"],
  [{ type: "Request", method: "GET", target: 1, headers: host }, "Request.target must be a string"],
  [
    { type: "Request", method: "GET", target: "/", headers: { Host: "a" } },
    "Request.headers must be an array of [name, value] pairs",
  ],
  [
    { type: "Request", method: "GET", target: "/", headers: [["Host"]] },
    "Request.headers must hold [name, value] pairs",
  ],
  [
    { type: "Request", method: "GET", target: "/", headers: ["Ho"] },
    "Request.headers must hold [name, value] pairs",
  ],
  [
    { type: "Request", method: "GET", target: "/", headers: [["Host", "a", "b"]] },
    "Request.headers must hold [name, value] pairs",
  ],
  [
    { type: "Request", method: "GET", target: "/", headers: [["Host", 1]] },
    "Request.headers names and values must be strings",
  ],
  [
    { type: "Request", method: "GET", target: "/", headers: [[1, "a"]] },
    "Request.headers names and values must be strings",
  ],
  [
    { type: "Request", method: "GET", target: "/", headers: host, httpVersion: 1.1 },
    'Request.httpVersion must look like "1.1"',
  ],
  [
    { type: "Request", method: "GET", target: "/", headers: host, httpVersion: "x1.1" },
    'Request.httpVersion must look like "1.1"',
  ],
  [
    { type: "Request", method: "GET", target: "/", headers: host, httpVersion: "1.1x" },
    'Request.httpVersion must look like "1.1"',
  ],
];

const RESPONSES: [unknown, string][] = [
  [{ type: "Response", status: "200", headers: [] }, "Response.status must be an integer"],
  [{ type: "Response", status: 200.5, headers: [] }, "Response.status must be an integer"],
  [
    { type: "Response", status: 199, headers: [] },
    "Response status must be in range [200, 1000), not 199",
  ],
  [
    { type: "Response", status: 1000, headers: [] },
    "Response status must be in range [200, 1000), not 1000",
  ],
  [
    { type: "InformationalResponse", status: 99, headers: [] },
    "InformationalResponse status must be in range [100, 200), not 99",
  ],
  [
    { type: "InformationalResponse", status: 200, headers: [] },
    "InformationalResponse status must be in range [100, 200), not 200",
  ],
  [
    { type: "InformationalResponse", status: 100, headers: "x" },
    "InformationalResponse.headers must be an array of [name, value] pairs",
  ],
  [
    { type: "InformationalResponse", status: 100, headers: [], httpVersion: "11" },
    'InformationalResponse.httpVersion must look like "1.1"',
  ],
  [
    { type: "InformationalResponse", status: 100, headers: [], reason: 1 },
    "InformationalResponse.reason must be a string",
  ],
  [
    { type: "Response", status: 200, headers: "x" },
    "Response.headers must be an array of [name, value] pairs",
  ],
  [
    { type: "Response", status: 200, headers: [], httpVersion: "11" },
    'Response.httpVersion must look like "1.1"',
  ],
  [{ type: "Response", status: 200, headers: [], reason: 1 }, "Response.reason must be a string"],
  [{ type: "Data", data: "text" }, "Data.data must be a Uint8Array"],
];

function server(): Connection {
  const s = new Connection("server");
  s.receiveData(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  expect(s.nextEvent()).toMatchObject({ type: "Request" });
  return s;
}

describe("the shape of an event given to send()", () => {
  it.each(REQUESTS)("client: %j", (event, message) => {
    const c = new Connection("client");
    expect(() => c.send(event as Event)).toThrow(localError(message));
    expect(c.ourState).toBe("IDLE");
  });

  it.each(RESPONSES)("server: %j", (event, message) => {
    const s = server();
    expect(() => s.send(event as Event)).toThrow(localError(message));
    expect(s.ourState).toBe("SEND_RESPONSE");
  });

  it("the edges of each range are taken", () => {
    const head = server().send({ type: "InformationalResponse", status: 100, headers: [] });
    expect(dec(head as Uint8Array)).toBe("HTTP/1.1 100 \r\n\r\n");
    const s = server();
    s.send({ type: "InformationalResponse", status: 199, headers: [], reason: "x" });
    s.send({ type: "Response", status: 999, headers: [["Content-Length", "0"]], reason: "x" });
    s.send({ type: "EndOfMessage" });
    expect(s.ourState).toBe("DONE");
  });

  it("EndOfMessage trailers are checked like headers", () => {
    const c = new Connection("client");
    c.send({
      type: "Request",
      method: "POST",
      target: "/",
      headers: [...host, ["Transfer-Encoding", "chunked"]],
    });
    expect(() => c.send({ type: "EndOfMessage", headers: [["X", 1]] } as never)).toThrow(
      localError("EndOfMessage.headers names and values must be strings"),
    );
  });
});

describe("trailers where the framing has no room for them", () => {
  it("a Content-Length body refuses trailers, and takes none", () => {
    const c = new Connection("client");
    c.send({
      type: "Request",
      method: "POST",
      target: "/",
      headers: [...host, ["Content-Length", "1"]],
    });
    c.send({ type: "Data", data: Uint8Array.of(0x61) });
    expect(() => c.send({ type: "EndOfMessage", headers: [["X-T", "1"]] })).toThrow(
      localError("Content-Length and trailers don't mix"),
    );
    const d = new Connection("client");
    d.send({
      type: "Request",
      method: "POST",
      target: "/",
      headers: [...host, ["Content-Length", "0"]],
    });
    expect(d.send({ type: "EndOfMessage", headers: [] })?.length).toBe(0);
    expect(d.ourState).toBe("DONE");
  });

  it("a body to an HTTP/1.0 client (ended by close) refuses trailers, and takes none", () => {
    const respond = () => {
      const s = new Connection("server");
      s.receiveData(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
      s.nextEvent();
      s.send({ type: "Response", status: 200, headers: [] });
      return s;
    };
    expect(() => respond().send({ type: "EndOfMessage", headers: [["X-T", "1"]] })).toThrow(
      localError("can't send trailers to HTTP/1.0 client"),
    );
    const s = respond();
    s.send({ type: "EndOfMessage", headers: [] });
    expect(s.ourState).toBe("MUST_CLOSE");
  });
});

describe("method and target, by their character classes", () => {
  const request = (method: string, target: string) =>
    new Connection("client").send({ type: "Request", method, target, headers: host });

  it("a method is a non-empty token, of latin1 characters only", () => {
    for (const method of ["", "GE T", "G\u0100T", "G\u00ffT", "GET\u0080"]) {
      expect(() => request(method, "/")).toThrow(
        localError(`Illegal method ${JSON.stringify(method)}`),
      );
    }
    expect(dec(request("M-0.9_az~|!", "/") as Uint8Array)).toMatch(/^M-0\.9_az~\|! \/ HTTP/);
  });

  it("a target is 1*VCHAR: ! and ~ are its edges, SP and DEL are outside", () => {
    for (const target of ["", "/a b", "/\x7f", "/\x20", "/\u00e9"]) {
      expect(() => request("GET", target)).toThrow(
        localError(`Illegal target characters in ${JSON.stringify(target)}`),
      );
    }
    expect(dec(request("GET", "!/~") as Uint8Array)).toMatch(/^GET !\/~ HTTP\/1\.1\r\n/);
  });
});

describe("the head we write", () => {
  it("an explicit httpVersion of 1.1 is taken; any other is refused by name", () => {
    const c = new Connection("client");
    const head = c.send({
      type: "Request",
      method: "GET",
      target: "/",
      headers: host,
      httpVersion: "1.1",
    });
    expect(dec(head as Uint8Array)).toBe("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    expect(() =>
      new Connection("client").send({
        type: "Request",
        method: "GET",
        target: "/",
        headers: host,
        httpVersion: "1.0",
      }),
    ).toThrow(localError("I only send HTTP/1.1, not HTTP/1.0"));
  });

  it("Host goes first whatever its case", () => {
    const c = new Connection("client");
    const headers: [string, string][] = [
      ["X-A", "1"],
      ["hOST", "a"],
      ["X-B", "2"],
    ];
    const head = c.send({ type: "Request", method: "GET", target: "/", headers });
    expect(dec(head as Uint8Array)).toBe("GET / HTTP/1.1\r\nhOST: a\r\nX-A: 1\r\nX-B: 2\r\n\r\n");
  });
});
