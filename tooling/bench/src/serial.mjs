// `pnpm --filter @x/bench serial [client] [n]`: serial GETs of the small response from one
// of the benchmark's clients (clients.mjs: "@x/pool", "undici", "node:http", "raw socket")
// to the benchmark's server in another process, one connection, one request at a time.
// Prints the wall time and the client process's user and system CPU per request: with one
// connection the clients share the server's and the kernel's time, so the CPU tells them
// apart where the wall time mostly does not. Runs on the built packages (`pnpm build`).
import { clients } from "./clients.mjs";
import { startServer } from "./server-process.mjs";

const [name = "@x/pool", count = "20000"] = process.argv.slice(2);
const n = Number(count);
if (!(name in clients)) throw new Error(`no client ${name}: ${Object.keys(clients).join(", ")}`);
const server = await startServer();
const client = clients[name]({
  url: `http://127.0.0.1:${server.ports.httpPort}`,
  path: "/small",
  connections: 1,
  inFlight: 1,
});
for (let i = 0; i < 2000; i++) await client.one();
const t0 = performance.now();
const cpu0 = process.cpuUsage();
for (let i = 0; i < n; i++) await client.one();
const cpu = process.cpuUsage(cpu0);
const per = (us) => (us / n).toFixed(1);
console.log(
  `${name}: ${per((performance.now() - t0) * 1000)} µs wall, ${per(cpu.user)} µs user, ${per(cpu.system)} µs sys per request (${n})`,
);
await client.close();
server.stop();
