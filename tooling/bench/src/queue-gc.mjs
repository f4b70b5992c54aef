// `pnpm --filter @x/bench queue-gc`: where the queue scenario's extra time per request goes
// when 10 000 requests wait instead of 100. It runs that scenario with the in-memory
// backend (main.mjs's "@x/pool (in-memory backend)") in a child process under V8's
// --trace-gc-nvp and reads, for the young-generation collections (scavenges) of the
// measured part only: how many, their pause, and how many bytes each had to copy (kept in
// the young generation, or promoted to the old one). A scavenge costs about what it copies.
//
// Two harnesses: "kept" holds every response until its batch is done, as main.mjs does
// (Promise.all); "dropped" lets each response go as soon as it arrives. And a floor that is
// not the pool: ten workers serve a plain queue of promises, allocating per request about
// what the pool allocates (~5.6 KB of small objects) and resolving each with either a new
// small object graph the size of a Response ("floor, graph") or undefined ("floor,
// undefined"): what any promise-returning queue costs the collector at this allocation rate.
// And "kept" again in a process whose young generation is four times V8's default
// (--max-semi-space-size=64): what an application can do about it.
//
// Last, the heap a kept response takes (10 000 held, heap used before and after, both after
// a full collection).
//
// POOL_DIST=<dir>/index.js runs another build of @x/pool (a copy of a dist folder kept
// inside packages/pool so that it finds @x/h11), for A/B comparisons.
// `--worker <harness> <queued>` and `--held` are the inner processes.
import { spawnSync } from "node:child_process";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { table } from "./stats.mjs";

const TOTAL = 200000;
const WARM_UP = 50000;

// The floor: a FIFO of waiting promises served by ten workers.
function floorClient(resolveWith) {
  let waiting = [];
  let head = 0;
  let workers = 0;
  const garbage = () => {
    let last = null;
    for (let i = 0; i < 47; i++) last = { i, a: [i, i, i], last: null };
    return last;
  };
  const work = async () => {
    workers++;
    while (head < waiting.length) {
      const resolve = waiting[head];
      waiting[head++] = undefined;
      await null;
      garbage();
      resolve(resolveWith());
    }
    waiting = [];
    head = 0;
    workers--;
  };
  return () =>
    new Promise((resolve) => {
      waiting.push(resolve);
      if (workers < 10) void work();
    });
}
const responseLike = () => ({
  status: 200,
  headers: [["Content-Length", "2"]],
  content: new Uint8Array(2),
  extensions: { httpVersion: "1.1", reasonPhrase: "OK" },
});

async function worker(harness, queued) {
  const { ConnectionPool } = await import(process.env.POOL_DIST ?? "@x/pool");
  const { echoBackend } = await import("./echo-backend.mjs");
  let scavenges = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.detail?.kind === 1) scavenges++;
  }).observe({ entryTypes: ["gc"] });
  const settle = async () => {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  };
  const pool = new ConnectionPool({ maxConnections: 10, networkBackend: echoBackend });
  const get = {
    kept: () => pool.request("GET", "http://queue.test/"),
    dropped: () => pool.request("GET", "http://queue.test/").then(() => undefined),
    "floor, graph": floorClient(responseLike),
    "floor, undefined": floorClient(() => undefined),
  }[harness];
  const run = async (total) => {
    for (let done = 0; done < total; done += queued) {
      await Promise.all(Array.from({ length: queued }, get));
    }
  };
  await run(WARM_UP);
  await settle();
  const before = scavenges;
  const t0 = performance.now();
  await run(TOTAL);
  const us = ((performance.now() - t0) * 1000) / TOTAL;
  await settle();
  const during = scavenges - before;
  await pool.close();
  // On stderr: stdout carries V8's trace, which the parent reads.
  process.stderr.write(`${JSON.stringify({ before, during, us })}\n`);
}

async function held() {
  const { ConnectionPool } = await import(process.env.POOL_DIST ?? "@x/pool");
  const { echoBackend } = await import("./echo-backend.mjs");
  const pool = new ConnectionPool({ maxConnections: 10, networkBackend: echoBackend });
  const get = () => pool.request("GET", "http://queue.test/");
  await Promise.all(Array.from({ length: 1000 }, get));
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const kept = await Promise.all(Array.from({ length: 10000 }, get));
  globalThis.gc();
  const bytes = (process.memoryUsage().heapUsed - before) / kept.length;
  await pool.close();
  process.stdout.write(`${bytes.toFixed(0)}\n`);
}

function parent() {
  const rows = [];
  const runs = [
    ["kept", []],
    ["dropped", []],
    ["floor, graph", []],
    ["floor, undefined", []],
    // The same pool with a young generation four times V8's default (16 MiB semi-spaces
    // on 64-bit): waiting requests are then mostly gone before a scavenge finds them.
    ["kept", ["--max-semi-space-size=64"]],
  ];
  for (const [harness, flags] of runs) {
    for (const queued of [100, 10000]) {
      const child = spawnSync(
        process.execPath,
        [
          "--trace-gc-nvp",
          ...flags,
          fileURLToPath(import.meta.url),
          "--worker",
          harness,
          String(queued),
        ],
        { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
      );
      if (child.status !== 0) throw new Error(`worker failed: ${child.stderr}`);
      const { before, during, us } = JSON.parse(child.stderr.trim().split("\n").at(-1));
      // The scavenges of the measured part, in order: skip those of the warm-up.
      const lines = child.stdout.split("\n").filter((l) => l.includes(" gc=s "));
      const measured = lines.slice(before, before + during);
      const field = (line, name) => Number(line.match(new RegExp(` ${name}=([0-9.]+)`))[1]);
      let pause = 0;
      let survived = 0;
      let promoted = 0;
      for (const line of measured) {
        pause += field(line, "pause");
        survived += field(line, "new_space_survived");
        promoted += field(line, "promoted");
      }
      const n = measured.length;
      rows.push([
        flags.length === 0 ? harness : `${harness}, ${flags.join(" ")}`,
        String(queued),
        us.toFixed(2),
        ((pause * 1000) / TOTAL).toFixed(2),
        String(n),
        (pause / n).toFixed(2),
        (survived / n / 1024).toFixed(0),
        (promoted / n / 1024).toFixed(0),
        ((survived + promoted) / TOTAL).toFixed(0),
      ]);
      process.stderr.write(`done: ${harness} ${flags.join(" ")} ${queued}\n`);
    }
  }
  console.log(
    table(
      [
        "responses",
        "queued",
        "µs/req",
        "scavenge µs/req",
        "scavenges",
        "ms each",
        "KiB survived each",
        "KiB promoted each",
        "B copied per req",
      ],
      rows,
    ),
  );
  console.log(`(${TOTAL} requests after ${WARM_UP} of warm-up, in memory, maxConnections 10)`);
  const child = spawnSync(
    process.execPath,
    ["--expose-gc", fileURLToPath(import.meta.url), "--held"],
    { encoding: "utf8" },
  );
  if (child.status !== 0) throw new Error(`worker failed: ${child.stderr}`);
  console.log(`A kept response (one field, in memory): ${child.stdout.trim()} bytes of heap.`);
}

if (process.argv[2] === "--worker") await worker(process.argv[3], Number(process.argv[4]));
else if (process.argv[2] === "--held") await held();
else parent();
