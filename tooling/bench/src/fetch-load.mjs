// What the fetch-* tools share: the two dispatchers they compare, and fetch() kept busy as
// the adapters benchmark keeps it (100 requests in flight, each body read whole).
import { ConnectionPool } from "@x/pool";
import { PoolDispatcher } from "@x/undici";
import { Agent, fetch } from "undici";

/** @x/undici's PoolDispatcher ("pool") or undici's own Agent ("agent"), `connections` each. */
export function dispatcherFor(which, connections = 50) {
  return which === "pool"
    ? new PoolDispatcher(new ConnectionPool({ maxConnections: connections }))
    : new Agent({ connections });
}

/** `n` fetches of `url` through `dispatcher`, `inFlight` at a time. */
export async function fetchMany(dispatcher, url, n, inFlight = 100) {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < n) {
        const response = await fetch(url, { dispatcher });
        await response.arrayBuffer();
      }
    }),
  );
}
