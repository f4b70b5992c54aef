// The one StrykerJS preset every package's stryker.config.mjs builds on. Run it with
// `pnpm mutate <package>` from the root (tooling/mutation/run.mjs), not with stryker itself:
// the runner sets the fuzz tests' size and writes the summary.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/**
 * A package's Stryker options: `name` is its folder under packages/, `options` what differs
 * (at least `mutate`). `slices` names parts of the package, each a `mutate` list that one run
 * can take (`pnpm mutate pool pure`); each slice keeps its own incremental file and reports,
 * in tooling/mutation/out/<name>[-<slice>]/.
 */
export function config(name, { slices = {}, ...options }) {
  const slice = process.env.MUTATE_SLICE ?? "";
  if (slice !== "" && !(slice in slices)) {
    const known = Object.keys(slices).join(", ") || "none";
    throw new Error(`@x/${name} has no mutation slice "${slice}" (it has: ${known})`);
  }
  const id = slice === "" ? name : `${name}-${slice}`;
  const out = join(here, "out", id);
  return {
    // pnpm keeps each plugin beside its own dependencies, not beside core: name them by path.
    plugins: [
      require.resolve("@stryker-mutator/vitest-runner"),
      require.resolve("@stryker-mutator/typescript-checker"),
    ],
    packageManager: "pnpm",
    testRunner: "vitest",
    vitest: { configFile: "vitest.config.ts", related: false },
    checkers: ["typescript"],
    tsconfigFile: "tsconfig.json",
    typescriptChecker: { prioritizePerformanceOverAccuracy: true },
    coverageAnalysis: "perTest",
    // Static mutants (code that runs when a module loads: the ABNF regexes, the character
    // tables, brandClass calls) are not activated by the vitest runner 9.6 under vitest 4.1:
    // each "survived", REQUEST_LINE_RE = new RegExp("") among them, which fails 74 tests by
    // hand. Left out rather than counted as survivors (see README.md).
    ignoreStatic: true,
    // Two cores, shared: one test runner, one checker.
    concurrency: 1,
    timeoutMS: 10_000,
    timeoutFactor: 2,
    incremental: true,
    incrementalFile: join(out, "incremental.json"),
    tempDirName: join(here, ".tmp", id),
    cleanTempDir: true,
    reporters: ["progress-append-only", "clear-text", "html", "json"],
    htmlReporter: { fileName: join(out, "report.html") },
    jsonReporter: { fileName: join(out, "report.json") },
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
    thresholds: { high: 90, low: 80, break: null },
    ...options,
    ...(slice === "" ? {} : { mutate: slices[slice] }),
  };
}
