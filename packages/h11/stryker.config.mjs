import { config } from "../../tooling/mutation/config.mjs";

// The whole package is about 2300 mutants, about 55 minutes on a shared 2-core machine: each
// slice below is a part of it that fits in a few minutes (`pnpm mutate h11 text`).
export default config("h11", {
  mutate: ["src/**/*.ts", "!src/index.ts"],
  // linear.test.ts measures time per byte: instrumented code times out there, and a timing
  // test kills no mutant that the others do not.
  testFiles: ["test/!(linear).test.ts"],
  slices: {
    // Bytes and characters: the latin1 codec, the character classes, the ABNF, the errors.
    text: ["src/latin1.ts", "src/chars.ts", "src/abnf.ts", "src/brand.ts", "src/errors.ts"],
    // Parsing a head and its fields.
    parse: ["src/head.ts", "src/headers.ts", "src/receive-buffer.ts", "src/readers.ts"],
    // The same, in two parts of a few minutes each: the head and its fields...
    head: ["src/head.ts", "src/headers.ts"],
    // ...and the receive buffer and the body readers.
    buffer: ["src/receive-buffer.ts", "src/readers.ts"],
    // The connection, its state machine, events and writers.
    connection: ["src/connection.ts", "src/state.ts", "src/events.ts", "src/writers.ts"],
  },
});
