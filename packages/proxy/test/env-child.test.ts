// ProxyRouter.fromEnv() end to end: child processes started with the proxy variables set
// (and nothing else of this process's environment), each running fixtures/from-env.mjs
// against the built @x/proxy, with the embedded proxy recording what reaches it and
// loopback origins answering what goes direct.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type EmbeddedProxy, type Origin, startOrigin, testCA } from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proxyFor, startWorld, type World } from "./setup.js";

const script = fileURLToPath(new URL("./fixtures/from-env.mjs", import.meta.url));
const built = fileURLToPath(new URL("../dist/index.js", import.meta.url));

interface Result {
  url: string;
  proxy: string | null;
  status?: number;
  error?: string;
}

let world: World;
let proxy: EmbeddedProxy;
// An HTTPS origin for localhost (the world's is for the example names).
let local: Origin;
let dir: string;
let caFile: string;

beforeAll(async () => {
  if (!existsSync(built)) throw new Error("@x/proxy is not built: run `pnpm build` first");
  world = await startWorld();
  proxy = await proxyFor(world);
  local = await startOrigin({ tls: true });
  dir = mkdtempSync(join(tmpdir(), "x-http-env-"));
  caFile = join(dir, "ca.pem");
  writeFileSync(caFile, testCA().cert);
});
afterAll(async () => {
  await local.close();
  await proxy.close();
  await world.close();
  rmSync(dir, { recursive: true, force: true });
});

// Runs the script with exactly these variables (and PATH), GETting each URL.
function child(env: Record<string, string>, urls: string[]): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [script, ...urls],
      { env: { PATH: process.env.PATH ?? "", TEST_CA_FILE: caFile, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as Result[]);
      },
    );
  });
}

// What reached the proxy while `run` ran.
async function through(run: () => Promise<unknown>): Promise<string[]> {
  const seen = proxy.log.length;
  await run();
  return proxy.log.slice(seen).map((e) => `${e.method} ${e.target}`);
}

const ok = (url: string, via: string | null): Result => ({ url, proxy: via, status: 200 });

describe("ProxyRouter.fromEnv() in a child process", () => {
  it("http_proxy forwards http:, https_proxy tunnels https:; loopback is not special", async () => {
    const loopback = `http://127.0.0.1:${world.http.port}/`;
    const urls = ["http://example.com/", "https://www.example.com/", loopback];
    let results: Result[] = [];
    const log = await through(async () => {
      results = await child({ http_proxy: proxy.url, https_proxy: proxy.url }, urls);
    });
    expect(results).toEqual(urls.map((u) => ok(u, proxy.url)));
    expect(log).toEqual([
      "GET http://example.com/",
      "CONNECT www.example.com:443",
      `GET ${loopback}`,
    ]);
  });

  it("HTTP_PROXY (upper case) is ignored, as curl ignores it; HTTPS_PROXY is not", async () => {
    const direct = `http://localhost:${world.http.port}/`;
    const served = world.http.requests;
    let results: Result[] = [];
    const log = await through(async () => {
      results = await child({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url }, [
        direct,
        "https://www.example.com/",
      ]);
    });
    expect(results).toEqual([ok(direct, null), ok("https://www.example.com/", proxy.url)]);
    expect(log).toEqual(["CONNECT www.example.com:443"]);
    expect(world.http.requests).toBe(served + 1);
  });

  it("ALL_PROXY without a scheme, and NO_PROXY by name and port, and by range", async () => {
    const bare = proxy.url.replace("http://", "");
    const byPort = `http://localhost:${world.http.port}/`;
    const otherPort = `https://localhost:${local.port}/`;
    const byRange = `http://127.0.0.1:${world.http.port}/`;
    let results: Result[] = [];
    const log = await through(async () => {
      results = await child(
        { ALL_PROXY: bare, NO_PROXY: `localhost:${world.http.port}, 127.0.0.0/8` },
        [byPort, otherPort, byRange],
      );
    });
    expect(results).toEqual([ok(byPort, null), ok(otherPort, proxy.url), ok(byRange, null)]);
    expect(log).toEqual([`CONNECT localhost:${local.port}`]);
  });

  it("no_proxy wins over NO_PROXY; an empty http_proxy falls back to all_proxy", async () => {
    const named = `http://localhost:${world.http.port}/`;
    const address = `http://127.0.0.1:${world.http.port}/`;
    let results: Result[] = [];
    const log = await through(async () => {
      results = await child(
        { http_proxy: "", all_proxy: proxy.url, no_proxy: "localhost", NO_PROXY: "*" },
        [named, address],
      );
    });
    expect(results).toEqual([ok(named, null), ok(address, proxy.url)]);
    expect(log).toEqual([`GET ${address}`]);
  });

  it("NO_PROXY=* sends everything direct", async () => {
    const urls = [`http://localhost:${world.http.port}/`, `https://localhost:${local.port}/`];
    const served = [world.http.requests, local.requests];
    let results: Result[] = [];
    const log = await through(async () => {
      results = await child({ http_proxy: proxy.url, https_proxy: proxy.url, NO_PROXY: "*" }, urls);
    });
    expect(results).toEqual(urls.map((u) => ok(u, null)));
    expect(log).toEqual([]);
    expect([world.http.requests, local.requests]).toEqual([served[0]! + 1, served[1]! + 1]);
  });

  it("nothing set: direct", async () => {
    const url = `http://127.0.0.1:${world.http.port}/`;
    let results: Result[] = [];
    const log = await through(async () => {
      results = await child({}, [url]);
    });
    expect(results).toEqual([ok(url, null)]);
    expect(log).toEqual([]);
  });
});
