// `pnpm --filter @x/bench fetch-alloc [pool|agent] [n] [small|64k]`: what fetch() allocates
// per request over @x/undici's PoolDispatcher ("pool") or undici's own Agent ("agent"), at
// the adapters benchmark's concurrency (50 connections, 100 in flight), after a warm-up of
// 3000 requests. V8's sampling heap profiler keeps the objects the collector has freed too
// (every allocation, not what survives), one sample per 256 bytes; it prints the bytes per
// request and the functions that allocate them, by self size. Allocation repeats to within
// a few percent where wall time does not: use it to tell whether a change allocates less.
// Runs on the built packages (`pnpm build`).
import { Session } from "node:inspector/promises";
import { dispatcherFor, fetchMany } from "./fetch-load.mjs";
import { startServer } from "./server-process.mjs";

const server = await startServer();
const url = `http://127.0.0.1:${server.ports.httpPort}/${process.argv[4] ?? "small"}`;
const which = process.argv[2] ?? "pool";
const dispatcher = dispatcherFor(which);
const run = (n) => fetchMany(dispatcher, url, n);
await run(3000);
const s = new Session();
s.connect();
await s.post("HeapProfiler.enable");
await s.post("HeapProfiler.startSampling", {
  samplingInterval: 256,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
const N = Number(process.argv[3] ?? 5000);
await run(N);
const { profile } = await s.post("HeapProfiler.stopSampling");
const self = new Map();
let total = 0;
(function walk(n, stack) {
  const cf = n.callFrame;
  const name = `${cf.functionName || "anon"} ${cf.url.split("/").slice(-2).join("/")}:${cf.lineNumber}`;
  if (n.selfSize) {
    self.set(name, (self.get(name) ?? 0) + n.selfSize);
    total += n.selfSize;
  }
  for (const c of n.children) walk(c, stack);
})(profile.head, []);
console.log(which, "bytes/request", Math.round(total / N));
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40))
  console.log(String(Math.round(v / N)).padStart(7), k);
await dispatcher.close();
server.stop();
