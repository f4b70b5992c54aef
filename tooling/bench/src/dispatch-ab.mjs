// `pnpm --filter @x/bench dispatch-ab`: the dispatcher alone, without fetch: `dispatch()`
// with the smallest handler of the older API (the one fetch, request() and stream() use),
// through @x/undici's PoolDispatcher and through undici's own Agent, 50 connections, 100
// in flight, rounds alternating in one process (the order reversed every other round).
// fetch's own work is most of a fetch's CPU time; without it, what the two dispatchers
// cost shows plainly. Prints each one's median rate, the median of its per-round ratios to
// the Agent and its client CPU time per request. AB_PATH (/small), AB_ROUNDS (12), AB_N
// (20000 requests a round).
import { dispatcherFor } from "./fetch-load.mjs";
import { startServer } from "./server-process.mjs";
import { median } from "./stats.mjs";

const path = process.env.AB_PATH ?? "/small";
const rounds = Number(process.env.AB_ROUNDS ?? 12);
const n = Number(process.env.AB_N ?? 20000);
const server = await startServer();
const origin = `http://127.0.0.1:${server.ports.httpPort}`;
// The fields fetch sends.
const headers = {
  accept: "*/*",
  "accept-language": "*",
  "sec-fetch-mode": "cors",
  "user-agent": "node",
  "accept-encoding": "gzip, deflate",
};

// One request; its header names and values read as strings, as fetch reads them.
function one(dispatcher) {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    dispatcher.dispatch(
      { origin, path, method: "GET", headers },
      {
        onConnect() {},
        onHeaders(_status, raw) {
          for (const field of raw) field.toString("latin1");
          return true;
        },
        onData(chunk) {
          bytes += chunk.length;
          return true;
        },
        onComplete() {
          resolve(bytes);
        },
        onError: reject,
      },
    );
  });
}

async function many(dispatcher, count) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (next++ < count) await one(dispatcher);
    }),
  );
}

const dispatchers = {
  PoolDispatcher: dispatcherFor("pool"),
  "undici Agent": dispatcherFor("agent"),
};
const names = Object.keys(dispatchers);
const rates = Object.fromEntries(names.map((k) => [k, []]));
const cpu = Object.fromEntries(names.map((k) => [k, []]));
for (const d of Object.values(dispatchers)) await many(d, 5000);
for (let round = 0; round < rounds; round++) {
  for (const k of round % 2 === 0 ? names : [...names].reverse()) {
    const before = process.cpuUsage();
    const start = performance.now();
    await many(dispatchers[k], n);
    rates[k].push(n / ((performance.now() - start) / 1000));
    const used = process.cpuUsage(before);
    cpu[k].push((used.user + used.system) / n);
  }
}
const agent = "undici Agent";
for (const k of names) {
  const ratio = median(rates[k].map((r, i) => r / rates[agent][i]));
  console.log(
    `dispatch(): ${k}: ${median(rates[k]).toFixed(0)}/s, ÷ Agent ${ratio.toFixed(3)}x, client CPU ${median(cpu[k]).toFixed(1)} µs/request`,
  );
}
for (const d of Object.values(dispatchers)) await d.close();
server.stop();
process.exit(0);
