// The fields that decide framing and keep-alive (RFC 9112 §6, §9; RFC 9110 §7.8, §10.1.1),
// at the boundaries of what is accepted: received heads are read strictly (see
// HeaderScan), heads we send are normalised as h11 does.
import { describe, expect, it } from "vitest";
import { Connection, LocalProtocolError, MIGHT_SWITCH_PROTOCOL } from "../src/index.js";
import { dec, receive, refusal } from "./helpers.js";

function client(): Connection {
  const c = new Connection("client");
  c.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
  c.send({ type: "EndOfMessage" });
  return c;
}

/** The message of the RemoteProtocolError receiving `wire` throws, checked to carry `hint`. */
function refused(conn: Connection, wire: string, hint: number): string {
  const error = refusal(conn, wire);
  expect(error.errorStatusHint).toBe(hint);
  return error.message;
}

describe("a received Content-Length", () => {
  it.each([
    ["0", ""],
    ["9", "123456789"],
    ["09", "123456789"],
    ["00000000000000000009", "123456789"],
    ["10", "0123456789"],
  ])("%j is a body of that many bytes", (value, body) => {
    const events = receive(client(), `HTTP/1.1 200 OK\r\nContent-Length: ${value}\r\n\r\n${body}`);
    expect(events).toEqual([
      expect.objectContaining({ type: "Response", headers: [["Content-Length", value]] }),
      ...(body === "" ? [] : [{ type: "Data", data: body }]),
      { type: "EndOfMessage", headers: [] },
    ]);
  });

  it("up to Number.MAX_SAFE_INTEGER is taken; one more is too large", () => {
    const c = client();
    const events = receive(c, "HTTP/1.1 200 OK\r\nContent-Length: 9007199254740991\r\n\r\nab");
    expect(events).toEqual([
      expect.objectContaining({ type: "Response" }),
      { type: "Data", data: "ab" },
    ]);
    expect(c.theirState).toBe("SEND_BODY");
    expect(
      refused(client(), "HTTP/1.1 200 OK\r\nContent-Length: 9007199254740992\r\n\r\n", 400),
    ).toBe("Content-Length 9007199254740992 is too large");
  });

  it.each([
    "",
    "x",
    "1x",
    "x1",
    "/",
    ":",
    "-1",
    "+3",
    "1 2",
    "1,2",
    "0x10",
    "1.0",
    "000000000000000000009",
    "\xb9",
  ])("%j is refused", (value) => {
    expect(refused(client(), `HTTP/1.1 200 OK\r\nContent-Length: ${value}\r\n\r\n`, 400)).toBe(
      `bad Content-Length ${JSON.stringify(value)}`,
    );
  });

  it("given twice it is refused, even with one value", () => {
    const message = refused(
      client(),
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok",
      400,
    );
    expect(message).toBe("Content-Length given more than once");
  });

  it("with Transfer-Encoding it is refused, in either order", () => {
    for (const fields of [
      "Content-Length: 3\r\nTransfer-Encoding: chunked",
      "Transfer-Encoding: chunked\r\nContent-Length: 3",
    ]) {
      expect(refused(client(), `HTTP/1.1 200 OK\r\n${fields}\r\n\r\n`, 400)).toBe(
        "both Content-Length and Transfer-Encoding were given: refused, as request smuggling uses this",
      );
    }
  });
});

describe("a received Transfer-Encoding", () => {
  it("is lower-cased as h11 does", () => {
    const events = receive(
      client(),
      "HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    );
    expect(events[0]).toMatchObject({ headers: [["transfer-encoding", "chunked"]] });
    expect(events[1]).toEqual({ type: "Data", data: "x" });
  });

  it.each(["gzip", "chunked, gzip", "gzip, chunked", "chunked;q=1", ""])(
    "%j is refused with 501",
    (value) => {
      expect(refused(client(), `HTTP/1.1 200 OK\r\nTransfer-Encoding: ${value}\r\n\r\n`, 501)).toBe(
        "Only Transfer-Encoding: chunked is supported",
      );
    },
  );

  it("given twice it is refused with 501", () => {
    expect(
      refused(
        client(),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTRANSFER-ENCODING: chunked\r\n\r\n",
        501,
      ),
    ).toBe("multiple Transfer-Encoding headers");
  });
});

describe("received Upgrade and Expect", () => {
  const request = (fields: string): Connection => {
    const s = new Connection("server");
    receive(s, `POST / HTTP/1.1\r\nHost: a\r\n${fields}\r\nContent-Length: 2\r\n\r\n`);
    return s;
  };

  it.each([
    ["websocket", true],
    [", h2c", true],
    ["", false],
    [" ", false],
    [",", false],
    [" , \t,", false],
  ])("Upgrade: %j proposes a switch: %s", (value, proposes) => {
    const wire = `GET / HTTP/1.1\r\nHost: a\r\nupgrade: ${value}\r\n\r\n`;
    const t = new Connection("server");
    receive(t, wire);
    expect(t.theirState).toBe(proposes ? MIGHT_SWITCH_PROTOCOL : "DONE");
  });

  it("a second Upgrade field with a value still proposes a switch", () => {
    const t = new Connection("server");
    receive(t, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade:\r\nUPGRADE: websocket\r\n\r\n");
    expect(t.theirState).toBe(MIGHT_SWITCH_PROTOCOL);
  });

  it("control bytes are not read as the digits of 100-continue", () => {
    // 0x11 and 0x10 with the case bit set would be "1" and "0".
    expect(request("Expect: \x11\x10\x10-continue").theyAreWaitingFor100Continue).toBe(false);
    expect(request("Expect: 100-continue").theyAreWaitingFor100Continue).toBe(true);
  });

  it("an Expect field after the one that asked does not undo it", () => {
    expect(request("Expect: 100-continue\r\nExpect: x").theyAreWaitingFor100Continue).toBe(true);
    expect(request("Expect: x\r\nEXPECT: 100-Continue").theyAreWaitingFor100Continue).toBe(true);
  });
});

describe("other fields of the same lengths", () => {
  it("are not Host, Expect, Upgrade, Connection or the framing fields", () => {
    const s = new Connection("server");
    const events = receive(
      s,
      "POST / HTTP/1.1\r\nHost: a\r\nDate: x\r\nExpert: 100-continue\r\nUpgrad: h2c\r\n" +
        "Connectio_: close\r\nContent-Lengt_: 5\r\nTransfer-Encodin_: gzip\r\n\r\n",
    );
    expect(events.map((e) => e.type)).toEqual(["Request", "EndOfMessage"]);
    expect(s.theirState).toBe("DONE");
    expect(s.theyAreWaitingFor100Continue).toBe(false);
    s.send({ type: "Response", status: 200, headers: [["Content-Length", "0"]] });
    s.send({ type: "EndOfMessage" });
    expect(s.ourState).toBe("DONE");
  });

  it("a tab around a Connection list element is OWS", () => {
    const c = client();
    receive(
      c,
      "HTTP/1.1 200 OK\r\nConnection: keep-alive,\tclose\t,x\r\nContent-Length: 0\r\n\r\n",
    );
    expect(c.theirState).toBe("MUST_CLOSE");
  });
});

describe("the Connection field of a response that closes", () => {
  it("keeps the other tokens of every Connection field, one field each, and drops keep-alive", () => {
    const s = new Connection("server");
    receive(s, "GET / HTTP/1.0\r\n\r\n");
    const head = s.send({
      type: "Response",
      status: 200,
      headers: [
        ["Connection", "Keep-Alive,,X-B"],
        ["Content-Length", "0"],
        ["connection", "x-a , keep-alive"],
        ["X-Connection", "x-c"],
      ],
    });
    expect(dec(head)).toBe(
      "HTTP/1.1 200 \r\nContent-Length: 0\r\nX-Connection: x-c\r\n" +
        "Connection: close\r\nConnection: x-a\r\nConnection: x-b\r\n\r\n",
    );
  });
});

describe("framing fields we send", () => {
  const post = (headers: Array<[string, string]>): string => {
    const c = new Connection("client");
    return dec(
      c.send({
        type: "Request",
        method: "POST",
        target: "/",
        headers: [["Host", "a"], ...headers],
      }),
    );
  };

  it("Transfer-Encoding wins over Content-Length, and only Content-Length itself goes", () => {
    expect(
      post([
        ["Content-Length-X", "1"],
        ["content-length", "3"],
        ["X-Content-Length", "2"],
        ["Transfer-Encoding", "Chunked"],
        ["Content-Lengthy", "4"],
      ]),
    ).toBe(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length-X: 1\r\nX-Content-Length: 2\r\n" +
        "Transfer-Encoding: chunked\r\nContent-Lengthy: 4\r\n\r\n",
    );
  });

  it("one Content-Length value given in several fields and lists is sent once", () => {
    expect(
      post([
        ["Content-Length", "3,3"],
        ["content-length", "3 , 3"],
      ]),
    ).toBe("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n");
  });

  it.each([
    [["3", "4"], "conflicting Content-Length headers"],
    [["3, 4"], "conflicting Content-Length headers"],
    [["3", "3,4"], "conflicting Content-Length headers"],
    [["-3"], 'bad Content-Length "-3"'],
    [["3x"], 'bad Content-Length "3x"'],
    [["9007199254740992"], "Content-Length 9007199254740992 is too large"],
  ])("Content-Length %j is refused: %s", (values, message) => {
    const c = new Connection("client");
    let error: unknown = null;
    try {
      c.send({
        type: "Request",
        method: "POST",
        target: "/",
        headers: [["Host", "a"], ...values.map((v): [string, string] => ["Content-Length", v])],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LocalProtocolError);
    expect(error).toMatchObject({ code: "H11_LOCAL_PROTOCOL_ERROR", message });
  });
});
