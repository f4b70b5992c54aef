// The dialer seam: an HTTPConnection gets its stream from a Dialer, starts TLS itself
// (offering ALPN), and speaks what TLS negotiated. Over real loopback sockets.
import { once } from "node:events";
import { createSecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { startOrigin, type Origin as TestOrigin, testCA } from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectError,
  type Dialer,
  DirectDialer,
  HTTPConnection,
  type NetworkStream,
  NodeBackend,
  type Origin,
  Request,
  URL,
} from "../src/index.js";

let https: TestOrigin;
beforeAll(async () => {
  https = await startOrigin({ tls: true });
});
afterAll(async () => {
  await https.close();
});

const tls = () => ({ ca: testCA().cert });
const get = (url: string) => {
  const u = new URL(url);
  return new Request("GET", u, { headers: [["Host", u.origin.authority]] });
};

/** Dials the test origin's port whatever the origin says, and records each dial. */
class LoopbackDialer implements Dialer {
  readonly dials: string[] = [];
  closed = 0;
  readonly #direct = new DirectDialer();
  constructor(readonly port: number) {}
  dial(origin: Origin, request: Request, signal: AbortSignal): Promise<NetworkStream> {
    this.dials.push(String(origin));
    const here = new URL(`http://127.0.0.1:${this.port}/`).origin;
    return this.#direct.dial(here, request, signal);
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

describe("HTTPConnection over a Dialer", () => {
  it("dials once, starts TLS to the origin's name on the dialed stream, and reuses it", async () => {
    const dialer = new LoopbackDialer(https.port);
    const origin = new URL("https://localhost:443/").origin;
    const conn = new HTTPConnection(origin, { dialer, tls: tls() });
    for (let i = 0; i < 2; i++) {
      const r = await conn.handleRequest(get("https://localhost/"));
      expect(r.status).toBe(200);
      await r.read();
    }
    expect(dialer.dials).toEqual(["https://localhost:443"]);
    expect(conn.info()).toBe("'https://localhost:443', HTTP/1.1, IDLE, Request Count: 2");
    await conn.close();
    expect(dialer.closed).toBe(1);
  });

  it("a dial that fails leaves the connection CONNECTION FAILED and the dialer closed", async () => {
    const failing: Dialer = {
      dial: async () => {
        throw new ConnectError("no route (test)");
      },
      close: async () => {
        closed++;
      },
    };
    let closed = 0;
    const conn = new HTTPConnection(new URL("http://a.test/").origin, { dialer: failing });
    await expect(conn.handleRequest(get("http://a.test/"))).rejects.toBeInstanceOf(ConnectError);
    expect(conn.info()).toBe("CONNECTION FAILED");
    expect(conn.isClosed()).toBe(true);
    expect(closed).toBe(1);
  });

  it("a protocol TLS negotiated that was not offered is a ConnectError", async () => {
    // A dialer whose stream claims ALPN chose h2 (an HTTP/1.1 connection offers only http/1.1).
    const direct = new DirectDialer();
    const lying: Dialer = {
      dial: async (_origin, request, signal) => {
        const here = new URL(`http://127.0.0.1:${https.port}/`).origin;
        const stream = await direct.dial(here, request, signal);
        return new Proxy(stream, {
          get(target, key) {
            if (key === "startTls") {
              return async (...args: Parameters<NetworkStream["startTls"]>) => {
                const secure = await target.startTls(...args);
                return new Proxy(secure, {
                  get(t, k) {
                    if (k === "getExtraInfo") {
                      return (name: string) =>
                        name === "alpn_protocol" ? "h2" : t.getExtraInfo(name);
                    }
                    const value = Reflect.get(t, k);
                    return typeof value === "function" ? value.bind(t) : value;
                  },
                });
              };
            }
            const value = Reflect.get(target, key);
            return typeof value === "function" ? value.bind(target) : value;
          },
        });
      },
    };
    const conn = new HTTPConnection(new URL("https://localhost/").origin, {
      dialer: lying,
      tls: tls(),
    });
    await expect(conn.handleRequest(get("https://localhost/"))).rejects.toThrow(
      /chose h2 \(by ALPN\), which was not offered/,
    );
    expect(conn.isClosed()).toBe(true);
  });
});

describe("NodeBackend reports the ALPN protocol TLS negotiated", () => {
  it("http/1.1 from a server that speaks it; null on a plain stream", async () => {
    const backend = new NodeBackend();
    const plain = await backend.connectTcp("127.0.0.1", https.port);
    expect(plain.getExtraInfo("alpn_protocol")).toBeNull();
    const secure = await plain.startTls(
      { ...tls(), ALPNProtocols: ["http/1.1"] },
      "localhost",
      5000,
    );
    expect(secure.getExtraInfo("alpn_protocol")).toBe("http/1.1");
    await secure.close();
  });

  it("a server that speaks only h2 refuses an HTTP/1.1 connection's handshake: ConnectError", async () => {
    const pair = testCA().issue(["localhost"]);
    const server = createSecureServer({ key: pair.key, cert: pair.cert, allowHTTP1: false });
    server.on("tlsClientError", () => {});
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const port = (server.address() as AddressInfo).port;
      const conn = new HTTPConnection(new URL(`https://localhost:${port}/`).origin, {
        tls: tls(),
        dialer: new LoopbackDialer(port),
      });
      await expect(conn.handleRequest(get(`https://localhost:${port}/`))).rejects.toBeInstanceOf(
        ConnectError,
      );
      expect(conn.isClosed()).toBe(true);
    } finally {
      server.close();
      await once(server, "close");
    }
  });
});
