import { describe, expect, it } from "vitest";
import { Connection, NEED_DATA } from "../src/index.js";
import { enc } from "./helpers.js";

// Counts work by events and bytes, not wall time: feeding N bytes one at a time must take
// time proportional to N. We compare the time per byte at two sizes with a wide margin,
// taking the best of several runs to shrug off a noisy machine.
function feedByteByByte(size: number): number {
  const body = "x".repeat(size);
  const wire = enc(
    `HTTP/1.1 200 OK\r\nX-Long: ${"h".repeat(Math.min(size, 12000))}\r\nTransfer-Encoding: chunked\r\n\r\n${size.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
  );
  const conn = new Connection("client");
  conn.send({ type: "Request", method: "GET", target: "/", headers: [["Host", "a"]] });
  conn.send({ type: "EndOfMessage" });
  let received = 0;
  const start = performance.now();
  for (let i = 0; i < wire.length; i++) {
    conn.receiveData(wire.subarray(i, i + 1));
    for (let ev = conn.nextEvent(); ev !== NEED_DATA; ev = conn.nextEvent()) {
      if (ev.type === "Data") received += ev.data.length;
      if (ev.type === "EndOfMessage") break;
    }
  }
  const elapsed = performance.now() - start;
  expect(received).toBe(size);
  return elapsed / wire.length;
}

describe("parsing is O(n)", () => {
  it("feeding 16x more bytes one at a time costs about 16x the time, not 256x", () => {
    const best = (size: number) => Math.min(...[0, 1, 2].map(() => feedByteByByte(size)));
    feedByteByByte(4000); // warm up
    const small = best(8_000);
    const large = best(128_000);
    // Quadratic behaviour would make the per-byte cost grow ~16x; allow 4x for noise.
    expect(large / small).toBeLessThan(4);
  });
});
