import { inspect } from "node:util";
import { startOrigin, type Origin as TestOrigin, testCA } from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectError,
  ConnectionPool,
  LocalProtocolError,
  PoolTimeout,
  Request,
  ResponseNotRead,
  StreamConsumed,
  UnsupportedProtocol,
  URL,
} from "../src/index.js";

let http: TestOrigin;
let https: TestOrigin;

beforeAll(async () => {
  http = await startOrigin({ name: "origin-a" });
  https = await startOrigin({ tls: true, name: "origin-tls" });
});
afterAll(async () => {
  await http.close();
  await https.close();
});

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("ConnectionPool over real sockets", () => {
  it("makes a request and keeps the connection alive for the next", async () => {
    await using pool = new ConnectionPool();
    const r1 = await pool.request("GET", `${http.url}/`);
    expect(r1.status).toBe(200);
    expect(text(r1.content)).toBe("hello from origin-a\n");
    expect(r1.extensions.httpVersion).toBe("HTTP/1.1");
    expect(r1.extensions.reasonPhrase).toBe("OK");
    expect(String(r1)).toBe("<Response [200]>");
    const r2 = await pool.request("GET", `${http.url}/json`);
    expect(await r2.json()).toMatchObject({ slideshow: { author: "origin-a" } });
    expect(pool.connections).toHaveLength(1);
    expect(pool.connections.map((c) => inspect(c))).toEqual([
      `<HTTPConnection ['${http.url}', HTTP/1.1, IDLE, Request Count: 2]>`,
    ]);
    expect(String(pool)).toBe(
      "<ConnectionPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
  });

  it("speaks TLS, verifying against the given CA", async () => {
    await using pool = new ConnectionPool({ tls: { ca: testCA().cert } });
    const r = await pool.request("GET", `${https.url}/whoami`);
    expect(text(r.content)).toBe("origin-tls");
    const [conn] = pool.connections;
    expect(String(conn)).toBe(
      `<HTTPConnection ['https://localhost:${https.port}', HTTP/1.1, IDLE, Request Count: 1]>`,
    );
  });

  it("refuses a certificate it cannot verify", async () => {
    await using pool = new ConnectionPool();
    const error = await pool.request("GET", `${https.url}/`).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.code).toBe("ERR_CONNECT");
    expect(error.message).toMatch(/TLS handshake failed/);
    expect(pool.connections).toHaveLength(0);
  });

  it("streams a body with for await, then frees the connection", async () => {
    await using pool = new ConnectionPool();
    const s = await pool.stream("GET", `${http.url}/stream/64`);
    expect(() => s.content).toThrow(ResponseNotRead);
    let total = 0;
    for await (const chunk of s) total += chunk.length;
    expect(total).toBe(64 * 1024);
    expect(String(pool)).toBe(
      "<ConnectionPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
    await expect(async () => {
      for await (const _ of s) {
      }
    }).rejects.toThrow(StreamConsumed);
  });

  it("closing an unread stream closes its connection", async () => {
    await using pool = new ConnectionPool();
    const s = await pool.stream("GET", `${http.url}/bytes/100000`);
    expect(inspect(pool.connections)).toMatch(/ACTIVE, Request Count: 1/);
    await s.close();
    expect(pool.connections).toHaveLength(0);
  });

  it("Connection: close from the server closes the connection", async () => {
    await using pool = new ConnectionPool();
    await pool.request("GET", `${http.url}/close`);
    expect(pool.connections).toHaveLength(0);
  });

  it("keepaliveExpiry 0 closes idle connections at once", async () => {
    await using pool = new ConnectionPool({ keepaliveExpiry: 0 });
    await pool.request("GET", `${http.url}/`);
    await new Promise((r) => setTimeout(r, 2));
    expect(pool.connections).toHaveLength(0);
  });

  it("maxKeepaliveConnections 0 keeps no idle connection", async () => {
    await using pool = new ConnectionPool({ maxKeepaliveConnections: 0 });
    await pool.request("GET", `${http.url}/`);
    expect(pool.connections).toHaveLength(0);
  });

  it("maxConnections 1 serves several origins in turn, most recent first", async () => {
    const other = await startOrigin({ name: "origin-b" });
    try {
      await using pool = new ConnectionPool({ maxConnections: 1 });
      const urls = [http.url, other.url, http.url, other.url];
      const results = await Promise.all(urls.map((u) => pool.request("GET", `${u}/whoami`)));
      expect(results.map((r) => text(r.content))).toEqual([
        "origin-a",
        "origin-b",
        "origin-a",
        "origin-b",
      ]);
      expect(pool.connections.length).toBeLessThanOrEqual(1);
    } finally {
      await other.close();
    }
  });

  it("lists connections most recently used first", async () => {
    const other = await startOrigin({ name: "origin-b" });
    try {
      await using pool = new ConnectionPool();
      await pool.request("GET", `${http.url}/`);
      await pool.request("GET", `${other.url}/`);
      expect(pool.connections.map((c) => c.info().split(",")[0])).toEqual([
        `'${other.url}'`,
        `'${http.url}'`,
      ]);
      await pool.request("GET", `${http.url}/`);
      expect(pool.connections.map((c) => c.info().split(",")[0])).toEqual([
        `'${http.url}'`,
        `'${other.url}'`,
      ]);
    } finally {
      await other.close();
    }
  });

  it("pool timeout: a request waiting for a busy pool fails with PoolTimeout", async () => {
    await using pool = new ConnectionPool({ maxConnections: 1 });
    const held = await pool.stream("GET", `${http.url}/bytes/10`);
    await expect(
      pool.request("GET", `${http.url}/`, { extensions: { timeout: { pool: 50 } } }),
    ).rejects.toBeInstanceOf(PoolTimeout);
    await expect(
      pool.request("GET", `${http.url}/`, { extensions: { timeout: { pool: 0 } } }),
    ).rejects.toMatchObject({
      code: "ERR_POOL_TIMEOUT",
    });
    await held.read();
    await held.close();
    const ok = await pool.request("GET", `${http.url}/`, { extensions: { timeout: { pool: 0 } } });
    expect(ok.status).toBe(200);
  });

  it("adds Host and Content-Length, and uploads bytes, strings and async iterables", async () => {
    await using pool = new ConnectionPool();
    const bytes = await pool.request("POST", `${http.url}/echo`, {
      content: new Uint8Array([104, 105]),
    });
    const echoed = (await bytes.json()) as { headers: string[]; body: string };
    expect(echoed.headers.slice(0, 2)).toEqual(["Host", `127.0.0.1:${http.port}`]);
    expect(echoed.headers).toContain("Content-Length");
    expect(echoed.body).toBe("hi");

    async function* gen() {
      yield new TextEncoder().encode("chunk-1;");
      yield new TextEncoder().encode("chunk-2");
    }
    const streamed = (await (
      await pool.request("PUT", `${http.url}/echo`, { content: gen() })
    ).json()) as {
      headers: string[];
      body: string;
    };
    expect(streamed.headers).toContain("chunked");
    expect(streamed.body).toBe("chunk-1;chunk-2");

    const big = "x".repeat(200_000);
    const large = (await (
      await pool.request("POST", `${http.url}/echo`, { content: big })
    ).json()) as { body: string };
    expect(large.body.length).toBe(200_000);

    const empty = (await (await pool.request("POST", `${http.url}/echo`)).json()) as {
      headers: string[];
    };
    expect(empty.headers).toEqual(expect.arrayContaining(["Content-Length", "0"]));
  });

  it("handleRequest sends headers exactly as given", async () => {
    await using pool = new ConnectionPool();
    const req = new Request("GET", `${http.url}/echo`, {
      headers: [
        ["Host", "custom.example"],
        ["X-A", "1"],
      ],
    });
    const res = await pool.handleRequest(req);
    const body = JSON.parse(text(await res.read())) as { headers: string[] };
    await res.close();
    expect(body.headers).toEqual(["Host", "custom.example", "X-A", "1"]);
  });

  it("2000 requests at 50 in flight, over at most 10 connections", async () => {
    await using pool = new ConnectionPool({ maxConnections: 10 });
    const before = http.connections;
    let next = 0;
    let ok = 0;
    async function worker() {
      while (next < 2000) {
        next++;
        const r = await pool.request("GET", `${http.url}/json`);
        if (r.status === 200) ok++;
      }
    }
    await Promise.all(Array.from({ length: 50 }, worker));
    expect(ok).toBe(2000);
    expect(http.connections - before).toBeLessThanOrEqual(10);
    // Seconds on a loaded machine, and many more under mutation testing's instrumentation.
  }, 60_000);

  it("rejects bad input before any byte is written", async () => {
    await using pool = new ConnectionPool();
    const before = http.connections;
    const unsupported = [UnsupportedProtocol, "ERR_UNSUPPORTED_PROTOCOL"] as const;
    const local = [LocalProtocolError, "ERR_LOCAL_PROTOCOL"] as const;
    const badValue = /^Illegal header value for X(-Evil)?: CR, LF, NUL/;
    type Expected = readonly [new (...args: never[]) => Error, string];
    const bad: Array<[() => Promise<unknown>, Expected, RegExp]> = [
      [() => pool.request("GET", "example.com/"), unsupported, /missing an 'http:\/\/'/],
      [() => pool.request("GET", "ftp://example.com/"), unsupported, /unsupported protocol 'ftp/],
      [() => pool.request("GET", "http://"), local, /^Invalid URL "http:\/\/"/],
      [() => pool.request("GET\r\n", `${http.url}/`), local, /^Illegal method/],
      [
        () => pool.request("GET", `${http.url}/`, { headers: { "X-Evil": "a\r\nInjected: 1" } }),
        local,
        badValue,
      ],
      [
        () => pool.request("GET", `${http.url}/`, { headers: { "Bad Name": "1" } }),
        local,
        /^Illegal header name "Bad Name"/,
      ],
      [() => pool.request("GET", `${http.url}/`, { headers: { X: "a\0b" } }), local, badValue],
      [() => pool.request("GET", `${http.url}/`, { headers: [["X", "\n"]] }), local, badValue],
      [
        () =>
          pool.request(
            "GET",
            new URL({
              scheme: "http",
              host: "127.0.0.1",
              port: http.port,
              target: "/ HTTP/1.1\r\nX: y",
            }),
          ),
        local,
        /^Illegal characters in request target/,
      ],
      [
        () =>
          pool.request(
            "GET",
            new URL({ scheme: "http", host: "127.0.0.1", port: http.port, target: "/\0" }),
          ),
        local,
        /^Illegal characters in request target/,
      ],
      [
        () => pool.request("GET", `${http.url}/`, { headers: { "X\r\nInjected": "1" } }),
        local,
        /^Illegal header name/,
      ],
    ];
    for (const [call, [errorClass, code], message] of bad) {
      // Some are refused synchronously (a bad URL object), the rest by the returned promise.
      const error = await Promise.resolve()
        .then(call)
        .catch((e) => e);
      expect(error, String(error)).toBeInstanceOf(errorClass);
      expect(error, String(error)).toMatchObject({ code, message: expect.stringMatching(message) });
    }
    expect(http.connections).toBe(before);
    await expect(pool.request("GET", "example.com/")).rejects.toBeInstanceOf(UnsupportedProtocol);
  });

  it("refuses no protocol at all and bad options with clear errors", () => {
    expect(() => new ConnectionPool({ http1: false })).toThrow(/cannot both be off/);
    expect(() => new ConnectionPool({ http1: false, http2: false })).toThrow(
      expect.objectContaining({ code: "ERR_NOT_SUPPORTED" }),
    );
    expect(() => new ConnectionPool({ maxConnections: 0 })).toThrow(TypeError);
    expect(() => new ConnectionPool({ maxConnections: 0 })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }),
    );
    expect(() => new ConnectionPool({ keepaliveExpiry: -1 })).toThrow(TypeError);
  });

  it("connects over a Unix socket", async () => {
    const unix = await startOrigin({ unix: true, name: "unix-origin" });
    try {
      await using pool = new ConnectionPool({ uds: unix.path });
      const r = await pool.request("GET", "http://localhost/whoami");
      expect(text(r.content)).toBe("unix-origin");
    } finally {
      await unix.close();
    }
  });
});
