// Memory per idle kept-alive connection: one client per process (`node --expose-gc
// idle-memory.mjs <client> <url> <n>`), n connections opened by n concurrent GETs of a small
// response, then left idle. Heap, external memory and RSS are read after a full GC, once
// with one connection open and once with n, and the difference is divided by n - 1.
// Run from main.mjs (scenario "idle-memory") for @x/pool, undici and node:http.
import http from "node:http";
import { ConnectionPool } from "@x/pool";
import { Pool } from "undici";

const [client, url, nText] = process.argv.slice(2);
const n = Number(nText);
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

function measure() {
  for (let i = 0; i < 4; i++) global.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}

const clients = {
  "@x/pool": () => {
    const pool = new ConnectionPool({ maxConnections: n });
    return {
      get: async () => {
        await pool.request("GET", `${url}/small`);
      },
      open: () => pool.connections.length,
      close: () => pool.close(),
    };
  },
  undici: () => {
    const pool = new Pool(url, { connections: n, pipelining: 1 });
    return {
      get: async () => {
        const r = await pool.request({ method: "GET", path: "/small" });
        await r.body.arrayBuffer();
      },
      open: () => pool.stats.connected,
      close: () => pool.close(),
    };
  },
  "node:http": () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: n, maxFreeSockets: n });
    return {
      get: () =>
        new Promise((resolve, reject) => {
          http
            .get(`${url}/small`, { agent }, (res) => {
              res.resume();
              res.on("end", resolve);
              res.on("error", reject);
            })
            .on("error", reject);
        }),
      open: () => Object.values(agent.freeSockets).reduce((sum, list) => sum + list.length, 0),
      close: async () => agent.destroy(),
    };
  },
};

const c = clients[client]();
await c.get();
await settle();
const one = measure();
const openBefore = c.open();
await Promise.all(Array.from({ length: n }, () => c.get()));
await settle();
const all = measure();
const openAfter = c.open();
const per = (key) => (all[key] - one[key]) / (openAfter - openBefore);
process.send({
  client,
  connections: openAfter,
  heap: per("heap"),
  external: per("external"),
  rss: per("rss"),
});
await c.close();
process.exit(0);
