// `pnpm --filter @x/bench instructions [case...]`: instructions per operation, counted by
// valgrind (callgrind) rather than timed. Wall time on a shared machine swings by 10-25%
// between runs; an instruction count repeats to within a few percent, so it can tell a
// 5% change in our own code apart from the neighbours' load.
//
// Each case runs twice under callgrind, with n = 0 and n = N iterations after the same
// warm-up; the difference divided by N is what one iteration costs (start-up, compilation
// and warm-up cancel out). V8 runs single-threaded so that GC and the compiler do the same
// work each time.
//
// Run without arguments for every case, or name some; `--worker <case> <n>` is the inner
// process.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Connection } from "@x/h11";
import { ConnectionPool, HTTP11Connection, Origin, Request } from "@x/pool";
import { echoBackend } from "./echo-backend.mjs";
import { startServer } from "./server-process.mjs";

const enc = (s) => Buffer.from(s, "latin1");
const json = JSON.stringify({ id: 12345, name: "widget", tags: ["a", "b", "c"], price: 9.99 });
// The @x/h11 benchmark's small response (seven fields) and the in-memory backend's reply.
const SMALL = enc(
  "HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 06:00:00 GMT\r\nServer: bench\r\nContent-Type: application/json; charset=utf-8\r\n" +
    `Cache-Control: no-cache\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: ${json.length}\r\n\r\n${json}`,
);
const TINY = enc("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
const HEADERS = [["Host", "example.test"]];

function parse(message) {
  const conn = new Connection("client");
  conn.receiveData(message);
  for (let e = conn.nextEvent(); e.type !== "EndOfMessage"; e = conn.nextEvent());
}

async function setup() {
  const pool = new ConnectionPool({ maxConnections: 1, networkBackend: echoBackend });
  const stream = await echoBackend.connectTcp();
  const http11 = new HTTP11Connection(new Origin("http", "example.test", 80), stream);
  const kept = new Connection("client");
  return {
    "h11 new connection": () => new Connection("client"),
    "h11 send GET": () => {
      const conn = new Connection("client");
      conn.send({ type: "Request", method: "GET", target: "/", headers: HEADERS });
      conn.send({ type: "EndOfMessage" });
    },
    "h11 parse small response": () => parse(SMALL),
    "h11 parse tiny response": () => parse(TINY),
    "h11 GET + tiny response, kept alive": () => {
      kept.send({ type: "Request", method: "GET", target: "/", headers: HEADERS });
      kept.send({ type: "EndOfMessage" });
      kept.receiveData(TINY);
      for (let e = kept.nextEvent(); e.type !== "EndOfMessage"; e = kept.nextEvent());
      kept.startNextCycle();
    },
    "pool Request": () => new Request("GET", "http://example.test/", { headers: HEADERS }),
    "HTTP11Connection GET (in memory)": async () => {
      const request = new Request("GET", "http://example.test/", { headers: HEADERS });
      await (await http11.handleRequest(request)).read();
    },
    "ConnectionPool.request GET (in memory)": () => pool.request("GET", "http://example.test/"),
  };
}

const WARMUP = 50_000;
const N = 100_000;

// Cases over real sockets: our client process only (the server, node:http in its own
// process, runs outside valgrind). Slower under valgrind, so fewer iterations. The count
// includes Node's own socket path. The first case is the one the README has tracked since
// 74fd1f1; the others run the benchmark's clients (clients.mjs, which loads all of them)
// for the same GET, to set each against the others and against a raw socket.
// clients.mjs is imported only for these: loading it costs the first case ~3k instructions
// a request (measured; the cause was not found).
const viaClients = (client) => async (url) => {
  const { clients } = await import("./clients.mjs");
  const c = clients[client]({ url, path: "/small", connections: 1, inFlight: 1 });
  return { run: () => c.one(), close: () => c.close() };
};
const LOOPBACK = {
  "ConnectionPool.request GET over loopback (client)": (base) => {
    const pool = new ConnectionPool({ maxConnections: 1 });
    const url = `${base}/small`;
    return {
      run: async () => (await pool.request("GET", url)).content.length,
      close: () => pool.close(),
    };
  },
  // fetch() (undici 7) through @x/undici's PoolDispatcher and through undici's own Agent,
  // one connection: what the adapter adds over the pool, set against undici's own client.
  "fetch PoolDispatcher GET over loopback": (base) => viaFetch(base, "PoolDispatcher"),
  "fetch undici Agent GET over loopback": (base) => viaFetch(base, "Agent"),
  "clients.mjs @x/pool GET over loopback": viaClients("@x/pool"),
  "clients.mjs undici GET over loopback": viaClients("undici"),
  "clients.mjs node:http GET over loopback": viaClients("node:http"),
  "clients.mjs raw socket GET over loopback": viaClients("raw socket"),
};
async function viaFetch(base, which) {
  const { fetch, Agent } = await import("undici");
  const { PoolDispatcher } = await import(process.env.BENCH_X_UNDICI ?? "@x/undici");
  const dispatcher =
    which === "Agent"
      ? new Agent({ connections: 1 })
      : new PoolDispatcher(new ConnectionPool({ maxConnections: 1 }));
  const url = `${base}/small`;
  return {
    run: async () => (await (await fetch(url, { dispatcher })).arrayBuffer()).byteLength,
    close: () => dispatcher.close(),
  };
}
// BENCH_LOOPBACK_N=3000 (say) for a quicker count: fewer iterations, the same warm-up share.
const LOOPBACK_N = Number(process.env.BENCH_LOOPBACK_N ?? 10_000);
const LOOPBACK_WARMUP = LOOPBACK_N;
async function loopbackCase(make) {
  const server = await startServer();
  const { run, close } = await make(`http://127.0.0.1:${server.ports.httpPort}`);
  return {
    run,
    stop: async () => {
      await close();
      server.stop();
    },
  };
}

if (process.argv[2] === "--worker") {
  const name = process.argv[3];
  const n = Number(process.argv[4]);
  if (name in LOOPBACK) {
    const { run, stop } = await loopbackCase(LOOPBACK[name]);
    for (let i = 0; i < LOOPBACK_WARMUP; i++) await run();
    for (let i = 0; i < n; i++) await run();
    await stop();
    process.exit(0);
  }
  const cases = await setup();
  const run = cases[name];
  if (run === undefined) throw new Error(`no case ${name}`);
  const first = run();
  if (first instanceof Promise) {
    await first;
    for (let i = 0; i < WARMUP; i++) await run();
    for (let i = 0; i < n; i++) await run();
  } else {
    for (let i = 0; i < WARMUP; i++) run();
    for (let i = 0; i < n; i++) run();
  }
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
function count(name, n) {
  const args = [
    "--tool=callgrind",
    "--callgrind-out-file=/dev/null",
    process.execPath,
    "--single-threaded",
    self,
    "--worker",
    name,
    String(n),
  ];
  const result = spawnSync("valgrind", args, { encoding: "utf8" });
  if (result.error?.code === "ENOENT") {
    throw new Error("valgrind is not installed (apt-get install valgrind)");
  }
  const out = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) throw new Error(`the worker failed:\n${out}`);
  const collected = /Collected : (\d+)/.exec(out);
  if (collected === null) throw new Error(`no instruction count in valgrind's output:\n${out}`);
  return Number(collected[1]);
}

const names = process.argv.slice(2).length
  ? process.argv.slice(2)
  : [...Object.keys(await setup()), ...Object.keys(LOOPBACK)];
for (const name of names) {
  const n = name in LOOPBACK ? LOOPBACK_N : N;
  const perIteration = (count(name, n) - count(name, 0)) / n;
  console.log(`${name.padEnd(40)} ${Math.round(perIteration).toLocaleString("en")} instructions`);
}
process.exit(0);
