// Errors across two installed copies of @x/pool (and of @x/h11 under it), as npm leaves
// them when two versions are installed: `instanceof` must not depend on which copy made the
// error.
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import * as h11 from "@x/h11";
import { copyPackages, type PackageCopies } from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ours from "../src/index.js";

type Pool = typeof ours;
type ErrorClass = new (message: string, options?: { cause?: unknown }) => Error & { code: string };

// Every exported class whose instances are Errors: each must be branded.
const ERRORS = Object.keys(ours)
  .filter((name) => {
    const value = (ours as Record<string, unknown>)[name];
    return typeof value === "function" && value.prototype instanceof Error;
  })
  .sort();
const cls = (copy: Pool, name: string) => (copy as unknown as Record<string, ErrorClass>)[name]!;

let copies: PackageCopies;
let theirs: Pool;
let theirH11: typeof h11;
beforeAll(async () => {
  const dir = (path: string) => fileURLToPath(new URL(path, import.meta.url));
  copies = await copyPackages([dir("../../h11"), dir("..")]);
  theirs = await copies.load<Pool>("@x/pool");
  theirH11 = await copies.load<typeof h11>("@x/h11");
});
afterAll(async () => {
  await copies.remove();
});

describe("errors across two copies of @x/pool", () => {
  it("covers every public error class, and the copies really are two", () => {
    expect(ERRORS).toEqual(
      [
        "ConnectError",
        "ConnectTimeout",
        "ConnectionNotAvailable",
        "LocalProtocolError",
        "NetworkError",
        "PoolTimeout",
        "ProtocolError",
        "ReadError",
        "ReadTimeout",
        "RemoteProtocolError",
        "ResponseNotRead",
        "StreamConsumed",
        "TimeoutError",
        "TransportError",
        "UnsupportedProtocol",
        "WriteError",
        "WriteTimeout",
      ].sort(),
    );
    for (const name of ERRORS) expect(cls(theirs, name)).not.toBe(cls(ours, name));
    expect(theirH11.LocalProtocolError).not.toBe(h11.LocalProtocolError);
  });

  it("instanceof gives across copies what the prototype chain gives within one", () => {
    const expected: string[] = [];
    const got: string[] = [];
    for (const made of ERRORS) {
      const mine = new (cls(ours, made))("m");
      const other = new (cls(theirs, made))("m");
      for (const asked of ERRORS) {
        // Within one copy, from the prototypes alone (no Symbol.hasInstance involved).
        const is = Object.prototype.isPrototypeOf.call(cls(ours, asked).prototype, mine);
        expected.push(`${made} ${asked}: ${is} ${is} ${is} ${is}`);
        const results = [
          mine instanceof cls(theirs, asked),
          other instanceof cls(ours, asked),
          mine instanceof cls(ours, asked),
          other instanceof cls(theirs, asked),
        ];
        got.push(`${made} ${asked}: ${results.join(" ")}`);
      }
    }
    expect(got).toEqual(expected);
    expect(new ours.ReadError("r") instanceof theirs.WriteError).toBe(false);
    expect(new theirs.ReadError("r") instanceof ours.WriteError).toBe(false);
    expect(new theirs.ReadError("r") instanceof ours.NetworkError).toBe(true);
    expect(new theirs.PoolTimeout("p") instanceof ours.TransportError).toBe(true);
    expect(new theirs.ResponseNotRead("r") instanceof ours.TransportError).toBe(false);
  });

  it("code, name, message and cause survive", () => {
    const cause = new Error("underneath");
    for (const name of ERRORS) {
      const other = new (cls(theirs, name))("what happened", { cause });
      const mine = new (cls(ours, name))("what happened", { cause });
      expect([other.name, other.code, other.message, other.cause]).toEqual([
        mine.name,
        mine.code,
        "what happened",
        cause,
      ]);
      expect(other.name).toBe(name);
    }
  });

  it("an error raised by the other copy's pool is caught by this copy's classes", async () => {
    const backend = new theirs.MockBackend(["HTTP/1.1 2OO OK\r\n\r\n"]);
    await using pool = new theirs.ConnectionPool({ networkBackend: backend });
    const error = await pool.request("GET", "http://example.com/").catch((e: unknown) => e);
    expect(error instanceof ours.RemoteProtocolError).toBe(true);
    expect(error instanceof ours.ProtocolError && error instanceof ours.TransportError).toBe(true);
    expect(error instanceof ours.LocalProtocolError || error instanceof ours.NetworkError).toBe(
      false,
    );
    expect(error).toMatchObject({ code: "ERR_REMOTE_PROTOCOL", name: "RemoteProtocolError" });
    const cause = (error as Error).cause;
    expect(cause instanceof h11.RemoteProtocolError && cause instanceof h11.ProtocolError).toBe(
      true,
    );
    expect(cause instanceof h11.LocalProtocolError).toBe(false);

    const refused = await pool
      .request("GET", "http://example.com/", { headers: { "X-A": "b\x0bc" } })
      .catch((e: unknown) => e);
    expect(refused instanceof ours.LocalProtocolError).toBe(true);
    expect(refused).toMatchObject({ code: "ERR_LOCAL_PROTOCOL" });
  });

  it("and the other way round", async () => {
    const backend = new ours.MockBackend(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"]);
    await using pool = new ours.ConnectionPool({ networkBackend: backend });
    const error = await pool.request("GET", "http://example.com/").catch((e: unknown) => e);
    expect(error instanceof theirs.RemoteProtocolError).toBe(true);
    expect((error as Error).cause instanceof theirH11.RemoteProtocolError).toBe(true);
    expect(error instanceof theirs.ReadError).toBe(false);
  });

  it("a user's subclass keeps the ordinary instanceof and is its parents' on both copies", () => {
    class AppError extends ours.TransportError {}
    class Unreachable extends ours.ConnectError {
      override readonly code: string = "APP_UNREACHABLE";
    }
    const app = new AppError("x");
    const unreachable = new Unreachable("x");
    expect([app instanceof AppError, app instanceof ours.TransportError]).toEqual([true, true]);
    expect([app instanceof theirs.TransportError, app instanceof theirs.NetworkError]).toEqual([
      true,
      false,
    ]);
    expect(unreachable instanceof Unreachable && unreachable instanceof theirs.ConnectError).toBe(
      true,
    );
    expect(unreachable instanceof theirs.NetworkError).toBe(true);
    expect(new ours.TransportError("x") instanceof AppError).toBe(false);
    expect(new theirs.ConnectError("x") instanceof Unreachable).toBe(false);
    expect(new ours.ConnectError("x") instanceof Unreachable).toBe(false);
    expect([app.name, unreachable.name, unreachable.code]).toEqual([
      "AppError",
      "Unreachable",
      "APP_UNREACHABLE",
    ]);
  });

  it("look-alikes are not errors of ours, and instances carry nothing new", () => {
    for (const value of [null, undefined, "ReadError", 1, {}, new Error("x"), new TypeError("x")]) {
      expect(value instanceof ours.ReadError || value instanceof ours.TransportError).toBe(false);
    }
    expect({ name: "ReadError", code: "ERR_READ" } instanceof ours.ReadError).toBe(false);
    const error = new ours.ReadError("r");
    expect(Reflect.ownKeys(error).filter((k) => typeof k === "symbol")).toEqual([]);
    expect(inspect(error)).not.toContain("Symbol(");
  });
});
