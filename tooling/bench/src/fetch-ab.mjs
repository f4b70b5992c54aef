// `pnpm --filter @x/bench fetch-ab [other tree ...]`: fetch() through this tree's
// PoolDispatcher, through the PoolDispatcher of each other tree given (a checkout with its
// packages built, a git worktree say), and through undici's Agent, in one process, rounds
// alternating (the order reversed every other round). Prints each one's median rate, the
// median of its per-round ratios to the Agent, and its client CPU time per fetch: a paired
// comparison of two builds, less at the mercy of a noisy machine than two separate runs.
// AB_PATH (/small), AB_ROUNDS (16), AB_N (3000 fetches a round).
import { Agent } from "undici";
import { dispatcherFor, fetchMany } from "./fetch-load.mjs";
import { startServer } from "./server-process.mjs";
import { median } from "./stats.mjs";

const path = process.env.AB_PATH ?? "/small";
const rounds = Number(process.env.AB_ROUNDS ?? 16);
const n = Number(process.env.AB_N ?? 3000);
const server = await startServer();
const url = `http://127.0.0.1:${server.ports.httpPort}${path}`;

const dispatchers = { "this tree": dispatcherFor("pool") };
for (const tree of process.argv.slice(2)) {
  const { ConnectionPool } = await import(`${tree}/packages/pool/dist/index.js`);
  const { PoolDispatcher } = await import(`${tree}/packages/undici/dist/index.js`);
  dispatchers[tree] = new PoolDispatcher(new ConnectionPool({ maxConnections: 50 }));
}
dispatchers["undici Agent"] = new Agent({ connections: 50 });

const names = Object.keys(dispatchers);
const rates = Object.fromEntries(names.map((k) => [k, []]));
const cpu = Object.fromEntries(names.map((k) => [k, []]));
for (const d of Object.values(dispatchers)) await fetchMany(d, url, Math.ceil(n / 5));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? names : [...names].reverse();
  for (const k of order) {
    const before = process.cpuUsage();
    const start = performance.now();
    await fetchMany(dispatchers[k], url, n);
    rates[k].push(n / ((performance.now() - start) / 1000));
    const used = process.cpuUsage(before);
    cpu[k].push((used.user + used.system) / n);
  }
}
const agent = "undici Agent";
for (const k of names) {
  const ratio = median(rates[k].map((r, i) => r / rates[agent][i]));
  console.log(
    `${k}: ${median(rates[k]).toFixed(0)}/s, ÷ Agent ${ratio.toFixed(3)}x, client CPU ${median(cpu[k]).toFixed(1)} µs/fetch`,
  );
}
for (const d of Object.values(dispatchers)) await d.close();
server.stop();
process.exit(0);
