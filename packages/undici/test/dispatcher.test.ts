import { inspect } from "node:util";
import { ConnectError, ConnectionPool, TransportError } from "@x/pool";
import { HTTPProxy, SOCKSProxy } from "@x/proxy";
import {
  type EmbeddedProxy,
  type EmbeddedSocks,
  type Origin,
  startOrigin,
  startProxy,
  startSocksServer,
  testCA,
} from "@x/testkit";
import { fetch, request, stream } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PoolDispatcher } from "../src/index.js";

let http: Origin;
let https: Origin;
let proxy: EmbeddedProxy;
let socks: EmbeddedSocks;
const tls = () => ({ ca: testCA().cert });

beforeAll(async () => {
  http = await startOrigin();
  https = await startOrigin({ tls: true });
  proxy = await startProxy();
  socks = await startSocksServer();
});
afterAll(async () => {
  await http?.close();
  await https?.close();
  await proxy?.close();
  await socks?.close();
});

type Echo = { method: string; url: string; headers: string[]; body: string };

const ways: Array<[string, () => ConnectionPool]> = [
  ["direct", () => new ConnectionPool({ tls: tls() })],
  ["through the embedded HTTP proxy", () => new HTTPProxy({ proxyUrl: proxy.url, tls: tls() })],
  [
    "through a SOCKS5 proxy",
    () => new SOCKSProxy({ proxyUrl: `socks5h://127.0.0.1:${socks.port}`, tls: tls() }),
  ],
];

for (const [way, makePool] of ways) {
  describe(`undici 7 ${way}`, () => {
    it("fetch() over http: and https:", async () => {
      const dispatcher = new PoolDispatcher(makePool());
      try {
        for (const origin of [http, https]) {
          const res = await fetch(`${origin.url}/json`, { dispatcher });
          expect(res.status).toBe(200);
          expect(res.headers.get("content-type")).toBe("application/json");
          expect(await res.json()).toMatchObject({ slideshow: { title: "Sample Slide Show" } });
        }
      } finally {
        await dispatcher.close();
      }
    });

    it("request() and stream()", async () => {
      const dispatcher = new PoolDispatcher(makePool());
      try {
        const r = await request(`${https.url}/bytes/100000`, { dispatcher });
        expect(r.statusCode).toBe(200);
        expect((await r.body.arrayBuffer()).byteLength).toBe(100000);
        let length = 0;
        const { Writable } = await import("node:stream");
        await stream(
          `${http.url}/stream/64`,
          { dispatcher, method: "GET" },
          () =>
            new Writable({
              write(chunk: Buffer, _enc, cb) {
                length += chunk.length;
                cb();
              },
            }),
        );
        expect(length).toBe(64 * 1024);
      } finally {
        await dispatcher.close();
      }
    });
  });
}

describe("request bodies", () => {
  let dispatcher: PoolDispatcher;
  beforeEach(() => {
    dispatcher = new PoolDispatcher(new ConnectionPool({ tls: tls() }));
  });
  afterEach(async () => {
    await dispatcher.close();
  });

  const bodies: Array<[string, () => unknown, Record<string, unknown>?]> = [
    ["a string", () => "hello body"],
    ["bytes", () => new TextEncoder().encode("hello body")],
    ["a Blob", () => new Blob(["hello ", "body"])],
    [
      "a web ReadableStream",
      () =>
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode("hello "));
            c.enqueue(new TextEncoder().encode("body"));
            c.close();
          },
        }),
      { duplex: "half" },
    ],
    ["URLSearchParams", () => new URLSearchParams({ hello: "body" })],
  ];
  for (const [what, make, extra] of bodies) {
    it(`fetch() sends ${what}`, async () => {
      const res = await fetch(`${https.url}/echo`, {
        method: "POST",
        body: make(),
        dispatcher,
        ...extra,
      } as never);
      const echo = (await res.json()) as Echo;
      expect(echo.method).toBe("POST");
      expect(echo.body).toBe(what === "URLSearchParams" ? "hello=body" : "hello body");
    });
  }

  it("request() sends a Node Readable and an async generator, streamed", async () => {
    const { Readable } = await import("node:stream");
    for (const body of [
      Readable.from([Buffer.from("one "), Buffer.from("two")]),
      (async function* () {
        yield "one ";
        yield Buffer.from("two");
      })(),
    ]) {
      const r = await request(`${http.url}/echo`, {
        method: "PUT",
        body: body as never,
        dispatcher,
      });
      const echo = (await r.body.json()) as Echo;
      expect(echo.body).toBe("one two");
      expect(echo.headers.map((h) => h.toLowerCase())).toContain("transfer-encoding");
    }
  });
});

describe("Node's global fetch", () => {
  it(`fetch() of Node ${process.version} with { dispatcher }, and as the global dispatcher`, async () => {
    const { getGlobalDispatcher, setGlobalDispatcher } = await import("undici");
    const dispatcher = new PoolDispatcher(new HTTPProxy({ proxyUrl: proxy.url, tls: tls() }));
    const before = proxy.log.length;
    const previous = getGlobalDispatcher();
    try {
      const a = await globalThis.fetch(`${https.url}/json`, { dispatcher } as never);
      expect(a.status).toBe(200);
      await a.arrayBuffer();
      setGlobalDispatcher(dispatcher);
      const b = await globalThis.fetch(`${http.url}/whoami`);
      expect(await b.text()).toBe("http-origin");
      expect(proxy.log.slice(before).map((e) => e.method)).toEqual(["CONNECT", "GET"]);
    } finally {
      setGlobalDispatcher(previous);
      await dispatcher.close();
    }
  });
});

describe("failures", () => {
  it("a refused connection: fetch's TypeError has the pool's ConnectError as cause", async () => {
    const { createServer } = await import("node:net");
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) => server.close(() => r()));
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const error = await fetch(`http://127.0.0.1:${port}/`, { dispatcher }).catch((e) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe("fetch failed");
      expect(error.cause).toBeInstanceOf(ConnectError);
      expect(error.cause).toBeInstanceOf(TransportError);
      const viaRequest = await request(`http://127.0.0.1:${port}/`, { dispatcher }).catch((e) => e);
      expect(viaRequest).toBeInstanceOf(ConnectError);
    } finally {
      await dispatcher.close();
    }
  });

  it("an abort closes only that request's connection", async () => {
    const pool = new ConnectionPool();
    const dispatcher = new PoolDispatcher(pool);
    try {
      const controller = new AbortController();
      const slow = fetch(`${http.url}/slow/2000`, { dispatcher, signal: controller.signal });
      const other = await fetch(`${http.url}/stream/4000`, { dispatcher });
      const reader = other.body!.getReader();
      await reader.read(); // the other request is in the middle of its body
      controller.abort();
      await expect(slow).rejects.toMatchObject({ name: "AbortError" });
      let rest = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        rest += value.length;
      }
      expect(rest).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 20));
      expect(pool.connections.map(String)).toEqual([
        `<HTTPConnection ['${http.url}', HTTP/1.1, IDLE, Request Count: 1]>`,
      ]);
    } finally {
      await dispatcher.close();
    }
  });

  it("an abort mid-body, through request()'s signal", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const controller = new AbortController();
      const r = await request(`${http.url}/stream/1000`, { dispatcher, signal: controller.signal });
      const chunks = r.body[Symbol.asyncIterator]();
      await chunks.next();
      controller.abort();
      const error = await chunks.next().then(
        () => null,
        (e: unknown) => e,
      );
      // undici's body rejects with the signal's reason: a DOMException named AbortError.
      expect(error).toMatchObject({ name: "AbortError" });
      expect(dispatcher.pool).toBeInstanceOf(ConnectionPool);
    } finally {
      await dispatcher.close();
    }
  });

  it("close() and destroy() close the pool; later requests fail", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    await (await fetch(`${http.url}/`, { dispatcher })).text();
    expect(inspect(dispatcher)).toBe(
      "<PoolDispatcher [<ConnectionPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>]>",
    );
    await dispatcher.close();
    const error = await fetch(`${http.url}/`, { dispatcher }).catch((e) => e);
    expect(error.cause).toMatchObject({ code: "UND_ERR_CLOSED" });
    const destroyed = new PoolDispatcher(new ConnectionPool());
    const pending = request(`${http.url}/slow/2000`, { dispatcher: destroyed });
    await new Promise((r) => setTimeout(r, 50));
    await destroyed.destroy();
    await expect(pending).rejects.toMatchObject({ code: "UND_ERR_DESTROYED" });
  });

  it("rejects what is not a pool", () => {
    expect(() => new PoolDispatcher({} as never)).toThrow(/wraps a pool/);
  });
});
