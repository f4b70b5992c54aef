// `pnpm --filter @x/bench fetch-profile`: where a fetch()'s CPU time goes, through
// @x/undici's PoolDispatcher and through undici's own Agent, by area (our packages, undici's
// client, fetch itself, node's streams, the collector ...), in µs per fetch. The two run in
// one process, rounds alternating (the order reversed every other round), and V8's sampling
// profiler is started and stopped around each round, so each dispatcher gets a profile of
// its own taken under the same load: the areas compare even when the machine is noisy,
// which two separate `node --cpu-prof` runs do not. Sampling, so each number is ±5% or so.
// "undici client" in PoolDispatcher's column is the part of undici's core that fetch itself
// calls (addAbortListener, isDisturbed). Areas under 0.25 µs a fetch are left out.
// PROFILE_PATH (/small), PROFILE_ROUNDS (10), PROFILE_N (3000 fetches a round),
// PROFILE_FUNCTIONS (0: how many of the top functions in our packages and undici's client
// to list). Runs on the built packages.
import { Session } from "node:inspector/promises";
import { dispatcherFor, fetchMany } from "./fetch-load.mjs";
import { startServer } from "./server-process.mjs";

const path = process.env.PROFILE_PATH ?? "/small";
const rounds = Number(process.env.PROFILE_ROUNDS ?? 10);
const n = Number(process.env.PROFILE_N ?? 3000);
const topFunctions = Number(process.env.PROFILE_FUNCTIONS ?? 0);

// The area a sampled frame belongs to.
function areaOf(callFrame) {
  if (callFrame.functionName === "(garbage collector)") return "(gc)";
  if (callFrame.functionName === "(idle)") return "(idle)";
  const url = callFrame.url;
  if (url === "") return "(native)";
  const at = url.indexOf("/packages/");
  if (at !== -1)
    return url
      .slice(at + 1)
      .split("/")
      .slice(0, 2)
      .join("/");
  if (url.startsWith("wasm")) return "undici client";
  if (url.includes("/undici/lib/"))
    return url.includes("/lib/web/") ? "undici fetch" : "undici client";
  if (url.startsWith("node:")) return url.split("/").slice(0, 3).join("/");
  return "other";
}
const ours = (area) => area.startsWith("packages/") || area === "undici client";

const server = await startServer();
const url = `http://127.0.0.1:${server.ports.httpPort}${path}`;
const dispatchers = {
  PoolDispatcher: dispatcherFor("pool"),
  "undici Agent": dispatcherFor("agent"),
};
const names = Object.keys(dispatchers);
for (const d of Object.values(dispatchers)) await fetchMany(d, url, 3000);

const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: 100 });
const areas = Object.fromEntries(names.map((k) => [k, new Map()]));
const cpu = Object.fromEntries(names.map((k) => [k, 0]));
const functions = new Map();
const add = (map, key, t) => map.set(key, (map.get(key) ?? 0) + t);
for (let round = 0; round < rounds; round++) {
  for (const k of round % 2 === 0 ? names : [...names].reverse()) {
    await session.post("Profiler.start");
    const before = process.cpuUsage();
    await fetchMany(dispatchers[k], url, n);
    const used = process.cpuUsage(before);
    const { profile } = await session.post("Profiler.stop");
    cpu[k] += used.user + used.system;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    for (let i = 0; i < profile.samples.length; i++) {
      const frame = nodes.get(profile.samples[i]).callFrame;
      const t = profile.timeDeltas[i] ?? 0;
      const area = areaOf(frame);
      add(areas[k], area, t);
      if (topFunctions > 0 && ours(area)) {
        const file = frame.url.split("/").slice(-3).join("/");
        add(
          functions,
          `${k}: ${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber}`,
          t,
        );
      }
    }
  }
}

const total = rounds * n;
const perFetch = (us) => (us / total).toFixed(2).padStart(8);
const all = new Set(names.flatMap((k) => [...areas[k].keys()]));
const sum = (area) => names.reduce((s, k) => s + (areas[k].get(area) ?? 0), 0);
console.log(`µs per fetch of ${path}, ${rounds} rounds of ${n}, sampled:`);
console.log(`${"area".padEnd(40)}${names.map((k) => k.padStart(16)).join("")}`);
for (const area of [...all].sort((a, b) => sum(b) - sum(a))) {
  const row = names.map((k) => perFetch(areas[k].get(area) ?? 0).padStart(16)).join("");
  if (sum(area) / total >= 0.5) console.log(`${area.padEnd(40)}${row}`);
}
const totals = names.map((k) => [...areas[k].values()].reduce((a, b) => a + b, 0));
console.log(`${"all samples".padEnd(40)}${totals.map((t) => perFetch(t).padStart(16)).join("")}`);
console.log(
  `${"process CPU time".padEnd(40)}${names.map((k) => perFetch(cpu[k]).padStart(16)).join("")}`,
);
if (topFunctions > 0) {
  console.log("\nTop functions of our packages and undici's client, µs per fetch:");
  for (const [key, t] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, topFunctions)) {
    console.log(`${perFetch(t)}  ${key}`);
  }
}
for (const d of Object.values(dispatchers)) await d.close();
server.stop();
process.exit(0);
