// HTTP/2 against h2o, an implementation of its own (Debian's h2o): TLS with ALPN, h2c with
// prior knowledge, many requests on one connection (h2o allows 100 streams at once, so
// the rest queue), and through squid's CONNECT. Locally a missing h2o (or squid) skips its
// suite; under CI=true that is a failure.
import { inspect } from "node:util";
import { ConnectionPool } from "@x/pool";
import {
  type RealH2o,
  type RealProxy,
  startH2o,
  startSquid,
  testCA,
  unavailable,
} from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTTPProxy } from "../src/index.js";

const tls = () => ({ ca: testCA().cert });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

const h2oMissing = unavailable("h2o");
const squidMissing = unavailable("squid");
if (h2oMissing !== null) {
  if (process.env.CI === "true") {
    it("h2o is there under CI", () => {
      throw new Error(`h2o is required under CI=true: ${h2oMissing}`);
    });
  } else {
    console.warn(`h2o: skipping the h2o suite: ${h2oMissing}`);
  }
}

describe.skipIf(h2oMissing !== null)("h2o", () => {
  let h2o: RealH2o;
  beforeAll(async () => {
    h2o = await startH2o();
  });
  afterAll(async () => {
    await h2o?.close();
  });

  it("TLS: ALPN picks h2; 300 requests at once go over one connection", async () => {
    await using pool = new ConnectionPool({ tls: tls(), http2: true, maxConnections: 1 });
    const all = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        pool.request("GET", `${h2o.url}/${i % 2 ? "hello.txt" : "big.bin"}`),
      ),
    );
    for (const [i, r] of all.entries()) {
      expect(r.status).toBe(200);
      expect(r.extensions.httpVersion).toBe("HTTP/2");
      const file = h2o.files[i % 2 ? "/hello.txt" : "/big.bin"]!;
      expect(Buffer.from(r.content).equals(file)).toBe(true);
    }
    expect(pool.connections.map((c) => inspect(c))).toEqual([
      `<HTTPConnection ['${h2o.url}', HTTP/2, IDLE, Request Count: 300]>`,
    ]);
  });

  it("h2c with prior knowledge (http1: false)", async () => {
    await using pool = new ConnectionPool({ http2: true, http1: false });
    const r = await pool.request("GET", `${h2o.h2cUrl}/hello.txt`);
    expect(text(r.content)).toBe("hello from h2o\n");
    expect(r.extensions.httpVersion).toBe("HTTP/2");
  });

  it("a streamed 1 MiB body, read slowly, arrives whole", async () => {
    await using pool = new ConnectionPool({ tls: tls(), http2: true });
    await using r = await pool.stream("GET", `${h2o.url}/big.bin`);
    const chunks: Uint8Array[] = [];
    for await (const chunk of r) {
      chunks.push(chunk);
      if (chunks.length % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(Buffer.concat(chunks).equals(h2o.files["/big.bin"]!)).toBe(true);
  });

  describe.skipIf(squidMissing !== null)("through squid's CONNECT", () => {
    let squid: RealProxy;
    beforeAll(async () => {
      squid = await startSquid();
    });
    afterAll(async () => {
      await squid?.close();
    });

    it("HTTP/2 to h2o inside the tunnel, many requests on it", async () => {
      await using p = new HTTPProxy({ proxyUrl: squid.url, tls: tls(), http2: true });
      const all = await Promise.all(
        Array.from({ length: 20 }, () => p.request("GET", `${h2o.url}/hello.txt`)),
      );
      expect(all.every((r) => r.extensions.httpVersion === "HTTP/2")).toBe(true);
      expect(all.every((r) => text(r.content) === "hello from h2o\n")).toBe(true);
      expect(p.connections).toHaveLength(1);
    });
  });
});
