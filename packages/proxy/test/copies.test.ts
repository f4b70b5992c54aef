// ProxyError across two installed copies of @x/proxy (and of @x/pool and @x/h11 under it).
import { fileURLToPath } from "node:url";
import * as pool from "@x/pool";
import { copyPackages, type PackageCopies } from "@x/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import * as proxy from "../src/index.js";
import { proxyFor, startWorld, type World } from "./setup.js";

let copies: PackageCopies;
let theirs: typeof proxy;
let theirPool: typeof pool;
let world: World;
beforeAll(async () => {
  const dir = (path: string) => fileURLToPath(new URL(path, import.meta.url));
  copies = await copyPackages([dir("../../h11"), dir("../../pool"), dir("..")]);
  theirs = await copies.load<typeof proxy>("@x/proxy");
  theirPool = await copies.load<typeof pool>("@x/pool");
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
  await copies.remove();
});

const init = {
  status: 407,
  reasonPhrase: "Proxy Authentication Required",
  headers: [["Proxy-Authenticate", "Basic"]] as [string, string][],
  body: new Uint8Array([1]),
};

it("a ProxyError of either copy is instanceof the other's ProxyError and TransportError", () => {
  expect(theirs.ProxyError).not.toBe(proxy.ProxyError);
  const mine = new proxy.ProxyError(init);
  const other = new theirs.ProxyError(init);
  for (const [error, ProxyError, TransportError] of [
    [mine, theirs.ProxyError, theirPool.TransportError],
    [other, proxy.ProxyError, pool.TransportError],
  ] as const) {
    expect(error instanceof ProxyError && error instanceof TransportError).toBe(true);
  }
  expect(other instanceof pool.NetworkError || other instanceof pool.ProtocolError).toBe(false);
  expect(new theirPool.ReadError("r") instanceof proxy.ProxyError).toBe(false);
  expect(new pool.TransportError("t") instanceof theirs.ProxyError).toBe(false);
  expect([other.name, other.code, other.message, other.status]).toEqual([
    "ProxyError",
    "ERR_PROXY",
    "407 Proxy Authentication Required",
    407,
  ]);
});

it("a CONNECT refused through the other copy is caught as this copy's ProxyError", async () => {
  const guarded = await proxyFor(world, { auth: { username: "u", password: "right" } });
  try {
    await using p = new theirs.HTTPProxy({ proxyUrl: guarded.url, proxyAuth: ["u", "wrong"] });
    const error = await p.request("GET", "https://example.com/").catch((e: unknown) => e);
    expect(error instanceof proxy.ProxyError && error instanceof pool.TransportError).toBe(true);
    expect(error).toMatchObject({ code: "ERR_PROXY", name: "ProxyError", status: 407 });
  } finally {
    await guarded.close();
  }
});
