import { config } from "../../tooling/mutation/config.mjs";

export default config("h11", {
  mutate: ["src/**/*.ts", "!src/index.ts"],
  // linear.test.ts measures time per byte: instrumented code times out there, and a timing
  // test kills no mutant that the others do not.
  testFiles: ["test/!(linear).test.ts"],
});
