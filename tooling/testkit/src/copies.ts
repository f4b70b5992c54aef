// A second installed copy of built packages, as npm leaves behind when two versions of a
// package are installed (or one is bundled): the same code, loaded again as other modules.
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** A folder holding copies of packages, and how to load them. */
export interface PackageCopies {
  /** The `node_modules` folder the copies are in. */
  readonly nodeModules: string;
  /** Loads the copy of the package `name` (its own module instance, not the workspace's). */
  load<T = Record<string, unknown>>(name: string): Promise<T>;
  /** Deletes the folder. */
  remove(): Promise<void>;
}

/**
 * Copies each built package (its `package.json` and `dist/`) under a fresh `node_modules`
 * in a temporary folder, so that the copies import one another rather than the workspace's
 * packages. Pass the packages' folders, lowest first.
 *
 * @example
 * const copies = await copyPackages([h11Dir, poolDir]);
 * const other = await copies.load<typeof import("@x/pool")>("@x/pool");
 */
export async function copyPackages(packageDirs: readonly string[]): Promise<PackageCopies> {
  const root = await mkdtemp(join(tmpdir(), "x-copies-"));
  const nodeModules = join(root, "node_modules");
  const entries = new Map<string, string>();
  for (const dir of packageDirs) {
    const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as {
      name: string;
      exports: { ".": { default: string } };
    };
    const target = join(nodeModules, manifest.name);
    await cp(join(dir, "package.json"), join(target, "package.json"));
    await cp(join(dir, "dist"), join(target, "dist"), { recursive: true });
    entries.set(manifest.name, join(target, manifest.exports["."].default));
  }
  return {
    nodeModules,
    load: async <T>(name: string): Promise<T> => {
      const entry = entries.get(name);
      if (entry === undefined) throw new Error(`${name} was not copied`);
      return (await import(pathToFileURL(entry).href)) as T;
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
