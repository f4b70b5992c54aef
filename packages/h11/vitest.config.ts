import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "h11", include: ["test/**/*.test.ts"] },
});
