// Interop with real proxies from Debian's packages. `.ci/run` installs them; locally a
// missing one is reported and its suite skipped.
import { inspect } from "node:util";
import {
  expectSocketsClosed,
  type Origin,
  openSocketHandles,
  type RealProxy,
  startOrigin,
  startSquid,
  startTinyproxy,
  testCA,
  unavailable,
} from "@x/testkit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HTTPProxy, ProxyError } from "../src/index.js";

const NAMES = ["example.com", "httpbin.org", "localhost"];
let http: Origin;
let https: Origin;
let baseline: number;
const tls = () => ({ ca: testCA().cert });

beforeAll(async () => {
  const handler = (
    req: import("node:http").IncomingMessage,
    res: import("node:http").ServerResponse,
  ) => {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ host: req.headers.host, headers: req.rawHeaders }));
  };
  http = await startOrigin({ handler });
  https = await startOrigin({ tls: true, names: NAMES, handler });
});
afterAll(async () => {
  await http?.close();
  await https?.close();
});
beforeEach(() => {
  baseline = openSocketHandles();
});
afterEach(async () => {
  await expectSocketsClosed(baseline, 5000);
});

type Echo = { host: string; headers: string[] };

for (const [name, why] of [
  ["squid", unavailable("squid")],
  ["tinyproxy", unavailable("tinyproxy")],
] as const) {
  if (why !== null) console.warn(`interop: skipping the ${name} suite: ${why}`);
}

describe.skipIf(unavailable("squid") !== null)("squid", () => {
  let squid: RealProxy;
  let guarded: RealProxy;
  beforeAll(async () => {
    squid = await startSquid({ names: [...NAMES, "www.example.com"] });
    guarded = await startSquid({
      names: NAMES,
      auth: { username: "alice", password: "s3cret pass" },
    });
  }, 30000);
  afterAll(async () => {
    await squid?.close();
    await guarded?.close();
  });

  it("forwards two origins over one kept-alive connection", async () => {
    await using p = new HTTPProxy({ proxyUrl: squid.url });
    const a = (await (await p.request("GET", `http://example.com:${http.port}/`)).json()) as Echo;
    const b = (await (
      await p.request("GET", `http://httpbin.org:${http.port}/json`)
    ).json()) as Echo;
    expect([a.host, b.host]).toEqual([`example.com:${http.port}`, `httpbin.org:${http.port}`]);
    expect(p.connections.map((c) => inspect(c))).toEqual([
      `<ForwardHTTPConnection ['${squid.url}', HTTP/1.1, IDLE, Request Count: 2]>`,
    ]);
  });

  it("tunnels to two origins, one tunnel each", async () => {
    await using p = new HTTPProxy({ proxyUrl: squid.url, tls: tls() });
    expect((await p.request("GET", `https://example.com:${https.port}/`)).status).toBe(200);
    expect((await p.request("GET", `https://httpbin.org:${https.port}/json`)).status).toBe(200);
    expect(p.connections.map(String)).toEqual([
      `<TunnelHTTPConnection ['https://httpbin.org:${https.port}', HTTP/1.1, IDLE, Request Count: 1]>`,
      `<TunnelHTTPConnection ['https://example.com:${https.port}', HTTP/1.1, IDLE, Request Count: 1]>`,
    ]);
  });

  it("Basic auth: the right password passes in both modes and never reaches the origin", async () => {
    await using p = new HTTPProxy({
      proxyUrl: guarded.url,
      proxyAuth: ["alice", "s3cret pass"],
      tls: tls(),
    });
    const forwarded = (await (
      await p.request("GET", `http://example.com:${http.port}/`)
    ).json()) as Echo;
    const tunnelled = (await (
      await p.request("GET", `https://example.com:${https.port}/`)
    ).json()) as Echo;
    for (const echo of [forwarded, tunnelled]) {
      expect(echo.headers.map((h) => h.toLowerCase())).not.toContain("proxy-authorization");
    }
  });

  it("Basic auth from the URL's userinfo", async () => {
    await using p = new HTTPProxy({
      proxyUrl: `http://alice:s3cret%20pass@127.0.0.1:${guarded.port}/`,
      tls: tls(),
    });
    expect((await p.request("GET", `https://example.com:${https.port}/`)).status).toBe(200);
  });

  it("the demo (the guide's examples) runs through squid with PROXY_URL", async () => {
    const { execFile } = await import("node:child_process");
    const demo = new URL("../../../tooling/demo/src/main.mjs", import.meta.url).pathname;
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [demo],
        { env: { ...process.env, PROXY_URL: squid.url } },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
      ),
    );
    expect(output).toContain("<Response [200]>");
    expect(output).toMatch(
      /<ForwardHTTPConnection \['http:\/\/127\.0\.0\.1:\d+', HTTP\/1\.1, IDLE, Request Count: 2\]>/,
    );
    expect(output).toContain("All three examples behaved as the guide says.");
  }, 30000);

  it("a wrong password: 407 as a ProxyError on CONNECT, and as the response when forwarding", async () => {
    await using p = new HTTPProxy({
      proxyUrl: guarded.url,
      proxyAuth: ["alice", "wrong"],
      tls: tls(),
    });
    const error = (await p
      .request("GET", `https://example.com:${https.port}/`)
      .catch((e) => e)) as ProxyError;
    expect(error).toBeInstanceOf(ProxyError);
    expect(error.code).toBe("ERR_PROXY");
    expect(error.status).toBe(407);
    expect(error.message).toMatch(/^407 /);
    expect(error.headers.some(([k]) => k.toLowerCase() === "proxy-authenticate")).toBe(true);
    expect(error.body.length).toBeGreaterThan(0);
    expect(error.body.length).toBeLessThanOrEqual(64 * 1024);
    expect(p.connections).toHaveLength(0);
    expect((await p.request("GET", `http://example.com:${http.port}/`)).status).toBe(407);
  });
});

describe.skipIf(unavailable("tinyproxy") !== null)("tinyproxy", () => {
  let tiny: RealProxy;
  beforeAll(async () => {
    tiny = await startTinyproxy();
  }, 30000);
  afterAll(async () => {
    await tiny?.close();
  });

  it("forwards requests", async () => {
    await using p = new HTTPProxy({ proxyUrl: tiny.url });
    for (const path of ["/", "/json", "/again"]) {
      const echo = (await (
        await p.request("GET", `http://127.0.0.1:${http.port}${path}`)
      ).json()) as Echo;
      expect(echo.host).toBe(`127.0.0.1:${http.port}`);
    }
  });

  it("tunnels TLS to the origin", async () => {
    await using p = new HTTPProxy({ proxyUrl: tiny.url, tls: tls() });
    expect((await p.request("GET", `https://localhost:${https.port}/`)).status).toBe(200);
    expect((await p.request("GET", `https://localhost:${https.port}/two`)).status).toBe(200);
    expect(p.connections.map(String)).toEqual([
      `<TunnelHTTPConnection ['https://localhost:${https.port}', HTTP/1.1, IDLE, Request Count: 2]>`,
    ]);
  });

  it("a CONNECT it cannot complete is a ProxyError and leaves nothing behind", async () => {
    await using p = new HTTPProxy({ proxyUrl: tiny.url, tls: tls() });
    const error = (await p
      .request("GET", "https://no-such-host.invalid/")
      .catch((e) => e)) as ProxyError;
    expect(error).toBeInstanceOf(ProxyError);
    expect(error.code).toBe("ERR_PROXY");
    expect(error.status).toBeGreaterThanOrEqual(400);
    expect(p.connections).toHaveLength(0);
  });
});
