// The pool against mutated server responses: every request ends in a Response or a typed
// TransportError (never another error, never a hang), and no connection stays ACTIVE.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConnectionPool, MockBackend, TransportError } from "../src/index.js";

const SEEDS = [
  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\n",
  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
  "HTTP/1.0 200 OK\r\nX: a\r\n  folded\r\n\r\nuntil close",
  "HTTP/1.1 301 Moved\r\nLocation: /x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
];

const mutation = fc.record({
  at: fc.nat(),
  del: fc.nat({ max: 4 }),
  ins: fc.oneof(
    fc.constantFrom("\r", "\n", "\r\n", " ", ":", "0", "f", "\0", "chunked", "Content-Length: "),
    fc.string({ maxLength: 4 }),
  ),
});

function mutate(seed: string, mutations: Array<{ at: number; del: number; ins: string }>): string {
  let s = seed;
  for (const m of mutations) {
    const at = m.at % (s.length + 1);
    s = s.slice(0, at) + m.ins + s.slice(at + m.del);
  }
  return s;
}

describe("fuzzing the pool with mutated responses", () => {
  it("only Responses or TransportErrors come out, and nothing stays ACTIVE", async () => {
    let responses = 0;
    let errors = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SEEDS),
        fc.array(mutation, { maxLength: 5 }),
        fc.array(fc.nat({ max: 40 }), { maxLength: 4 }),
        async (seed, mutations, cuts) => {
          const wire = Uint8Array.from(mutate(seed, mutations), (c) => c.charCodeAt(0) & 0xff);
          const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let last = 0;
          for (const p of [...points, wire.length]) {
            if (p > last) chunks.push(wire.slice(last, p));
            last = p;
          }
          const pool = new ConnectionPool({ networkBackend: new MockBackend(chunks) });
          try {
            const r = await pool.request("GET", "http://fuzz.test/");
            expect(r.status).toBeGreaterThanOrEqual(100);
            responses++;
          } catch (error) {
            expect(error).toBeInstanceOf(TransportError);
            expect((error as TransportError).code).toMatch(/^ERR_[A-Z_]+$/);
            errors++;
          }
          expect(pool.connections.filter((c) => !c.isIdle())).toEqual([]);
          await pool.close();
        },
      ),
      {
        numRuns: Number(process.env.FUZZ_RUNS ?? 1500),
        seed: Number(process.env.FUZZ_SEED ?? (process.env.FUZZ_RUNS ? Date.now() % 2 ** 31 : 7)),
      },
    );
    expect(responses).toBeGreaterThan(0);
    expect(errors).toBeGreaterThan(0);
  }, 60_000);
});
