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
    // HTTP/1.1 over a socket.
    http11: ["src/http11.ts"],
    // The pool: capacity, queueing, keep-alive and expiry; the connection that dials on first
    // use; the deferred and abort plumbing between them.
    pool: [
      "src/connection-pool.ts",
      "src/connection.ts",
      "src/deferred.ts",
      "src/abort.ts",
      "src/settled.ts",
    ],
    // HTTP/2 over a session.
    http2: ["src/http2.ts"],
    // The Node backend, the dialer (TCP, TLS, Unix, ALPN), the network stream, the mock
    // backend, tracing.
    backend: [
      "src/node-backend.ts",
      "src/dialer.ts",
      "src/network-socket.ts",
      "src/network.ts",
      "src/mock-backend.ts",
      "src/trace.ts",
      "src/printable.ts",
    ],
  },
});
