// `pnpm --filter @x/bench adapters`: the adapters against what people use instead.
// fetch() with @x/undici's PoolDispatcher vs the same fetch() with undici's own Agent (small
// and 64 KiB responses, 50 connections, 100 in flight); axios through squid's CONNECT with
// @x/agent vs https-proxy-agent and proxy-agent (10 in flight). Clients alternate over
// rounds; the ratios are medians of the per-round ratios. Needs squid (as root) for the
// second part; BENCH_QUICK=1 runs fewer requests, BENCH_ONLY=fetch or axios one part.
import { ProxyAgent } from "@x/agent";
import { ConnectionPool } from "@x/pool";
import { startSquid, unavailable } from "@x/testkit";
import { PoolDispatcher } from "@x/undici";
import axios from "axios";
import { HttpsProxyAgent } from "https-proxy-agent";
import { ProxyAgent as PAProxyAgent } from "proxy-agent";
import { Agent, fetch } from "undici";
import { startServer } from "./server-process.mjs";
import { fmt, median } from "./stats.mjs";

const QUICK = process.env.BENCH_QUICK === "1";
const ROUNDS = QUICK ? 2 : 5;
const server = await startServer();
const { httpPort, httpsPort, ca } = server.ports;
// BENCH_ONLY=fetch or BENCH_ONLY=axios runs one part.
const only = process.env.BENCH_ONLY;
const HTTP = `http://127.0.0.1:${httpPort}`;

async function run(requests, inFlight, one) {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < requests) await one();
    }),
  );
  return requests / ((performance.now() - start) / 1000);
}

async function compare(name, requests, inFlight, clients) {
  const rates = Object.fromEntries(Object.keys(clients).map((k) => [k, []]));
  for (const c of Object.values(clients)) await run(Math.ceil(requests / 5), inFlight, c); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, c] of Object.entries(clients)) rates[k].push(await run(requests, inFlight, c));
  }
  const names = Object.keys(clients);
  const ours = rates[names[0]];
  const cells = names.map((k) => `${k} ${fmt(median(rates[k]))}/s`);
  const ratios = names
    .slice(1)
    .map((k) => `÷ ${k} ${median(ours.map((r, i) => r / rates[k][i])).toFixed(2)}x`);
  console.log(`${name}: ${cells.join(", ")} | ${ratios.join(", ")}`);
}

const fetchBody = (dispatcher, path) => async () => {
  const res = await fetch(`${HTTP}${path}`, { dispatcher });
  await res.arrayBuffer();
};

try {
  for (const [path, label] of only === "axios"
    ? []
    : [
        ["/small", "fetch, small JSON, 50 conns, 100 in flight"],
        ["/64k", "fetch, 64 KiB, 50 conns, 100 in flight"],
      ]) {
    const ours = new PoolDispatcher(new ConnectionPool({ maxConnections: 50 }));
    const theirs = new Agent({ connections: 50 });
    await compare(label, QUICK ? 1000 : 10000, 100, {
      PoolDispatcher: fetchBody(ours, path),
      "undici Agent": fetchBody(theirs, path),
    });
    await ours.close();
    await theirs.close();
  }

  if (only === "fetch") {
    // the axios part is not asked for
  } else if (unavailable("squid") !== null) {
    console.log(`axios through squid: skipped (${unavailable("squid")})`);
  } else {
    const squid = await startSquid({ names: ["example.com"] });
    const url = `https://localhost:${httpsPort}/small`;
    // Each verifies the origin's certificate against the benchmark's CA, given as each
    // takes it: @x/agent's `tls`; proxy-agent's constructor options (it hands them to the
    // HttpsProxyAgent it makes); https-proxy-agent's constructor options are for the proxy
    // connection only (it empties `agent.options`), and the origin's TLS takes the request's
    // options, which node:http merges from `agent.options`: so `ca` goes there.
    const opts = { keepAlive: true, maxSockets: 10 };
    const httpsProxyAgent = new HttpsProxyAgent(squid.url, opts);
    httpsProxyAgent.options.ca = ca;
    const agents = {
      "@x/agent": new ProxyAgent({ proxyUrl: squid.url, tls: { ca }, maxSockets: 10 }),
      "https-proxy-agent": httpsProxyAgent,
      "proxy-agent": new PAProxyAgent({ ...opts, ca, getProxyForUrl: () => squid.url }),
    };
    const viaAxios = (agent) => () =>
      axios.get(url, { httpsAgent: agent, proxy: false, responseType: "arraybuffer" });
    await compare(
      "axios through squid CONNECT, 10 in flight",
      QUICK ? 200 : 3000,
      10,
      Object.fromEntries(Object.entries(agents).map(([k, a]) => [k, viaAxios(a)])),
    );
    for (const a of Object.values(agents)) a.destroy();
    await squid.close();
  }
} finally {
  server.stop();
}
