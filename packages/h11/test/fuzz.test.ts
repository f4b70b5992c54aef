import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { counter, drive, fuzzProperty, SEEDS } from "./fuzz.js";

describe("fuzzing (short slice; `pnpm fuzz` runs the long one)", () => {
  it("unmutated seeds drive cleanly", () => {
    for (const role of ["client", "server"] as const) {
      for (const seed of SEEDS[role]) expect(() => drive(role, seed, [], true)).not.toThrow();
    }
  });

  it("mutated messages in both roles only ever raise protocol errors and always progress", () => {
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
