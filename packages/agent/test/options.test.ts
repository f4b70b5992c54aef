// The agent's options, names and routing decisions, without sockets: what node:http's Agent
// keeps, protocol and defaultPort, proxyFor, and the names that keep TLS sockets apart.
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { ProxyAgent } from "../src/index.js";

const agents: ProxyAgent[] = [];
function agentOf(...args: ConstructorParameters<typeof ProxyAgent>): ProxyAgent {
  const agent = new ProxyAgent(...args);
  agents.push(agent);
  return agent;
}
afterEach(() => {
  for (const agent of agents.splice(0)) agent.destroy();
});
// node:http's Agent keeps it (its types leave it out).
const keepAliveOf = (agent: ProxyAgent): unknown =>
  (agent as unknown as { keepAlive: unknown }).keepAlive;

describe("options", () => {
  it("node:http's Agent gets its own options only, keepAlive on unless said", () => {
    const agent = agentOf({
      proxyUrl: "http://user:pw@127.0.0.1:3128",
      noProxy: "localhost",
      proxyAuth: ["a", "b"],
      proxyAuthScheme: "digest",
      proxyHeaders: { "X-A": "1" },
      proxyTls: { ca: "x" },
      tls: { ca: "y" },
      maxSockets: 3,
    });
    expect(keepAliveOf(agent)).toBe(true);
    expect(agent.maxSockets).toBe(3);
    expect(Object.keys(agent.options).sort()).toEqual([
      "keepAlive",
      "maxSockets",
      "noDelay",
      "path",
    ]);
    expect(keepAliveOf(agentOf({ keepAlive: false }))).toBe(false);
    expect(keepAliveOf(agentOf())).toBe(true);
  });

  it("proxyUrl, routes and noProxy decide proxyFor; credentials hidden", () => {
    const one = agentOf({ proxyUrl: new URL("http://user:pw@127.0.0.1:3128") });
    expect(one.proxyFor("http://example.com/")).toBe("http://***@127.0.0.1:3128/");
    expect(one.proxyFor(new URL("https://example.com/x"))).toBe("http://***@127.0.0.1:3128/");
    const routed = agentOf({
      routes: { "https://": "socks5h://127.0.0.1:1080", "http://example.com": null },
      proxyUrl: "http://127.0.0.1:3128",
    });
    expect(routed.proxyFor("https://example.com/")).toBe("socks5h://127.0.0.1:1080");
    expect(routed.proxyFor("http://example.com/")).toBeNull();
    expect(routed.proxyFor("http://other.example/")).toBeNull();
    const bypass = agentOf({ proxyUrl: "http://127.0.0.1:3128", noProxy: "localhost,.internal" });
    expect(bypass.proxyFor("https://localhost/")).toBeNull();
    expect(bypass.proxyFor("https://api.internal/")).toBeNull();
    expect(bypass.proxyFor("https://example.com/")).toBe("http://127.0.0.1:3128");
    expect(agentOf().proxyFor("https://example.com/")).toBeNull();
  });

  it("fromEnv takes the environment given, and node:http's options beside it", () => {
    const agent = ProxyAgent.fromEnv(
      { HTTPS_PROXY: "http://127.0.0.1:3128", NO_PROXY: ".internal" },
      { keepAlive: false },
    );
    agents.push(agent);
    expect(keepAliveOf(agent)).toBe(false);
    expect(agent.proxyFor("https://example.com/")).toBe("http://127.0.0.1:3128");
    expect(agent.proxyFor("https://api.internal/")).toBeNull();
  });

  it("toString and inspect name the router", () => {
    const agent = agentOf({ proxyUrl: "http://user:pw@127.0.0.1:3128" });
    expect(String(agent)).toMatch(/^<ProxyAgent \[<ProxyRouter \[Routes: 1 \|.*\]>\]>$/);
    expect(inspect(agent)).toBe(String(agent));
    expect(String(agent)).not.toContain("pw");
  });
});

describe("protocol and defaultPort", () => {
  it("follow each request (http: outside node:https) unless set", () => {
    const agent = agentOf();
    expect(agent.protocol).toBe("http:");
    expect(agent.defaultPort).toBe(80);
    agent.protocol = "https:";
    expect(agent.protocol).toBe("https:");
    expect(agent.defaultPort).toBe(443);
    agent.defaultPort = 8443;
    expect(agent.defaultPort).toBe(8443);
    agent.protocol = "http:";
    expect(agent.defaultPort).toBe(8443);
  });

  it("leave Error's stack settings as they were", () => {
    const prepare = (_e: Error, sites: NodeJS.CallSite[]) => sites.length;
    const limit = Error.stackTraceLimit;
    const before = Error.prepareStackTrace;
    Error.prepareStackTrace = prepare;
    try {
      expect(agentOf().protocol).toBe("http:");
      expect(Error.prepareStackTrace).toBe(prepare);
      expect(Error.stackTraceLimit).toBe(limit);
    } finally {
      Error.prepareStackTrace = before;
    }
  });
});

describe("getName", () => {
  const agent = new ProxyAgent();
  const base = { host: "example.com", port: 443 };
  const nameOf = (options: Record<string, unknown>): string =>
    agent.getName({ ...base, secureEndpoint: true, ...options } as never);

  it("http: and https: names differ, by secureEndpoint, else protocol", () => {
    const plain = agent.getName({ ...base, secureEndpoint: false });
    expect(plain).toBe("example.com:443:");
    expect(agent.getName({ ...base, protocol: "http:" })).toBe(plain);
    expect(agent.getName({ ...base, secureEndpoint: false, protocol: "https:" })).toBe(plain);
    expect(nameOf({})).toBe("example.com:443::tls:");
    expect(agent.getName({ ...base, protocol: "https:" })).toBe(nameOf({}));
    expect(agent.getName({ ...base, secureEndpoint: true, protocol: "http:" })).toBe(nameOf({}));
  });

  it("leaves out the settings that are the defaults", () => {
    for (const same of [
      { ca: undefined },
      { ca: null },
      { ca: "" },
      { rejectUnauthorized: true },
      { servername: "example.com" },
      { servername: "h", hostname: "h" },
    ]) {
      expect(nameOf(same), JSON.stringify(same)).toBe(nameOf({}));
    }
    for (const other of [
      { ca: "x" },
      { rejectUnauthorized: false },
      { servername: "other.example" },
      { secureOptions: 0 },
      { honorCipherOrder: false },
      // Only servername is left out when it names the host; other settings of that text count.
      { ca: "example.com" },
      { ciphers: "h", hostname: "h" },
    ]) {
      expect(nameOf(other), JSON.stringify(other)).not.toBe(nameOf({}));
    }
  });

  it("tells values apart by content, type and length", () => {
    const distinct = [
      { ca: "ab" },
      { ca: "abc" },
      { ca: ["ab"] },
      { ca: ["a", "b"] },
      { ca: [] },
      { ca: Buffer.from("ab") },
      { cert: "ab" },
      { key: "ab" },
      { ca: "ab", cert: "ab" },
      { secureOptions: 1 },
      { secureOptions: 2 },
      { honorCipherOrder: true },
      { ca: { a: "1" } },
      { ca: { a: "2" } },
      { ca: { a: "1", b: "2" } },
      { ca: { ab: "" } },
      // Values whose parts, run together, would spell another value's.
      { ca: Buffer.from("a1:s2:ab") },
      { ca: [["ab"]] },
      { ca: { a: { b: "1" } } },
      { ca: { a: {}, b: "1" } },
      { ca: "x\ncert=y" },
      { ca: "x", cert: "y" },
    ];
    const names = distinct.map(nameOf);
    expect(new Set(names).size).toBe(distinct.length);
    for (const name of names) expect(name).toMatch(/^example\.com:443::tls:[\w-]{43}$/);
    // The same content in new values, an object's keys in any order.
    expect(nameOf({ ca: `${"a"}b` })).toBe(names[0]);
    expect(nameOf({ ca: ["a", "b"] })).toBe(names[3]);
    expect(nameOf({ ca: Buffer.from("ab") })).toBe(names[5]);
    expect(nameOf({ ca: new Uint8Array([0x61, 0x62]) })).toBe(names[5]);
    expect(nameOf({ ca: Buffer.from("xxab").subarray(2) })).toBe(names[5]);
    expect(nameOf({ ca: { b: "2", a: "1" } })).toBe(names[14]);
    expect(nameOf({ ca: { c: "3", b: "2", a: "1" } })).toBe(
      nameOf({ ca: { a: "1", c: "3", b: "2" } }),
    );
  });

  it("a function counts by identity; a Buffer by its content when first seen", () => {
    const check = () => undefined;
    const first = nameOf({ checkServerIdentity: check });
    expect(nameOf({ checkServerIdentity: check })).toBe(first);
    expect(nameOf({ checkServerIdentity: () => undefined })).not.toBe(first);
    expect(first).not.toBe(nameOf({}));
    const ca = Buffer.from("first CA");
    const before = nameOf({ ca });
    ca.write("other");
    expect(nameOf({ ca })).toBe(before);
    expect(nameOf({ ca: Buffer.from(ca) })).not.toBe(before);
    agent.destroy();
  });
});
