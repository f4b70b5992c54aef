import { expect, it } from "vitest";
import * as undiciAdapter from "../src/index.js";

it("exports exactly the public API", () => {
  expect(Object.keys(undiciAdapter).sort()).toEqual(["PoolDispatcher"]);
});
