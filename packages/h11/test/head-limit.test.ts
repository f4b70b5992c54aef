// maxIncompleteEventSize bounds a head without the blank line that ends it, however the
// head arrives: whole, in the pieces httpcore's own test sends (test_http11_header_sub_100kb:
// every incomplete prefix within the limit, the blank line last), or byte by byte.
import { describe, expect, it } from "vitest";
import { Connection, RemoteProtocolError } from "../src/index.js";

const LIMIT = 1024;
const enc = (s: string) => new TextEncoder().encode(s);

/** A response head whose bytes before the final blank line number exactly `size`. */
function headOf(size: number, lineEnd: "\r\n" | "\n"): { fields: string; head: string } {
  const start = `HTTP/1.1 200 OK${lineEnd}Content-Length: 0${lineEnd}X-Pad: `;
  const fields = `${start}${"x".repeat(size - start.length - lineEnd.length)}${lineEnd}`;
  expect(fields.length).toBe(size);
  return { fields, head: fields + lineEnd };
}

type Feed = (conn: Connection, fields: string, head: string) => unknown;

const feeds: [string, Feed][] = [
  [
    "whole",
    (conn, _fields, head) => {
      conn.receiveData(enc(head));
      return conn.nextEvent();
    },
  ],
  [
    "in pieces, the blank line last",
    (conn, fields, head) => {
      for (let at = 0; at < fields.length; at += 300) {
        conn.receiveData(enc(fields.slice(at, Math.min(at + 300, fields.length))));
        expect(conn.nextEvent()).toMatchObject({ type: "NEED_DATA" });
      }
      conn.receiveData(enc(head.slice(fields.length)));
      return conn.nextEvent();
    },
  ],
  [
    "byte by byte",
    (conn, _fields, head) => {
      let event: unknown;
      for (let at = 0; at < head.length; at++) {
        conn.receiveData(enc(head[at]!));
        event = conn.nextEvent();
      }
      return event;
    },
  ],
];

describe.each(["\r\n", "\n"] as const)("line ends %j", (lineEnd) => {
  it.each(feeds)("a head of exactly the limit is taken: %s", (_name, feed) => {
    const { fields, head } = headOf(LIMIT, lineEnd);
    const conn = new Connection("client", { maxIncompleteEventSize: LIMIT });
    conn.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
    conn.send({ type: "EndOfMessage" });
    expect(feed(conn, fields, head)).toMatchObject({ type: "Response", status: 200 });
  });

  it.each(feeds)("one byte more is refused with 431: %s", (_name, feed) => {
    const { fields, head } = headOf(LIMIT + 1, lineEnd);
    const conn = new Connection("client", { maxIncompleteEventSize: LIMIT });
    conn.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
    conn.send({ type: "EndOfMessage" });
    let error: unknown;
    try {
      feed(conn, fields, head);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error).toMatchObject({ errorStatusHint: 431 });
  });
});

/** A client that has sent a GET, reading with the limit given. */
function clientWith(limit: number): Connection {
  const conn = new Connection("client", { maxIncompleteEventSize: limit });
  conn.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
  conn.send({ type: "EndOfMessage" });
  return conn;
}

// A head shorter than 1024 bytes that arrives whole is found in the first look (a decoded
// window of the buffer, see receive-buffer.ts): the same bound holds there.
describe.each(["\r\n", "\n"] as const)(
  "a head found in the first look, line ends %j",
  (lineEnd) => {
    const limit = 100;
    const client = () => clientWith(limit);

    it("of exactly the limit is taken; one byte more is refused with 431, by name", () => {
      const taken = client();
      taken.receiveData(enc(headOf(limit, lineEnd).head));
      expect(taken.nextEvent()).toMatchObject({ type: "Response", status: 200 });
      const refused = client();
      refused.receiveData(enc(headOf(limit + 1, lineEnd).head));
      expect(() => refused.nextEvent()).toThrow(
        expect.objectContaining({
          code: "H11_REMOTE_PROTOCOL_ERROR",
          errorStatusHint: 431,
          message: "message head is larger than the limit of 100 bytes",
        }),
      );
    });
  },
);

describe("an incomplete head", () => {
  const client = () => clientWith(LIMIT);

  it("of one byte more than the limit is refused at once, unless that byte is a CR", () => {
    const over = client();
    over.receiveData(enc(headOf(LIMIT + 1, "\n").fields));
    expect(() => over.nextEvent()).toThrow(
      expect.objectContaining({ errorStatusHint: 431, message: "Receive buffer too long" }),
    );
    // The CR may start the line end that completes a head of exactly the limit.
    const cr = client();
    cr.receiveData(enc(headOf(LIMIT + 2, "\r\n").fields.slice(0, LIMIT + 1)));
    expect(cr.nextEvent()).toMatchObject({ type: "NEED_DATA" });
  });
});
