// How received bytes are buffered (receive-buffer.ts), seen through the Connection: a chunk
// that arrives while nothing is buffered is kept as it is and body Data are views of it;
// bytes gathered into the connection's own storage come out as copies, and that storage is
// compacted and reused without the stale bytes left in it ever being read as new ones.
import { describe, expect, it } from "vitest";
import { Connection, type Event, NEED_DATA, PAUSED } from "../src/index.js";
import { dec, enc, receive, remoteError } from "./helpers.js";

function client(): Connection {
  const c = new Connection("client");
  c.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
  c.send({ type: "EndOfMessage" });
  return c;
}

/** Every event up to NEED_DATA (excluded), as they come. */
function events(conn: Connection): Event[] {
  const out: Event[] = [];
  for (;;) {
    const ev = conn.nextEvent();
    if (ev.type === "NEED_DATA") return out;
    if (ev.type === "PAUSED") throw new Error("unexpected PAUSED");
    out.push(ev);
  }
}

describe("stale bytes in the connection's own storage", () => {
  // The first two pieces of a response make the connection gather them into storage of its
  // own (1024 bytes here). The pieces below fill it to byte 1000 with a chunked body whose
  // data holds a CR at `staleCR` (and the chunk-size line's CR at 50), then leave an
  // incomplete chunk-size line of `pending` bytes. The next piece does not fit after it, so
  // the line moves to the front and the piece follows it: the old bytes past them are
  // stale, a CR among them. The chunk-size line must still end at the CR LF that comes
  // after, not at a stale CR.
  function fill(pending: number, staleCR: number) {
    const conn = client();
    const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"; // 47 bytes
    const dataEnd = 1000 - pending - 2;
    const size = dataEnd - 52; // after the 5-byte size line
    const sizeLine = `${size.toString(16)}\r\n`;
    expect(sizeLine).toHaveLength(5);
    const data = Array.from({ length: size }, (_, i) => (52 + i === staleCR ? "\r" : "d")).join("");
    const line = `1;${"e".repeat(pending - 2)}`;
    const wire = `${head}${sizeLine}${data}\r\n${line}`;
    expect(wire).toHaveLength(1000);
    conn.receiveData(enc(wire.slice(0, 17)));
    expect(conn.nextEvent()).toBe(NEED_DATA);
    conn.receiveData(enc(wire.slice(17, 48)));
    conn.receiveData(enc(wire.slice(48)));
    const first = events(conn);
    expect(first.map((e) => e.type)).toEqual(["Response", "Data"]);
    return { conn, data: first[1] as Event & { type: "Data" }, line, body: data };
  }

  it.each([
    // The line's next search covers fewer than 256 bytes: the byte loop alone.
    ["a short search", 18, 30, 400],
    // More than 256 bytes: the loop, then the native search of what is left.
    ["a long search", 18, 300, 400],
    ["a long line", 300, 300, 650],
    // A short search that starts further into the storage.
    ["a short search further in", 200, 30, 400],
  ])(
    "%s: the chunk-size line ends at the CR LF that arrives, not at a stale CR",
    (_n, pending, more, staleCR) => {
      const { conn, data, line, body } = fill(pending, staleCR);
      const extension = "e".repeat(more);
      conn.receiveData(enc(extension));
      expect(conn.nextEvent()).toBe(NEED_DATA);
      conn.receiveData(enc("\r\nx\r\n0\r\n\r\n"));
      const rest = events(conn);
      expect(rest).toEqual([
        { type: "Data", data: enc("x"), chunkStart: true, chunkEnd: true },
        { type: "EndOfMessage", headers: [] },
      ]);
      // The chunk data that came out of the storage before it was reused is a copy.
      expect(dec(data.data)).toBe(body);
      expect(line.length + extension.length).toBeLessThan(1024);
    },
  );
});

/**
 * A client whose own storage holds a head, a chunk of 16 CRs and the CR LF after it, all
 * read, and the first byte of the next chunk-size line.
 */
function afterSixteenCRs(): Connection {
  const c = client();
  c.receiveData(enc("HTTP/1.1 200 OK\r\n"));
  expect(c.nextEvent()).toBe(NEED_DATA);
  c.receiveData(enc(`Transfer-Encoding: chunked\r\n\r\n10\r\n${"\r".repeat(16)}\r\n1`));
  expect(events(c).map((e) => e.type)).toEqual(["Response", "Data"]);
  return c;
}

describe("a chunk-size line longer than 256 bytes, in the connection's own storage", () => {
  // The bytes before it in the storage (the head, a chunk of CRs and the CR LF after it)
  // are already read: the native search for the line's CR starts 256 bytes into the line
  // and must not find one of those.
  it("ends at its own CR LF", () => {
    const c = afterSixteenCRs();
    c.receiveData(enc(`;${"e".repeat(514)}\r\nx\r\n0\r\n\r\n`));
    expect(events(c)).toEqual([
      { type: "Data", data: enc("x"), chunkStart: true, chunkEnd: true },
      { type: "EndOfMessage", headers: [] },
    ]);
  });
});

describe("a chunk-size line that holds a bare LF", () => {
  // The same storage; the LF sits where the native search starts (256 bytes into what it
  // searches), with no CR after it yet: the line is not complete, and is refused when it is.
  it("waits for its CR LF, then is refused", () => {
    const c = afterSixteenCRs();
    c.receiveData(enc(`;${"e".repeat(255)}\n${"e".repeat(20)}`));
    expect(c.nextEvent()).toBe(NEED_DATA);
    c.receiveData(enc("\r\n"));
    expect(() => c.nextEvent()).toThrow(remoteError("illegal chunk header"));
  });
});

describe("a chunk received while nothing is buffered", () => {
  it("is kept as it is: its body Data are views of it, and later bytes are not written into it", () => {
    const c = client();
    const chunk = enc(
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;${"e".repeat(60)}`,
    );
    const original = chunk.slice();
    c.receiveData(chunk);
    const [response, hello] = events(c);
    expect(response).toMatchObject({ type: "Response" });
    if (hello?.type !== "Data") throw new Error("expected Data");
    expect(hello.data.buffer).toBe(chunk.buffer);
    // The incomplete size line left in the chunk, and a few bytes after it: they fit in the
    // chunk where "hello" was, but go elsewhere.
    c.receiveData(enc("\r\nx\r\n0\r\n\r\n"));
    expect(events(c).map((e) => e.type)).toEqual(["Data", "EndOfMessage"]);
    expect(chunk).toEqual(original);
    expect(dec(hello.data)).toBe("hello");
  });
});

describe("what counts against maxIncompleteEventSize", () => {
  it("only the bytes not yet taken out, wherever they sit in the chunk", () => {
    const c = new Connection("client", { maxIncompleteEventSize: 100 });
    c.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
    c.send({ type: "EndOfMessage" });
    c.receiveData(
      enc(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nc8\r\n${"d".repeat(200)}\r\n1;e`),
    );
    expect(events(c).map((e) => e.type)).toEqual(["Response", "Data"]);
    c.receiveData(enc("\r\nx\r\n0\r\n\r\n"));
    expect(events(c).map((e) => e.type)).toEqual(["Data", "EndOfMessage"]);
  });
});

describe("the end of a head", () => {
  it("a bare-LF head found in the first look, with a body after it", () => {
    const wire = `HTTP/1.1 200 OK\nX-Pad: ${"p".repeat(40)}\nContent-Length: 2\n\nok`;
    expect(wire.length).toBeGreaterThan(64);
    expect(receive(client(), wire).slice(1)).toEqual([
      { type: "Data", data: "ok" },
      { type: "EndOfMessage", headers: [] },
    ]);
  });

  it("bare-LF heads one after the other in one chunk", () => {
    expect(receive(client(), "HTTP/1.1 100 Continue\n\nHTTP/1.1 204 No Content\n\n")).toEqual([
      {
        type: "InformationalResponse",
        status: 100,
        reason: "Continue",
        headers: [],
        httpVersion: "1.1",
      },
      { type: "Response", status: 204, reason: "No Content", headers: [], httpVersion: "1.1" },
      { type: "EndOfMessage", headers: [] },
    ]);
  });

  it("a continuation line of one space between bare LFs is not a blank line", () => {
    const wire = "HTTP/1.1 200 OK\nA: b\n \nContent-Length: 2\n\nok";
    expect(receive(client(), wire, "bytes")).toEqual([
      {
        type: "Response",
        status: 200,
        reason: "OK",
        headers: [
          ["A", "b"],
          ["Content-Length", "2"],
        ],
        httpVersion: "1.1",
      },
      { type: "Data", data: "ok" },
      { type: "EndOfMessage", headers: [] },
    ]);
  });

  it("an LF then a CR is a blank line only with an LF after the CR", () => {
    expect(() =>
      receive(new Connection("server"), "GET / HTTP/1.1\r\nHost: a\r\n\rX: y\r\n\r\n"),
    ).toThrow(remoteError('illegal header line: "\\rX: y"'));
    expect(() =>
      receive(client(), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\rX: 1\r\n\r\n"),
    ).toThrow(remoteError('illegal header line: "\\rX: 1"'));
    expect(() =>
      receive(client(), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX\n\n"),
    ).toThrow(remoteError('illegal header line: "X"'));
  });
});

describe("storage emptied and kept for the next bytes", () => {
  // A lenient server reads a chunked request whose trailer's blank line (`end`) arrives in a
  // receive of its own, followed by a pipelined request before the server reads on: the
  // connection gathers both into its own storage, the blank line first. Once both requests
  // are read, the storage is empty but still starts with those old bytes; the next cycle
  // must wait for bytes, not read the old ones as a new head.
  it.each(["\r\n", "\n"])("the old blank line %j is not read again", (end) => {
    const s = new Connection("server", { lenient: { bareLF: true } });
    s.receiveData(enc("POST /1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"));
    expect(events(s).map((e) => e.type)).toEqual(["Request"]);
    s.receiveData(enc(end));
    s.receiveData(enc("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"));
    expect(s.nextEvent()).toEqual({ type: "EndOfMessage", headers: [] });
    expect(s.nextEvent()).toBe(PAUSED);
    const respond = () => {
      s.send({ type: "Response", status: 204, headers: [] });
      s.send({ type: "EndOfMessage" });
      s.startNextCycle();
    };
    respond();
    expect(events(s).map((e) => e.type)).toEqual(["Request", "EndOfMessage"]);
    respond();
    expect(s.nextEvent()).toBe(NEED_DATA);
    expect(s.trailingData.data).toEqual(new Uint8Array(0));
  });
});
