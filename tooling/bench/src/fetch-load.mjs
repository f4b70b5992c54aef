// What the fetch-* tools and dispatch-ab share: the two dispatchers they compare, requests
// kept in flight (keepBusy; fetch() as the adapters benchmark runs it: 100 in flight, each
// body read whole), and paired rounds.
import { ConnectionPool } from "@x/pool";
import { PoolDispatcher } from "@x/undici";
import { Agent, fetch } from "undici";
import { median } from "./stats.mjs";

/** @x/undici's PoolDispatcher ("pool") or undici's own Agent ("agent"), `connections` each. */
export function dispatcherFor(which, connections = 50) {
  return which === "pool"
    ? new PoolDispatcher(new ConnectionPool({ maxConnections: connections }))
    : new Agent({ connections });
}

/** `one()` called `n` times in all, `inFlight` at a time. */
export async function keepBusy(n, one, inFlight = 100) {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < n) await one();
    }),
  );
}

/** `n` fetches of `url` through `dispatcher`, `inFlight` at a time. */
export function fetchMany(dispatcher, url, n, inFlight = 100) {
  return keepBusy(
    n,
    async () => {
      const response = await fetch(url, { dispatcher });
      await response.arrayBuffer();
    },
    inFlight,
  );
}

/**
 * Paired rounds: `run(dispatcher, n)` for each dispatcher in turn, `rounds` times, the order
 * reversed every other round; then, for each, its median rate, the median of its per-round
 * ratios to `reference`'s, and its median client CPU time per request (µs), printed as
 * `label`s lines.
 */
export async function pairedRounds(dispatchers, { rounds, n, run, reference, label, unit }) {
  const names = Object.keys(dispatchers);
  const rates = Object.fromEntries(names.map((k) => [k, []]));
  const cpu = Object.fromEntries(names.map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    for (const k of round % 2 === 0 ? names : [...names].reverse()) {
      const before = process.cpuUsage();
      const start = performance.now();
      await run(dispatchers[k], n);
      rates[k].push(n / ((performance.now() - start) / 1000));
      const used = process.cpuUsage(before);
      cpu[k].push((used.user + used.system) / n);
    }
  }
  for (const k of names) {
    const ratio = median(rates[k].map((r, i) => r / rates[reference][i]));
    console.log(
      `${label}${k}: ${median(rates[k]).toFixed(0)}/s, ÷ ${reference} ${ratio.toFixed(3)}x, client CPU ${median(cpu[k]).toFixed(1)} µs/${unit}`,
    );
  }
}
