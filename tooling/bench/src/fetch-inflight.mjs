// `node --expose-gc src/fetch-inflight.mjs [pool|agent] [m]` (or `pnpm --filter @x/bench
// fetch-inflight pool 500`): what one fetch() waiting for its response head keeps alive,
// through @x/undici's PoolDispatcher ("pool") or undici's own Agent ("agent"). m fetches
// (500 by default) are sent on m connections opened beforehand to a server in this process
// that holds every response; two heap snapshots, before and while they wait, are compared
// by kind and constructor, per fetch (the server's held request and response are counted
// too, the same for both). Exact: it does not depend on the machine's load.
import { readFileSync, unlinkSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { fetch } from "undici";
import { dispatcherFor } from "./fetch-load.mjs";

if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc");
const which = process.argv[2] ?? "pool";
const m = Number(process.argv[3] ?? 500);
const held = [];
const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  if (req.url === "/now") res.end("ok");
  else held.push(res);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const dispatcher = dispatcherFor(which, m);

// Open the m connections and warm the code paths up.
for (let round = 0; round < 3; round++) {
  await Promise.all(
    Array.from({ length: m }, async () => {
      const response = await fetch(`${base}/now`, { dispatcher });
      await response.arrayBuffer();
    }),
  );
}

/** Node count and self size by "kind:name", from a heap snapshot taken after full GCs. */
function census() {
  for (let i = 0; i < 4; i++) globalThis.gc();
  const file = writeHeapSnapshot(join(tmpdir(), `fetch-inflight-${process.pid}.heapsnapshot`));
  const snapshot = JSON.parse(readFileSync(file, "utf8"));
  unlinkSync(file);
  const fields = snapshot.snapshot.meta.node_fields;
  const kinds = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const [kind, name, size] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const out = new Map();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const key = `${kinds[snapshot.nodes[i + kind]]}:${String(snapshot.strings[snapshot.nodes[i + name]]).slice(0, 50)}`;
    const entry = out.get(key) ?? [0, 0];
    entry[0]++;
    entry[1] += snapshot.nodes[i + size];
    out.set(key, entry);
  }
  return out;
}

const before = census();
const pending = Array.from({ length: m }, () =>
  fetch(`${base}/held`, { dispatcher }).then((response) => response.arrayBuffer()),
);
while (held.length < m) await new Promise((resolve) => setTimeout(resolve, 20));
const during = census();
let total = 0;
const rows = [];
for (const [key, [count, size]] of during) {
  const [count0, size0] = before.get(key) ?? [0, 0];
  const bytes = (size - size0) / m;
  total += bytes;
  if (Math.abs(bytes) >= 16) rows.push([bytes, (count - count0) / m, key]);
}
console.log(`${which}: ${Math.round(total)} bytes kept per fetch waiting for its head`);
console.log("  bytes  count  kind:name (per fetch)");
for (const [bytes, count, key] of rows.sort((a, b) => b[0] - a[0]).slice(0, 30))
  console.log(`${String(Math.round(bytes)).padStart(7)} ${count.toFixed(2).padStart(6)}  ${key}`);

for (const res of held.splice(0)) res.end("ok");
await Promise.all(pending);
await dispatcher.close();
server.close();
