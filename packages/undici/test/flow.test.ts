// Back-pressure, upgrades and real proxies through the Dispatcher.
import { ConnectionPool } from "@x/pool";
import { HTTPProxy } from "@x/proxy";
import {
  type Origin,
  type RealProxy,
  startOrigin,
  startSquid,
  testCA,
  unavailable,
} from "@x/testkit";
import { type Dispatcher, fetch, request, WebSocket } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { PoolDispatcher } from "../src/index.js";

let http: Origin;
let https: Origin;
const tls = () => ({ ca: testCA().cert });
const MiB = 1024 * 1024;

beforeAll(async () => {
  http = await startOrigin();
  https = await startOrigin({ tls: true, names: ["localhost", "127.0.0.1", "example.com"] });
});
afterAll(async () => {
  await http?.close();
  await https?.close();
});

function dispatchOnce(
  dispatcher: PoolDispatcher,
  url: string,
  handler: Partial<Dispatcher.DispatchHandler>,
): void {
  const { origin, pathname } = new URL(url);
  dispatcher.dispatch(
    { origin, path: pathname, method: "GET" },
    handler as Dispatcher.DispatchHandler,
  );
}

// Waits (polling) until `ready()` holds: a loaded machine may take well over 100 ms to
// deliver the first chunk, so the tests wait for it rather than for a fixed time.
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 10));
}

describe("back-pressure", () => {
  it("undici 7's handler API: a paused handler stops the reads until resume()", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      let received = 0;
      let flowing = false;
      let controller!: Dispatcher.DispatchController;
      const ended = new Promise<void>((resolve, reject) =>
        dispatchOnce(dispatcher, `${http.url}/bytes/${64 * MiB}`, {
          onRequestStart(c) {
            controller = c;
          },
          onResponseData(c, chunk) {
            received += chunk.length;
            if (!flowing) c.pause();
          },
          onResponseEnd: () => resolve(),
          onResponseError: (_c, e) => reject(e),
        }),
      );
      await until(() => received > 0);
      await new Promise((r) => setTimeout(r, 100));
      const whilePaused = received;
      expect(controller.paused).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      expect(received).toBe(whilePaused); // nothing more delivered while paused
      expect(whilePaused).toBeLessThan(MiB);
      // One resume, then no more pauses: the rest flows (a resume per chunk from a timer
      // was at the mercy of a loaded machine's timers).
      flowing = true;
      controller.resume();
      await ended;
      expect(received).toBe(64 * MiB);
    } finally {
      // destroy(): after a failed assertion the request is still paused, and close() would
      // wait for it.
      await dispatcher.destroy();
    }
  }, 60_000); // tens of MiB through a loaded machine can take longer than the default 5 s

  it("the older handler API: onData returning false pauses, the resume callback resumes", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      let received = 0;
      let resume!: () => void;
      const ended = new Promise<void>((resolve, reject) =>
        dispatchOnce(dispatcher, `${http.url}/bytes/${16 * MiB}`, {
          onConnect() {},
          onHeaders(_s, _h, r) {
            resume = r;
            return true;
          },
          onData(chunk) {
            received += chunk.length;
            return false;
          },
          onComplete: () => resolve(),
          onError: (e) => reject(e),
        }),
      );
      await until(() => received > 0);
      const whilePaused = received;
      await new Promise((r) => setTimeout(r, 100));
      expect(received).toBe(whilePaused);
      const timer = setInterval(() => resume(), 1);
      await ended;
      clearInterval(timer);
      expect(received).toBe(16 * MiB);
    } finally {
      await dispatcher.destroy();
    }
  }, 60_000); // tens of MiB through a loaded machine can take longer than the default 5 s

  it("a 256 MiB download read slowly grows RSS by less than 64 MiB", async () => {
    // An origin that writes as fast as the socket takes it (honouring back-pressure, so that
    // what grows is the client's memory, not the server's).
    const block = Buffer.alloc(64 * 1024, 0x61);
    const origin = await startOrigin({
      handler: async (_req, res) => {
        res.setHeader("Content-Length", 256 * MiB);
        for (let sent = 0; sent < 256 * MiB; sent += block.length) {
          if (!res.write(block)) await new Promise((r) => res.once("drain", r));
        }
        res.end();
      },
    });
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const before = process.memoryUsage().rss;
      let peak = before;
      const r = await request(`${origin.url}/`, { dispatcher });
      let length = 0;
      let n = 0;
      for await (const chunk of r.body) {
        length += (chunk as Buffer).length;
        if (++n % 16 === 0) {
          peak = Math.max(peak, process.memoryUsage().rss);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
      expect(length).toBe(256 * MiB);
      expect(peak - before).toBeLessThan(64 * MiB);
    } finally {
      await dispatcher.close();
      await origin.close();
    }
  }, 60000);
});

describe("upgrades", () => {
  it("undici's WebSocket over the pool's network stream", async () => {
    const origin = await startOrigin();
    const wss = new WebSocketServer({ server: origin.server });
    wss.on("connection", (ws) => ws.on("message", (m) => ws.send(`echo: ${m}`)));
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const ws = new WebSocket(origin.url.replace("http", "ws"), { dispatcher } as never);
      const reply = await new Promise<string>((resolve, reject) => {
        ws.onopen = () => ws.send("hello");
        ws.onmessage = (e) => resolve(String(e.data));
        ws.onerror = (e) => reject(e);
      });
      expect(reply).toBe("echo: hello");
      const closed = new Promise((r) => {
        ws.onclose = r;
      });
      ws.close();
      await closed;
    } finally {
      await dispatcher.close();
      wss.close();
      await origin.close();
    }
  });
});

if (unavailable("squid") !== null) console.warn(`undici: skipping squid: ${unavailable("squid")}`);

describe.skipIf(unavailable("squid") !== null && process.env.CI !== "true")("through squid", () => {
  let squid: RealProxy;
  beforeAll(async () => {
    squid = await startSquid({ names: ["example.com"] });
  }, 30000);
  afterAll(async () => {
    await squid?.close();
  });

  it("fetch() forwarded (http:) and tunnelled (https:)", async () => {
    const dispatcher = new PoolDispatcher(new HTTPProxy({ proxyUrl: squid.url, tls: tls() }));
    try {
      const a = await fetch(`http://example.com:${http.port}/whoami`, { dispatcher });
      expect(await a.text()).toBe("http-origin");
      const b = await fetch(`https://example.com:${https.port}/whoami`, { dispatcher });
      expect(await b.text()).toBe("https-origin");
      const c = await globalThis.fetch(`https://example.com:${https.port}/json`, {
        dispatcher,
      } as never);
      expect(c.status).toBe(200);
      await c.arrayBuffer();
    } finally {
      await dispatcher.close();
    }
  });
});

describe("Node 24's global fetch (a child process)", () => {
  it("fetch() of Node 24 with { dispatcher }", async () => {
    const { execFile } = await import("node:child_process");
    const fixture = new URL("./fixtures/global-fetch.mjs", import.meta.url).pathname;
    const result = await new Promise<{ out: string; error: Error | null }>((resolve) =>
      execFile(
        "npx",
        ["-y", "-p", "node@24", "node", fixture, `${http.url}/whoami`],
        { timeout: 120_000 },
        (error, stdout) => resolve({ out: stdout, error }),
      ),
    );
    if (result.error !== null && process.env.CI !== "true") {
      console.warn(`undici: skipping the Node 24 check: ${result.error.message}`);
      return;
    }
    const line = JSON.parse(result.out.trim().split("\n").at(-1)!);
    expect(line.node).toMatch(/^v24\./);
    expect(line).toMatchObject({ status: 200, body: "http-origin" });
  }, 130_000);
});
