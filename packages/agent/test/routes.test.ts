// The agent's ways through proxies, on loopback: which requests are forwarded, tunnelled or
// sent direct (per scheme, host and port), the credentials and headers each way carries, the
// request options it honours, and destroy() while a tunnel opens.
import { once } from "node:events";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { createServer as createNetServer, Socket as NetSocket, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { NodeBackend } from "@x/pool";
import { basicAuth } from "@x/proxy";
import {
  type EmbeddedProxy,
  type EmbeddedSocks,
  type Origin,
  onRequestHead,
  startOrigin,
  startProxy,
  startRawServer,
  startSocksServer,
  testCA,
} from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ProxyAgent } from "../src/index.js";
import { body, ca } from "./helpers.js";

const ALICE = { username: "alice", password: "s3cret" };
let http: Origin;
let https: Origin;
let proxy: EmbeddedProxy;
let guarded: EmbeddedProxy;
let socks: EmbeddedSocks;

beforeAll(async () => {
  http = await startOrigin();
  // A certificate for example.com only: a request to 127.0.0.1 needs servername.
  https = await startOrigin({ tls: true, names: ["example.com"] });
  const hosts = {
    "example.com:80": http.port,
    "example.com:8080": http.port,
    "example.com:443": https.port,
  };
  proxy = await startProxy({ hosts });
  guarded = await startProxy({ hosts, auth: ALICE });
  socks = await startSocksServer({ auth: ALICE });
}, 30000);
afterAll(async () => {
  for (const s of [http, https, proxy, guarded, socks]) await s?.close();
});

interface Sent {
  readonly status: number;
  readonly body: string;
}

function request(
  url: string,
  agent: ProxyAgent,
  options: RequestOptions & { path?: string } = {},
): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith("https:") ? httpsRequest : httpRequest;
    const req = send(url, { agent, ...options });
    req.on("error", reject);
    req.on("response", (res: IncomingMessage) => {
      body(res).then((text) => resolve({ status: res.statusCode ?? 0, body: text }), reject);
    });
    req.end();
  });
}

const failure = (promise: Promise<unknown>): Promise<NodeJS.ErrnoException> =>
  promise.then(
    () => {
      throw new Error("expected the request to fail");
    },
    (e: NodeJS.ErrnoException) => e,
  );

async function using<T>(agent: ProxyAgent, run: (agent: ProxyAgent) => Promise<T>): Promise<T> {
  try {
    return await run(agent);
  } finally {
    agent.destroy();
  }
}

describe("forwarding", () => {
  it("the absolute form: the port unless 80, a target already absolute kept", async () => {
    await using(new ProxyAgent({ proxyUrl: proxy.url }), async (agent) => {
      const before = proxy.log.length;
      expect((await request("http://example.com:8080/whoami", agent)).body).toBe("http-origin");
      expect((await request("http://example.com/whoami", agent)).body).toBe("http-origin");
      const absolute = await request("http://example.com/", agent, {
        path: "http://example.com:8080/echo",
      });
      expect(JSON.parse(absolute.body).url).toBe("/echo");
      // A URL in the query is not an absolute target.
      const query = await request("http://example.com/echo?next=http://x/", agent);
      expect(JSON.parse(query.body).url).toBe("/echo?next=http://x/");
      expect(proxy.log.slice(before).map((e) => e.target)).toEqual([
        "http://example.com:8080/whoami",
        "http://example.com/whoami",
        "http://example.com:8080/echo",
        "http://example.com/echo?next=http://x/",
      ]);
    });
  });

  it("proxyAuth for a URL without credentials, Basic, forwarded and tunnelled", async () => {
    const agent = new ProxyAgent({
      proxyUrl: guarded.url,
      proxyAuth: ["alice", "s3cret"],
      proxyHeaders: { "X-Via-Agent": "yes" },
    });
    await using(agent, async () => {
      const before = guarded.log.length;
      expect((await request("http://example.com/whoami", agent)).body).toBe("http-origin");
      const tunnelled = await request(`https://127.0.0.1:${https.port}/whoami`, agent, {
        ca: ca(),
        servername: "example.com",
      });
      expect(tunnelled.body).toBe("https-origin");
      const log = guarded.log.slice(before);
      expect(log.map((e) => e.method)).toEqual(["GET", "CONNECT"]);
      for (const entry of log) {
        const fields = Object.fromEntries(entry.headers.map(([k, v]) => [k.toLowerCase(), v]));
        expect(fields["proxy-authorization"]).toBe(basicAuth("alice", "s3cret"));
        expect(fields["x-via-agent"]).toBe("yes");
      }
    });
  });

  it("with Basic, node:http speaks to the proxy over a socket of its own", async () => {
    const agent = new ProxyAgent({ proxyUrl: guarded.url, proxyAuth: ["alice", "s3cret"] });
    await using(agent, async () => {
      const req = httpRequest("http://example.com/whoami", { agent });
      req.end();
      const [res] = (await once(req, "response")) as [IncomingMessage];
      expect(res.socket).toBeInstanceOf(NetSocket);
      expect(res.socket?.remotePort).toBe(guarded.port);
      expect(await body(res)).toBe("http-origin");
    });
  });

  it("a request's own Proxy-Authorization wins over the agent's", async () => {
    const agent = new ProxyAgent({ proxyUrl: guarded.url, proxyAuth: ["alice", "wrong"] });
    await using(agent, async () => {
      expect((await request("http://example.com/whoami", agent)).status).toBe(407);
      const own = await request("http://example.com/whoami", agent, {
        headers: { "Proxy-Authorization": basicAuth("alice", "s3cret") },
      });
      expect([own.status, own.body]).toEqual([200, "http-origin"]);
    });
  });
});

describe("which way", () => {
  it("per scheme, host and port, each decision kept apart", async () => {
    const agent = new ProxyAgent({
      routes: { [`https://127.0.0.1:${http.port}`]: proxy.url, "all://localhost": proxy.url },
    });
    await using(agent, async () => {
      const before = proxy.log.length;
      // https: to the plain origin's port goes through the proxy (and fails at TLS) ...
      const error = await failure(request(`https://127.0.0.1:${http.port}/`, agent, { ca: ca() }));
      expect(error.message).not.toBe("expected the request to fail");
      expect(proxy.log.length).toBe(before + 1);
      // ... http: to that host and port goes direct, and so does another port.
      expect((await request(`http://127.0.0.1:${http.port}/whoami`, agent)).body).toBe(
        "http-origin",
      );
      expect(
        (
          await request(`https://127.0.0.1:${https.port}/whoami`, agent, {
            ca: ca(),
            servername: "example.com",
          })
        ).body,
      ).toBe("https-origin");
      expect(proxy.log.length).toBe(before + 1);
      // Another host on the same port goes through the proxy.
      expect((await request(`http://localhost:${http.port}/whoami`, agent)).body).toBe(
        "http-origin",
      );
      expect(proxy.log.length).toBe(before + 2);
      expect(proxy.log.at(-1)?.target).toBe(`http://localhost:${http.port}/whoami`);
    });
  });

  it("https: without a port goes to 443 (the agent's defaultPort under node:https)", async () => {
    await using(new ProxyAgent({ proxyUrl: proxy.url }), async (agent) => {
      const before = proxy.log.length;
      expect((await request("https://example.com/whoami", agent, { ca: ca() })).body).toBe(
        "https-origin",
      );
      expect(proxy.log.slice(before).map((e) => [e.method, e.target])).toEqual([
        ["CONNECT", "example.com:443"],
      ]);
    });
  });

  it("an IP origin's certificate is checked against its IP (node:http's empty servername)", async () => {
    // A certificate for 127.0.0.1 only: checked against any name, it fails.
    const byIp = await startOrigin({ tls: true, names: ["127.0.0.1"] });
    try {
      for (const proxyUrl of ["", proxy.url, `socks5://alice:s3cret@127.0.0.1:${socks.port}`]) {
        const agent = new ProxyAgent(proxyUrl === "" ? {} : { proxyUrl });
        await using(agent, async () => {
          const url = `https://127.0.0.1:${byIp.port}/whoami`;
          expect((await request(url, agent, { ca: ca() })).body, proxyUrl).toBe("https-origin");
        });
      }
    } finally {
      await byIp.close();
    }
  });

  it("servername names the origin for its certificate, direct and tunnelled", async () => {
    for (const proxyUrl of ["", proxy.url, `socks5://alice:s3cret@127.0.0.1:${socks.port}`]) {
      const agent = new ProxyAgent(proxyUrl === "" ? {} : { proxyUrl });
      await using(agent, async () => {
        const url = `https://127.0.0.1:${https.port}/whoami`;
        const named = await request(url, agent, { ca: ca(), servername: "example.com" });
        expect(named.body, proxyUrl).toBe("https-origin");
        // For a name too: the certificate is checked against servername, not the host.
        const byName = `https://localhost:${https.port}/whoami`;
        const other = await request(byName, agent, { ca: ca(), servername: "example.com" });
        expect(other.body, proxyUrl).toBe("https-origin");
        // Without it (or empty), the certificate does not name 127.0.0.1.
        for (const servername of [undefined, ""]) {
          const error = await failure(
            request(url, agent, { ca: ca(), ...(servername === undefined ? {} : { servername }) }),
          );
          const code = error.code === "ERR_TLS_CERT_ALTNAME_INVALID" ? error : error.cause;
          expect((code as NodeJS.ErrnoException).code, proxyUrl).toBe(
            "ERR_TLS_CERT_ALTNAME_INVALID",
          );
        }
      });
    }
  });

  it("tls options for the origins, under a request's own", async () => {
    for (const proxyUrl of ["", proxy.url]) {
      const agent = new ProxyAgent({
        ...(proxyUrl === "" ? {} : { proxyUrl }),
        tls: { ca: ca(), servername: "example.com" },
      });
      await using(agent, async () => {
        const url = `https://127.0.0.1:${https.port}/whoami`;
        const viaAgent = httpsRequest(url, { agent, ca: undefined as never });
        viaAgent.end();
        const [res] = (await once(viaAgent, "response")) as [IncomingMessage];
        expect(await body(res), proxyUrl).toBe("https-origin");
        // An empty servername is none: the agent's stands.
        expect((await request(url, agent, { servername: "" })).body, proxyUrl).toBe("https-origin");
        const error = await failure(request(url, agent, { servername: "other.example" }));
        const code = error.code === "ERR_TLS_CERT_ALTNAME_INVALID" ? error : error.cause;
        expect((code as NodeJS.ErrnoException).code, proxyUrl).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
      });
    }
  });
  it("a request's other TLS options reach the origin's TLS as given, an empty one too", async () => {
    // Only servername's "" is dropped (node:http's own for an IP host); an empty minVersion
    // is TLS's to refuse, as node:https's own agent does.
    for (const proxyUrl of ["", proxy.url]) {
      const agent = new ProxyAgent(proxyUrl === "" ? {} : { proxyUrl });
      await using(agent, async () => {
        const error = await failure(
          request(`https://127.0.0.1:${https.port}/whoami`, agent, {
            ca: ca(),
            servername: "example.com",
            minVersion: "" as never,
          }),
        );
        expect(error.name, proxyUrl).toBe("TypeError");
        expect(error.code, proxyUrl).toBe("ERR_TLS_INVALID_PROTOCOL_VERSION");
        expect(error.message, proxyUrl).toMatch(/"" is not a valid minimum TLS protocol version/);
      });
    }
  });
});

describe("SOCKS", () => {
  it("credentials from the URL or proxyAuth", async () => {
    for (const options of [
      { proxyUrl: `socks5://alice:s3cret@127.0.0.1:${socks.port}` },
      { proxyUrl: `socks5h://127.0.0.1:${socks.port}`, proxyAuth: ["alice", "s3cret"] as const },
    ]) {
      await using(new ProxyAgent(options), async (agent) => {
        // Tunnelled, the origin gets the origin form.
        const echo = await request(`http://127.0.0.1:${http.port}/echo`, agent);
        expect(JSON.parse(echo.body).url).toBe("/echo");
      });
    }
    const error = await using(
      new ProxyAgent({ proxyUrl: `socks5://127.0.0.1:${socks.port}` }),
      (a) => failure(request(`http://127.0.0.1:${http.port}/whoami`, a)),
    );
    expect(error.name).toBe("ProxyError");
  });
});

describe("opening", () => {
  it("a request's timeout bounds the TLS handshake with an https: proxy", async () => {
    // An https: proxy that never answers the handshake: tunnelled, and forwarded with Digest.
    const mute = await startRawServer((socket) => socket.resume());
    try {
      for (const [url, options] of [
        [`https://127.0.0.1:${https.port}/`, {}],
        ["http://example.com/", { proxyAuth: ["a", "b"], proxyAuthScheme: "digest" }],
      ] as const) {
        const agent = new ProxyAgent({ proxyUrl: `https://127.0.0.1:${mute.port}`, ...options });
        await using(agent, async () => {
          const error = await failure(request(url, agent, { ca: ca(), timeout: 300 }));
          expect(error.name, url).toBe("ConnectTimeout");
        });
      }
    } finally {
      await mute.close();
    }
  });

  it("destroy() abandons the tunnels being opened", async () => {
    const silent = await startProxy({ connectBehaviour: "silent" });
    const agent = new ProxyAgent({ proxyUrl: silent.url });
    try {
      const pending = failure(request(`https://127.0.0.1:${https.port}/`, agent, { ca: ca() }));
      while (silent.log.length === 0) await new Promise((r) => setImmediate(r));
      agent.destroy();
      const error = await pending;
      expect(error.message).toMatch(/the agent was destroyed/);
    } finally {
      agent.destroy();
      await silent.close();
    }
  });

  it("forwarding with Digest to an https: proxy whose certificate is not trusted fails", async () => {
    const tlsProxy = await startProxy({ tls: true });
    const agent = new ProxyAgent({
      proxyUrl: tlsProxy.url,
      proxyAuth: ["alice", "s3cret"],
      proxyAuthScheme: "digest",
    });
    try {
      const error = await failure(request("http://example.com/whoami", agent));
      expect(error.name).toBe("ConnectError");
      expect((error.cause as NodeJS.ErrnoException).code).toMatch(/SELF_SIGNED|ISSUER|UNABLE/);
    } finally {
      agent.destroy();
      await tlsProxy.close();
    }
  });
});

describe("proxy URLs and origins", () => {
  it("a proxy URL without a port: 80 for http:, 443 for https:, 1080 for SOCKS", async () => {
    for (const [scheme, port] of [
      ["http", 80],
      ["https", 443],
      ["socks5", 1080],
    ] as const) {
      const agent = new ProxyAgent({ proxyUrl: `${scheme}://127.0.0.1` });
      const error = await using(agent, (a) => failure(request("http://example.com/", a)));
      const refused = (
        error.code === "ECONNREFUSED" ? error : error.cause
      ) as NodeJS.ErrnoException & {
        port?: number;
      };
      expect([refused.code, refused.port], scheme).toEqual(["ECONNREFUSED", port]);
    }
  });

  it("percent-encoded credentials in the proxy URL, a password alone too", async () => {
    for (const auth of [
      { username: "al@ice", password: "p:w d" },
      { username: "", password: "pw" },
    ]) {
      const strict = await startProxy({ hosts: { "example.com:80": http.port }, auth });
      const userinfo = `${encodeURIComponent(auth.username)}:${encodeURIComponent(auth.password)}`;
      const agent = new ProxyAgent({ proxyUrl: `http://${userinfo}@127.0.0.1:${strict.port}` });
      try {
        const sent = await request("http://example.com/whoami", agent);
        expect([sent.status, sent.body], auth.username).toEqual([200, "http-origin"]);
      } finally {
        agent.destroy();
        await strict.close();
      }
    }
  });

  it("IPv6 origins: in brackets in the request-target, the CONNECT and the routes", async () => {
    const secure = await startOrigin({ ipv6: true, tls: true });
    // Forwarded requests to [::1] reach the 127.0.0.1 origin.
    const v6proxy = await startProxy({ hosts: { "[::1]": http.port } });
    const agent = new ProxyAgent({ routes: { "all://[::1]": v6proxy.url } });
    try {
      expect((await request(`http://[::1]:${http.port}/whoami`, agent)).body).toBe("http-origin");
      expect((await request("http://[::1]/whoami", agent, { path: "/echo" })).status).toBe(200);
      const tunnelled = await request(`https://[::1]:${secure.port}/whoami`, agent, { ca: ca() });
      expect(tunnelled.body).toBe("https-origin");
      // A host given in brackets (node:http takes it as it is).
      const bracketed = httpRequest({ host: "[::1]", port: 8080, path: "/whoami", agent });
      bracketed.end();
      const [res] = (await once(bracketed, "response")) as [IncomingMessage];
      expect(await body(res)).toBe("http-origin");
      expect(v6proxy.log.map((e) => e.target)).toEqual([
        `http://[::1]:${http.port}/whoami`,
        "http://[::1]/echo",
        `[::1]:${secure.port}`,
        "http://[::1]:8080/whoami",
      ]);
      // Not through the proxy: 127.0.0.1 matches no route.
      expect((await request(`http://127.0.0.1:${http.port}/whoami`, agent)).body).toBe(
        "http-origin",
      );
      expect(v6proxy.log).toHaveLength(4);
    } finally {
      agent.destroy();
      await v6proxy.close();
      await secure.close();
    }
  });

  it("a proxy at an IPv6 address, in brackets in its URL: forwarded, with Basic and Digest", async () => {
    const heard: string[] = [];
    const sockets = new Set<Socket>();
    const server = createNetServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      onRequestHead(socket, (head) => {
        heard.push(`${socket.localAddress} ${head.split("\r\n")[0]}`);
        socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
      });
    });
    server.listen(0, "::1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    try {
      for (const scheme of ["basic", "digest"] as const) {
        const agent = new ProxyAgent({
          proxyUrl: `http://[::1]:${port}`,
          proxyAuth: ["alice", "s3cret"],
          proxyAuthScheme: scheme,
        });
        await using(agent, async () => {
          expect((await request("http://example.com/x", agent)).body, scheme).toBe("ok");
        });
      }
      expect(heard).toEqual([
        "::1 GET http://example.com/x HTTP/1.1",
        "::1 GET http://example.com/x HTTP/1.1",
      ]);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    }
  });

  it("forwarding with Digest: the request's timeout and the agent's signal reach the connect to the proxy", async () => {
    const connects = vi.spyOn(NodeBackend.prototype, "connectTcp");
    try {
      const agent = new ProxyAgent({
        proxyUrl: proxy.url,
        proxyAuth: ["alice", "s3cret"],
        proxyAuthScheme: "digest",
      });
      await using(agent, async () => {
        const sent = await request("http://example.com/whoami", agent, { timeout: 4321 });
        expect(sent.body).toBe("http-origin");
      });
      const toProxy = connects.mock.calls.filter(([, port]) => port === proxy.port);
      expect(toProxy).toHaveLength(1);
      expect(toProxy[0]?.[0]).toBe("127.0.0.1");
      expect(toProxy[0]?.[2]).toEqual({ timeout: 4321, signal: expect.any(AbortSignal) });
    } finally {
      connects.mockRestore();
    }
  });

  it("an https: proxy hears its name (SNI) and http/1.1 (ALPN), forwarded with Basic or Digest", async () => {
    const heard: Array<[string | false | null, string | false | null]> = [];
    const pair = testCA().issue(["localhost"]);
    const sockets = new Set<Socket>();
    const server = createTlsServer(
      { key: pair.key, cert: pair.cert, ALPNProtocols: ["http/1.1"] },
      (socket: TLSSocket) => {
        heard.push([socket.servername, socket.alpnProtocol]);
        socket.once("data", () =>
          socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
        );
      },
    );
    server.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    try {
      for (const scheme of ["basic", "digest"] as const) {
        const agent = new ProxyAgent({
          proxyUrl: `https://localhost:${port}`,
          proxyTls: { ca: ca() },
          proxyAuth: ["alice", "s3cret"],
          proxyAuthScheme: scheme,
        });
        await using(agent, async () => {
          expect((await request("http://example.com/", agent)).body, scheme).toBe("ok");
        });
      }
      expect(heard).toEqual([
        ["localhost", "http/1.1"],
        ["localhost", "http/1.1"],
      ]);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    }
  });
});
