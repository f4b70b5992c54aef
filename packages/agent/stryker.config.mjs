import { config } from "../../tooling/mutation/config.mjs";

// Every source file; the tests run the real clients over loopback sockets.
export default config("agent", {
  mutate: ["src/**/*.ts", "!src/index.ts"],
  testFiles: ["test/*.test.ts"],
});
