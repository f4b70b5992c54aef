import { config } from "../../tooling/mutation/config.mjs";

// The whole package is thousands of mutants behind tests that start real proxies: mutate it
// in slices (`pnpm mutate proxy pure`). interop.test.ts and socks-interop.test.ts need squid,
// tinyproxy, dante and microsocks, and env-child.test.ts runs built code in child processes,
// where no mutant is active: all three are left out.
export default config("proxy", {
  mutate: ["src/**/*.ts", "!src/index.ts"],
  testFiles: ["test/!(interop|socks-interop|env-child).test.ts"],
  slices: {
    // No sockets: NO_PROXY and the environment, route matching (parsing the routes' keys and
    // proxy URLs, and choosing one for a URL), Digest, challenges, argument and header checks.
    pure: [
      "src/no-proxy.ts",
      "src/env.ts",
      "src/router.ts:102-278",
      "src/router.ts:407-430",
      "src/challenges.ts",
      "src/digest.ts",
      "src/arguments.ts",
      "src/headers.ts",
    ],
    // The SOCKS handshakes, on sockets.
    socks: ["src/socks.ts"],
    // The proxies on sockets: the CONNECT tunnel, forwarding, HTTPProxy and SOCKSProxy, proxy
    // authentication, the router's pool side, the errors.
    proxies: [
      "src/tunnel.ts",
      "src/forward.ts",
      "src/http-proxy.ts",
      "src/socks-proxy.ts",
      "src/proxy-auth.ts",
      "src/router.ts:1-101",
      "src/router.ts:279-406",
      "src/router.ts:431-538",
      "src/errors.ts",
    ],
  },
});
