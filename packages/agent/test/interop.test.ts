// The agent through real squid (from Debian's package; `.ci/run` installs it): forwarding,
// CONNECT, the TLS settings that keep sockets apart, the clients, and Digest. Left out of the
// mutation runs (stryker.config.mjs): squid starts for each run, and agent.test.ts covers the
// same code with the embedded proxies.
import { type Origin, type RealProxy, startOrigin, startSquid, unavailable } from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProxyAgent } from "../src/index.js";
import {
  ca,
  clients,
  eachWay,
  NAMES,
  sameLengthCAs,
  tlsKeepsApart,
  USERS,
  viaHttp,
  viaHttps,
} from "./helpers.js";

const why = unavailable("squid");
if (why !== null && process.env.CI === "true") throw new Error(why);
if (why !== null) console.warn(`agent: skipping squid: ${why}`);

describe.skipIf(why !== null)("squid", () => {
  let http: Origin;
  let https: Origin;
  let squid: RealProxy;

  beforeAll(async () => {
    http = await startOrigin();
    https = await startOrigin({ tls: true, names: NAMES });
    squid = await startSquid({ names: ["example.com"] });
  }, 30000);
  afterAll(async () => {
    for (const s of [http, https, squid]) await s?.close();
  });

  it("https: tunnelled with TLS to the origin, http: forwarded", async () => {
    const agent = new ProxyAgent({ proxyUrl: squid.url });
    try {
      await eachWay("squid", agent, http, https);
    } finally {
      agent.destroy();
    }
  });

  it("kept-alive sockets are told apart by their TLS settings' content", async () => {
    const cas = sameLengthCAs();
    const agent = new ProxyAgent({ proxyUrl: squid.url });
    try {
      await tlsKeepsApart("squid", agent, https, cas);
    } finally {
      agent.destroy();
    }
  });

  it("axios, got and node-fetch", async () => {
    const agent = new ProxyAgent({ proxyUrl: squid.url, tls: { ca: ca() } });
    try {
      await clients(agent, http, https);
    } finally {
      agent.destroy();
    }
  });

  it("Digest (digest_file_auth, MD5): forwarded and CONNECT", async () => {
    for (const [scheme, both] of [
      ["digest", false],
      ["any", true],
    ] as const) {
      const digestSquid = await startSquid({
        names: ["example.com"],
        auth: { scheme: both ? "both" : "digest", users: USERS },
      });
      const agent = new ProxyAgent({
        proxyUrl: digestSquid.url,
        proxyAuth: ["alice", "s3cret pass"],
        proxyAuthScheme: scheme,
      });
      try {
        for (let i = 0; i < 2; i++) {
          expect(await viaHttp(`http://example.com:${http.port}/whoami`, agent)).toBe(
            "http-origin",
          );
          expect(await viaHttps(`${https.url}/whoami`, agent)).toBe("https-origin");
        }
      } finally {
        agent.destroy();
        await digestSquid.close();
      }
      expect(digestSquid.accessLog()).not.toMatch(/"Basic /);
    }
  }, 30000);
});
