// The rules the Connection applies across events (connection.ts, state.ts), at their edges:
// the 2xx range that accepts a CONNECT, the versions kept alive, when the 100-continue wait
// ends, what a refused event leaves behind, and each refusal by its message.
import { describe, expect, it } from "vitest";
import { Connection, NEED_DATA, PAUSED } from "../src/index.js";
import { dec, enc, localError, receive, remoteError } from "./helpers.js";

function connectingClient(): Connection {
  const c = new Connection("client");
  c.send({ type: "Request", method: "CONNECT", target: "a:443", headers: [["Host", "a:443"]] });
  c.send({ type: "EndOfMessage" });
  return c;
}

describe("a CONNECT is accepted by a 2xx only", () => {
  it("299 switches; 300 is a refusal whose body is read by its Content-Length", () => {
    const accepted = connectingClient();
    receive(accepted, "HTTP/1.1 299 Odd\r\n\r\ntunnel");
    expect([accepted.ourState, accepted.theirState]).toEqual([
      "SWITCHED_PROTOCOL",
      "SWITCHED_PROTOCOL",
    ]);
    expect(dec(accepted.trailingData.data)).toBe("tunnel");

    const refused = connectingClient();
    expect(receive(refused, "HTTP/1.1 300 Choices\r\nContent-Length: 1\r\n\r\nx").slice(1)).toEqual(
      [
        { type: "Data", data: "x" },
        { type: "EndOfMessage", headers: [] },
      ],
    );
    expect([refused.ourState, refused.theirState]).toEqual(["DONE", "DONE"]);
  });

  it("a server that has read a CONNECT pauses until it answers", () => {
    const s = new Connection("server");
    expect(receive(s, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n").map((e) => e.type)).toEqual([
      "Request",
      "EndOfMessage",
      "PAUSED",
    ]);
    expect(s.nextEvent()).toBe(PAUSED);
  });
});

describe("keep-alive by version", () => {
  it("HTTP/1.2 is kept alive like 1.1; 1.0 is not", () => {
    const s = new Connection("server");
    receive(s, "GET / HTTP/1.2\r\nHost: a\r\n\r\n");
    expect([s.theirHttpVersion, s.theirState]).toEqual(["1.2", "DONE"]);
    const t = new Connection("server");
    receive(t, "GET / HTTP/1.0\r\n\r\n");
    expect(t.theirState).toBe("MUST_CLOSE");
  });
});

describe("the 100-continue wait", () => {
  const expecting = (length: number): Connection => {
    const s = new Connection("server");
    const head = `POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: ${length}`;
    s.receiveData(enc(`${head}\r\n\r\n`));
    expect(s.nextEvent()).toMatchObject({ type: "Request" });
    expect(s.theyAreWaitingFor100Continue).toBe(true);
    return s;
  };

  it("ends with the first byte of the body, before its end", () => {
    const s = expecting(2);
    s.receiveData(enc("h"));
    expect(s.nextEvent()).toMatchObject({ type: "Data" });
    expect([s.theyAreWaitingFor100Continue, s.clientIsWaitingFor100Continue]).toEqual([
      false,
      false,
    ]);
  });

  it("without a body, ends with the request's EndOfMessage, received or sent", () => {
    const s = expecting(0);
    expect(s.nextEvent()).toMatchObject({ type: "EndOfMessage" });
    expect(s.theyAreWaitingFor100Continue).toBe(false);
    const c = new Connection("client");
    const headers: [string, string][] = [
      ["Host", "a"],
      ["Expect", "100-continue"],
    ];
    c.send({ type: "Request", method: "POST", target: "/", headers });
    expect(c.clientIsWaitingFor100Continue).toBe(true);
    c.send({ type: "EndOfMessage" });
    expect(c.clientIsWaitingFor100Continue).toBe(false);
  });
});

describe("theirHttpVersion", () => {
  it("comes from the peer's heads only, not from ours", () => {
    const c = new Connection("client");
    c.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
    expect(c.theirHttpVersion).toBeNull();
    receive(c, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    expect(c.theirHttpVersion).toBe("1.0");
  });
});

describe("EOF right after a complete message", () => {
  it("the bytes already received are read first, then ConnectionClosed", () => {
    const c = new Connection("client");
    c.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
    c.send({ type: "EndOfMessage" });
    c.receiveData(enc("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
    c.receiveData(new Uint8Array(0));
    const types = [];
    for (let ev = c.nextEvent(); ev !== NEED_DATA; ev = c.nextEvent()) {
      types.push(ev.type);
      if (ev.type === "ConnectionClosed") break;
    }
    expect(types).toEqual(["Response", "Data", "EndOfMessage", "ConnectionClosed"]);
  });
});

describe("an event the state refuses leaves nothing behind", () => {
  it("a CONNECT request sent by a server proposes no switch", () => {
    const s = new Connection("server");
    receive(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    expect(() =>
      s.send({ type: "Request", method: "CONNECT", target: "a:1", headers: [["Host", "a"]] }),
    ).toThrow(localError("can't handle event type Request when role=server"));
    expect([s.ourState, s.theirState]).toEqual(["ERROR", "MUST_CLOSE"]);
  });

  it("a 101 sent by a client is refused as a client's event, not as a switch", () => {
    const c = new Connection("client");
    expect(() => c.send({ type: "InformationalResponse", status: 101, headers: [] })).toThrow(
      localError("can't handle event type InformationalResponse when role=client and state=IDLE"),
    );
  });

  it("the next cycle needs both sides DONE, and says where each is", () => {
    const s = new Connection("server");
    receive(s, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab");
    s.send({ type: "Response", status: 204, headers: [] });
    s.send({ type: "EndOfMessage" });
    expect(() => s.startNextCycle()).toThrow(
      localError("not in a reusable state (client SEND_BODY, server DONE)"),
    );
  });

  it("a 101 without an Upgrade proposal says so", () => {
    const s = new Connection("server");
    receive(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    expect(() => s.send({ type: "InformationalResponse", status: 101, headers: [] })).toThrow(
      localError("Received server UPGRADE switch event without a pending proposal"),
    );
  });
});

describe("Connection: close added to a response", () => {
  it("keeps the other tokens, close first, and drops keep-alive", () => {
    const s = new Connection("server");
    receive(s, "GET / HTTP/1.0\r\n\r\n");
    const head = s.send({
      type: "Response",
      status: 200,
      headers: [
        ["Connection", "upgrade, keep-alive"],
        ["Content-Length", "0"],
      ],
    });
    expect(dec(head)).toBe(
      "HTTP/1.1 200 \r\nContent-Length: 0\r\nConnection: close\r\nConnection: upgrade\r\n\r\n",
    );
  });
});

describe("each refusal by its message", () => {
  it("arguments", () => {
    expect(new Connection("client", { maxIncompleteEventSize: 1 }).ourRole).toBe("client");
    expect(() => new Connection("proxy" as never)).toThrow(
      expect.objectContaining({ message: 'expected "client" or "server", not "proxy"' }),
    );
    for (const max of [0, 1.5, -1]) {
      expect(() => new Connection("client", { maxIncompleteEventSize: max })).toThrow(
        expect.objectContaining({
          code: "ERR_INVALID_ARG_VALUE",
          message: "maxIncompleteEventSize must be a positive integer",
        }),
      );
    }
    expect(() => new Connection("client").receiveData("x" as never)).toThrow(
      expect.objectContaining({ message: "receiveData takes a Uint8Array" }),
    );
  });

  it("data after EOF, and reading after the peer broke the protocol", () => {
    const c = new Connection("server");
    c.receiveData(new Uint8Array(0));
    expect(() => c.receiveData(enc("x"))).toThrow(
      localError("received data after the peer closed (after an empty chunk)"),
    );
    const s = new Connection("server");
    expect(() => receive(s, "\x00")).toThrow(remoteError("illegal request line"));
    expect(() => s.nextEvent()).toThrow(remoteError("Can't receive data when peer state is ERROR"));
  });

  it("a line that outgrows the limit, a reason phrase, and Host", () => {
    const c = new Connection("client", { maxIncompleteEventSize: 10 });
    c.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
    expect(() => receive(c, "HTTP/1.1 200 OK")).toThrow(remoteError("Receive buffer too long"));
    const s = new Connection("server");
    receive(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    for (const reason of ["a\0b", "a\nb", "\u0100"]) {
      expect(() => s.send({ type: "Response", status: 200, reason, headers: [] })).toThrow(
        localError(`Illegal reason phrase ${JSON.stringify(reason)}`),
      );
    }
    expect(() => receive(new Connection("server"), "GET / HTTP/1.1\r\n\r\n")).toThrow(
      remoteError("Missing mandatory Host: header"),
    );
    expect(() =>
      receive(new Connection("server"), "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
    ).toThrow(remoteError("Found multiple Host: headers"));
  });
});
