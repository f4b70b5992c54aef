// `instanceof` across two copies of a class: brandClass, and @x/h11's own errors.
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import * as h11 from "../src/index.js";
import { brandClass, LocalProtocolError, RemoteProtocolError } from "../src/index.js";

// What a package defines, once per copy of it.
function definePackage() {
  class Base extends Error {}
  brandClass(Base, "@x/test.Base");
  class Left extends Base {}
  brandClass(Left, "@x/test.Left");
  class Right extends Base {}
  brandClass(Right, "@x/test.Right");
  return { Base, Left, Right };
}

describe("brandClass", () => {
  const a = definePackage();
  const b = definePackage();

  it("recognises instances of the other copy, subclasses included, and nothing else", () => {
    expect(a.Left).not.toBe(b.Left);
    for (const [x, y] of [
      [a, b],
      [b, a],
      [a, a],
    ] as const) {
      expect(new x.Left() instanceof y.Left).toBe(true);
      expect(new x.Left() instanceof y.Base).toBe(true);
      expect(new x.Left() instanceof y.Right).toBe(false);
      expect(new x.Base() instanceof y.Left).toBe(false);
      expect(new x.Left() instanceof Error).toBe(true);
    }
  });

  it("leaves a subclass that is not branded itself with the ordinary instanceof", () => {
    class Mine extends a.Left {}
    const mine = new Mine();
    expect(mine instanceof Mine).toBe(true);
    expect(mine instanceof a.Left && mine instanceof b.Left && mine instanceof b.Base).toBe(true);
    expect(mine instanceof b.Right).toBe(false);
    expect(new a.Left() instanceof Mine).toBe(false);
    expect(new b.Left() instanceof Mine).toBe(false);
  });

  it("is false for primitives and for look-alikes without the brand", () => {
    for (const value of [null, undefined, 0, "Left", Symbol("x"), {}, new Error("x"), a.Left]) {
      expect(value instanceof a.Left).toBe(false);
    }
    expect(Object.create(a.Left.prototype) instanceof b.Left).toBe(true);
  });

  it("adds nothing to instances", () => {
    const e = new a.Left("x");
    expect(Reflect.ownKeys(e).filter((k) => typeof k === "symbol")).toEqual([]);
    expect(inspect(e)).not.toContain("Symbol(");
    expect(Object.keys(a.Left)).toEqual([]);
  });
});

describe("@x/h11's errors across two installed copies", () => {
  it("are instanceof each other's classes, and keep code, name and errorStatusHint", async () => {
    // A second copy of the built package: another file, so another module instance.
    const folder = await mkdtemp(join(tmpdir(), "x-h11-copy-"));
    try {
      for (const file of ["index.js", "index.js.map"]) {
        await copyFile(
          fileURLToPath(new URL(`../dist/${file}`, import.meta.url)),
          join(folder, file),
        );
      }
      const other = (await import(pathToFileURL(join(folder, "index.js")).href)) as typeof h11;
      expect(other.LocalProtocolError).not.toBe(LocalProtocolError);
      const ours = [new LocalProtocolError("ours", 431), new RemoteProtocolError("ours", 501)];
      const theirs = [
        new other.LocalProtocolError("theirs", 431),
        new other.RemoteProtocolError("theirs", 501),
      ];
      const local = (copy: typeof h11, e: unknown) => e instanceof copy.LocalProtocolError;
      const remote = (copy: typeof h11, e: unknown) => e instanceof copy.RemoteProtocolError;
      const base = (copy: typeof h11, e: unknown) => e instanceof copy.ProtocolError;
      for (const [mine, copy] of [
        [ours, other],
        [theirs, h11],
        [ours, h11],
        [theirs, other],
      ] as const) {
        expect(mine.map((e) => [local(copy, e), remote(copy, e), base(copy, e)])).toEqual([
          [true, false, true],
          [false, true, true],
        ]);
      }
      expect(theirs.map((e) => [e.name, e.code, e.errorStatusHint])).toEqual(
        ours.map((e) => [e.name, e.code, e.errorStatusHint]),
      );
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
