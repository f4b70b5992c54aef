import { expect, it } from "vitest";
import * as agent from "../src/index.js";

it("exports exactly the public API", () => {
  expect(Object.keys(agent).sort()).toEqual(["ProxyAgent"]);
});
