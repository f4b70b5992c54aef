// Unusual but legal input, and input that must be refused, as h11 reads it.
import { describe, expect, it } from "vitest";
import { Connection, RemoteProtocolError } from "../src/index.js";
import { receive, SPLITS } from "./helpers.js";

function client(): Connection {
  const c = new Connection("client");
  c.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
  c.send({ type: "EndOfMessage" });
  return c;
}

type Side = "client" | "server" | "lenient server";

function connFor(side: Side): Connection {
  if (side === "client") return client();
  if (side === "server") return new Connection("server");
  return new Connection("server", { lenient: { bareLF: true, obsFold: true } });
}

// h11 accepts obs-fold from clients; our server role does only when told to (see
// strict.test.ts), so those cases run on a lenient server.
const ACCEPTED: Array<[string, Side, string, unknown]> = [
  [
    "HTTP/1.0 request without fields",
    "server",
    "HEAD /foo HTTP/1.0\r\n\r\n",
    { method: "HEAD", target: "/foo", headers: [], httpVersion: "1.0" },
  ],
  [
    "a value of single characters and inner spaces",
    "client",
    "HTTP/1.0 200 OK\r\nFoo: a a a a a \r\n\r\n",
    { headers: [["Foo", "a a a a a"]] },
  ],
  ["an empty value", "client", "HTTP/1.0 200 OK\r\nFoo:\r\n\r\n", { headers: [["Foo", ""]] }],
  [
    "a value of only whitespace",
    "client",
    "HTTP/1.0 200 OK\r\nFoo: \t \t \r\n\r\n",
    { headers: [["Foo", ""]] },
  ],
  [
    "no reason phrase and no space",
    "client",
    "HTTP/1.0 200\r\nFoo: bar\r\n\r\n",
    { status: 200, reason: "" },
  ],
  [
    "obs-fold across several lines, whitespace squeezed to one space",
    "lenient server",
    "HEAD /foo HTTP/1.1\r\nHost: example.com\r\nSome: multi-line\r\n header\r\n\tnonsense\r\n    \t   \t\tI guess\r\nConnection: close\r\nMore-nonsense: in the\r\n    last header  \r\n\r\n",
    {
      headers: [
        ["Host", "example.com"],
        ["Some", "multi-line header nonsense I guess"],
        ["Connection", "close"],
        ["More-nonsense", "in the last header"],
      ],
    },
  ],
];

const REFUSED: Array<[string, "client" | "server", string]> = [
  ["a fold before any field", "server", "HEAD /foo HTTP/1.1\r\n  folded: line\r\n\r\n"],
  ["spaces before the colon", "server", "HEAD /foo HTTP/1.1\r\nfoo  : line\r\n\r\n"],
  ["a tab before the colon", "server", "HEAD /foo HTTP/1.1\r\nfoo\t: line\r\n\r\n"],
  ["no field name", "server", "HEAD /foo HTTP/1.1\r\n: line\r\n\r\n"],
  ["NUL after the status line", "client", "HTTP/1.0 200 OK\x00xxxx\r\n\r\n"],
  ["garbage after the request line", "server", "HEAD /foo HTTP/1.1 xxxxxx\r\nHost: a\r\n\r\n"],
  ["NUL in a field value", "server", "HEAD /foo HTTP/1.1\r\nHost: foo\x00bar\r\n\r\n"],
  [
    "a chunk size of 100 digits",
    "client",
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${"9".repeat(100)}\r\nxxx`,
  ],
  [
    "NUL in a chunk size",
    "client",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\x00\r\nxxx",
  ],
  ["a TLS ClientHello sent to a server", "server", "\x16\x03\x01\x00\xa5"],
  ["a TLS ServerHello sent to a client", "client", "\x16\x03\x03\x00\x31"],
];

describe("unusual input h11 accepts", () => {
  for (const [name, role, wire, expected] of ACCEPTED) {
    for (const how of SPLITS) {
      it(`${name} (${how})`, () => {
        expect(receive(connFor(role), wire, how)[0]).toMatchObject(expected as object);
      });
    }
  }

  it("chunk extensions (even quoted junk) are skipped; hex in either case", () => {
    const conn = client();
    const events = receive(
      conn,
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5; hello=there\r\nxxxxx\r\naA\r\n" +
        `${"y".repeat(0xaa)}\r\n0; random="junk"; some=more; canbe=lonnnnngg\r\n\r\n`,
    );
    expect(events.slice(1)).toEqual([
      { type: "Data", data: `xxxxx${"y".repeat(0xaa)}` },
      { type: "EndOfMessage", headers: [] },
    ]);
  });
});

describe("input h11 refuses", () => {
  for (const [name, role, wire] of REFUSED) {
    it(name, () => {
      const conn = role === "client" ? client() : new Connection("server");
      expect(() => receive(conn, wire)).toThrow(RemoteProtocolError);
    });
  }
});
