// `pnpm bench`: @x/pool against undici 7 and node:http, with a raw-socket floor, in one run.
// The server is a separate process. Clients run in turn, interleaved over rounds, after a
// warm-up; each scenario reports the median per client and the ratios, per round too.
// BENCH_QUICK=1 runs fewer requests and rounds (a smoke test of the benchmark itself).
// Last, the adapters' benchmark (src/adapters.mjs) runs in a child process.
import { fork, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ConnectionPool } from "@x/pool";
import { startMicrosocks, unavailable } from "@x/testkit";
import { Pool } from "undici";
import { ratioChart } from "./chart.mjs";
import { clients, Socks5ProxyAgent } from "./clients.mjs";
import { echoBackend } from "./echo-backend.mjs";
import { benchH11, h11Table } from "./h11.mjs";
import { startServer } from "./server-process.mjs";
import { fmt, median, table } from "./stats.mjs";

const QUICK = process.env.BENCH_QUICK === "1";
const scale = (n) => (QUICK ? Math.max(1, Math.round(n / 20)) : n);
const ROUNDS = QUICK ? 2 : 7;
const here = fileURLToPath(new URL(".", import.meta.url));

const server = await startServer();
const ports = server.ports;
const proxyProcess = fork(`${here}proxy.mjs`, [], {
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
proxyProcess.send({ httpPort: ports.httpPort, httpsPort: ports.httpsPort });
const { proxyPort } = await new Promise((resolve) => proxyProcess.once("message", resolve));
const HTTP = `http://127.0.0.1:${ports.httpPort}`;
const HTTPS = `https://localhost:${ports.httpsPort}`;
const H2 = `https://localhost:${ports.h2Port}`;
const PROXY = `http://127.0.0.1:${proxyPort}`;
const ca = ports.ca;
// The SOCKS scenarios go through microsocks (a real SOCKS server in C, in its own process)
// when it is installed, else (or with BENCH_SOCKS=embedded) through the embedded proxy's
// port, which speaks SOCKS5 too. Their origin is an IPv4 literal: microsocks resolves names
// with the system's resolver.
const only = process.env.BENCH_ONLY?.split(",");
const wantsSocks = !only || only.some((id) => id.startsWith("socks-"));
const microsocksMissing =
  process.env.BENCH_SOCKS === "embedded" ? "BENCH_SOCKS=embedded" : unavailable("microsocks");
const microsocks = wantsSocks && microsocksMissing === null ? await startMicrosocks() : null;
const SOCKS = `socks5h://127.0.0.1:${microsocks?.port ?? proxyPort}`;
const socksServer = microsocks
  ? "microsocks (its own process)"
  : `the embedded proxy's port, in its own process (not microsocks: ${microsocksMissing})`;

const MiB = 1024 * 1024;
const scenarios = [
  {
    id: "small-1",
    name: "small JSON, 1 connection",
    url: HTTP,
    path: "/small",
    connections: 1,
    inFlight: 1,
    requests: 15000,
  },
  {
    id: "small-50",
    name: "small JSON, 50 conns, 100 in flight",
    url: HTTP,
    path: "/small",
    connections: 50,
    inFlight: 100,
    requests: 20000,
  },
  {
    id: "64k-50",
    name: "64 KiB, 50 conns, 100 in flight",
    url: HTTP,
    path: "/64k",
    connections: 50,
    inFlight: 100,
    requests: 15000,
  },
  {
    id: "https-50",
    name: "HTTPS small, 50 conns, 100 in flight",
    url: HTTPS,
    path: "/small",
    connections: 50,
    inFlight: 100,
    requests: 10000,
    ca,
  },
  {
    id: "proxy-forward",
    name: "proxy, forwarded, 10 conns",
    url: "http://bench.test",
    path: "/small",
    connections: 10,
    inFlight: 20,
    requests: 5000,
    proxy: { url: PROXY, mode: "forward" },
  },
  {
    id: "proxy-tunnel",
    name: "proxy, tunnelled, 10 conns",
    url: "https://bench.test",
    path: "/small",
    connections: 10,
    inFlight: 20,
    requests: 5000,
    ca,
    proxy: { url: PROXY, mode: "tunnel" },
  },
  {
    id: "h2-small",
    name: "HTTP/2 small, 1 conn, 100 in flight",
    url: H2,
    path: "/small",
    connections: 1,
    inFlight: 100,
    requests: 20000,
    ca,
    h2: true,
  },
  {
    id: "h2-64k",
    name: "HTTP/2 64 KiB, 1 conn, 100 in flight",
    url: H2,
    path: "/64k",
    connections: 1,
    inFlight: 100,
    requests: 5000,
    ca,
    h2: true,
  },
  {
    id: "socks-small",
    name: "SOCKS5 tunnel, small, 10 conns",
    url: HTTP,
    path: "/small",
    connections: 10,
    inFlight: 20,
    requests: 5000,
    proxy: { url: SOCKS, mode: "socks5" },
  },
  {
    id: "stream-256",
    name: "256 MiB streamed body (MB/s)",
    url: HTTP,
    stream: `/stream/${256 * MiB}`,
    connections: 1,
  },
  {
    id: "tunnel-256",
    name: "256 MiB through a tunnel (MB/s)",
    url: "https://bench.test",
    stream: `/stream/${256 * MiB}`,
    connections: 1,
    ca,
    proxy: { url: PROXY, mode: "tunnel" },
  },
  {
    id: "socks-256",
    name: "256 MiB through a SOCKS5 tunnel (MB/s)",
    url: HTTP,
    stream: `/stream/${256 * MiB}`,
    connections: 1,
    proxy: { url: SOCKS, mode: "socks5" },
  },
];

async function load(client, requests, inFlight) {
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      next++;
      await client.one();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return performance.now() - t0;
}

async function measure(name, scenario) {
  const client = clients[name](scenario);
  if (client === null) return null;
  try {
    if (scenario.stream) {
      const t0 = performance.now();
      const bytes = await client.stream(scenario.stream);
      return bytes / MiB / ((performance.now() - t0) / 1000);
    }
    const inFlight =
      name === "raw socket" ? Math.min(scenario.inFlight, scenario.connections) : scenario.inFlight;
    await load(client, Math.ceil(scale(scenario.requests) / 5), inFlight); // warm the connections
    const ms = await load(client, scale(scenario.requests), inFlight);
    return scale(scenario.requests) / (ms / 1000);
  } finally {
    await client.close();
  }
}

const names = Object.keys(clients);
const results = [];
for (const s of scenarios.filter((x) => !only || only.includes(x.id))) {
  const perClient = Object.fromEntries(names.map((n) => [n, []]));
  const roundRatios = { undici: [], "node:http": [], "raw socket": [] };
  const fastest = [];
  const rounds = ROUNDS;
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    const round = {};
    for (const n of order) {
      const v = await measure(n, s);
      if (v !== null) {
        perClient[n].push(v);
        round[n] = v;
      }
    }
    for (const other of Object.keys(roundRatios)) {
      if (round[other] !== undefined) roundRatios[other].push(round["@x/pool"] / round[other]);
    }
    // Against the faster of undici and node:http in this round.
    const rivals = ["undici", "node:http"].filter((n) => round[n] !== undefined);
    if (rivals.length > 0) {
      const best = rivals.reduce((a, b) => (round[a] >= round[b] ? a : b));
      fastest.push({ ratio: round["@x/pool"] / round[best], client: best });
    }
  }
  const med = Object.fromEntries(
    Object.entries(perClient).map(([n, v]) => [n, v.length ? median(v) : null]),
  );
  const ratios = Object.fromEntries(
    Object.entries(roundRatios).map(([n, v]) => [n, v.length ? median(v) : null]),
  );
  results.push({
    id: s.id,
    scenario: s.name,
    unit: s.stream ? "MB/s" : "req/s",
    median: med,
    ratio: ratios,
    vsFastest: fastest.length ? median(fastest.map((f) => f.ratio)) : null,
    fastestPerRound: fastest.map((f) => f.client),
    rounds,
    // Every round's numbers, so that the spread behind each median can be seen.
    perRound: perClient,
    perRoundRatio: roundRatios,
  });
  process.stderr.write(`done: ${s.name}\n`);
}

// Queue cost: 100 vs 10 000 requests queued at once on maxConnections 10. Garbage
// collection is timed apart: its cost grows with the number of live pending requests,
// which is the price of holding them, not of the queue's algorithm.
// GC entries arrive asynchronously: keep them all and sum those inside an interval later.
const gcEntries = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcEntries.push({ start: e.startTime, duration: e.duration });
}).observe({ entryTypes: ["gc"] });
async function gcWithin(from, to) {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  let ms = 0;
  for (const e of gcEntries) if (e.start >= from && e.start < to) ms += e.duration;
  return ms;
}
// Both sides process the same number of requests: `count` at a time, until `total`.
async function queued(make, count, total = scale(50000)) {
  const c = make();
  await Promise.all(Array.from({ length: 50 }, () => c.get()));
  const t0 = performance.now();
  for (let done = 0; done < total; done += count) {
    await Promise.all(Array.from({ length: count }, () => c.get()));
  }
  const elapsed = performance.now() - t0;
  const gc = await gcWithin(t0, t0 + elapsed);
  await c.close();
  return { total: (elapsed * 1000) / total, withoutGc: ((elapsed - gc) * 1000) / total };
}
const queueClients = {
  "@x/pool (in-memory backend)": () => {
    const pool = new ConnectionPool({ maxConnections: 10, networkBackend: echoBackend });
    return { get: () => pool.request("GET", "http://queue.test/"), close: () => pool.close() };
  },
  "@x/pool": () => {
    const pool = new ConnectionPool({ maxConnections: 10 });
    return { get: () => pool.request("GET", `${HTTP}/small`), close: () => pool.close() };
  },
  undici: () => {
    const pool = new Pool(HTTP, { connections: 10, pipelining: 1 });
    return {
      get: async () => (await pool.request({ path: "/small", method: "GET" })).body.arrayBuffer(),
      close: () => pool.close(),
    };
  },
};
const queue = {};
for (const [name, make] of Object.entries(only && !only.includes("queue") ? {} : queueClients)) {
  const small = [];
  const large = [];
  for (let r = 0; r < ROUNDS; r++) {
    small.push(await queued(make, 100));
    large.push(await queued(make, scale(10000)));
  }
  const m = (xs, k) => median(xs.map((x) => x[k]));
  queue[name] = {
    us100: m(small, "total"),
    us10000: m(large, "total"),
    growth: m(large, "total") / m(small, "total"),
    us100WithoutGc: m(small, "withoutGc"),
    us10000WithoutGc: m(large, "withoutGc"),
    growthWithoutGc: m(large, "withoutGc") / m(small, "withoutGc"),
  };
}
process.stderr.write("done: queue\n");

// RSS while streaming 1 GiB, in a fresh process.
const rss =
  only && !only.includes("rss")
    ? { bytes: 0, baseline: 0, peak: 0, growth: 0, mbps: 0 }
    : await new Promise((resolve) => {
        const child = fork(`${here}rss.mjs`, [`${HTTP}/stream/${(QUICK ? 64 : 1024) * MiB}`], {
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        });
        child.once("message", resolve);
      });

// Memory per idle kept-alive connection: each client in a fresh process, three runs each.
const IDLE_CONNECTIONS = QUICK ? 200 : 5000;
const idleMemory = [];
if (!only || only.includes("idle-memory")) {
  for (let run = 0; run < 3; run++) {
    for (const client of ["@x/pool", "undici", "node:http"]) {
      const child = fork(`${here}idle-memory.mjs`, [client, HTTP, String(IDLE_CONNECTIONS)], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        execArgv: ["--expose-gc"],
      });
      idleMemory.push({ run, ...(await new Promise((resolve) => child.once("message", resolve))) });
    }
  }
  process.stderr.write("done: idle memory\n");
}

server.stop();
await microsocks?.close();
proxyProcess.disconnect();
proxyProcess.kill();

const parser =
  only && !only.includes("h11") ? [] : benchH11({ rounds: QUICK ? 3 : 7, log: () => {} });

const machine = {
  date: new Date().toISOString(),
  cpu: `${os.cpus()[0]?.model ?? "unknown"} x ${os.cpus().length}`,
  memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
  quick: QUICK,
};
const x = (v) => (v === null || v === undefined ? "n/a" : `${v.toFixed(2)}x`);
const lines = [];
lines.push(
  `Benchmark run ${machine.date} on ${machine.cpu}, ${machine.memory}, Node ${machine.node}${QUICK ? " (QUICK)" : ""}`,
);
lines.push("");
lines.push(
  table(
    [
      "scenario",
      "@x/pool",
      "undici 7",
      "node:http",
      "raw socket",
      "vs undici",
      "vs node:http",
      "vs raw",
    ],
    results.map((r) => [
      `${r.scenario}`,
      fmt(r.median["@x/pool"]),
      fmt(r.median.undici ?? 0),
      r.median["node:http"] === null ? "n/a" : fmt(r.median["node:http"]),
      fmt(r.median["raw socket"]),
      x(r.ratio.undici),
      x(r.ratio["node:http"]),
      x(r.ratio["raw socket"]),
    ]),
  ),
);
lines.push("");
lines.push(
  "Ratios are medians of the per-round ratios (@x/pool ÷ the other, higher is better for @x/pool).",
);
const socksRows = results.filter((r) => r.id.startsWith("socks-"));
if (socksRows.length > 0) {
  lines.push("");
  lines.push(
    `SOCKS5 rows: @x/pool is @x/proxy's SOCKSProxy (socks5h), undici 7 its Socks5ProxyAgent${Socks5ProxyAgent === undefined ? " (not in the installed undici: n/a)" : " (experimental)"}, node:http uses socks-proxy-agent, and the raw socket does the SOCKS5 handshake then writes canned requests; the SOCKS server is ${socksServer}.`,
  );
  for (const r of socksRows) {
    const counts = {};
    for (const c of r.fastestPerRound) counts[c] = (counts[c] ?? 0) + 1;
    const who = Object.entries(counts)
      .map(([c, n]) => `${c} ${n}/${r.fastestPerRound.length}`)
      .join(", ");
    lines.push(
      `- ${r.scenario}: ${x(r.vsFastest)} the fastest competitor of each round (the faster: ${who})`,
    );
  }
}
lines.push("");
lines.push(
  table(
    [
      "queue on maxConnections 10",
      "µs/req, 100 queued",
      `µs/req, ${scale(10000)} queued`,
      "growth",
      "GC excluded",
      "growth without GC",
    ],
    Object.entries(queue).map(([n, q]) => [
      n,
      q.us100.toFixed(1),
      q.us10000.toFixed(1),
      `${q.growth.toFixed(2)}x`,
      `${q.us100WithoutGc.toFixed(1)} → ${q.us10000WithoutGc.toFixed(1)}`,
      `${q.growthWithoutGc.toFixed(2)}x`,
    ]),
  ),
);
lines.push("");
lines.push(
  `RSS while streaming ${rss.bytes / MiB} MiB with @x/pool: baseline ${(rss.baseline / MiB).toFixed(0)} MiB, peak ${(rss.peak / MiB).toFixed(0)} MiB, growth ${(rss.growth / MiB).toFixed(1)} MiB, ${rss.mbps.toFixed(0)} MB/s`,
);
if (idleMemory.length > 0) {
  const kb = (v) => (v / 1024).toFixed(1);
  const range = (client, key) => {
    const values = idleMemory.filter((m) => m.client === client).map((m) => m[key]);
    return `${kb(Math.min(...values))}-${kb(Math.max(...values))}`;
  };
  lines.push("");
  lines.push(
    table(
      [
        `per idle connection (${IDLE_CONNECTIONS}, 3 runs), KB`,
        "heap",
        "external",
        "RSS",
        "connections open",
      ],
      ["@x/pool", "undici", "node:http"].map((client) => [
        client,
        range(client, "heap"),
        range(client, "external"),
        range(client, "rss"),
        idleMemory
          .filter((m) => m.client === client)
          .map((m) => m.connections)
          .join(", "),
      ]),
    ),
  );
}
lines.push("");
lines.push(h11Table(parser));
// The adapters (src/adapters.mjs, its own server and squid): fetch() through PoolDispatcher
// vs undici's Agent, axios through @x/agent vs https-proxy-agent and proxy-agent.
const adapters = [];
if (!only || only.includes("adapters")) {
  const { BENCH_ONLY: _, ...env } = process.env;
  const child = spawnSync(process.execPath, [`${here}adapters.mjs`], { encoding: "utf8", env });
  adapters.push(...child.stdout.split("\n").filter((line) => line.includes(" | ")));
  if (child.status !== 0) adapters.push(`(adapters failed: ${child.stderr.trim().split("\n")[0]})`);
  lines.push("", "Adapters (ratios: ours ÷ the other, medians of per-round ratios):", "");
  for (const line of adapters) lines.push(`- ${line}`);
}
const report = lines.join("\n");
console.log(report);
const out = `${here}../results`;
mkdirSync(out, { recursive: true });
const socks = { server: socksServer, undiciSocks5: Socks5ProxyAgent !== undefined };
const json = JSON.stringify(
  { machine, socks, results, queue, rss, idleMemory, parser, adapters },
  null,
  2,
);
const file = QUICK || only ? "quick" : "latest";
writeFileSync(`${out}/${file}.json`, `${json}\n`);
writeFileSync(`${out}/${file}.md`, `${report}\n`);
writeFileSync(`${out}/${file}.svg`, ratioChart({ machine, results }));
process.exit(0);
