import { expect, it } from "vitest";
import * as pool from "../src/index.js";

it("exports exactly the public API", () => {
  expect(Object.keys(pool).sort()).toEqual(
    [
      "ConnectError",
      "ConnectTimeout",
      "ConnectionNotAvailable",
      "ConnectionPool",
      "DeferredConnection",
      "HTTP11Connection",
      "HTTPConnection",
      "LocalProtocolError",
      "MockBackend",
      "MockStream",
      "NetworkError",
      "NodeBackend",
      "NodeStream",
      "Origin",
      "PoolTimeout",
      "ProtocolError",
      "ReadError",
      "ReadTimeout",
      "RemoteProtocolError",
      "Request",
      "Response",
      "ResponseNotRead",
      "StreamConsumed",
      "TimeoutError",
      "TransportError",
      "URL",
      "UnsupportedProtocol",
      "WriteError",
      "WriteTimeout",
      "getHeader",
      "printable",
      "toHeaderList",
      "traced",
    ].sort(),
  );
});
