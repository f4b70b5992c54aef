import { expect, it } from "vitest";
import * as h11 from "../src/index.js";

it("exports exactly the public API", () => {
  expect(Object.keys(h11).sort()).toEqual(
    [
      "brandClass",
      "CLIENT",
      "CLOSED",
      "Connection",
      "DEFAULT_MAX_INCOMPLETE_EVENT_SIZE",
      "DONE",
      "ERROR",
      "IDLE",
      "isValidHeaderName",
      "isValidHeaderValue",
      "LocalProtocolError",
      "MIGHT_SWITCH_PROTOCOL",
      "MUST_CLOSE",
      "NEED_DATA",
      "PAUSED",
      "ProtocolError",
      "RemoteProtocolError",
      "SEND_BODY",
      "SEND_RESPONSE",
      "SERVER",
      "SWITCHED_PROTOCOL",
    ].sort(),
  );
});
