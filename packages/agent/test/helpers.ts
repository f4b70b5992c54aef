// What agent.test.ts and interop.test.ts share: requests through an agent, and the checks each
// way to an origin (direct, the embedded proxies, squid) runs.
import { once } from "node:events";
import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet, type RequestOptions } from "node:https";
import { inspect } from "node:util";
import { createCA, type Origin, testCA } from "@x/testkit";
import axios from "axios";
import got from "got";
import nodeFetch from "node-fetch";
import { expect } from "vitest";
import type { ProxyAgent } from "../src/index.js";

export const NAMES = ["localhost", "127.0.0.1", "example.com"];
export const USERS = { alice: "s3cret pass" };
export const ca = (): string => testCA().cert;

export function body(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString()));
    res.on("error", reject);
  });
}

export async function viaHttps(
  url: string,
  agent: ProxyAgent,
  extra: RequestOptions = {},
): Promise<string> {
  const req = httpsGet(url, { agent, ca: ca(), ...extra });
  const [res] = (await once(req, "response")) as [IncomingMessage];
  return body(res);
}

export async function viaHttp(url: string, agent: ProxyAgent): Promise<string> {
  const req = httpGet(url, { agent });
  const [res] = (await once(req, "response")) as [IncomingMessage];
  return body(res);
}

/** https: twice (the second on the kept-alive socket) and http: once, through `agent`. */
export async function eachWay(
  way: string,
  agent: ProxyAgent,
  http: Origin,
  https: Origin,
): Promise<void> {
  expect(await viaHttps(`${https.url}/whoami`, agent), way).toBe("https-origin");
  expect(await viaHttps(`${https.url}/whoami`, agent), way).toBe("https-origin");
  expect(await viaHttp(`${http.url}/whoami`, agent), way).toBe("http-origin");
  // Keep-alive: the second https request reused the first socket.
  expect(Object.values(agent.freeSockets).flat().length, way).toBe(2);
}

/** Two CAs padded (trailing spaces, which PEM ignores) to the same inspect() length. */
export function sameLengthCAs(): [trusted: string, other: string] {
  let trusted = ca();
  let other = createCA("x-http other CA").cert;
  while (inspect(other).length !== inspect(trusted).length) {
    if (inspect(other).length < inspect(trusted).length) other += " ";
    else trusted += " ";
  }
  expect(other).not.toBe(trusted);
  return [trusted, other];
}

/** A socket verified against `trusted` must not serve a request that trusts only `other`. */
export async function tlsKeepsApart(
  way: string,
  agent: ProxyAgent,
  https: Origin,
  [trusted, other]: [string, string],
): Promise<void> {
  expect(await viaHttps(`${https.url}/whoami`, agent, { ca: trusted }), way).toBe("https-origin");
  const names = Object.keys(agent.freeSockets);
  // Direct, the TLS error itself; tunnelled, a ConnectError with it as cause.
  const outcome = await new Promise<string>((resolve) => {
    const req = httpsGet(`${https.url}/whoami`, { agent, ca: other });
    req.on("response", (res) => {
      res.resume();
      resolve("a response");
    });
    req.on("error", (e: NodeJS.ErrnoException) =>
      resolve(`${e.code} ${(e.cause as NodeJS.ErrnoException | undefined)?.code}`),
    );
  });
  expect(outcome, way).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|ISSUER/);
  // The same again with the first CA reuses the first socket; a copy of it (another
  // string, the same content) too.
  expect(await viaHttps(`${https.url}/whoami`, agent, { ca: `${trusted}` }), way).toBe(
    "https-origin",
  );
  expect(Object.keys(agent.freeSockets), way).toEqual(names);
  expect(Object.values(agent.freeSockets).flat().length, way).toBe(1);
}

/** axios, got and node-fetch, https: and http:, through `agent` (made with `tls: { ca }`). */
export async function clients(agent: ProxyAgent, http: Origin, https: Origin): Promise<void> {
  const a = await axios.get(`${https.url}/whoami`, {
    httpAgent: agent,
    httpsAgent: agent,
    proxy: false,
  });
  expect(a.data).toBe("https-origin");
  const b = await axios.get(`${http.url}/whoami`, { httpAgent: agent, proxy: false });
  expect(b.data).toBe("http-origin");
  const c = await got(`${https.url}/whoami`, {
    agent: { http: agent, https: agent },
    https: { certificateAuthority: ca() },
  }).text();
  expect(c).toBe("https-origin");
  const d = await nodeFetch(`${https.url}/whoami`, { agent });
  expect(await d.text()).toBe("https-origin");
  const e = await got(`${http.url}/whoami`, { agent: { http: agent } }).text();
  expect(e).toBe("http-origin");
  const f = await nodeFetch(`${http.url}/whoami`, { agent });
  expect(await f.text()).toBe("http-origin");
}
