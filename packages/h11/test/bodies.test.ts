// Reading bodies and heads at their edges (readers.ts), through the Connection: the largest
// chunk size and one above it, the CR LF after chunk data split between receives, chunk
// starts whose data comes later, what EOF means for each framing, and the first byte of a
// head that cannot be one.
import { describe, expect, it } from "vitest";
import { Connection, NEED_DATA, RemoteProtocolError } from "../src/index.js";
import { enc, receive, remoteError } from "./helpers.js";

function client(method = "GET"): Connection {
  const c = new Connection("client");
  c.send({ type: "Request", method, target: "/", headers: [["Host", "a"]] });
  c.send({ type: "EndOfMessage" });
  return c;
}

const CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

describe("chunk sizes", () => {
  it("2^53 - 1 is the largest taken; one more is refused by name", () => {
    const c = client();
    expect(receive(c, `${CHUNKED}1fffffffffffff\r\nab`)).toEqual([
      expect.objectContaining({ type: "Response" }),
      { type: "Data", data: "ab" },
    ]);
    expect(() => receive(client(), `${CHUNKED}20000000000000\r\n`)).toThrow(
      remoteError("chunk size 20000000000000 is too large"),
    );
  });
});

describe("the CR LF after a chunk's data", () => {
  it("is matched across receives, a byte at a time", () => {
    const c = client();
    receive(c, `${CHUNKED}3\r\nabc`);
    c.receiveData(enc("\r"));
    expect(c.nextEvent()).toBe(NEED_DATA);
    c.receiveData(enc("\n"));
    expect(c.nextEvent()).toBe(NEED_DATA);
    c.receiveData(enc("0\r\n\r\n"));
    expect(c.nextEvent()).toEqual({ type: "EndOfMessage", headers: [] });
  });

  it.each([
    ["its CR", "X\n", 88],
    ["its LF, in the same receive", "\rY", 89],
  ])("a wrong byte for %s is refused by its value", (_name, after, byte) => {
    expect(() => receive(client(), `${CHUNKED}3\r\nabc${after}0\r\n\r\n`)).toThrow(
      remoteError(`expected CRLF after the chunk data, got byte ${byte}`),
    );
  });

  it("a wrong LF in the next receive is refused by its value", () => {
    const c = client();
    receive(c, `${CHUNKED}3\r\nabc\r`);
    c.receiveData(enc("Z0\r\n\r\n"));
    expect(() => c.nextEvent()).toThrow(
      remoteError("expected CRLF after the chunk data, got byte 90"),
    );
  });
});

describe("chunk headers", () => {
  it("a malformed one is quoted in the error", () => {
    expect(() => receive(client(), `${CHUNKED}zz\r\n`)).toThrow(
      remoteError('illegal chunk header: "zz\\r\\n"'),
    );
  });

  it("an extension may hold a bare CR: it is skipped with the rest of the extension", () => {
    expect(receive(client(), `${CHUNKED}3;a\rb\r\nabc\r\n0\r\n\r\n`).slice(1)).toEqual([
      { type: "Data", data: "abc" },
      { type: "EndOfMessage", headers: [] },
    ]);
  });
});

describe("Data of bodies that are not chunked", () => {
  it.each([
    ["Content-Length", "Content-Length: 2\r\n"],
    ["delimited by close", ""],
  ])("never start or end a chunk: %s", (_name, field) => {
    const c = client();
    c.receiveData(enc(`HTTP/1.1 200 OK\r\n${field}\r\nab`));
    expect(c.nextEvent()).toMatchObject({ type: "Response" });
    const data = { type: "Data", data: enc("ab"), chunkStart: false, chunkEnd: false };
    expect(c.nextEvent()).toEqual(data);
  });
});

describe("after a message that closes the connection", () => {
  it("a byte more is refused by name", () => {
    expect(() =>
      receive(client(), "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\nx"),
    ).toThrow(remoteError("Got data when expecting EOF"));
  });
});

describe("chunkStart and chunkEnd", () => {
  it("a chunk whose size line came alone still starts with its first Data", () => {
    const c = client();
    receive(c, CHUNKED);
    c.receiveData(enc("5\r\n"));
    expect(c.nextEvent()).toBe(NEED_DATA);
    expect(c.nextEvent()).toBe(NEED_DATA);
    c.receiveData(enc("ab"));
    const data = (text: string, chunkStart: boolean, chunkEnd: boolean) => ({
      type: "Data",
      data: enc(text),
      chunkStart,
      chunkEnd,
    });
    expect(c.nextEvent()).toEqual(data("ab", true, false));
    // Mid-chunk, waiting for more of its data: what comes next does not start it again.
    expect(c.nextEvent()).toBe(NEED_DATA);
    c.receiveData(enc("cde\r\n"));
    expect(c.nextEvent()).toEqual(data("cde", false, true));
    // The next chunk's size line arrives alone too: its start is its own, once.
    c.receiveData(enc("2\r\n"));
    expect(c.nextEvent()).toBe(NEED_DATA);
    c.receiveData(enc("f"));
    expect(c.nextEvent()).toMatchObject({ type: "Data", chunkStart: true, chunkEnd: false });
    c.receiveData(enc("g"));
    expect(c.nextEvent()).toMatchObject({ type: "Data", chunkStart: false, chunkEnd: true });
  });
});

describe("EOF, by framing", () => {
  const eof = (c: Connection, wire: string) => receive(c, wire, "whole", true);

  it("inside a Content-Length body: how many bytes came of how many", () => {
    expect(() => eof(client(), "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")).toThrow(
      remoteError(
        "peer closed connection without sending complete message body: received 3 bytes, expected 10",
      ),
    );
  });

  it("inside a chunked body: between its parts, or in a size line still unread", () => {
    for (const rest of ["5\r\nab", ""]) {
      expect(() => eof(client(), `${CHUNKED}${rest}`), rest).toThrow(
        remoteError(
          "peer closed connection without sending complete message body: incomplete chunked read",
        ),
      );
    }
    expect(() => eof(client(), `${CHUNKED}5`)).toThrow(
      remoteError("peer unexpectedly closed connection"),
    );
  });

  it("inside a head", () => {
    expect(() => eof(client(), "HTTP/1.1 200 OK\r\nContent-Le")).toThrow(
      remoteError("peer unexpectedly closed connection"),
    );
  });

  it("ends a body delimited by close: EndOfMessage, then ConnectionClosed, again and again", () => {
    const c = client();
    expect(receive(c, "HTTP/1.1 200 OK\r\n\r\nab", "bytes")).toEqual([
      expect.objectContaining({ type: "Response" }),
      { type: "Data", data: "ab" },
    ]);
    c.receiveData(new Uint8Array(0));
    expect(c.nextEvent()).toEqual({ type: "EndOfMessage", headers: [] });
    expect(c.nextEvent()).toEqual({ type: "ConnectionClosed" });
    expect(c.nextEvent()).toEqual({ type: "ConnectionClosed" });
    expect(c.theirState).toBe("CLOSED");
  });
});

describe("the first byte of a head", () => {
  it("below '!' is refused before the head is complete; '!' itself waits for the rest", () => {
    const s = new Connection("server");
    s.receiveData(enc("!"));
    expect(s.nextEvent()).toBe(NEED_DATA);
    s.receiveData(enc(" / HTTP/1.1\r\nHost: a\r\n\r\n"));
    expect(s.nextEvent()).toMatchObject({ type: "Request", method: "!" });

    for (const first of ["\x20", "\x00", "\t"]) {
      const t = new Connection("server");
      t.receiveData(enc(`${first}GET`));
      expect(() => t.nextEvent()).toThrow(remoteError("illegal request line"));
    }
    const c = client();
    c.receiveData(enc(" HTTP/1.1"));
    expect(() => c.nextEvent()).toThrow(remoteError("illegal request line"));
  });

  it("a blank line where the request or status line should be is refused by name", () => {
    expect(() => receive(new Connection("server"), "\r\n")).toThrow(
      remoteError("no request line received"),
    );
    expect(() => receive(client(), "\r\n")).toThrow(remoteError("no response line received"));
    expect(() => receive(client(), "\n")).toThrow(remoteError("no response line received"));
  });

  it("a status below 100 is refused with the range it must be in", () => {
    expect(() => receive(client(), "HTTP/1.1 099 Odd\r\n\r\n")).toThrow(RemoteProtocolError);
    expect(() => receive(client(), "HTTP/1.1 099 Odd\r\n\r\n")).toThrow(
      remoteError("must be in range [100, 200), not 99"),
    );
  });
});

describe("the blank line that ends a chunked body's trailer section", () => {
  const POST = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n";

  it("a strict server refuses it as a bare LF, empty section or not", () => {
    for (const trailer of ["\n", "T: 1\r\n\n"]) {
      expect(() => receive(new Connection("server"), `${POST}${trailer}`), trailer).toThrow(
        remoteError(/bare LF/),
      );
    }
  });

  it("a lenient server and a client take it", () => {
    const lenient = new Connection("server", { lenient: { bareLF: true } });
    expect(receive(lenient, `${POST}\n`).at(-1)).toEqual({ type: "EndOfMessage", headers: [] });
    expect(receive(client(), `${CHUNKED}0\r\n\n`).at(-1)).toEqual({
      type: "EndOfMessage",
      headers: [],
    });
    expect(receive(client(), `${CHUNKED}0\r\nT: 1\n\n`).at(-1)).toEqual({
      type: "EndOfMessage",
      headers: [["T", "1"]],
    });
  });
});
