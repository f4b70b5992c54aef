import { expect, it } from "vitest";
import * as proxy from "../src/index.js";

it("exports exactly the public API", () => {
  expect(Object.keys(proxy).sort()).toEqual(
    [
      "ConnectDialer",
      "ForwardHTTPConnection",
      "HTTPProxy",
      "PROXY_ERROR_BODY_LIMIT",
      "ProxyAuthenticator",
      "ProxyError",
      "SOCKSConnection",
      "SOCKSDialer",
      "SOCKSProxy",
      "SOCKS_SCHEMES",
      "TunnelHTTPConnection",
      "basicAuth",
      "mergeHeaders",
      "parseNoProxy",
      "ProxyRouter",
    ].sort(),
  );
});
