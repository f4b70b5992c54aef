// The agent against loopback origins and the embedded proxies; against squid, interop.test.ts.
import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { get as httpsGet } from "node:https";
import { inspect } from "node:util";
import { ProxyError } from "@x/proxy";
import {
  type DigestChallengerOptions,
  digestChallenger,
  type EmbeddedProxy,
  type EmbeddedSocks,
  type Origin,
  startOrigin,
  startProxy,
  startSocksServer,
} from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { ProxyAgent } from "../src/index.js";
import {
  body,
  ca,
  clients,
  eachWay,
  NAMES,
  sameLengthCAs,
  tlsKeepsApart,
  USERS,
  viaHttp,
  viaHttps,
} from "./helpers.js";

let http: Origin;
let https: Origin;
let proxy: EmbeddedProxy;
let guarded: EmbeddedProxy;
let socks: EmbeddedSocks;

beforeAll(async () => {
  http = await startOrigin();
  https = await startOrigin({ tls: true, names: NAMES });
  const hosts = { "example.com:80": http.port };
  proxy = await startProxy({ hosts });
  guarded = await startProxy({ hosts, auth: { username: "alice", password: "s3cret" } });
  socks = await startSocksServer();
}, 30000);
afterAll(async () => {
  for (const s of [http, https, proxy, guarded, socks]) await s?.close();
});

const proxies = (): Array<[string, string]> => [
  ["direct", ""],
  ["the embedded HTTP proxy", proxy.url],
  ["a SOCKS5 proxy", `socks5h://127.0.0.1:${socks.port}`],
];

describe("https.get and http.get", () => {
  it("each way: https: tunnelled with TLS to the origin, http: forwarded or tunnelled", async () => {
    for (const [way, proxyUrl] of proxies()) {
      const agent = new ProxyAgent(proxyUrl === "" ? {} : { proxyUrl });
      try {
        await eachWay(way, agent, http, https);
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
    const cas = sameLengthCAs();
    for (const [way, proxyUrl] of proxies()) {
      const agent = new ProxyAgent(proxyUrl === "" ? {} : { proxyUrl });
      try {
        await tlsKeepsApart(way, agent, https, cas);
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

const authOf = (entry: { headers: ReadonlyArray<readonly [string, string]> } | undefined) =>
  entry?.headers.find(([k]) => k.toLowerCase() === "proxy-authorization")?.[1];

async function challenging(options: Omit<DigestChallengerOptions, "users">) {
  const challenger = digestChallenger({ users: USERS, ...options });
  const digestProxy = await startProxy({
    hosts: { "example.com:80": http.port },
    challenger,
  });
  const agent = new ProxyAgent({
    proxyUrl: digestProxy.url,
    proxyAuth: ["alice", "s3cret pass"],
    proxyAuthScheme: "digest",
  });
  return {
    challenger,
    digestProxy,
    agent,
    async [Symbol.asyncDispose]() {
      agent.destroy();
      await digestProxy.close();
    },
  };
}

function send(
  agent: ProxyAgent,
  url: string,
  method: string,
  content?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, method });
    req.on("error", reject);
    req.on("response", (res) => {
      body(res).then((text) => resolve({ status: res.statusCode ?? 0, body: text }), reject);
    });
    req.end(content);
  });
}

describe("Digest", () => {
  it("forwarded http: the first 407 answered on the same connection, then at once; CONNECT too", async () => {
    await using w = await challenging({ offer: ["SHA-256"] });
    expect(await viaHttp("http://example.com/whoami", w.agent)).toBe("http-origin");
    expect(w.digestProxy.log.map((e) => [e.method, e.target])).toEqual([
      ["GET", "http://example.com/whoami"],
      ["GET", "http://example.com/whoami"],
    ]);
    expect(authOf(w.digestProxy.log[0])).toBeUndefined();
    expect(authOf(w.digestProxy.log[1])).toMatch(/^Digest username="alice", .*algorithm=SHA-256/);
    expect(w.digestProxy.connections).toBe(1);
    // At once, on the kept-alive connection; and a tunnel with the same challenge.
    expect(await viaHttp("http://example.com/whoami", w.agent)).toBe("http-origin");
    expect(await viaHttps(`${https.url}/whoami`, w.agent)).toBe("https-origin");
    expect(w.digestProxy.log.slice(2).map((e) => e.method)).toEqual(["GET", "CONNECT"]);
    expect(w.challenger.accepted.map((a) => [a.scheme, a.nc])).toEqual([
      ["Digest", 1],
      ["Digest", 2],
      ["Digest", 3],
    ]);
    expect(w.digestProxy.connections).toBe(2);
  });

  it("a request written in full is sent again; one over 64 KiB gets the 407 back", async () => {
    await using w = await challenging({ offer: ["MD5"] });
    const echo = await send(w.agent, "http://example.com/echo", "POST", "hello body");
    expect(echo.status).toBe(200);
    expect(JSON.parse(echo.body)).toMatchObject({ method: "POST", body: "hello body" });
    // A new agent (no challenge known yet) and a body too large to keep for sending again.
    const fresh = new ProxyAgent({
      proxyUrl: w.digestProxy.url,
      proxyAuth: ["alice", "s3cret pass"],
      proxyAuthScheme: "digest",
    });
    try {
      const large = await send(fresh, "http://example.com/echo", "POST", "x".repeat(65 * 1024));
      expect(large.status).toBe(407);
      // The challenge is known now: the same request goes through at once.
      const again = await send(fresh, "http://example.com/echo", "POST", "x".repeat(65 * 1024));
      expect(again.status).toBe(200);
    } finally {
      fresh.destroy();
    }
  });

  it("a stale nonce, and a proxy that closes after its 407: answered again", async () => {
    {
      await using w = await challenging({ offer: ["SHA-256"], staleAfter: 1 });
      for (let i = 0; i < 3; i++) {
        expect(await viaHttp("http://example.com/whoami", w.agent)).toBe("http-origin");
      }
      expect(w.challenger.staleSent).toBeGreaterThan(0);
    }
    {
      await using w = await challenging({ offer: ["MD5"], closeAfter407: true });
      expect(await viaHttp("http://example.com/whoami", w.agent)).toBe("http-origin");
      expect(w.digestProxy.connections).toBe(2);
    }
  });

  it("each proxy has its own authenticator: the credentials of its own URL", async () => {
    const proxies: EmbeddedProxy[] = [];
    try {
      const routes: Record<string, string> = {};
      for (const [user, password, host] of [
        ["alice", "pw-a", "a.example"],
        ["bob", "pw-b", "b.example"],
      ] as const) {
        const one = await startProxy({
          hosts: { [`${host}:80`]: http.port },
          challenger: digestChallenger({ users: { [user]: password }, offer: ["MD5"] }),
        });
        proxies.push(one);
        routes[`all://${host}`] = `http://${user}:${password}@127.0.0.1:${one.port}`;
      }
      const routed = new ProxyAgent({ routes, proxyAuthScheme: "digest" });
      try {
        for (const host of ["a.example", "b.example", "a.example"]) {
          const sent = await send(routed, `http://${host}/whoami`, "GET");
          expect([sent.status, sent.body], host).toEqual([200, "http-origin"]);
        }
        expect(proxies.map((p) => p.log.length)).toEqual([3, 2]);
      } finally {
        routed.destroy();
      }
    } finally {
      for (const p of proxies) await p.close();
    }
  });

  it('"any" answers a Basic-only challenge with Basic, forwarded and tunnelled', async () => {
    await using w = await challenging({ offer: ["Basic"] });
    const agent = new ProxyAgent({
      proxyUrl: w.digestProxy.url,
      proxyAuth: ["alice", "s3cret pass"],
      proxyAuthScheme: "any",
    });
    try {
      expect(await viaHttp("http://example.com/whoami", agent)).toBe("http-origin");
      expect(await viaHttps(`${https.url}/whoami`, agent)).toBe("https-origin");
      expect(w.challenger.accepted.map((a) => a.scheme)).toEqual(["Basic", "Basic"]);
    } finally {
      agent.destroy();
    }
  });
});

describe("HTTPS and SOCKS4 proxies", () => {
  it("an https: proxy: CONNECT and forwarding over TLS to the proxy, Digest too", async () => {
    const challenger = digestChallenger({ users: USERS, offer: ["SHA-256"] });
    for (const options of [{}, { challenger }]) {
      const tlsProxy = await startProxy({
        tls: true,
        hosts: { "example.com:80": http.port },
        ...options,
      });
      const agent = new ProxyAgent({
        proxyUrl: tlsProxy.url,
        proxyTls: { ca: ca() },
        ...("challenger" in options
          ? { proxyAuth: ["alice", "s3cret pass"] as const, proxyAuthScheme: "digest" as const }
          : {}),
      });
      try {
        expect(tlsProxy.url).toMatch(/^https:/);
        expect(await viaHttps(`${https.url}/whoami`, agent)).toBe("https-origin");
        expect(await viaHttp("http://example.com/whoami", agent)).toBe("http-origin");
        // With Digest, the tunnel met the challenge; the forwarded request answered it at once.
        expect(tlsProxy.log.map((e) => e.method)).toEqual(
          "challenger" in options ? ["CONNECT", "CONNECT", "GET"] : ["CONNECT", "GET"],
        );
      } finally {
        agent.destroy();
        await tlsProxy.close();
      }
    }
  });

  it("socks4 (the address resolved here) and socks4a (the name sent)", async () => {
    for (const [scheme, addressType] of [
      ["socks4", "ipv4"],
      ["socks4a", "domain"],
    ] as const) {
      const agent = new ProxyAgent({ proxyUrl: `${scheme}://127.0.0.1:${socks.port}` });
      const before = socks.log.length;
      try {
        expect(await viaHttps(`https://localhost:${https.port}/whoami`, agent)).toBe(
          "https-origin",
        );
        expect(await viaHttp(`http://localhost:${http.port}/whoami`, agent)).toBe("http-origin");
        expect(socks.log.slice(before).map((e) => [e.version, e.addressType])).toEqual([
          [4, addressType],
          [4, addressType],
        ]);
      } finally {
        agent.destroy();
      }
    }
  });
});

describe("clients on node:http", () => {
  it("axios, got and node-fetch through the embedded proxy and SOCKS", async () => {
    for (const [, proxyUrl] of proxies().slice(1)) {
      const agent = new ProxyAgent({ proxyUrl, tls: { ca: ca() } });
      try {
        await clients(agent, http, https);
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
