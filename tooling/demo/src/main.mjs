// The guide's examples (../shared/httpcore-proxies.md), in TypeScript form, run offline:
// the origins and the proxy are loopback servers. With PROXY_URL set, requests go through
// that proxy instead; it must resolve example.com, www.example.com and httpbin.org to
// 127.0.0.1 (squid: a hosts_file), and the origins then listen on 80 and 443 if they can.
import { inspect } from "node:util";
import { HTTPProxy } from "@x/proxy";
import { startWorld } from "./world.mjs";

const outside = process.env.PROXY_URL;
const world = await startWorld({ standardPorts: Boolean(outside), proxyPort: 8080 });
const proxyUrl = outside ?? `${world.proxy.url}/`;
// The guide talks to the real internet, whose certificates chain to public roots; ours
// chain to the throwaway CA, so trust it for the origins.
const tls = { ca: world.ca };
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};
const show = (value) => console.log(inspect(value));
// `await using` needs Node 22+ outside TypeScript; this is its long form.
async function withProxy(body) {
  const proxy = new HTTPProxy({ proxyUrl, tls });
  try {
    await body(proxy);
  } finally {
    await proxy.close();
  }
}

try {
  console.log(
    `# proxy: ${outside ? "PROXY_URL" : "the embedded proxy"} at ${proxyUrl.replace(/\/\/[^@/]*@/, "//")}\n`,
  );

  console.log(">>> proxy = new HTTPProxy({ proxyUrl })");
  console.log('>>> r = await proxy.request("GET", "https://www.example.com/")');
  await withProxy(async (proxy) => {
    const r = await proxy.request("GET", world.url("https", "www.example.com"));
    show(r);
    check(r.status === 200, "the first example did not answer 200");
  });

  console.log('\n>>> await proxy.request("GET", "http://example.com/")');
  console.log('>>> await proxy.request("GET", "http://httpbin.org/json")');
  console.log(">>> proxy.connections");
  await withProxy(async (proxy) => {
    await proxy.request("GET", world.url("http", "example.com"));
    await proxy.request("GET", world.url("http", "httpbin.org", "/json"));
    show(proxy.connections);
    const conns = proxy.connections;
    check(
      conns.length === 1 &&
        /^<ForwardHTTPConnection \[.*IDLE, Request Count: 2\]>$/.test(String(conns[0])),
      "forwarded requests did not share one connection",
    );
  });

  console.log('\n>>> await proxy.request("GET", "https://example.com/")');
  console.log('>>> await proxy.request("GET", "https://httpbin.org/json")');
  console.log(">>> proxy.connections");
  await withProxy(async (proxy) => {
    await proxy.request("GET", world.url("https", "example.com"));
    await proxy.request("GET", world.url("https", "httpbin.org", "/json"));
    show(proxy.connections);
    const conns = proxy.connections.map(String);
    check(
      conns.length === 2 &&
        conns[0].startsWith("<TunnelHTTPConnection ['https://httpbin.org:") &&
        conns[1].startsWith("<TunnelHTTPConnection ['https://example.com:"),
      "tunnelled requests did not take one connection per origin",
    );
  });
} finally {
  await world.close();
}

if (failures.length > 0) {
  console.error(`\nFAILED: ${failures.join("; ")}`);
  process.exit(1);
}
console.log("\nAll three examples behaved as the guide says.");
