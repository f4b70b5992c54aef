#!/usr/bin/env node
// `pnpm mutate <package> [<slice>] [stryker options]`: StrykerJS on one package (h11, pool,
// proxy) with its packages/<package>/stryker.config.mjs, or on one of the slices that config
// names, then a summary of the JSON report written to tooling/mutation/<package>[-<slice>].summary.md
// (committed; the reports are not).
//
//   pnpm mutate h11
//   pnpm mutate proxy pure
//   pnpm mutate pool pure --mutate src/url.ts      (one file of the slice, ad hoc)
//
// Stryker's incremental mode keeps the last results in tooling/mutation/out/<id>/, so a rerun
// tests only the mutants whose code or covering tests changed. `--force` tests every one again.
// An ad hoc --mutate merges the narrower run's results into that slice's stored ones.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const [name, ...rest] = process.argv.slice(2);
const slice = rest[0] !== undefined && !rest[0].startsWith("-") ? rest[0] : "";
const args = slice === "" ? rest : rest.slice(1);
const id = slice === "" ? name : `${name}-${slice}`;
const packageDir = name ? join(root, "packages", name) : "";
if (!name || !existsSync(join(packageDir, "stryker.config.mjs"))) {
  console.error("usage: pnpm mutate <package> [<slice>] [stryker options], e.g. pnpm mutate h11");
  console.error("packages with a stryker.config.mjs: h11, pool, proxy, undici, agent");
  process.exit(2);
}

// The fuzz properties run for every mutant they cover: a smaller, fixed sample keeps a run
// within minutes and its results repeatable.
const env = { ...process.env, FUZZ_RUNS: process.env.FUZZ_RUNS ?? "300", MUTATE_SLICE: slice };
env.FUZZ_SEED ??= "20261126";

const stryker = join(root, "node_modules", ".bin", "stryker");
const started = Date.now();
// --summary-only: the summary of the last report, without running Stryker.
if (!args.includes("--summary-only")) {
  const run = spawnSync(stryker, ["run", "stryker.config.mjs", ...args], {
    cwd: packageDir,
    env,
    stdio: "inherit",
  });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

const reportFile = join(here, "out", id, "report.json");
if (args.includes("--dryRunOnly") || !existsSync(reportFile)) process.exit(0);
const report = JSON.parse(readFileSync(reportFile, "utf8"));
const seconds = Math.round((Date.now() - started) / 1000);
const summary = summarise(name, report, [slice, ...args].filter(Boolean), seconds);
const summaryFile = join(here, `${id}.summary.md`);
writeFileSync(summaryFile, summary);
spawnSync(join(root, "node_modules", ".bin", "biome"), ["format", "--write", summaryFile], {
  stdio: "ignore",
});
console.log(summary);

/** Per file: killed, survived, no coverage, timeouts, compile errors, and the score. */
function summarise(pkg, report, args, seconds) {
  const rows = [];
  const total = counts();
  for (const [file, { mutants }] of Object.entries(report.files).sort()) {
    const c = counts();
    // A static mutant is Ignored under ignoreStatic; a report from before it, as Survived.
    for (const m of mutants) add(c, m.static ? "Ignored" : m.status);
    for (const m of mutants) add(total, m.static ? "Ignored" : m.status);
    rows.push(row(file, c));
  }
  const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], {
    cwd: root,
    encoding: "utf8",
  });
  const dirty = spawnSync("git", ["status", "--porcelain", "--", "."], {
    cwd: packageDir,
    encoding: "utf8",
  });
  return [
    `# Mutation score: @x/${pkg}`,
    "",
    `${new Date().toISOString().slice(0, 10)}, commit ${commit.stdout.trim()}` +
      `${dirty.stdout.trim() ? " (with uncommitted changes)" : ""}, ` +
      `\`pnpm mutate ${[pkg, ...args].join(" ")}\`, ${seconds} s.`,
    "Score = (killed + timeout) / (killed + timeout + survived + no coverage); mutants that do",
    "not compile, and static ones (see README.md), are left out. Survivors judged equivalent:",
    "[equivalent.md](equivalent.md).",
    "",
    "| file | score | killed | timeout | survived | no coverage | compile error | static |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    row("**all**", total),
    "",
  ].join("\n");
}

function counts() {
  return {
    Killed: 0,
    Timeout: 0,
    Survived: 0,
    NoCoverage: 0,
    CompileError: 0,
    Ignored: 0,
    Other: 0,
  };
}

function add(c, status) {
  if (status in c) c[status] += 1;
  else c.Other += 1;
}

function row(label, c) {
  const detected = c.Killed + c.Timeout;
  const valid = detected + c.Survived + c.NoCoverage;
  const score = valid === 0 ? "n/a" : `${((100 * detected) / valid).toFixed(2)}%`;
  return `| ${label} | ${score} | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${c.CompileError} | ${c.Ignored} |`;
}
