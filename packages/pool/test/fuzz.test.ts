// The pool against mutated server responses: every request ends in a Response or a typed
// TransportError (never another error, never a hang), and no connection stays ACTIVE.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ConnectionPool,
  MockBackend,
  type NetworkBackend,
  type NetworkStream,
  TransportError,
} from "../src/index.js";

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

// Splits `wire` at the cut points (each taken modulo its length).
function cut(wire: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let last = 0;
  for (const p of [...points, wire.length]) {
    if (p > last) chunks.push(wire.slice(last, p));
    last = p;
  }
  return chunks;
}

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/**
 * Every connection has all of the server's bytes on their way at once (as a server that
 * answered twice would have them): reads hand them out in the scripted pieces, and until
 * they are all read the stream says it is readable, as a socket with bytes waiting does.
 */
class SentAtOnceStream implements NetworkStream {
  readonly #chunks: Uint8Array[];
  closed = false;
  constructor(chunks: Uint8Array[]) {
    this.#chunks = [...chunks];
  }
  async read(): Promise<Uint8Array> {
    return this.#chunks.shift() ?? new Uint8Array(0);
  }
  async write(): Promise<void> {}
  async close(): Promise<void> {
    this.closed = true;
  }
  async startTls(): Promise<NetworkStream> {
    return this;
  }
  getExtraInfo(key: string): unknown {
    if (key === "is_readable") return this.#chunks.length > 0;
    return undefined;
  }
}

class SentAtOnceBackend implements NetworkBackend {
  readonly streams: SentAtOnceStream[] = [];
  constructor(readonly chunks: Uint8Array[]) {}
  async connectTcp(): Promise<NetworkStream> {
    const stream = new SentAtOnceStream(this.chunks);
    this.streams.push(stream);
    return stream;
  }
  connectUnixSocket(): Promise<NetworkStream> {
    return this.connectTcp();
  }
  async sleep(): Promise<void> {}
}

// What each unmutated seed must give: a pool that refused a valid response would pass the
// property below (an error is an allowed outcome for mutated input), but not this.
const EXPECTED: Array<[number, string]> = [
  [200, "hello"],
  [200, "hello"],
  [204, ""],
  [200, "until close"],
  [301, ""],
];

describe("the unmutated seeds", () => {
  SEEDS.forEach((seed, i) => {
    it(`seed ${i} gives its response, however it is split`, async () => {
      const wire = latin1(seed);
      const every = Array.from({ length: wire.length }, (_, n) => n);
      for (const cuts of [[], every, [5, 17, 18, 33]]) {
        await using pool = new ConnectionPool({ networkBackend: new MockBackend(cut(wire, cuts)) });
        const r = await pool.request("GET", "http://fuzz.test/");
        expect([r.status, new TextDecoder().decode(r.content)]).toEqual(EXPECTED[i]);
      }
    });
  });

  it("every seed has its expected response", () => {
    expect(EXPECTED).toHaveLength(SEEDS.length);
  });
});

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
          const chunks = cut(latin1(mutate(seed, mutations)), cuts);
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

describe("fuzzing the pool with a server that answers one request twice", () => {
  it("the second answer (mutated) never answers anything; each connection serves one", async () => {
    const first = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst";
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SEEDS),
        fc.array(mutation, { maxLength: 5 }),
        fc.array(fc.nat({ max: 120 }), { maxLength: 4 }),
        fc.boolean(),
        async (seed, mutations, cuts, streamIt) => {
          const backend = new SentAtOnceBackend(cut(latin1(first + mutate(seed, mutations)), cuts));
          const pool = new ConnectionPool({ networkBackend: backend });
          try {
            for (let i = 0; i < 3; i++) {
              let body: string;
              if (streamIt) {
                const r = await pool.stream("GET", "http://fuzz.test/");
                body = new TextDecoder().decode(await r.read());
              } else {
                body = new TextDecoder().decode(
                  (await pool.request("GET", "http://fuzz.test/")).content,
                );
              }
              // Only ever the answer a connection gives first.
              expect(body).toBe("first");
              expect(backend.streams.length).toBe(i + 1);
            }
            // Every connection that had bytes behind its answer was closed.
            expect(backend.streams.slice(0, -1).every((s) => s.closed)).toBe(true);
          } finally {
            await pool.close();
          }
        },
      ),
      {
        numRuns: Number(process.env.FUZZ_RUNS ?? 500),
        seed: Number(process.env.FUZZ_SEED ?? (process.env.FUZZ_RUNS ? Date.now() % 2 ** 31 : 11)),
      },
    );
  }, 60_000);
});
