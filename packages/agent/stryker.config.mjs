import { config } from "../../tooling/mutation/config.mjs";

// Every source file; the tests run the real clients over loopback sockets. interop.test.ts
// starts real squid for each run (seconds per mutant) and checks through it what
// agent.test.ts checks through the embedded proxies: left out, as @x/proxy's interop suites.
export default config("agent", {
  mutate: ["src/**/*.ts", "!src/index.ts"],
  testFiles: ["test/!(interop).test.ts"],
});
