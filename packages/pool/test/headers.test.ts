// Header names and values are checked once, with @x/h11's rules, and sent as given.
import { Connection as H11Connection } from "@x/h11";
import { onEachRequestHead, startRawServer } from "@x/testkit";
import { describe, expect, it } from "vitest";
import {
  ConnectionPool,
  HTTP11Connection,
  LocalProtocolError,
  MockBackend,
  Origin,
  Request,
  toHeaderList,
} from "../src/index.js";

const OK = ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"];
const latin1 = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString("latin1");

// What @x/h11 does with one header in a request: the bytes it writes, or "refused".
function h11Verdict(name: string, value: string): string {
  try {
    const head = new H11Connection("client").send({
      type: "Request",
      method: "GET",
      target: "/",
      headers: [
        ["Host", "a"],
        [name, value],
      ],
    });
    return Buffer.from(head).toString("latin1");
  } catch {
    return "refused";
  }
}

// What the pool does with it: the header list it would hand to h11, or "refused" (and then
// the error must be the pool's LocalProtocolError).
function poolVerdict(name: string, value: string): string {
  try {
    const request = new Request("GET", "http://a/", { headers: [[name, value]] });
    return h11Verdict(...(request.headers[0] as [string, string]));
  } catch (error) {
    expect(error).toBeInstanceOf(LocalProtocolError);
    expect(error).toMatchObject({ code: "ERR_LOCAL_PROTOCOL" });
    return "refused";
  }
}

describe("header validation is @x/h11's, and alters nothing", () => {
  it("a value ending in U+00A0 goes out byte for byte", async () => {
    const backend = new MockBackend(OK);
    await using pool = new ConnectionPool({ networkBackend: backend });
    const value = "caf\xe9\xa0";
    const r = await pool.request("GET", "http://example.com/", { headers: { "X-Name": value } });
    expect(r.status).toBe(200);
    const wire = Buffer.concat(backend.written);
    const field = Buffer.from(`X-Name: caf\xe9\xa0\r\n`, "latin1");
    expect([...field.subarray(-4)]).toEqual([0xe9, 0xa0, 0x0d, 0x0a]);
    expect(wire.indexOf(field)).toBeGreaterThan(0);
    expect(toHeaderList([["X-Name", value]])).toEqual([["X-Name", value]]);
  });

  it("VT inside a value is refused at the call, before any connection is used", async () => {
    const backend = new MockBackend(OK);
    await using pool = new ConnectionPool({ networkBackend: backend });
    const bad = pool.request("GET", "http://example.com/", { headers: { "X-A": "b\x0bc" } });
    await expect(bad).rejects.toBeInstanceOf(LocalProtocolError);
    await expect(bad).rejects.toMatchObject({ code: "ERR_LOCAL_PROTOCOL" });
    await expect(bad).rejects.toThrow(/Illegal header value for X-A/);
    expect(backend.streams).toHaveLength(0);
    expect(pool.connections).toHaveLength(0);
    expect(
      () => new Request("GET", "http://example.com/", { headers: [["X-A", "b\x0bc"]] }),
    ).toThrow(LocalProtocolError);
    // The pool goes on as if nothing had happened.
    expect((await pool.request("GET", "http://example.com/")).status).toBe(200);
    expect(backend.streams).toHaveLength(1);
  });

  it("a refused header leaves a kept-alive connection idle and reused", async () => {
    const heads: string[] = [];
    const raw = await startRawServer((socket) =>
      onEachRequestHead(socket, (head) => {
        heads.push(head);
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }),
    );
    try {
      await using pool = new ConnectionPool();
      await pool.request("GET", `${raw.url}/`);
      for (const value of ["b\x0bc", " padded", "tab\t", "\u0100"]) {
        await expect(
          pool.request("GET", `${raw.url}/`, { headers: { "X-A": value } }),
        ).rejects.toMatchObject({ code: "ERR_LOCAL_PROTOCOL" });
      }
      expect(pool.connections.map((c) => c.info())).toEqual([
        expect.stringMatching(/IDLE, Request Count: 1$/),
      ]);
      await pool.request("GET", `${raw.url}/`, { headers: { "X-A": "b c\xa0" } });
      expect(raw.connections).toBe(1);
      expect(heads).toHaveLength(2);
      expect(heads[1]?.split("\r\n")).toContain("X-A: b c\xa0");
    } finally {
      await raw.close();
    }
  });

  it("a header made bad after the Request was built is refused by h11 at send, nothing written", async () => {
    const backend = new MockBackend(OK);
    await using pool = new ConnectionPool({ networkBackend: backend });
    const request = new Request("GET", "http://example.com/", { headers: { Host: "example.com" } });
    request.headers.push(["X-A", "b\x0bc"]);
    await expect(pool.handleRequest(request)).rejects.toMatchObject({
      code: "ERR_LOCAL_PROTOCOL",
    });
    expect(latin1(backend.written)).toBe("");
    // Opened for it, unused: idle, and the next request takes it.
    expect(pool.connections.map((c) => c.info())).toEqual([
      expect.stringMatching(/IDLE, Request Count: 0$/),
    ]);
    expect((await pool.request("GET", "http://example.com/")).status).toBe(200);
    expect(pool.connections.map((c) => c.info())).toEqual([
      expect.stringMatching(/IDLE, Request Count: 1$/),
    ]);
  });

  const names = [
    "X-Name",
    "x",
    "!#$%&'*+-.^_`|~09AZaz",
    "",
    "X Name",
    "X:Name",
    "X-Name ",
    " X-Name",
    "X\tName",
    "X\0",
    "X\r\nY",
    "X\xe9",
    "X\u0100",
    "(X)",
    'X"',
    "X/Y",
    "X@Y",
  ];
  const values = [
    "",
    "plain",
    "a b",
    "a  \t b",
    "caf\xe9\xa0",
    "\xa0caf\xe9",
    "\xff",
    " a",
    "a ",
    "\ta",
    "a\t",
    " ",
    "b\x0bc",
    "b\x0cc",
    "a\0b",
    "a\rb",
    "a\nb",
    "a\r\n b",
    "a\u0100",
    "\u20ac",
    "\ud83d\ude00",
    "\x7f",
    "\x01\x1f",
  ];
  // Every code unit up to U+00FF, and two above, at the start, in the middle and at the end.
  for (let c = 0; c <= 0x101; c++) {
    const ch = String.fromCharCode(c);
    names.push(`A${ch}`);
    values.push(ch, `a${ch}b`, `ab${ch}`);
  }

  it("names: the pool's verdict is h11's, and an accepted name is sent as given", () => {
    for (const name of names) {
      expect([name, poolVerdict(name, "v")]).toEqual([name, h11Verdict(name, "v")]);
    }
    expect(names.filter((n) => h11Verdict(n, "v") === "refused").length).toBeGreaterThan(180);
  });

  it("values: the pool's verdict is h11's, and an accepted value is sent as given", () => {
    for (const value of values) {
      expect([value, poolVerdict("X-V", value)]).toEqual([value, h11Verdict("X-V", value)]);
    }
    const accepted = values.filter((v) => h11Verdict("X-V", v) !== "refused");
    expect(accepted).toContain("caf\xe9\xa0");
    expect(values.length - accepted.length).toBeGreaterThan(30);
  });

  it("numbers become their decimal text", () => {
    expect(toHeaderList({ "Content-Length": 12, "X-F": 1.5 })).toEqual([
      ["Content-Length", "12"],
      ["X-F", "1.5"],
    ]);
  });

  it("HTTP11Connection sends a value byte for byte too", async () => {
    const backend = new MockBackend(OK);
    const stream = await backend.connectTcp("example.com", 80);
    const conn = new HTTP11Connection(new Origin("http", "example.com", 80), stream);
    const request = new Request("GET", "http://example.com/", {
      headers: { Host: "example.com", "X-Name": "caf\xe9\xa0" },
    });
    await (await conn.handleRequest(request)).read();
    expect(latin1(backend.written)).toContain("\r\nX-Name: caf\xe9\xa0\r\n");
    await conn.close();
  });
});
