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
