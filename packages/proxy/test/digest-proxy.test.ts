// proxyAuthScheme "digest" and "any" against the embedded proxy with a digestChallenger:
// what squid does not do (SHA-256, userhash, stale=true, MD5-sess, a proxy that closes after
// its 407), and the rules: one answered challenge per request, no retry of a body that
// cannot be sent again, credentials never printed.
import { inspect } from "node:util";
import {
  type DigestChallengerOptions,
  digestChallenger,
  type EmbeddedProxy,
  type ProxyChallenger,
  testCA,
} from "@x/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HTTPProxy, type HTTPProxyOptions, ProxyError } from "../src/index.js";
import { proxyFor, startWorld, type World } from "./setup.js";

let world: World;
const tls = () => ({ ca: testCA().cert });
const USERS = { alice: "s3cret pass", jürgen: "pässwörd🔑" };
const running: EmbeddedProxy[] = [];

beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});
afterEach(async () => {
  for (const p of running.splice(0)) await p.close();
});

async function challenging(
  options: Omit<DigestChallengerOptions, "users">,
): Promise<{ proxy: EmbeddedProxy; challenger: ProxyChallenger }> {
  const challenger = digestChallenger({ users: USERS, ...options });
  const proxy = await proxyFor(world, { challenger });
  running.push(proxy);
  return { proxy, challenger };
}

const authHeader = (entry: { headers: ReadonlyArray<readonly [string, string]> } | undefined) =>
  entry?.headers.find(([k]) => k.toLowerCase() === "proxy-authorization")?.[1];

function client(
  proxy: EmbeddedProxy,
  options: Partial<HTTPProxyOptions> = {},
  credentials: readonly [string, string] = ["alice", "s3cret pass"],
): HTTPProxy {
  return new HTTPProxy({
    proxyUrl: proxy.url,
    proxyAuth: credentials,
    proxyAuthScheme: "digest",
    tls: tls(),
    ...options,
  });
}

describe("SHA-256", () => {
  it("forwarded: nothing sent until the 407, then answered on the same connection", async () => {
    const { proxy, challenger } = await challenging({ offer: ["SHA-256"] });
    await using p = client(proxy);
    const r = await p.request("GET", "http://example.com/");
    expect(r.status).toBe(200);
    expect(proxy.log.map((e) => [e.method, e.target])).toEqual([
      ["GET", "http://example.com/"],
      ["GET", "http://example.com/"],
    ]);
    expect(authHeader(proxy.log[0])).toBeUndefined();
    expect(authHeader(proxy.log[1])).toMatch(/^Digest username="alice", .*algorithm=SHA-256,/);
    expect(proxy.connections).toBe(1);
    expect(challenger.accepted).toMatchObject([{ scheme: "Digest", algorithm: "SHA-256", nc: 1 }]);
    expect(p.connections.map(String)).toEqual([
      `<ForwardHTTPConnection ['${proxy.url}', HTTP/1.1, IDLE, Request Count: 2]>`,
    ]);
  });

  it("CONNECT: the 407 answered on the same connection; the tunnel then works", async () => {
    const { proxy, challenger } = await challenging({ offer: ["SHA-256"] });
    await using p = client(proxy);
    const r = await p.request("GET", "https://example.com/");
    expect(await r.json()).toMatchObject({ host: "example.com", tls: true });
    expect(proxy.log.map((e) => [e.method, e.target])).toEqual([
      ["CONNECT", "example.com:443"],
      ["CONNECT", "example.com:443"],
    ]);
    expect(authHeader(proxy.log[0])).toBeUndefined();
    expect(authHeader(proxy.log[1])).toContain('uri="example.com:443"');
    expect(proxy.connections).toBe(1);
    expect(challenger.accepted).toHaveLength(1);
  });

  it("later requests and tunnels authenticate at once, the nonce count growing", async () => {
    const { proxy, challenger } = await challenging({ offer: ["SHA-256"] });
    await using p = client(proxy);
    await p.request("GET", "http://example.com/");
    await p.request("GET", "http://httpbin.org/json");
    await p.request("GET", "https://example.com/");
    await p.request("GET", "https://httpbin.org/");
    expect(proxy.log).toHaveLength(5); // one 407, then four answered at once
    expect(challenger.refusals).toEqual(["none"]);
    expect(challenger.accepted.map((a) => a.nc)).toEqual([1, 2, 3, 4]);
    expect(new Set(challenger.accepted.map((a) => a.nonce)).size).toBe(1);
  });

  it("requests in flight at once share the nonce, each with a count of its own", async () => {
    const { proxy, challenger } = await challenging({ offer: ["SHA-256"] });
    await using p = client(proxy, { shareForwardConnections: false });
    await p.request("GET", "http://example.com/");
    const hosts = ["example.com", "www.example.com", "httpbin.org"];
    const rs = await Promise.all(
      [...hosts, ...hosts].map((h, i) => p.request("GET", `http://${h}/${i}`)),
    );
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const counts = challenger.accepted.map((a) => a.nc);
    expect(new Set(counts).size).toBe(7);
    expect(challenger.refusals).toEqual(["none"]);
  });
});

describe("what squid does not do", () => {
  it("userhash: the username goes hashed, never in clear", async () => {
    const { proxy, challenger } = await challenging({ offer: ["SHA-256"], userhash: true });
    await using p = client(proxy);
    expect((await p.request("GET", "http://example.com/")).status).toBe(200);
    expect((await p.request("GET", "https://example.com/")).status).toBe(200);
    expect(challenger.accepted).toMatchObject([
      { username: "alice", userhash: true },
      { username: "alice", userhash: true },
    ]);
    for (const entry of proxy.log) expect(authHeader(entry) ?? "").not.toContain("alice");
  });

  it("userhash with a non-ASCII username and password (UTF-8)", async () => {
    const { proxy, challenger } = await challenging({ offer: ["SHA-256"], userhash: true });
    await using p = client(proxy, {}, ["jürgen", "pässwörd🔑"]);
    expect((await p.request("GET", "http://example.com/")).status).toBe(200);
    expect(challenger.accepted).toMatchObject([{ username: "jürgen", userhash: true }]);
  });

  it("a non-ASCII username without userhash goes as username*", async () => {
    const { proxy, challenger } = await challenging({ offer: ["MD5"] });
    await using p = client(proxy, {}, ["jürgen", "pässwörd🔑"]);
    expect((await p.request("GET", "https://example.com/")).status).toBe(200);
    expect(authHeader(proxy.log[1])).toMatch(/^Digest username\*=UTF-8''j%C3%BCrgen, /);
    expect(challenger.accepted).toMatchObject([{ username: "jürgen" }]);
  });

  it("stale=true is answered once with the new nonce, forwarding and tunnelling", async () => {
    const { proxy, challenger } = await challenging({ offer: ["SHA-256"], staleAfter: 1 });
    await using p = client(proxy);
    expect((await p.request("GET", "http://example.com/")).status).toBe(200); // 407, answered
    expect((await p.request("GET", "http://example.com/2")).status).toBe(200); // stale, answered
    expect((await p.request("GET", "https://example.com/")).status).toBe(200); // stale, answered
    expect(challenger.staleSent).toBe(2);
    expect(challenger.refusals).toEqual(["none", "Digest: stale nonce", "Digest: stale nonce"]);
    expect(proxy.log).toHaveLength(6);
    expect(new Set(challenger.accepted.map((a) => a.nonce)).size).toBe(3);
    expect(challenger.accepted.map((a) => a.nc)).toEqual([1, 1, 1]);
  });

  it("MD5-sess and SHA-256-sess", async () => {
    for (const algorithm of ["MD5-sess", "SHA-256-sess"] as const) {
      const { proxy, challenger } = await challenging({ offer: [algorithm] });
      await using p = client(proxy);
      expect((await p.request("GET", "http://example.com/")).status).toBe(200);
      expect((await p.request("GET", "https://example.com/")).status).toBe(200);
      expect((await p.request("GET", "http://example.com/again")).status).toBe(200);
      expect(challenger.accepted).toMatchObject([
        { algorithm, nc: 1 },
        { algorithm, nc: 2 },
        { algorithm, nc: 3 },
      ]);
    }
  });

  it("a challenge without qop (RFC 2069)", async () => {
    const { proxy, challenger } = await challenging({ offer: ["MD5"], qop: false });
    await using p = client(proxy);
    expect((await p.request("GET", "http://example.com/")).status).toBe(200);
    expect(authHeader(proxy.log[1])).not.toMatch(/qop=|nc=|cnonce=/);
    expect(challenger.accepted).toHaveLength(1);
  });

  for (const oneField of [false, true]) {
    it(`"any" answers the strongest offered (${oneField ? "one field" : "one field each"})`, async () => {
      const { proxy, challenger } = await challenging({
        offer: ["Basic", "MD5", "SHA-256", "MD5-sess"],
        oneField,
      });
      await using p = client(proxy, { proxyAuthScheme: "any" });
      expect((await p.request("GET", "https://example.com/")).status).toBe(200);
      expect(challenger.accepted).toMatchObject([{ scheme: "Digest", algorithm: "SHA-256" }]);
      for (const entry of proxy.log) expect(authHeader(entry) ?? "").not.toMatch(/^Basic/);
    });
  }

  it('"any" answers Basic when that is all the proxy offers, then sends it at once', async () => {
    const { proxy, challenger } = await challenging({ offer: ["Basic"] });
    await using p = client(proxy, { proxyAuthScheme: "any" });
    expect((await p.request("GET", "http://example.com/")).status).toBe(200);
    expect((await p.request("GET", "https://example.com/")).status).toBe(200);
    expect(proxy.log).toHaveLength(3);
    expect(challenger.accepted).toMatchObject([{ scheme: "Basic" }, { scheme: "Basic" }]);
  });

  it('"digest" does not answer a Basic-only proxy: the 407, and ProxyError 407', async () => {
    const { proxy } = await challenging({ offer: ["Basic"] });
    await using p = client(proxy);
    expect((await p.request("GET", "http://example.com/")).status).toBe(407);
    const error = await p.request("GET", "https://example.com/").catch((e) => e);
    expect(error).toBeInstanceOf(ProxyError);
    expect(error.status).toBe(407);
    expect(proxy.log).toHaveLength(2);
    for (const entry of proxy.log) expect(authHeader(entry)).toBeUndefined();
  });
});

describe("never a loop", () => {
  it("a wrong password: the second 407 is the response, after two requests", async () => {
    const { proxy, challenger } = await challenging({ offer: ["SHA-256"] });
    await using p = client(proxy, {}, ["alice", "wrong"]);
    const r = await p.request("GET", "http://example.com/");
    expect(r.status).toBe(407);
    expect(proxy.log).toHaveLength(2);
    expect(challenger.refusals).toEqual(["none", "Digest: wrong response"]);
  });

  it("a wrong password: the second 407 to CONNECT is ProxyError 407, after two CONNECTs", async () => {
    const { proxy } = await challenging({ offer: ["SHA-256"] });
    await using p = client(proxy, {}, ["alice", "wrong"]);
    const error = await p.request("GET", "https://example.com/").catch((e) => e);
    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({ status: 407, message: "407 Proxy Authentication Required" });
    expect(error.headers.some(([k]: [string, string]) => k === "Proxy-Authenticate")).toBe(true);
    expect(proxy.log.map((e) => e.method)).toEqual(["CONNECT", "CONNECT"]);
    expect(p.connections).toHaveLength(0);
  });

  it("a proxy that closes after each 407: the answer goes on a new connection, once", async () => {
    const { proxy, challenger } = await challenging({ offer: ["SHA-256"], closeAfter407: true });
    await using p = client(proxy);
    expect((await p.request("GET", "http://example.com/")).status).toBe(200);
    expect(proxy.connections).toBe(2);
    expect((await p.request("GET", "https://example.com/")).status).toBe(200);
    expect(proxy.connections).toBe(3); // answered at once: no 407
    expect(challenger.accepted).toHaveLength(2);
  });

  it("CONNECT to a proxy that closes after its 407: a new connection for the answer", async () => {
    const { proxy, challenger } = await challenging({ offer: ["SHA-256"], closeAfter407: true });
    await using p = client(proxy);
    expect((await p.request("GET", "https://example.com/")).status).toBe(200);
    expect(proxy.log.map((e) => e.method)).toEqual(["CONNECT", "CONNECT"]);
    expect(proxy.connections).toBe(2);
    expect(challenger.accepted).toHaveLength(1);
  });

  it("closing after each 407 and a wrong password: two requests each, then the 407", async () => {
    const { proxy } = await challenging({ offer: ["SHA-256"], closeAfter407: true });
    await using p = client(proxy, {}, ["alice", "wrong"]);
    expect((await p.request("GET", "http://example.com/")).status).toBe(407);
    expect(proxy.log).toHaveLength(2);
    const error = await p.request("GET", "https://example.com/").catch((e) => e);
    expect(error).toMatchObject({ status: 407 });
    expect(proxy.log).toHaveLength(4);
    expect(p.connections).toHaveLength(0);
  });
});

describe("request bodies", () => {
  it("a body that can be sent again is, with the answer", async () => {
    const { proxy } = await challenging({ offer: ["SHA-256"] });
    await using p = client(proxy);
    const r = await p.request("POST", "http://example.com/upload", { content: "hello" });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ body: "hello" });
    expect(proxy.log).toHaveLength(2);
  });

  it("a streamed body that cannot be sent again: the 407 is the response", async () => {
    const { proxy, challenger } = await challenging({ offer: ["SHA-256"] });
    await using p = client(proxy);
    async function* body() {
      yield new TextEncoder().encode("once ");
      yield new TextEncoder().encode("only");
    }
    const r = await p.request("POST", "http://example.com/upload", { content: body() });
    expect(r.status).toBe(407);
    expect(proxy.log).toHaveLength(1);
    // The challenge is kept: the next request authenticates at once.
    const again = await p.request("POST", "http://example.com/upload", { content: body() });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ body: "once only" });
    expect(proxy.log).toHaveLength(2);
    expect(challenger.accepted).toHaveLength(1);
  });
});

describe("the rest of the contract", () => {
  it("credentials never appear in printing, messages or stacks", async () => {
    const { proxy } = await challenging({ offer: ["Basic", "MD5"] });
    for (const scheme of ["digest", "any"] as const) {
      await using p = new HTTPProxy({
        proxyUrl: `http://user:hunter2@127.0.0.1:${proxy.port}`,
        proxyAuthScheme: scheme,
        tls: tls(),
      });
      const error = (await p.request("GET", "https://example.com/").catch((e) => e)) as Error;
      expect(error).toBeInstanceOf(ProxyError);
      const forwarded = await p.request("GET", "http://example.com/");
      const printed = [
        inspect(p),
        String(p),
        inspect(p.connections),
        inspect(p, { showHidden: true, depth: 5 }),
        error.message,
        String(error.stack),
        inspect(error),
        inspect(forwarded),
        ...proxy.log.map((e) => authHeader(e) ?? ""),
      ];
      for (const text of printed) {
        expect(text).not.toContain("hunter2");
        expect(text).not.toContain(Buffer.from("user:hunter2").toString("base64"));
      }
    }
  });

  it("a Proxy-Authorization of the caller's own is sent as is, and not answered for", async () => {
    const { proxy } = await challenging({ offer: ["SHA-256"] });
    await using p = client(proxy, { proxyHeaders: { "Proxy-Authorization": "Bearer abc" } });
    expect((await p.request("GET", "http://example.com/")).status).toBe(407);
    expect(proxy.log).toHaveLength(1);
    expect(authHeader(proxy.log[0])).toBe("Bearer abc");
  });

  it("options are checked", () => {
    expect(
      () =>
        new HTTPProxy({
          proxyUrl: "http://127.0.0.1:1",
          proxyAuth: ["u", "p"],
          proxyAuthScheme: "ntlm" as "any",
        }),
    ).toThrow(/proxyAuthScheme must be "basic", "digest" or "any"/);
    expect(
      () => new HTTPProxy({ proxyUrl: "http://127.0.0.1:1", proxyAuthScheme: "digest" }),
    ).toThrow(/needs credentials/);
    expect(
      () =>
        new HTTPProxy({
          proxyUrl: "http://127.0.0.1:1",
          proxyAuth: ["u", "p\r\nX: 1"],
          proxyAuthScheme: "digest",
        }),
    ).toThrow(TypeError);
  });

  it('"basic" is unchanged: Basic with every request, nothing answered', async () => {
    const { proxy } = await challenging({ offer: ["SHA-256"] });
    await using p = client(proxy, { proxyAuthScheme: "basic" });
    expect((await p.request("GET", "http://example.com/")).status).toBe(407);
    expect(proxy.log).toHaveLength(1);
    expect(authHeader(proxy.log[0])).toMatch(/^Basic /);
  });
});
