// RSS while @x/pool streams a large body: sampled every 20 ms; reports the growth.
import { ConnectionPool } from "@x/pool";

const url = process.argv[2];
const pool = new ConnectionPool();
global.gc?.();
const baseline = process.memoryUsage.rss();
let peak = baseline;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 20);
const t0 = performance.now();
const r = await pool.stream("GET", url);
let bytes = 0;
for await (const chunk of r) bytes += chunk.length;
const seconds = (performance.now() - t0) / 1000;
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage.rss());
await pool.close();
process.send({ bytes, baseline, peak, growth: peak - baseline, mbps: bytes / 2 ** 20 / seconds });
process.exit(0);
