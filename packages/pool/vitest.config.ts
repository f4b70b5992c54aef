import { createRequire } from "node:module";
import { defineProject } from "vitest/config";

// After every test, the sockets it opened must be closed (testkit's setup file).
const socketsClosed = createRequire(import.meta.url).resolve("@x/testkit/sockets-closed.setup");

// Under `pnpm mutate` (which sets MUTATE_SLICE), Stryker's instrumented code counts coverage
// per test on every statement: on a busy machine the load tests (2000 requests in
// pool.test.ts) take longer than vitest's default 5 s, and the tests with a deadline (a head
// dripped byte by byte, an unsolicited response 20 ms after the answer) miss it now and then;
// one failure in Stryker's initial run stops the whole run. A retry is run only for a test
// that failed, so a mutant that breaks a test for good is still killed.
const mutating = process.env.MUTATE_SLICE !== undefined;

export default defineProject({
  test: {
    name: "pool",
    include: ["test/**/*.test.ts"],
    setupFiles: [socketsClosed],
    ...(mutating ? { testTimeout: 30_000, retry: 2 } : {}),
  },
});
