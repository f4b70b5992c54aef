// `pnpm --filter @x/bench fetch-ab [other tree ...]`: fetch() through this tree's
// PoolDispatcher, through the PoolDispatcher of each other tree given (a checkout with its
// packages built, a git worktree say), and through undici's Agent, in one process, rounds
// alternating (the order reversed every other round). Prints each one's median rate, the
// median of its per-round ratios to the Agent, and its client CPU time per fetch: a paired
// comparison of two builds, less at the mercy of a noisy machine than two separate runs.
// AB_PATH (/small), AB_ROUNDS (16), AB_N (3000 fetches a round).
import { Agent } from "undici";
import { dispatcherFor, fetchMany, pairedRounds } from "./fetch-load.mjs";
import { startServer } from "./server-process.mjs";

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

for (const d of Object.values(dispatchers)) await fetchMany(d, url, Math.ceil(n / 5));
await pairedRounds(dispatchers, {
  rounds,
  n,
  run: (dispatcher, count) => fetchMany(dispatcher, url, count),
  reference: "undici Agent",
  label: "",
  unit: "fetch",
});
for (const d of Object.values(dispatchers)) await d.close();
server.stop();
process.exit(0);
