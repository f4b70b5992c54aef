import { once } from "node:events";
import { get as httpGet } from "node:http";
import { get as httpsGet, type RequestOptions } from "node:https";
import { inspect } from "node:util";
import { ProxyError } from "@x/proxy";
import {
  createCA,
  type EmbeddedProxy,
  type EmbeddedSocks,
  expectSocketsClosed,
  type Origin,
  openSocketHandles,
  type RealProxy,
  startOrigin,
  startProxy,
  startSocksServer,
  startSquid,
  testCA,
  unavailable,
} from "@x/testkit";
import axios from "axios";
import got from "got";
import nodeFetch from "node-fetch";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { ProxyAgent } from "../src/index.js";

const NAMES = ["localhost", "127.0.0.1", "example.com"];
let http: Origin;
let https: Origin;
let proxy: EmbeddedProxy;
let guarded: EmbeddedProxy;
let socks: EmbeddedSocks;
let squid: RealProxy | undefined;
let baseline: number;
const ca = () => testCA().cert;

beforeAll(async () => {
  http = await startOrigin();
  https = await startOrigin({ tls: true, names: NAMES });
  const hosts = { "example.com:80": http.port };
  proxy = await startProxy({ hosts });
  guarded = await startProxy({ hosts, auth: { username: "alice", password: "s3cret" } });
  socks = await startSocksServer();
  if (unavailable("squid") === null) squid = await startSquid({ names: ["example.com"] });
  else if (process.env.CI === "true") throw new Error(unavailable("squid")!);
  else console.warn(`agent: skipping squid: ${unavailable("squid")}`);
}, 30000);
afterAll(async () => {
  for (const s of [http, https, proxy, guarded, socks, squid]) await s?.close();
});
beforeEach(() => {
  baseline = openSocketHandles();
});
afterEach(async () => {
  await expectSocketsClosed(baseline, 5000);
});

function body(res: import("node:http").IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString()));
    res.on("error", reject);
  });
}

async function viaHttps(
  url: string,
  agent: ProxyAgent,
  extra: RequestOptions = {},
): Promise<string> {
  const req = httpsGet(url, { agent, ca: ca(), ...extra });
  const [res] = (await once(req, "response")) as [import("node:http").IncomingMessage];
  return body(res);
}

async function viaHttp(url: string, agent: ProxyAgent): Promise<string> {
  const req = httpGet(url, { agent });
  const [res] = (await once(req, "response")) as [import("node:http").IncomingMessage];
  return body(res);
}

const proxies = (): Array<[string, string]> => [
  ["direct", ""],
  ["the embedded HTTP proxy", proxy.url],
  ["a SOCKS5 proxy", `socks5h://127.0.0.1:${socks.port}`],
  ...(squid === undefined ? [] : ([["squid", squid.url]] as Array<[string, string]>)),
];

describe("https.get and http.get", () => {
  it("each way: https: tunnelled with TLS to the origin, http: forwarded or tunnelled", async () => {
    for (const [way, proxyUrl] of proxies()) {
      const agent = new ProxyAgent(proxyUrl === "" ? {} : { proxyUrl });
      try {
        expect(await viaHttps(`${https.url}/whoami`, agent), way).toBe("https-origin");
        expect(await viaHttps(`${https.url}/whoami`, agent), way).toBe("https-origin");
        expect(await viaHttp(`${http.url}/whoami`, agent), way).toBe("http-origin");
        // Keep-alive: the second https request reused the first socket.
        expect(Object.values(agent.freeSockets).flat().length, way).toBe(2);
      } finally {
        agent.destroy();
      }
    }
  });

  it("forwarding sends the absolute form and Basic credentials to the proxy only", async () => {
    const agent = new ProxyAgent({ proxyUrl: `http://alice:s3cret@127.0.0.1:${guarded.port}` });
    try {
      const echo = JSON.parse(await viaHttp(`http://example.com/echo`, agent)) as {
        headers: string[];
      };
      expect(echo.headers.map((h) => h.toLowerCase())).not.toContain("proxy-authorization");
      expect(guarded.log.at(-1)?.target).toBe("http://example.com/echo");
      expect(await viaHttps(`${https.url}/whoami`, agent)).toBe("https-origin");
      expect(guarded.log.at(-1)?.method).toBe("CONNECT");
      expect(inspect(agent)).not.toContain("s3cret");
      expect(String(agent)).not.toContain("s3cret");
      expect(agent.proxyFor("https://example.com/")).toBe(`http://***@127.0.0.1:${guarded.port}`);
    } finally {
      agent.destroy();
    }
  });

  it("a refused CONNECT is a ProxyError on the request's 'error' event", async () => {
    const agent = new ProxyAgent({ proxyUrl: guarded.url });
    try {
      const req = httpsGet(`${https.url}/`, { agent, ca: ca() });
      const [error] = await once(req, "error");
      expect(error).toBeInstanceOf(ProxyError);
      expect(error.status).toBe(407);
    } finally {
      agent.destroy();
    }
  });

  it("kept-alive sockets are told apart by their TLS settings' content, not its length", async () => {
    // Two CAs padded (trailing spaces, which PEM ignores) to the same inspect() length: a
    // socket verified against the first must not serve a request that trusts only the second.
    let trusted = ca();
    let other = createCA("x-http other CA").cert;
    while (inspect(other).length !== inspect(trusted).length) {
      if (inspect(other).length < inspect(trusted).length) other += " ";
      else trusted += " ";
    }
    expect(other).not.toBe(trusted);
    for (const [way, proxyUrl] of proxies()) {
      const agent = new ProxyAgent(proxyUrl === "" ? {} : { proxyUrl });
      try {
        expect(await viaHttps(`${https.url}/whoami`, agent, { ca: trusted }), way).toBe(
          "https-origin",
        );
        const names = Object.keys(agent.freeSockets);
        // Direct, the TLS error itself; tunnelled, a ConnectError with it as cause.
        const outcome = await new Promise<string>((resolve) => {
          const req = httpsGet(`${https.url}/whoami`, { agent, ca: other });
          req.on("response", (res) => {
            res.resume();
            resolve("a response");
          });
          req.on("error", (e: NodeJS.ErrnoException) =>
            resolve(`${e.code} ${(e.cause as NodeJS.ErrnoException | undefined)?.code}`),
          );
        });
        expect(outcome, way).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|ISSUER/);
        // The same again with the first CA reuses the first socket; a copy of it (another
        // string, the same content) too.
        expect(await viaHttps(`${https.url}/whoami`, agent, { ca: `${trusted}` }), way).toBe(
          "https-origin",
        );
        expect(Object.keys(agent.freeSockets), way).toEqual(names);
        expect(Object.values(agent.freeSockets).flat().length, way).toBe(1);
      } finally {
        agent.destroy();
      }
    }
  });

  it("destroy() closes every socket, kept-alive ones too", async () => {
    const agent = new ProxyAgent({ proxyUrl: proxy.url });
    await viaHttps(`${https.url}/whoami`, agent);
    await viaHttp(`${http.url}/whoami`, agent);
    expect(Object.values(agent.freeSockets).flat().length).toBe(2);
    agent.destroy(); // the leak check after each test sees them closed
  });
});

describe("clients on node:http", () => {
  it("axios, got and node-fetch through the embedded proxy and SOCKS", async () => {
    for (const proxyUrl of [proxy.url, `socks5h://127.0.0.1:${socks.port}`]) {
      const agent = new ProxyAgent({ proxyUrl, tls: { ca: ca() } });
      try {
        const a = await axios.get(`${https.url}/whoami`, {
          httpAgent: agent,
          httpsAgent: agent,
          proxy: false,
        });
        expect(a.data).toBe("https-origin");
        const b = await axios.get(`${http.url}/whoami`, { httpAgent: agent, proxy: false });
        expect(b.data).toBe("http-origin");
        const c = await got(`${https.url}/whoami`, {
          agent: { http: agent, https: agent } as never,
          https: { certificateAuthority: ca() },
        }).text();
        expect(c).toBe("https-origin");
        const d = await nodeFetch(`${https.url}/whoami`, { agent: agent as never });
        expect(await d.text()).toBe("https-origin");
      } finally {
        agent.destroy();
      }
    }
  });

  it("ws over wss: through a tunnel", async () => {
    const origin = await startOrigin({ tls: true, names: NAMES });
    const wss = new WebSocketServer({ server: origin.server });
    wss.on("connection", (s) => s.on("message", (m) => s.send(`echo: ${m}`)));
    const agent = new ProxyAgent({ proxyUrl: proxy.url });
    try {
      const ws = new WebSocket(origin.url.replace("https", "wss"), { agent, ca: ca() });
      await once(ws, "open");
      ws.send("hi");
      const [reply] = await once(ws, "message");
      expect(String(reply)).toBe("echo: hi");
      ws.close();
      await once(ws, "close");
    } finally {
      agent.destroy();
      wss.close();
      await origin.close();
    }
  });
});

describe("ProxyAgent.fromEnv", () => {
  it("routes as the environment says", async () => {
    const agent = ProxyAgent.fromEnv({ https_proxy: proxy.url, no_proxy: "localhost" });
    try {
      expect(agent.proxyFor("https://example.com/")).toBe(proxy.url);
      expect(agent.proxyFor("https://localhost/")).toBeNull();
      expect(agent.proxyFor("http://example.com/")).toBeNull();
      const before = proxy.log.length;
      expect(await viaHttps(`https://127.0.0.1:${https.port}/whoami`, agent)).toBe("https-origin");
      expect(proxy.log.length).toBe(before + 1);
    } finally {
      agent.destroy();
    }
  });
});
