import { fork } from "node:child_process";
import { clients } from "./clients.mjs";

const server = fork(new URL("./server.mjs", import.meta.url).pathname, [], {
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const ports = await new Promise((r) => server.once("message", r));
const TLS = process.env.TLS === "1";
const t = {
  url: TLS ? `https://localhost:${ports.httpsPort}` : `http://127.0.0.1:${ports.httpPort}`,
  path: process.env.P ?? "/small",
  connections: 50,
  ca: ports.ca,
};
const N = Number(process.env.N ?? 20000);
const res = {};
for (let round = 0; round < 4; round++)
  for (const name of round % 2 ? ["undici", "@x/pool"] : ["@x/pool", "undici"]) {
    const c = clients[name](t);
    let next = 0;
    const work = async () => {
      while (next++ < N / 5) await c.one();
    };
    await Promise.all(Array.from({ length: 100 }, work));
    next = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const w2 = async () => {
      while (next++ < N) await c.one();
    };
    await Promise.all(Array.from({ length: 100 }, w2));
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await c.close();
    (res[name] ??= []).push([N / s, (cpu.user + cpu.system) / N]);
  }
for (const [n, v] of Object.entries(res))
  console.log(
    n.padEnd(8),
    v.map(([r, c]) => `${(r / 1000).toFixed(1)}k req/s ${c.toFixed(0)}us cpu`).join(" | "),
  );
server.kill();
process.exit(0);
