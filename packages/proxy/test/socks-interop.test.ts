// SOCKSProxy against real SOCKS servers from Debian's packages: dante (danted; SOCKS4 and
// SOCKS5, open and with username/password checked against a system user) and microsocks
// (SOCKS5 with -u/-P). `.ci/run` installs them (tooling/testkit/install-proxies.sh); locally
// a missing one is reported and its suite skipped, under CI=true that is a failure.
// socks4a, which dante does not speak, runs against the testkit's own SOCKS server.
import { createServer } from "node:net";
import { inspect } from "node:util";
import { ConnectError } from "@x/pool";
import {
  DANTE_USER,
  type EmbeddedSocks,
  type Origin,
  type OriginOptions,
  type RealProxy,
  startDante,
  startMicrosocks,
  startOrigin,
  startSocksServer,
  testCA,
  unavailable,
} from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProxyError, SOCKSProxy, type SOCKSProxyOptions } from "../src/index.js";

const danteMissing = unavailable("danted");
const microsocksMissing = unavailable("microsocks");
for (const [name, why] of [
  ["dante", danteMissing],
  ["microsocks", microsocksMissing],
] as const) {
  if (why === null) continue;
  if (process.env.CI === "true") {
    it(`${name} is there under CI`, () => {
      throw new Error(`${name} is required under CI=true: ${why}`);
    });
  } else {
    console.warn(`socks-interop: skipping the ${name} suite: ${why}`);
  }
}

type Echo = { host: string; tls: boolean; headers: string[] };
const MICRO_USER = { username: "micro user", password: "p@ss:wörd" };

// The origins listen on 127.0.0.1 and, on the same port, on ::1 when the machine has it:
// socks4:/socks5: resolve "localhost" here, and dns.lookup may answer ::1 first.
let http: Origin;
let https: Origin;
const twins: Origin[] = [];
let hasIPv6 = false;
const tls = () => ({ ca: testCA().cert });

async function withTwin(options: OriginOptions): Promise<Origin> {
  const origin = await startOrigin(options);
  try {
    twins.push(await startOrigin({ ...options, ipv6: true, port: origin.port }));
    hasIPv6 = true;
  } catch {
    // No IPv6 loopback here (or the port is taken on ::1): IPv4 only.
  }
  return origin;
}

beforeAll(async () => {
  const handler =
    (secure: boolean) =>
    (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ host: req.headers.host, tls: secure, headers: req.rawHeaders }));
    };
  http = await withTwin({ handler: handler(false) });
  https = await withTwin({ tls: true, handler: handler(true) });
});
afterAll(async () => {
  for (const o of [http, https, ...twins]) await o?.close();
});

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as { port: number };
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

/** The SOCKS tunnels dialled (TCP connections to the proxy) while `body` ran. */
async function countingDials(
  body: (trace: (name: string) => void) => Promise<void>,
): Promise<number> {
  let dials = 0;
  await body((name) => {
    if (name === "socks.connect_tcp.started") dials++;
  });
  return dials;
}

/**
 * Two requests to each origin (http:, then https:): each answered, both requests to an
 * origin on one kept-alive tunnel, and the pool printing one IDLE tunnel per origin.
 */
async function twoOriginsTwice(options: SOCKSProxyOptions): Promise<void> {
  await using p = new SOCKSProxy({ ...options, tls: tls() });
  const dials = await countingDials(async (trace) => {
    for (const origin of [http, https]) {
      const url = `${origin.url.startsWith("https") ? "https" : "http"}://localhost:${origin.port}`;
      for (const path of ["/", "/again"]) {
        const r = await p.request("GET", `${url}${path}`, { extensions: { trace } });
        expect(r.status).toBe(200);
        const echo = (await r.json()) as Echo;
        expect(echo.host).toBe(`localhost:${origin.port}`);
        expect(echo.tls).toBe(origin === https);
      }
    }
  });
  expect(dials).toBe(2);
  expect(p.connections.map((c) => inspect(c))).toEqual([
    `<SOCKSConnection ['https://localhost:${https.port}', HTTP/1.1, IDLE, Request Count: 2]>`,
    `<SOCKSConnection ['http://localhost:${http.port}', HTTP/1.1, IDLE, Request Count: 2]>`,
  ]);
}

/**
 * Starts a real proxy for the suite (stopped after it); returns the proxy URL for a scheme.
 */
function running(start: () => Promise<RealProxy>): (scheme: string) => string {
  let proxy: RealProxy | undefined;
  beforeAll(async () => {
    proxy = await start();
  }, 30000);
  afterAll(async () => {
    await proxy?.close();
  });
  return (scheme) => `${scheme}://127.0.0.1:${proxy!.port}/`;
}

/** The request's failure, checked to be a ProxyError, and the pool left empty. */
async function refusal(p: SOCKSProxy, url: string): Promise<ProxyError> {
  const error = await p.request("GET", url).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ProxyError);
  expect((error as ProxyError).code).toBe("ERR_PROXY");
  expect((error as ProxyError).status).toBe(0);
  expect(p.connections).toEqual([]);
  return error as ProxyError;
}

/** Everything a user could see of an error. */
const shown = (error: Error): string => `${error.message}\n${inspect(error)}\n${error.stack}`;

describe.skipIf(danteMissing !== null)("dante, open (socksmethod none)", () => {
  const proxyUrl = running(() => startDante({ auth: false }));

  // socks4a is not here: dante takes 0.0.0.1 for an address (it answers 0x5B after
  // connect(2) to 0.0.0.1 fails); the testkit's SOCKS server covers it below.
  for (const scheme of ["socks4", "socks5", "socks5h"]) {
    it(`${scheme}: http: and https: origins, one kept-alive tunnel each`, async () => {
      await twoOriginsTwice({ proxyUrl: proxyUrl(scheme) });
    });
  }

  it("socks5: an IPv6 literal goes as one (dante connects to ::1)", async (ctx) => {
    if (!hasIPv6) ctx.skip();
    await using p = new SOCKSProxy({ proxyUrl: proxyUrl("socks5") });
    const r = await p.request("GET", `http://[::1]:${http.port}/`);
    expect(((await r.json()) as Echo).host).toBe(`[::1]:${http.port}`);
  });

  it("a refused target (a closed port): SOCKS5 reply 0x05, and the pool goes on", async () => {
    const port = await closedPort();
    for (const scheme of ["socks5", "socks5h"]) {
      await using p = new SOCKSProxy({ proxyUrl: proxyUrl(scheme) });
      const error = await refusal(p, `http://localhost:${port}/`);
      expect(error.reply).toBe(0x05);
      expect(error.message).toBe("SOCKS5 reply 0x05: connection refused");
      const r = await p.request("GET", `http://localhost:${http.port}/`);
      expect(r.status).toBe(200);
      expect(p.connections).toHaveLength(1);
    }
  });

  it("TLS to the origin failing inside the tunnel: ConnectError, the tunnel closed", async () => {
    // No test CA: the origin's certificate does not verify.
    await using p = new SOCKSProxy({ proxyUrl: proxyUrl("socks5h") });
    const error = await p.request("GET", `https://localhost:${https.port}/`).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toMatch(/^TLS handshake failed/);
    expect(p.connections).toEqual([]);
  });

  it("a refused target through socks4: SOCKS4 reply 0x5b", async () => {
    await using p = new SOCKSProxy({ proxyUrl: proxyUrl("socks4") });
    const error = await refusal(p, `http://127.0.0.1:${await closedPort()}/`);
    expect(error.reply).toBe(0x5b);
    expect(error.message).toBe("SOCKS4 reply 0x5b: request rejected or failed");
  });
});

describe.skipIf(danteMissing !== null)("dante, socksmethod username", () => {
  const proxyUrl = running(() => startDante({ auth: true }));
  const proxyAuth = [DANTE_USER.username, DANTE_USER.password] as const;

  for (const scheme of ["socks5", "socks5h"]) {
    it(`${scheme} with proxyAuth: http: and https:, one kept-alive tunnel each`, async () => {
      await twoOriginsTwice({ proxyUrl: proxyUrl(scheme), proxyAuth });
    });
  }

  it("the credentials from the URL's userinfo", async () => {
    const { username, password } = DANTE_USER;
    await using p = new SOCKSProxy({
      proxyUrl: proxyUrl("socks5h").replace(
        "//",
        `//${encodeURIComponent(username)}:${encodeURIComponent(password)}@`,
      ),
      tls: tls(),
    });
    expect((await p.request("GET", `https://localhost:${https.port}/`)).status).toBe(200);
  });

  it("a wrong password: ProxyError, the credentials nowhere in what it shows", async () => {
    const secret = "not-the-xsocks-password";
    await using p = new SOCKSProxy({
      proxyUrl: proxyUrl("socks5h"),
      proxyAuth: [DANTE_USER.username, secret],
      tls: tls(),
    });
    for (const url of [`http://localhost:${http.port}/`, `https://localhost:${https.port}/`]) {
      const error = await refusal(p, url);
      expect(error.message).toMatch(/refused the username and password/);
      expect(error.reply).not.toBe(0);
      expect(shown(error)).not.toContain(secret);
      expect(shown(error)).not.toContain(DANTE_USER.username);
      expect(inspect(p)).not.toContain(secret);
    }
  });

  it("no credentials: ProxyError 0xff, no acceptable method, with the hint", async () => {
    await using p = new SOCKSProxy({ proxyUrl: proxyUrl("socks5h") });
    const error = await refusal(p, `http://localhost:${http.port}/`);
    expect(error.reply).toBe(0xff);
    expect(error.message).toMatch(/none of the authentication methods.*username and password/);
  });

  it("a refused target after authenticating: SOCKS5 reply 0x05", async () => {
    await using p = new SOCKSProxy({ proxyUrl: proxyUrl("socks5"), proxyAuth });
    const error = await refusal(p, `http://127.0.0.1:${await closedPort()}/`);
    expect(error.reply).toBe(0x05);
    expect(error.message).toBe("SOCKS5 reply 0x05: connection refused");
  });
});

describe.skipIf(microsocksMissing !== null)("microsocks, with -u/-P", () => {
  const proxyUrl = running(() => startMicrosocks({ auth: MICRO_USER }));
  const proxyAuth = [MICRO_USER.username, MICRO_USER.password] as const;

  for (const scheme of ["socks5", "socks5h"]) {
    it(`${scheme}: http: and https:, one kept-alive tunnel each`, async () => {
      await twoOriginsTwice({ proxyUrl: proxyUrl(scheme), proxyAuth });
    });
  }

  it("a wrong password: ProxyError, the credentials nowhere in what it shows", async () => {
    const secret = "wrong-micro-secret";
    await using p = new SOCKSProxy({
      proxyUrl: proxyUrl("socks5"),
      proxyAuth: [MICRO_USER.username, secret],
    });
    const error = await refusal(p, `http://localhost:${http.port}/`);
    expect(error.message).toMatch(/refused the username and password/);
    expect(shown(error)).not.toContain(secret);
    expect(shown(error)).not.toContain(MICRO_USER.username);
  });

  it("no credentials: ProxyError 0xff", async () => {
    await using p = new SOCKSProxy({ proxyUrl: proxyUrl("socks5h") });
    expect((await refusal(p, `http://localhost:${http.port}/`)).reply).toBe(0xff);
  });

  it("a refused target: SOCKS5 reply 0x05", async () => {
    await using p = new SOCKSProxy({ proxyUrl: proxyUrl("socks5h"), proxyAuth });
    const error = await refusal(p, `http://localhost:${await closedPort()}/`);
    expect(error.message).toBe("SOCKS5 reply 0x05: connection refused");
  });
});

describe("socks4a (dante has none): the testkit's SOCKS server", () => {
  let socks: EmbeddedSocks;
  beforeAll(async () => {
    socks = await startSocksServer({ hosts: { "only-the-proxy.test": http.port } });
  });
  afterAll(async () => {
    await socks?.close();
  });

  it("the name goes to the proxy, which alone can resolve it; the user id too", async () => {
    await using p = new SOCKSProxy({
      proxyUrl: `socks4a://alice@127.0.0.1:${socks.port}/`,
    });
    const from = socks.log.length;
    for (const path of ["/", "/again"]) {
      const r = await p.request("GET", `http://only-the-proxy.test${path}`);
      expect(((await r.json()) as Echo).host).toBe("only-the-proxy.test");
    }
    expect(socks.log.slice(from)).toEqual([
      {
        version: 4,
        methods: [],
        addressType: "domain",
        host: "only-the-proxy.test",
        port: 80,
        user: "alice",
        authenticated: null,
      },
    ]);
    expect(p.connections.map(String)).toEqual([
      "<SOCKSConnection ['http://only-the-proxy.test:80', HTTP/1.1, IDLE, Request Count: 2]>",
    ]);
  });
});
