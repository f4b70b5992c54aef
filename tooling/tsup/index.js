// The one tsup preset every package builds with: ESM only, .d.ts, source maps, Node 20.
/** @param {Partial<import("tsup").Options>} [overrides] */
export function preset(overrides = {}) {
  return {
    entry: ["src/index.ts"],
    format: ["esm"],
    target: "node20",
    platform: "node",
    dts: true,
    sourcemap: true,
    clean: true,
    treeshake: true,
    splitting: false,
    ...overrides,
  };
}
