// The guide's examples (../shared/httpcore-proxies.md), in TypeScript form, run offline:
// the origins and the proxy are loopback servers. With PROXY_URL set, requests go through
// that proxy instead; it must resolve example.com, www.example.com and httpbin.org to
// 127.0.0.1 (squid: a hosts_file), and the origins then listen on 80 and 443 if they can.
// Then the same examples run through SOCKS (socks5h) on the embedded proxy's port, which
// speaks SOCKS4/5 as well as HTTP, as the guide's proxy does ("http,socks4,socks5").
import { inspect } from "node:util";
import { HTTPProxy, SOCKSProxy } from "@x/proxy";
import { startWorld } from "./world.mjs";

const outside = process.env.PROXY_URL;
const world = await startWorld({ standardPorts: Boolean(outside), proxyPort: 8080 });
const proxyUrl = outside ?? `${world.proxy.url}/`;
const socksUrl = `socks5h://127.0.0.1:${world.proxy.port}/`;
// The guide talks to the real internet, whose certificates chain to public roots; ours
// chain to the throwaway CA, so trust it for the origins.
const tls = { ca: world.ca };
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};
const show = (value) => console.log(inspect(value));
// `await using` needs Node 22+ outside TypeScript; this is its long form.
async function withProxy(make, body) {
  const proxy = make();
  try {
    await body(proxy);
  } finally {
    await proxy.close();
  }
}

// The guide's three examples: what it types, what runs, and what it must print. `via` is
// "http" (HTTPProxy: forwarding for http:, a CONNECT tunnel for https:) or "socks" (a SOCKS
// tunnel per origin, http: and https: alike).
//
// Examples 2 and 3: a request to example.com and one to httpbin.org, then the pool's
// connections: one per origin (a tunnel, CONNECT's or SOCKS's), or for forwarded http:
// requests one connection to the proxy for both.
const bothOrigins = (scheme) => ({
  prompts: [
    `>>> await proxy.request("GET", "${scheme}://example.com/")`,
    `>>> await proxy.request("GET", "${scheme}://httpbin.org/json")`,
    ">>> proxy.connections",
  ],
  async run(proxy) {
    await proxy.request("GET", world.url(scheme, "example.com"));
    await proxy.request("GET", world.url(scheme, "httpbin.org", "/json"));
    return proxy.connections;
  },
  check(conns, via) {
    const shown = conns.map(String);
    if (via === "http" && scheme === "http") {
      const shared = /^<ForwardHTTPConnection \[.*IDLE, Request Count: 2\]>$/;
      const ok = shown.length === 1 && shared.test(shown[0]);
      return check(ok, "forwarded requests did not share one connection");
    }
    const kind = via === "http" ? "TunnelHTTPConnection" : "SOCKSConnection";
    check(
      shown.length === 2 &&
        shown[0].startsWith(`<${kind} ['${scheme}://httpbin.org:`) &&
        shown[1].startsWith(`<${kind} ['${scheme}://example.com:`),
      `${scheme}: requests through ${via} did not take one tunnel per origin`,
    );
  },
});
const examples = [
  {
    prompts: ['>>> r = await proxy.request("GET", "https://www.example.com/")'],
    run: (proxy) => proxy.request("GET", world.url("https", "www.example.com")),
    check: (r) => check(r.status === 200, "the first example did not answer 200"),
  },
  bothOrigins("http"),
  bothOrigins("https"),
];

try {
  console.log(
    `# proxy: ${outside ? "PROXY_URL" : "the embedded proxy"} at ${proxyUrl.replace(/\/\/[^@/]*@/, "//")}\n`,
  );
  for (const [i, example] of examples.entries()) {
    if (i > 0) console.log("");
    if (i === 0) console.log(">>> proxy = new HTTPProxy({ proxyUrl })");
    for (const prompt of example.prompts) console.log(prompt);
    await withProxy(
      () => new HTTPProxy({ proxyUrl, tls }),
      async (proxy) => {
        const value = await example.run(proxy);
        show(value);
        example.check(value, "http");
      },
    );
  }

  // The same three through SOCKS, one line each: what the last prompt shows.
  console.log(`\n# the same three through SOCKS: the embedded proxy's port speaks it too`);
  console.log(`>>> proxy = new SOCKSProxy({ proxyUrl: "${socksUrl}" })`);
  const from = world.proxy.socksLog.length;
  for (const example of examples) {
    await withProxy(
      () => new SOCKSProxy({ proxyUrl: socksUrl, tls }),
      async (proxy) => {
        const value = await example.run(proxy);
        console.log(inspect(value, { breakLength: Number.POSITIVE_INFINITY }));
        example.check(value, "socks");
      },
    );
  }
  const connects = world.proxy.socksLog.slice(from);
  check(
    connects.length === 5 && connects.every((c) => c.version === 5 && c.addressType === "domain"),
    "the SOCKS examples did not open five socks5h tunnels that sent the host name",
  );
  console.log(
    `# ${connects.length} SOCKS5 tunnels, each CONNECT carrying the host name (socks5h: the proxy resolved it)`,
  );
} finally {
  await world.close();
}

if (failures.length > 0) {
  console.error(`\nFAILED: ${failures.join("; ")}`);
  process.exit(1);
}
console.log("\nAll three examples behaved as the guide says.");
