import { createRequire } from "node:module";
import { defineProject } from "vitest/config";

// After every test, the sockets it opened must be closed (testkit's setup file).
const socketsClosed = createRequire(import.meta.url).resolve("@x/testkit/sockets-closed.setup");

export default defineProject({
  test: {
    name: "proxy",
    include: ["test/**/*.test.ts"],
    setupFiles: [socketsClosed],
  },
});
