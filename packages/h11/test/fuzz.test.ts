import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RemoteProtocolError } from "../src/index.js";
import { ANSWERS_UPGRADE, counter, drive, fuzzProperty, SEEDS } from "./fuzz.js";

// What each unmutated seed must give, whole or split anywhere: a parser that refused a
// valid seed (its error was swallowed as the fuzzing's expected outcome) fails here.
const EXPECTED: Record<"client" | "server", string[][]> = {
  server: [
    ["Request GET / HTTP/1.1 Host: a", "EndOfMessage", "ConnectionClosed"],
    [
      "Request POST /x HTTP/1.1 Host: a; Content-Length: 5",
      "Data hello",
      "EndOfMessage",
      "ConnectionClosed",
    ],
    [
      "Request POST / HTTP/1.1 Host: a; Transfer-Encoding: chunked",
      "Data hello",
      "EndOfMessage T: 1",
      "ConnectionClosed",
    ],
    ["Request GET / HTTP/1.0 Connection: keep-alive", "EndOfMessage", "ConnectionClosed"],
    [
      "Request CONNECT a:443 HTTP/1.1 Host: a:443",
      "EndOfMessage",
      'switched protocols, then "\\u0016\\u0003"',
    ],
    [
      "Request GET / HTTP/1.1 Host: a; Upgrade: ws; Connection: upgrade",
      "EndOfMessage",
      "ConnectionClosed",
    ],
    [
      "Request PUT / HTTP/1.1 Host: a; Expect: 100-continue; Content-Length: 1",
      "Data x",
      "EndOfMessage",
      "ConnectionClosed",
    ],
    [
      "Request GET /1 HTTP/1.1 Host: a",
      "EndOfMessage",
      "next cycle",
      "Request GET /2 HTTP/1.1 Host: a",
      "EndOfMessage",
      "ConnectionClosed",
    ],
  ],
  client: [
    [
      "Response HTTP/1.1 200 OK Content-Length: 5",
      "Data hello",
      "EndOfMessage",
      "ConnectionClosed",
    ],
    [
      "Response HTTP/1.1 200 OK Transfer-Encoding: chunked",
      "Data hello",
      "EndOfMessage",
      "ConnectionClosed",
    ],
    ["Response HTTP/1.1 200 OK", "Data until close", "EndOfMessage", "ConnectionClosed"],
    [
      "InformationalResponse HTTP/1.1 100 Continue",
      "Response HTTP/1.1 204 No Content",
      "EndOfMessage",
      "ConnectionClosed",
    ],
    [
      "Response HTTP/1.0 200 OK X: a folded; Content-Length: 1",
      "Data x",
      "EndOfMessage",
      "ConnectionClosed",
    ],
    [
      "InformationalResponse HTTP/1.1 101 Switching Upgrade: ws",
      'switched protocols, then "frames"',
    ],
    ["Response HTTP/1.1 304 Not Modified Content-Length: 9", "EndOfMessage", "ConnectionClosed"],
  ],
};

describe("fuzzing (short slice; `pnpm fuzz` runs the long one)", () => {
  for (const role of ["client", "server"] as const) {
    SEEDS[role].forEach((seed, i) => {
      it(`unmutated ${role} seed ${i} gives its events without error, however it is split`, () => {
        const every = Array.from({ length: seed.length + 1 }, (_, n) => n);
        const splits = [[], every, [1, 7, 16, 17, 18, 40], [seed.length - 1, 3]];
        for (const cuts of splits) {
          const driven = drive(role, seed, cuts, true, ANSWERS_UPGRADE.has(seed));
          expect(driven.error, `${JSON.stringify(seed)} cut at ${cuts}`).toBeNull();
          expect(driven.events, `${JSON.stringify(seed)} cut at ${cuts}`).toEqual(
            EXPECTED[role][i],
          );
        }
      });
    });
  }

  it("every seed has its expected events", () => {
    expect(EXPECTED.client).toHaveLength(SEEDS.client.length);
    expect(EXPECTED.server).toHaveLength(SEEDS.server.length);
  });

  it("a rejected input is returned as its RemoteProtocolError, with the events before it", () => {
    const driven = drive("client", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", [], true);
    expect(driven.events).toEqual(["Response HTTP/1.1 200 OK Content-Length: 5", "Data hel"]);
    expect(driven.error).toBeInstanceOf(RemoteProtocolError);
    expect(driven.error?.message).toBe(
      "peer closed connection without sending complete message body: received 3 bytes, expected 5",
    );
  });

  it("mutated messages in both roles only ever raise RemoteProtocolErrors and always progress", () => {
    const numRuns = Number(process.env.FUZZ_RUNS ?? 3000);
    const seed = Number(
      process.env.FUZZ_SEED ?? (process.env.FUZZ_RUNS ? Date.now() % 2 ** 31 : 20261126),
    );
    const before = counter.inputs;
    const started = performance.now();
    fc.assert(fuzzProperty(), { numRuns, seed });
    const inputs = counter.inputs - before;
    if (process.env.FUZZ_RUNS) {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`fuzz: ${inputs} inputs (${numRuns} properties, seed ${seed}) in ${seconds} s`);
    }
    expect(inputs).toBeGreaterThanOrEqual(numRuns);
  }, 0);
});
