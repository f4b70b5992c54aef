// HTTP/2 through proxies: a CONNECT tunnel negotiates ALPN with the origin inside it and
// runs HTTP/2 there (over an http: proxy, and TLS in TLS over an https: one); the proxy
// itself is spoken to in HTTP/1.1, and forwarding stays HTTP/1.1.
import { inspect } from "node:util";
import {
  type EmbeddedProxy,
  type H2Origin,
  startH2Origin,
  startOrigin,
  startProxy,
  testCA,
} from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTTPProxy, SOCKSProxy } from "../src/index.js";

const tls = () => ({ ca: testCA().cert });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

let origin: H2Origin;
beforeAll(async () => {
  origin = await startH2Origin();
});
afterAll(async () => {
  await origin.close();
});

describe("HTTP/2 inside CONNECT tunnels", () => {
  for (const proxyTls of [false, true]) {
    it(`through an ${proxyTls ? "https" : "http"} proxy: ALPN h2 with the origin, many requests on one tunnel`, async () => {
      const proxy: EmbeddedProxy = await startProxy({ tls: proxyTls });
      try {
        await using p = new HTTPProxy({
          proxyUrl: proxy.url,
          tls: tls(),
          ...(proxyTls ? { proxyTls: tls() } : {}),
          http2: true,
          maxConnections: 1,
        });
        const before = origin.sessions;
        const all = await Promise.all(
          Array.from({ length: 50 }, (_, i) => p.request("GET", `${origin.url}/path/${i}`)),
        );
        expect(all.map((r) => text(r.content))).toEqual(all.map((_, i) => `/path/${i}`));
        expect(all.every((r) => r.extensions.httpVersion === "HTTP/2")).toBe(true);
        expect(origin.sessions - before).toBe(1);
        // The CONNECT itself went to the proxy in HTTP/1.1, once.
        expect(proxy.log.filter((e) => e.method === "CONNECT")).toHaveLength(1);
        expect(p.connections.map((c) => inspect(c))).toEqual([
          `<TunnelHTTPConnection ['https://localhost:${origin.port}', HTTP/2, IDLE, Request Count: 50]>`,
        ]);
      } finally {
        await proxy.close();
      }
    });
  }

  it("forwarding (http: origins) stays HTTP/1.1 with http2: true", async () => {
    const proxy = await startProxy();
    const plain = await startOrigin();
    try {
      await using p = new HTTPProxy({ proxyUrl: proxy.url, http2: true });
      const r = await p.request("GET", `${plain.url}/`);
      expect(r.status).toBe(200);
      expect(r.extensions.httpVersion).toBe("HTTP/1.1");
    } finally {
      await plain.close();
      await proxy.close();
    }
  });
});

describe("HTTP/2 inside SOCKS tunnels", () => {
  for (const scheme of ["socks5", "socks5h"]) {
    it(`${scheme}: ALPN h2 with the origin through the tunnel, many requests on one connection`, async () => {
      // The embedded proxy speaks SOCKS on the same port (first byte 0x05).
      const proxy: EmbeddedProxy = await startProxy();
      try {
        await using p = new SOCKSProxy({
          proxyUrl: `${scheme}://127.0.0.1:${proxy.port}`,
          tls: tls(),
          http2: true,
          maxConnections: 1,
        });
        const before = origin.sessions;
        const all = await Promise.all(
          Array.from({ length: 20 }, (_, i) => p.request("GET", `${origin.url}/path/${i}`)),
        );
        expect(all.map((r) => text(r.content))).toEqual(all.map((_, i) => `/path/${i}`));
        expect(all.every((r) => r.extensions.httpVersion === "HTTP/2")).toBe(true);
        expect(origin.sessions - before).toBe(1);
        // One SOCKS5 CONNECT, and no HTTP to the proxy.
        expect(proxy.socksLog.map((e) => e.version)).toEqual([5]);
        expect(proxy.log).toEqual([]);
        expect(p.connections.map((c) => inspect(c))).toEqual([
          `<SOCKSConnection ['https://localhost:${origin.port}', HTTP/2, IDLE, Request Count: 20]>`,
        ]);
      } finally {
        await proxy.close();
      }
    });
  }
});
