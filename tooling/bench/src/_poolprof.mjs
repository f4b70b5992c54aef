import { fork } from "node:child_process";
import { ConnectionPool } from "@x/pool";

const server = fork(new URL("./server.mjs", import.meta.url).pathname, [], {
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const ports = await new Promise((r) => server.once("message", r));
const pool = new ConnectionPool({ maxConnections: 50 });
const url = `http://127.0.0.1:${ports.httpPort}${process.env.P ?? "/small"}`;
let next = 0;
const N = Number(process.env.N ?? 60000);
const t0 = performance.now();
await Promise.all(
  Array.from({ length: 100 }, async () => {
    while (next++ < N) await pool.request("GET", url);
  }),
);
const cpu = process.cpuUsage();
console.log(
  ((cpu.user + cpu.system) / N).toFixed(1),
  "us CPU/req (incl. startup)",
  (N / ((performance.now() - t0) / 1000)).toFixed(0),
  "req/s",
);
await pool.close();
server.kill();
process.exit(0);
