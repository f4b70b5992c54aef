import { fork } from "node:child_process";
import { Pool } from "undici";

const server = fork("/work/main/tooling/bench/src/server.mjs", [], {
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const ports = await new Promise((r) => server.once("message", r));
const pool = new Pool(`http://127.0.0.1:${ports.httpPort}`, { connections: 50, pipelining: 1 });
let next = 0;
const N = Number(process.env.N ?? 60000);
const t0 = performance.now();
await Promise.all(
  Array.from({ length: 100 }, async () => {
    while (next++ < N) {
      const { body } = await pool.request({ path: process.env.P ?? "/small", method: "GET" });
      await body.arrayBuffer();
    }
  }),
);
const cpu = process.cpuUsage();
console.log(
  ((cpu.user + cpu.system) / N).toFixed(1),
  "us CPU/req (incl. startup)",
  (N / ((performance.now() - t0) / 1000)).toFixed(0),
  "req/s undici",
);
await pool.close();
server.kill();
process.exit(0);
