import { config } from "../../tooling/mutation/config.mjs";

// The whole package is thousands of mutants, most behind tests on real sockets: mutate it in
// slices (`pnpm mutate pool pure`). soak.test.ts is thousands of requests for what the other
// tests already check.
export default config("pool", {
  mutate: ["src/**/*.ts", "!src/index.ts", "!src/connection-interface.ts"],
  testFiles: ["test/!(soak).test.ts"],
  slices: {
    // No sockets: requests and responses, URLs, bodies, bytes, the errors.
    pure: ["src/models.ts", "src/url.ts", "src/body.ts", "src/bytes.ts", "src/errors.ts"],
    // HTTP/1.1 over a socket, the pool, the Node backend.
    sockets: ["src/http11.ts", "src/connection-pool.ts", "src/node-backend.ts"],
  },
});
