// ProxyRouter with routes: the keys it refuses, the order in which keys are tried
// (httpx's), and requests on the wire through the embedded proxy, a small SOCKS5 server and
// direct, with the pool surface (request, stream, handleRequest, connections, close,
// printing, await using).
import { createServer, connect as netConnect, type Socket } from "node:net";
import { inspect } from "node:util";
import { Request, type Response, UnsupportedProtocol, URL } from "@x/pool";
import { type EmbeddedProxy, expectSocketsClosed, openSocketHandles, testCA } from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProxyRouter, type ProxyRoutes, parseNoProxy } from "../src/index.js";
import { proxyFor, startWorld, type World } from "./setup.js";

const tls = () => ({ ca: testCA().cert });

function refused(make: () => unknown): TypeError & { code?: string } {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    expect((error as { code?: string }).code).toBe("ERR_INVALID_ARG_VALUE");
    return error as TypeError;
  }
  throw new Error("expected a TypeError");
}

describe("the routes it refuses", () => {
  const badKeys: Array<[key: string, says: RegExp]> = [
    ["example.com", /not a route key: write "all:\/\/"/],
    ["http", /not a route key/],
    ["ftp://", /the scheme must be all, http, https, ws or wss, not "ftp"/],
    ["all://a*b.example", /a wildcard is only allowed as a leading/],
    ["all://example.*", /a wildcard is only allowed as a leading/],
    ["all://10.0.0.0/33", /the prefix length must be a number from 0 to 32/],
    ["all://[fd00::]/129", /the prefix length must be a number from 0 to 128/],
    ["all://example.com/8", /a CIDR range needs an IPv4 or IPv6 address/],
    ["all:///8", /a CIDR range needs an address/],
    ["all://example.com/path", /a route key has no path/],
    ["all://example.com/a/b", /not a route key/],
    ["all://example.com?x=1", /no userinfo, path, query or fragment/],
    ["all://example.com#top", /no userinfo, path, query or fragment/],
    ["all://fd00::1", /an IPv6 address goes in brackets/],
    ["all://[fd00::1", /without a closing/],
    ["all://[fd00::g]", /not a valid IPv6 address/],
    ["all://300.1.1.1", /not a valid IPv4 address/],
    ["all://example.com:0", /the port must be a number from 1 to 65535/],
    ["all://example.com:99999", /the port must be a number from 1 to 65535/],
    ["all://example.com:", /the port must be a number from 1 to 65535/],
    ["all://*.", /the name is empty/],
    ["-all://", /not a route key/],
    ["all://.", /not a valid IPv4 address/],
    ["all://10.0.0.0/8x", /a route key has no path/],
    ["all://10.0.0.0/x8", /a route key has no path/],
    ["all://10.0.0.0/8?x", /no userinfo, path, query or fragment/],
    ["all://example.com:000443", /the port must be a number from 1 to 65535/],
  ];

  it.each(badKeys)("%s", (key, says) => {
    const error = refused(() => new ProxyRouter({ routes: { [key]: null } }));
    expect(error.message).toContain(`routes[${JSON.stringify(key)}]`);
    expect(error.message).toMatch(says);
  });

  it("a key with credentials is refused without echoing them", () => {
    const error = refused(
      () => new ProxyRouter({ routes: { "all://user:hunter2@example.com": null } }),
    );
    expect(error.message).toContain('routes["all://***@example.com"]');
    expect(error.message).not.toContain("hunter2");
  });

  it("only a userinfo right after the scheme is hidden: the rest of a bad key shows as given", () => {
    const error = refused(() => new ProxyRouter({ routes: { "http://a/b://c@d": null } }));
    expect(error.message).toContain('routes["http://a/b://c@d"]: not a route key');
  });

  const badProxies: Array<[proxy: unknown, says: RegExp]> = [
    ["ftp://proxy.corp:21", /"ftp:\/\/proxy.corp:21" is not a proxy URL: the scheme must be http:/],
    ["proxy.corp:3128", /is not a proxy URL/],
    ["not a url", /"not a url" is not a URL/],
    ["http://proxy.corp:3128/path", /has a path, query or fragment/],
    ["http://proxy.corp:3128/?q", /has a path, query or fragment/],
    ["http://proxy.corp:3128/#top", /has a path, query or fragment/],
    ["socks5h://", /has no host/],
    ["http://%zz@proxy.corp", /userinfo is not valid percent-encoding/],
    [42, /a proxy URL is a string \(or null for direct\), not number/],
  ];

  it.each(badProxies)("proxy %s", (proxy, says) => {
    const error = refused(
      () => new ProxyRouter({ routes: { "https://*.example.com": proxy as string } }),
    );
    expect(error.message).toContain('routes["https://*.example.com"]: ');
    expect(error.message).toMatch(says);
  });

  it("a proxy URL's credentials never appear in the error", () => {
    const error = refused(
      () => new ProxyRouter({ routes: { "all://": "http://user:hunter2@proxy.corp:3128/x" } }),
    );
    expect(error.message).toContain('"http://***@proxy.corp:3128/x"');
    expect(error.message).not.toContain("hunter2");
  });

  it("routes must be an object; proxyAuth a pair of strings; pool options as the pool's", () => {
    const routes = refused(() => new ProxyRouter({ routes: "all://" as unknown as ProxyRoutes }));
    expect(routes.message).toBe("routes must be an object of route keys to proxy URLs (or null)");
    for (const proxyAuth of [
      ["user"],
      ["user", 1],
      [1, "pass"],
      ["a", "b", "c"],
      "user:pass",
      "ab",
    ]) {
      const error = refused(
        () => new ProxyRouter({ proxyAuth: proxyAuth as unknown as [string, string] }),
      );
      expect(error.message).toBe("proxyAuth must be [username, password] strings");
    }
    refused(() => new ProxyRouter({ maxConnections: 0 }));
  });
});

describe("which key wins (httpx's order: port, then host, then scheme)", () => {
  const P = (n: number) => `http://proxy${n}.test:3128`;
  const cases: Array<
    [routes: Record<string, string | null>, url: string, expected: string | null]
  > = [
    // No routes, or no match: direct.
    [{}, "https://example.com/", null],
    [{ "http://": P(1) }, "https://example.com/", null],
    // all:// matches every scheme; a scheme's key beats all://.
    [{ "all://": P(1) }, "ws://example.com/", P(1)],
    [{ "all://": P(1), "https://": P(2) }, "https://example.com/", P(2)],
    [{ "https://": P(2), "all://": P(1) }, "http://example.com/", P(1)],
    [{ "all://example.com": P(1), "https://example.com": P(2) }, "https://example.com/", P(2)],
    // A host beats any host, whatever the scheme.
    [{ "https://": P(1), "all://example.com": P(2) }, "https://example.com/", P(2)],
    // A scheme's own key beats all:// even when its name is shorter.
    [{ "all://": P(1), "ws://": P(2) }, "ws://example.com/", P(2)],
    // The scheme of a key is read case-insensitively.
    [{ "HTTPS://example.com": P(1) }, "https://example.com/", P(1)],
    // A longer host beats a shorter one.
    [
      { "all://*.example.com": P(1), "all://*.api.example.com": P(2) },
      "http://v1.api.example.com/",
      P(2),
    ],
    [
      { "all://*example.com": P(1), "all://www.example.com": P(2) },
      "http://www.example.com/",
      P(2),
    ],
    // A key with a port beats one without, even with a longer host.
    [
      { "all://www.example.com": P(1), "all://*:8443": P(2) },
      "https://www.example.com:8443/",
      P(2),
    ],
    [{ "all://www.example.com": P(1), "all://*:8443": P(2) }, "https://www.example.com/", P(1)],
    // The port is the URL's, the scheme's default filled in.
    [{ "all://example.com:443": P(1) }, "https://example.com/", P(1)],
    [{ "all://example.com:443": P(1) }, "http://example.com/", null],
    [{ "https://example.com:8443": P(1) }, "https://example.com:8443/", P(1)],
    // "*.x" counts the "*.", "*x" the "*": the longer pattern wins.
    [{ "all://*example.com": P(1), "all://*.example.com": P(2) }, "http://www.example.com/", P(2)],
    [{ "all://example.com": P(1), "all://*example.com": P(2) }, "http://example.com/", P(2)],
    // Same length: a name beats a wildcard (httpx keeps the order given).
    [{ "all://*.example.com": P(1), "all://a.example.com": P(2) }, "http://a.example.com/", P(2)],
    [{ "all://a.example.com": P(2), "all://*.example.com": P(1) }, "http://a.example.com/", P(2)],
    // All equal: the first given.
    [{ "http://*": P(1), "http://": P(2) }, "http://example.com/", P(1)],
    [{ "http://": P(2), "http://*": P(1) }, "http://example.com/", P(2)],
    // Wildcards: "*.x" is the subdomains, "*x" the name too; neither matches "notx".
    [{ "all://*.example.com": P(1) }, "http://example.com/", null],
    [{ "all://*.example.com": P(1) }, "http://a.b.example.com/", P(1)],
    [{ "all://*example.com": P(1) }, "http://example.com/", P(1)],
    [{ "all://*example.com": P(1) }, "http://www.example.com/", P(1)],
    [{ "all://*example.com": P(1) }, "http://notexample.com/", null],
    [{ "all://example.com": P(1) }, "http://www.example.com/", null],
    // Names: case and a trailing dot do not matter; international names as punycode.
    [{ "all://EXAMPLE.com.": P(1) }, "http://Example.COM./", P(1)],
    [{ "all://bücher.example": P(1) }, "http://xn--bcher-kva.example/", P(1)],
    // Addresses and ranges: an address beats a longer prefix beats a shorter one.
    [{ "all://10.0.0.0/8": null, "all://": P(1) }, "http://10.2.3.4/", null],
    [{ "all://10.0.0.0/8": null, "all://10.2.0.0/16": P(1) }, "http://10.2.3.4/", P(1)],
    [{ "all://10.2.0.0/16": P(1), "all://10.2.3.4": P(2) }, "http://10.2.3.4/", P(2)],
    [{ "all://10.0.0.0/8": P(1) }, "http://11.0.0.1/", null],
    [{ "all://0.0.0.0/0": P(1) }, "http://192.0.2.1/", P(1)],
    [{ "all://0.0.0.0/0": P(1) }, "http://[::1]/", null],
    // Even a /0 range beats any host.
    [{ "all://": P(1), "all://0.0.0.0/0": P(2) }, "http://192.0.2.1/", P(2)],
    // An IPv4 key may end in a dot; a trailing slash adds nothing.
    [{ "all://10.2.3.4.": P(1) }, "http://10.2.3.4/", P(1)],
    [{ "all://example.com/": P(1) }, "http://example.com/", P(1)],
    // Names that start or end with digits are names, not addresses.
    [{ "all://3com.example": P(1), "all://www.3com": P(2) }, "http://3com.example/", P(1)],
    [{ "all://3com.example": P(1), "all://www.3com": P(2) }, "http://www.3com/", P(2)],
    [{ "all://10.0.0.0:8080/8": P(1) }, "http://10.2.3.4:8080/", P(1)],
    [{ "all://10.0.0.0:8080/8": P(1) }, "http://10.2.3.4/", null],
    [{ "all://[fd00::]/8": P(1) }, "http://[fd12::1]/", P(1)],
    [{ "all://[::1]": P(1) }, "http://[0:0::1]/", P(1)],
    [{ "all://[::1]:8080": P(1), "all://[::1]": P(2) }, "http://[::1]:8080/", P(1)],
    // Names never match addresses, nor addresses names (nothing is resolved).
    [{ "all://10.0.0.0/8": P(1) }, "http://10.example/", null],
    [{ "all://localhost": P(1) }, "http://127.0.0.1/", null],
    [{ "all://127.0.0.1": P(1) }, "http://localhost/", null],
    // Loopback is not special.
    [{ "all://": P(1) }, "http://localhost/", P(1)],
    [{ "all://": P(1) }, "http://127.0.0.1/", P(1)],
    // The example.
    [
      {
        "all://": P(1),
        "https://*.internal": null,
        "all://10.0.0.0/8": null,
        "http://legacy.example.com": "socks5h://127.0.0.1:1080",
      },
      "https://api.internal/x",
      null,
    ],
    [
      {
        "all://": P(1),
        "https://*.internal": null,
        "http://legacy.example.com": "socks5h://127.0.0.1:1080",
      },
      "http://legacy.example.com/",
      "socks5h://127.0.0.1:1080",
    ],
  ];

  it.each(cases)("%o: %s → %s", (routes, url, expected) => {
    expect(new ProxyRouter({ routes }).proxyFor(url)).toBe(expected);
  });

  it("returns the proxy URL exactly as given", () => {
    const given = "HTTP://user:p%40ss@Proxy.Corp:3128";
    expect(new ProxyRouter({ routes: { "all://": given } }).proxyFor("http://a.example/")).toBe(
      given,
    );
  });

  it("takes strings, WHATWG URLs and @x/pool URLs; refuses schemes it cannot send", () => {
    const router = new ProxyRouter({ routes: { "https://": "http://proxy.test:1" } });
    expect(router.proxyFor(new globalThis.URL("https://example.com/"))).toBe("http://proxy.test:1");
    expect(router.proxyFor(new URL("https://example.com/"))).toBe("http://proxy.test:1");
    expect(() => router.proxyFor("ftp://example.com/")).toThrow(UnsupportedProtocol);
  });

  it("noProxy is consulted before the routes, given as text or parsed", () => {
    const routes = { "all://": "http://proxy.test:1", "all://*.internal": "http://other.test:1" };
    for (const noProxy of ["localhost, .internal:443", parseNoProxy("localhost .internal:443")]) {
      const router = new ProxyRouter({ routes, noProxy });
      expect(router.proxyFor("http://localhost:8080/")).toBeNull();
      expect(router.proxyFor("https://api.internal/")).toBeNull();
      expect(router.proxyFor("http://api.internal/")).toBe("http://other.test:1");
      expect(router.proxyFor("http://example.com/")).toBe("http://proxy.test:1");
      expect(router.noProxy?.describe().taken.map((t) => t.entry)).toEqual([
        "localhost",
        ".internal:443",
      ]);
    }
  });
});

// A SOCKS5 server enough for these tests: no authentication, CONNECT to a name, which it
// maps to a loopback port.
async function startSocks5(hosts: Record<string, number>) {
  const sockets = new Set<Socket>();
  const log: string[] = [];
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    return s;
  };
  const server = createServer((client) => {
    track(client);
    let buffer = Buffer.alloc(0);
    let greeted = false;
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!greeted) {
        if (buffer.length < 2 || buffer.length < 2 + buffer[1]!) return;
        buffer = buffer.subarray(2 + buffer[1]!);
        client.write(Buffer.from([5, 0]));
        greeted = true;
      }
      if (buffer.length < 5 || buffer.length < 7 + buffer[4]!) return;
      client.off("data", onData);
      const fail = Buffer.from([5, 4, 0, 1, 0, 0, 0, 0, 0, 0]);
      const n = buffer[4]!;
      const target = `${buffer.subarray(5, 5 + n).toString()}:${buffer.readUInt16BE(5 + n)}`;
      log.push(target);
      const port = buffer[3] === 3 ? hosts[target] : undefined;
      if (port === undefined) return void client.end(fail);
      const rest = buffer.subarray(7 + n);
      const upstream = track(netConnect(port, "127.0.0.1"));
      upstream.once("connect", () => {
        client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream).pipe(client);
      });
      upstream.on("close", () => client.destroy());
      client.on("close", () => upstream.destroy());
    };
    client.on("data", onData);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  return {
    url: `socks5h://127.0.0.1:${port}`,
    log,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((ok) => server.close(ok));
    },
  };
}

describe("requests", () => {
  let world: World;
  let proxy: EmbeddedProxy;
  let authProxy: EmbeddedProxy;
  let socks: Awaited<ReturnType<typeof startSocks5>>;

  beforeAll(async () => {
    world = await startWorld();
    proxy = await proxyFor(world);
    authProxy = await proxyFor(world, { auth: { username: "user", password: "pass" } });
    socks = await startSocks5({ "legacy.example.com:80": world.http.port });
  });
  afterAll(async () => {
    await socks.close();
    await authProxy.close();
    await proxy.close();
    await world.close();
  });

  const direct = () => `http://127.0.0.1:${world.http.port}`;
  const body = async (r: { json(): Promise<unknown> }) => (await r.json()) as { host: string };

  it("sends each request its way: forwarded, tunnelled, over SOCKS, direct", async () => {
    await using router = new ProxyRouter({
      routes: {
        "http://": proxy.url,
        "https://www.example.com": proxy.url,
        "http://legacy.example.com": socks.url,
        "all://127.0.0.1": null,
      },
      tls: tls(),
    });
    const seen = proxy.log.length;
    expect(inspect(router)).toBe(
      "<ProxyRouter [Routes: 4 | Requests: 0 active, 0 queued | Connections: 0 active, 0 idle]>",
    );
    expect(await body(await router.request("GET", "http://example.com/a"))).toMatchObject({
      host: "example.com",
    });
    expect(await body(await router.request("GET", "https://www.example.com/b"))).toMatchObject({
      host: "www.example.com",
    });
    expect(await body(await router.request("GET", "http://legacy.example.com/c"))).toMatchObject({
      host: "legacy.example.com",
    });
    const served = world.http.requests;
    expect((await router.request("GET", `${direct()}/d`)).status).toBe(200);
    expect(world.http.requests).toBe(served + 1);
    expect(proxy.log.slice(seen).map((e) => `${e.method} ${e.target}`)).toEqual([
      "GET http://example.com/a",
      "CONNECT www.example.com:443",
    ]);
    expect(socks.log).toEqual(["legacy.example.com:80"]);
    // Every connection of every route: direct first, then each proxy as first used (each
    // pool's most recently used first).
    expect(router.connections.map((c) => inspect(c))).toEqual([
      `<HTTPConnection ['${direct()}', HTTP/1.1, IDLE, Request Count: 1]>`,
      "<TunnelHTTPConnection ['https://www.example.com:443', HTTP/1.1, IDLE, Request Count: 1]>",
      `<ForwardHTTPConnection ['${proxy.url}', HTTP/1.1, IDLE, Request Count: 1]>`,
      "<SOCKSConnection ['http://legacy.example.com:80', HTTP/1.1, IDLE, Request Count: 1]>",
    ]);
    expect(String(router)).toBe(
      "<ProxyRouter [Routes: 4 | Requests: 0 active, 0 queued | Connections: 0 active, 4 idle]>",
    );
  });

  it("stream() and handleRequest(); printing counts what is in flight", async () => {
    await using router = new ProxyRouter({
      routes: { "http://*.com": proxy.url },
      noProxy: "localhost",
    });
    const streamed = await router.stream("GET", "http://example.com/stream");
    expect(inspect(router)).toBe(
      "<ProxyRouter [Routes: 1, No proxy: 1 | Requests: 1 active, 0 queued | Connections: 1 active, 0 idle]>",
    );
    const chunks: Uint8Array[] = [];
    for await (const chunk of streamed) chunks.push(chunk);
    await streamed.close();
    expect(JSON.parse(Buffer.concat(chunks).toString())).toMatchObject({ host: "example.com" });
    const request = new Request("GET", `http://localhost:${world.http.port}/h`, {
      headers: [["Host", `localhost:${world.http.port}`]],
    });
    const seen = proxy.log.length;
    const r = await router.handleRequest(request);
    expect(await body(r)).toMatchObject({ host: `localhost:${world.http.port}` });
    expect(proxy.log.length).toBe(seen);
    expect(inspect(router)).toBe(
      "<ProxyRouter [Routes: 1, No proxy: 1 | Requests: 0 active, 0 queued | Connections: 0 active, 2 idle]>",
    );
  });

  it("one pool per distinct proxy URL, however it is spelled", async () => {
    const other = await proxyFor(world);
    try {
      await using router = new ProxyRouter({
        routes: {
          "http://example.com": proxy.url,
          "http://www.example.com": `${proxy.url.toUpperCase()}/`,
          "http://httpbin.org": other.url,
        },
      });
      await router.request("GET", "http://example.com/");
      await router.request("GET", "http://www.example.com/");
      await router.request("GET", "http://httpbin.org/");
      expect(router.connections.map((c) => inspect(c))).toEqual([
        `<ForwardHTTPConnection ['${proxy.url}', HTTP/1.1, IDLE, Request Count: 2]>`,
        `<ForwardHTTPConnection ['${other.url}', HTTP/1.1, IDLE, Request Count: 1]>`,
      ]);
      expect(other.log.map((e) => e.target)).toEqual(["http://httpbin.org/"]);
    } finally {
      await other.close();
    }
  });

  it("proxyAuth goes to proxies whose URL has no credentials of its own", async () => {
    const withOwn = authProxy.url.replace("http://", "http://someone:else@");
    await using router = new ProxyRouter({
      routes: {
        "http://example.com": authProxy.url,
        "http://www.example.com": withOwn,
        "http://httpbin.org": authProxy.url.replace("http://", "http://someone@"),
        "http://example.org": authProxy.url.replace("http://", "http://:else@"),
      },
      proxyAuth: ["user", "pass"],
    });
    expect((await router.request("GET", "http://example.com/")).status).toBe(200);
    // The URL's own (wrong) credentials win: the proxy refuses them; a username or a
    // password alone counts as the URL's own.
    expect((await router.request("GET", "http://www.example.com/")).status).toBe(407);
    expect((await router.request("GET", "http://httpbin.org/")).status).toBe(407);
    expect((await router.request("GET", "http://example.org/")).status).toBe(407);
    const sent = authProxy.log.slice(-4).map((e) => {
      const header = e.headers.find(([k]) => k.toLowerCase() === "proxy-authorization");
      return Buffer.from(header![1].slice(6), "base64").toString();
    });
    expect(sent).toEqual(["user:pass", "someone:else", "someone:", ":else"]);
  });

  it("proxies are made on first use: a bad one fails its own requests only", async () => {
    await using router = new ProxyRouter({
      routes: { "http://example.com": proxy.url },
      proxyAuth: ["us:er", "pass"],
    });
    expect((await router.request("GET", `${direct()}/`)).status).toBe(200);
    await expect(router.request("GET", "http://example.com/")).rejects.toMatchObject({
      name: "TypeError",
      code: "ERR_INVALID_ARG_VALUE",
    });
  });

  it("a URL it cannot send rejects (it does not throw)", async () => {
    await using router = new ProxyRouter();
    const pending = router.request("GET", "ftp://example.com/");
    await expect(pending).rejects.toBeInstanceOf(UnsupportedProtocol);
    await expect(router.stream("GET", "example.com/x")).rejects.toBeInstanceOf(UnsupportedProtocol);
  });

  it("streamTo() goes the request's route and hands the response (or the failure) to the receiver", async () => {
    await using router = new ProxyRouter({ routes: { "http://*.com": proxy.url } });
    const outcome = (url: string) =>
      new Promise<["response", Response] | ["error", unknown]>((resolve) => {
        router.streamTo(
          "GET",
          url,
          {},
          {
            onResponse: (response) => resolve(["response", response]),
            onError: (error) => resolve(["error", error]),
          },
        );
      });
    const seen = proxy.log.length;
    const [kind, response] = await outcome("http://example.com/via");
    expect(kind).toBe("response");
    expect(await body(response as Response)).toMatchObject({ host: "example.com" });
    expect(proxy.log.slice(seen).map((e) => e.target)).toEqual(["http://example.com/via"]);
    const [failed, error] = await outcome("example.com/x");
    expect(failed).toBe("error");
    expect(error).toBeInstanceOf(UnsupportedProtocol);
  });

  it("the proxy options reach HTTP proxies: proxyHeaders, shareForwardConnections, and proxyTls for https: ones only", async () => {
    const secure = await proxyFor(world, { tls: true });
    try {
      await using router = new ProxyRouter({
        routes: { "http://": proxy.url, "https://": secure.url },
        proxyHeaders: { "X-Router": "yes" },
        proxyTls: tls(),
        tls: tls(),
        shareForwardConnections: false,
      });
      await router.request("GET", "http://example.com/");
      await router.request("GET", "http://httpbin.org/");
      expect((await router.request("GET", "https://example.com/")).status).toBe(200);
      expect(proxy.log.at(-1)?.headers).toContainEqual(["X-Router", "yes"]);
      expect(secure.log.at(-1)).toMatchObject({ method: "CONNECT", target: "example.com:443" });
      expect(secure.log.at(-1)?.headers).toContainEqual(["X-Router", "yes"]);
      expect(router.connections.map((c) => inspect(c))).toEqual([
        `<ForwardHTTPConnection ['${proxy.url}', HTTP/1.1, IDLE, Request Count: 1]>`,
        `<ForwardHTTPConnection ['${proxy.url}', HTTP/1.1, IDLE, Request Count: 1]>`,
        "<TunnelHTTPConnection ['https://example.com:443', HTTP/1.1, IDLE, Request Count: 1]>",
      ]);
    } finally {
      await secure.close();
    }
  });

  it("proxyAuth goes to SOCKS proxies too, unless their URL has credentials", async () => {
    const auth = await proxyFor(world, { auth: { username: "user", password: "pass" } });
    try {
      const url = `socks5h://127.0.0.1:${auth.port}`;
      await using router = new ProxyRouter({
        routes: {
          "http://example.com": url,
          "http://www.example.com": url.replace("//", "//someone:else@"),
        },
        proxyAuth: ["user", "pass"],
      });
      expect((await router.request("GET", "http://example.com/")).status).toBe(200);
      const error = await router.request("GET", "http://www.example.com/").catch((e) => e);
      expect(error).toMatchObject({ name: "ProxyError", code: "ERR_PROXY" });
      expect(auth.socksAuthLog.map((a) => a.user)).toEqual(["user", "someone"]);
    } finally {
      await auth.close();
    }
  });

  it("handleRequest rejects (it does not throw) when the proxy cannot be made", async () => {
    await using router = new ProxyRouter({
      routes: { "http://example.com": proxy.url },
      proxyAuth: ["us:er", "pass"],
    });
    const pending = router.handleRequest(new Request("GET", "http://example.com/"));
    await expect(pending).rejects.toMatchObject({
      name: "TypeError",
      code: "ERR_INVALID_ARG_VALUE",
      message: "proxy credentials must not contain CR, LF or NUL, nor a colon in the username",
    });
  });

  it("close() closes every pool; the router can be used again", async () => {
    const before = openSocketHandles();
    const router = new ProxyRouter({ routes: { "http://example.com": proxy.url } });
    await router.request("GET", "http://example.com/");
    await router.request("GET", `${direct()}/`);
    expect(router.connections).toHaveLength(2);
    await router.close();
    expect(router.connections).toEqual([]);
    await expectSocketsClosed(before);
    expect((await router.request("GET", "http://example.com/")).status).toBe(200);
    await router.close();
  });
});
