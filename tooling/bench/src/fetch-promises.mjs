// `pnpm --filter @x/bench fetch-promises [stacks]`: the promises fetch() creates per
// request over @x/undici's PoolDispatcher and over undici's own Agent, at the adapters
// benchmark's concurrency (50 connections, 100 in flight), small responses
// (PROMISE_PATH=64k for the 64 KiB ones), after a warm-up of 1000 requests each. Counted
// with V8's promise hooks, so the count is exact and does not depend on the machine's
// load. With `stacks`, each promise is grouped by the two frames that made it (the top 30
// sites per client). Runs on the built packages.
import { promiseHooks } from "node:v8";
import { dispatcherFor, fetchMany } from "./fetch-load.mjs";
import { startServer } from "./server-process.mjs";

const server = await startServer();
const url = `http://127.0.0.1:${server.ports.httpPort}/${process.env.PROMISE_PATH ?? "small"}`;
const stacks = process.argv[2] === "stacks";
const dispatchers = {
  PoolDispatcher: dispatcherFor("pool"),
  "undici Agent": dispatcherFor("agent"),
};

const run = (dispatcher, n) => fetchMany(dispatcher, url, n);

// A frame as "package/path:line:column", without the machine's directories.
const frame = (line) =>
  line
    .trim()
    .replace(/^at /, "")
    .replace(/.*\/(node_modules|packages)\//, "");
let count = 0;
const sites = new Map();
const stop = promiseHooks.onInit(() => {
  count++;
  if (!stacks) return;
  const site = new Error().stack.split("\n").slice(2, 4).map(frame).join(" < ");
  sites.set(site, (sites.get(site) ?? 0) + 1);
});
const N = 2000;
for (const [name, dispatcher] of Object.entries(dispatchers)) {
  await run(dispatcher, 1000);
  count = 0;
  sites.clear();
  await run(dispatcher, N);
  console.log(`${name}: ${(count / N).toFixed(2)} promises per fetch`);
  for (const [site, n] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 30))
    console.log(`${(n / N).toFixed(2).padStart(7)}  ${site}`);
}
stop();
for (const dispatcher of Object.values(dispatchers)) await dispatcher.close();
server.stop();
