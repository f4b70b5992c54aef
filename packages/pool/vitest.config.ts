import { defineProject } from "vitest/config";

// Under `pnpm mutate` (which sets MUTATE_SLICE), Stryker's instrumented code counts coverage
// per test on every statement: the load tests (2000 requests in pool.test.ts) then take longer
// than vitest's default 5 s on a busy machine, and a failed initial run stops the whole run.
const mutating = process.env.MUTATE_SLICE !== undefined;

export default defineProject({
  test: {
    name: "pool",
    include: ["test/**/*.test.ts"],
    ...(mutating ? { testTimeout: 30_000 } : {}),
  },
});
