import { connect } from "node:net";
import { inspect } from "node:util";
import { ConnectError, ConnectionPool, ReadTimeout, RemoteProtocolError } from "@x/pool";
import { type EmbeddedProxy, onRequestHead, startOrigin, startRawServer, testCA } from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTTPProxy, PROXY_ERROR_BODY_LIMIT, ProxyError } from "../src/index.js";
import { proxyFor, startWorld, type World } from "./setup.js";

let world: World;
let proxy: EmbeddedProxy;
const tls = () => ({ ca: testCA().cert });

beforeAll(async () => {
  world = await startWorld();
  proxy = await proxyFor(world);
});
afterAll(async () => {
  await proxy.close();
  await world.close();
});

type Echo = { host: string; url: string; headers: string[]; tls?: boolean };
const json = async (r: { json(): Promise<unknown> }) => (await r.json()) as Echo;

describe("the guide's examples", () => {
  it("a request through the proxy", async () => {
    await using p = new HTTPProxy({ proxyUrl: `${proxy.url}/`, tls: tls() });
    const r = await p.request("GET", "https://www.example.com/");
    expect(inspect(r)).toBe("<Response [200]>");
    expect(await json(r)).toMatchObject({ host: "www.example.com", tls: true });
  });

  it("forwarded requests share one connection to the proxy, even across origins", async () => {
    await using p = new HTTPProxy({ proxyUrl: `${proxy.url}/` });
    const before = proxy.connections;
    await p.request("GET", "http://example.com/");
    await p.request("GET", "http://httpbin.org/json");
    expect(p.connections.map((c) => inspect(c))).toEqual([
      `<ForwardHTTPConnection ['${proxy.url}', HTTP/1.1, IDLE, Request Count: 2]>`,
    ]);
    expect(proxy.connections - before).toBe(1);
    expect(proxy.log.slice(-2).map((e) => e.target)).toEqual([
      "http://example.com/",
      "http://httpbin.org/json",
    ]);
  });

  it("tunnelled requests take one connection per origin", async () => {
    await using p = new HTTPProxy({ proxyUrl: `${proxy.url}/`, tls: tls() });
    await p.request("GET", "https://example.com/");
    await p.request("GET", "https://httpbin.org/json");
    expect(p.connections.map((c) => inspect(c))).toEqual([
      "<TunnelHTTPConnection ['https://httpbin.org:443', HTTP/1.1, IDLE, Request Count: 1]>",
      "<TunnelHTTPConnection ['https://example.com:443', HTTP/1.1, IDLE, Request Count: 1]>",
    ]);
    await p.request("GET", "https://example.com/again");
    expect(inspect(p.connections[0])).toBe(
      "<TunnelHTTPConnection ['https://example.com:443', HTTP/1.1, IDLE, Request Count: 2]>",
    );
  });
});

describe("forwarding", () => {
  it("sends absolute-form requests with the proxy headers under the request's", async () => {
    await using p = new HTTPProxy({
      proxyUrl: proxy.url,
      proxyHeaders: { "X-Proxy-Only": "p", "X-Both": "from-proxy" },
    });
    const r = await json(
      await p.request("GET", "http://example.com/path?q=1", {
        headers: { "x-both": "from-request" },
      }),
    );
    expect(r.url).toBe("/path?q=1");
    expect(r.host).toBe("example.com");
    const entry = proxy.log.at(-1)!;
    expect(entry.method).toBe("GET");
    expect(entry.target).toBe("http://example.com/path?q=1");
    const names = entry.headers.map(([k]) => k.toLowerCase());
    expect(names.filter((n) => n === "x-both")).toHaveLength(1);
    expect(entry.headers).toContainEqual(["x-both", "from-request"]);
    expect(entry.headers).toContainEqual(["X-Proxy-Only", "p"]);
  });

  it("shareForwardConnections: false gives one connection per origin", async () => {
    await using p = new HTTPProxy({ proxyUrl: proxy.url, shareForwardConnections: false });
    await p.request("GET", "http://example.com/");
    await p.request("GET", "http://httpbin.org/");
    await p.request("GET", "http://example.com/");
    expect(p.connections).toHaveLength(2);
  });

  it("uploads a body through the proxy", async () => {
    await using p = new HTTPProxy({ proxyUrl: proxy.url });
    const r = (await (
      await p.request("POST", "http://example.com/up", { content: "payload" })
    ).json()) as {
      body: string;
    };
    expect(r.body).toBe("payload");
  });
});

describe("tunnelling", () => {
  it("sends CONNECT host:port with Host and the proxy headers, which never go inside", async () => {
    await using p = new HTTPProxy({
      proxyUrl: proxy.url,
      tls: tls(),
      proxyAuth: ["user", "secret"],
    });
    const r = await json(await p.request("GET", "https://example.com/inside"));
    const connect = proxy.log.at(-1)!;
    expect(connect.method).toBe("CONNECT");
    expect(connect.target).toBe("example.com:443");
    expect(connect.headers).toContainEqual(["Host", "example.com:443"]);
    expect(connect.headers.map(([k]) => k)).toContain("Proxy-Authorization");
    expect(r.headers.map((h) => h.toLowerCase())).not.toContain("proxy-authorization");
  });

  it("prints <TunnelHTTPConnection [CONNECTING]> before it is connected", async () => {
    await using p = new HTTPProxy({ proxyUrl: proxy.url, tls: tls() });
    const pending = p.request("GET", "https://example.com/");
    expect(p.connections.map((c) => inspect(c))).toEqual(["<TunnelHTTPConnection [CONNECTING]>"]);
    await pending;
  });

  it("a TLS failure after a 2xx CONNECT closes the tunnel; nothing half-open stays", async () => {
    await using p = new HTTPProxy({ proxyUrl: proxy.url });
    const error = await p.request("GET", "https://example.com/").catch((e) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.code).toBe("ERR_CONNECT");
    expect(p.connections).toHaveLength(0);
  });
});

// An IPv6 origin is reached as CONNECT [::1]:PORT, with Host [::1]:PORT on the CONNECT and
// inside the tunnel: without the brackets the authority is ambiguous (`::1:8443`), and the
// test proxy refuses it with 400, as a strict proxy would.
describe("an IPv6 origin through a tunnel", () => {
  it("CONNECT [::1]:PORT, and Host [::1]:PORT inside the tunnel", async (ctx) => {
    const hosts: string[] = [];
    const origin = await startOrigin({
      tls: true,
      ipv6: true,
      names: ["::1"],
      handler: (req, res) => {
        hosts.push(String(req.headers.host));
        res.end(`${req.socket.localAddress}`);
      },
    }).catch((error: unknown) => {
      console.warn(`no IPv6 loopback here (${String(error)}): this test is skipped`);
      return null;
    });
    if (origin === null) return ctx.skip();
    try {
      const target = `[::1]:${origin.port}`;
      await using p = new HTTPProxy({ proxyUrl: proxy.url, tls: tls() });
      const r = await p.request("GET", `https://${target}/v6`);
      expect(r.status).toBe(200);
      expect(new TextDecoder().decode(r.content)).toBe("::1");
      const connect = proxy.log.at(-1)!;
      expect(connect.method).toBe("CONNECT");
      expect(connect.target).toBe(target);
      expect(connect.headers).toContainEqual(["Host", target]);
      expect(hosts).toEqual([target]);
      expect(inspect(p.connections)).toContain(`'https://${target}'`);
    } finally {
      await origin.close();
    }
  });

  it.each([
    ["an IPv6 address without brackets", "::1:443"],
    ["an IPv4 address in brackets", "[127.0.0.1]:443"],
    ["an unclosed bracket", "[::1:443"],
    ["no port", "example.com"],
    ["port 0", "example.com:0"],
    ["userinfo", "user@example.com:443"],
  ])("the test proxy refuses a CONNECT target that is not an authority: %s", async (_, target) => {
    const socket = connect(proxy.port, "127.0.0.1");
    try {
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
      let answer = "";
      for await (const chunk of socket) {
        answer += (chunk as Buffer).toString("latin1");
        if (answer.includes("\r\n\r\n")) break;
      }
      expect(answer.slice(0, answer.indexOf("\r\n"))).toBe("HTTP/1.1 400 Bad Request");
      expect(proxy.log.at(-1)).toMatchObject({ method: "CONNECT", target });
    } finally {
      socket.destroy();
    }
  });
});

describe("authentication", () => {
  let guarded: EmbeddedProxy;
  beforeAll(async () => {
    guarded = await proxyFor(world, { auth: { username: "us@er", password: "p:ss w0rd" } });
  });
  afterAll(async () => {
    await guarded.close();
  });

  it("proxyAuth and percent-decoded URL credentials both work, for both modes", async () => {
    const port = guarded.port;
    for (const options of [
      { proxyUrl: guarded.url, proxyAuth: ["us@er", "p:ss w0rd"] as const },
      { proxyUrl: `http://us%40er:p%3Ass%20w0rd@127.0.0.1:${port}/` },
    ]) {
      await using p = new HTTPProxy({ ...options, tls: tls() });
      expect((await p.request("GET", "http://example.com/")).status).toBe(200);
      expect((await p.request("GET", "https://example.com/")).status).toBe(200);
      expect(guarded.log.at(-1)?.headers).toContainEqual([
        "Proxy-Authorization",
        `Basic ${Buffer.from("us@er:p:ss w0rd").toString("base64")}`,
      ]);
    }
  });

  it("a refused CONNECT is a ProxyError; the connection leaves the pool", async () => {
    await using p = new HTTPProxy({
      proxyUrl: guarded.url,
      proxyAuth: ["us@er", "wrong"],
      tls: tls(),
    });
    const error = (await p.request("GET", "https://example.com/").catch((e) => e)) as ProxyError;
    expect(error).toBeInstanceOf(ProxyError);
    expect(error.message).toBe("407 Proxy Authentication Required");
    expect(error.code).toBe("ERR_PROXY");
    expect(error.status).toBe(407);
    expect(error.reasonPhrase).toBe("Proxy Authentication Required");
    expect(error.headers).toContainEqual(["Proxy-Authenticate", 'Basic realm="testkit"']);
    expect(new TextDecoder().decode(error.body)).toBe("proxy authentication required\n");
    expect(p.connections).toHaveLength(0);
    // A forwarded request refused with 407 returns that response, as httpcore does.
    const forwarded = await p.request("GET", "http://example.com/");
    expect(forwarded.status).toBe(407);
  });

  it("credentials never appear in printing, errors or stacks", async () => {
    await using p = new HTTPProxy({
      proxyUrl: `http://user:hunter2@127.0.0.1:${guarded.port}`,
      tls: tls(),
    });
    const error = (await p.request("GET", "https://example.com/").catch((e) => e)) as Error;
    const pending = p.request("GET", "http://example.com/");
    const printed = [
      inspect(p),
      String(p),
      inspect(p.connections),
      error.message,
      String(error.stack),
      inspect(error),
    ];
    await pending;
    for (const text of printed) {
      expect(text).not.toContain("hunter2");
      expect(text).not.toContain(Buffer.from("user:hunter2").toString("base64"));
    }
  });

  it("URL credentials that are not percent-encoding: ERR_INVALID_ARG_VALUE saying which", () => {
    for (const [userinfo, which] of [
      ["%zz:pass", "username"],
      ["user:%E0%A4%A", "password"],
    ] as const) {
      let error: unknown;
      try {
        new HTTPProxy({ proxyUrl: `http://${userinfo}@127.0.0.1:1` });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({
        code: "ERR_INVALID_ARG_VALUE",
        message: `the proxy URL's ${which} is not valid percent-encoding`,
      });
    }
  });

  it("refuses credentials that would inject header lines", () => {
    expect(
      () => new HTTPProxy({ proxyUrl: guarded.url, proxyAuth: ["a", "b\r\nX-Evil: 1"] }),
    ).toThrow(TypeError);
    expect(() => new HTTPProxy({ proxyUrl: guarded.url, proxyHeaders: { X: "a\nb" } })).toThrow(
      /Illegal header value/,
    );
  });
});

// RFC 7617: user-pass is sent as UTF-8 (what browsers and curl send). Encoded as latin1,
// "pässwörd" would be other bytes and the proxy would answer 407.
describe("non-ASCII credentials", () => {
  const username = "jürgen";
  const password = "pässwörd🔑";
  const token = `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
  let guarded: EmbeddedProxy;
  beforeAll(async () => {
    guarded = await proxyFor(world, { auth: { username, password } });
  });
  afterAll(async () => {
    await guarded.close();
  });

  it("the test proxy itself refuses the same credentials encoded as latin1", async () => {
    const latin1 = Buffer.from(`${username}:${password}`, "latin1").toString("base64");
    await using p = new HTTPProxy({
      proxyUrl: guarded.url,
      proxyHeaders: [["Proxy-Authorization", `Basic ${latin1}`]],
    });
    expect((await p.request("GET", "http://example.com/")).status).toBe(407);
  });

  const userinfo = `${encodeURIComponent(username)}:${encodeURIComponent(password)}`;
  const ways: Array<[string, () => ConstructorParameters<typeof HTTPProxy>[0]]> = [
    ["proxyAuth", () => ({ proxyUrl: guarded.url, proxyAuth: [username, password] })],
    [
      "percent-encoded UTF-8 in the proxy URL",
      () => ({ proxyUrl: `http://${userinfo}@127.0.0.1:${guarded.port}/` }),
    ],
    [
      "unencoded in the proxy URL string",
      () => ({ proxyUrl: `http://${username}:${password}@127.0.0.1:${guarded.port}/` }),
    ],
    [
      "a WHATWG URL object",
      () => {
        const url = new globalThis.URL(guarded.url);
        url.username = username;
        url.password = password;
        return { proxyUrl: url };
      },
    ],
  ];
  for (const [how, options] of ways) {
    it(`${how}: a forwarded request is let through`, async () => {
      await using p = new HTTPProxy(options());
      const r = await p.request("GET", "http://example.com/");
      expect(r.status).toBe(200);
      expect(guarded.log.at(-1)).toMatchObject({ method: "GET", target: "http://example.com/" });
      expect(guarded.log.at(-1)?.headers).toContainEqual(["Proxy-Authorization", token]);
    });

    it(`${how}: a tunnel is opened`, async () => {
      await using p = new HTTPProxy({ ...options(), tls: tls() });
      const r = await p.request("GET", "https://example.com/");
      expect(r.status).toBe(200);
      expect(await json(r)).toMatchObject({ host: "example.com", tls: true });
      expect(guarded.log.at(-1)).toMatchObject({ method: "CONNECT", target: "example.com:443" });
      expect(guarded.log.at(-1)?.headers).toContainEqual(["Proxy-Authorization", token]);
    });
  }
});

// ProxyError.body keeps the first PROXY_ERROR_BODY_LIMIT (64 KiB) bytes of a refusal, and
// the connection to the proxy is closed without reading the rest.
describe("a refusal longer than PROXY_ERROR_BODY_LIMIT", () => {
  const SIZE = 200 * 1024;
  const body = Buffer.from(Array.from({ length: SIZE }, (_, i) => i % 251));

  function chunked(data: Buffer, size: number): string {
    let out = "";
    for (let i = 0; i < data.length; i += size) {
      const piece = data.subarray(i, i + size);
      out += `${piece.length.toString(16)}\r\n${piece.toString("latin1")}\r\n`;
    }
    return `${out}0\r\n\r\n`;
  }

  const cases: Array<[string, number, string, string, number]> = [
    ["407 with Content-Length", 407, "Proxy Authentication Required", "Content-Length", SIZE],
    ["403, chunked in pieces that do not divide 64 KiB", 403, "Forbidden", "chunked", SIZE],
    ["exactly 64 KiB", 403, "Forbidden", "Content-Length", 64 * 1024],
    ["one byte more than 64 KiB", 403, "Forbidden", "chunked", 64 * 1024 + 1],
  ];
  for (const [name, status, reason, framing, size] of cases) {
    it(`${name}: the body is cut at 64 KiB, and the connection is closed`, async () => {
      const refusal = body.subarray(0, size);
      const raw = await startRawServer((socket) =>
        onRequestHead(socket, () => {
          const head = `HTTP/1.1 ${status} ${reason}\r\nX-Why: policy\r\n`;
          if (framing === "chunked") {
            socket.write(`${head}Transfer-Encoding: chunked\r\n\r\n`);
            socket.write(Buffer.from(chunked(refusal, 10_000), "latin1"));
          } else {
            socket.write(`${head}Content-Length: ${size}\r\n\r\n`);
            socket.write(refusal);
          }
        }),
      );
      try {
        await using p = new HTTPProxy({ proxyUrl: raw.url, tls: tls() });
        const error = await p.request("GET", "https://example.com/").catch((e) => e);
        expect(error).toBeInstanceOf(ProxyError);
        expect(error).toMatchObject({ code: "ERR_PROXY", status, reasonPhrase: reason });
        expect(error.headers).toContainEqual(["X-Why", "policy"]);
        expect(PROXY_ERROR_BODY_LIMIT).toBe(64 * 1024);
        expect(error.body.length).toBe(Math.min(size, PROXY_ERROR_BODY_LIMIT));
        expect(Buffer.from(error.body).equals(body.subarray(0, error.body.length))).toBe(true);
        expect(p.connections).toHaveLength(0);
        expect(raw.connections).toBe(1);
      } finally {
        await raw.close();
      }
    });
  }

  it("the proxy's side of the connection sees it close before the refusal is all sent", async () => {
    let closed: Promise<boolean> | undefined;
    const raw = await startRawServer((socket) =>
      onRequestHead(socket, () => {
        closed = new Promise((resolve) => socket.once("close", () => resolve(true)));
        socket.write(`HTTP/1.1 407 No\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`);
        // 64 MiB announced, 200 KiB sent: only the client closing ends this socket.
        socket.write(body);
      }),
    );
    try {
      await using p = new HTTPProxy({ proxyUrl: raw.url, tls: tls() });
      const error = await p.request("GET", "https://example.com/").catch((e) => e);
      expect(error).toBeInstanceOf(ProxyError);
      expect(error.body.length).toBe(PROXY_ERROR_BODY_LIMIT);
      expect(await closed).toBe(true);
      expect(raw.openSockets).toBe(0);
    } finally {
      await raw.close();
    }
  });
});

describe("HTTPS proxies", () => {
  let secure: EmbeddedProxy;
  beforeAll(async () => {
    secure = await proxyFor(world, { tls: true });
  });
  afterAll(async () => {
    await secure.close();
  });

  it("forwards over TLS to the proxy, and tunnels TLS inside TLS", async () => {
    await using p = new HTTPProxy({ proxyUrl: secure.url, proxyTls: tls(), tls: tls() });
    expect((await json(await p.request("GET", "http://example.com/"))).host).toBe("example.com");
    expect(await json(await p.request("GET", "https://httpbin.org/"))).toMatchObject({
      host: "httpbin.org",
      tls: true,
    });
    expect(p.connections.map((c) => inspect(c))).toEqual([
      "<TunnelHTTPConnection ['https://httpbin.org:443', HTTP/1.1, IDLE, Request Count: 1]>",
      `<ForwardHTTPConnection ['https://localhost:${secure.port}', HTTP/1.1, IDLE, Request Count: 1]>`,
    ]);
  });

  it("proxyTls with an http: proxy URL is refused", () => {
    expect(() => new HTTPProxy({ proxyUrl: proxy.url, proxyTls: tls() })).toThrow(/proxyTls/);
    expect(() => new HTTPProxy({ proxyUrl: proxy.url, proxyTls: tls() })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }),
    );
    expect(() => new HTTPProxy({ proxyUrl: "socks5://127.0.0.1:1080" })).toThrow(TypeError);
    expect(() => new HTTPProxy({ proxyUrl: "socks5://127.0.0.1:1080" })).toThrow(
      expect.objectContaining({
        code: "ERR_INVALID_ARG_VALUE",
        message:
          "the proxy URL must be http: or https:, not socks5: (for a SOCKS proxy, use SOCKSProxy)",
      }),
    );
    expect(() => new HTTPProxy({ proxyUrl: "ftp://127.0.0.1/" })).toThrow(
      "the proxy URL must be http: or https:, not ftp:",
    );
  });
});

// httpcore's names: its tunnel traces the TLS inside the tunnel under its proxy logger
// ("proxy.start_tls"), and the CONNECT as any request on the connection to the proxy,
// without response_body or response_closed (the tunnel takes the stream over).
describe("trace events", () => {
  const CONNECT = [
    "http11.send_request_headers.started",
    "http11.send_request_headers.complete",
    "http11.send_request_body.started",
    "http11.send_request_body.complete",
    "http11.receive_response_headers.started",
    "http11.receive_response_headers.complete",
  ];
  const EXCHANGE = [
    ...CONNECT,
    "http11.receive_response_body.started",
    "http11.receive_response_body.complete",
    "http11.response_closed.started",
    "http11.response_closed.complete",
  ];
  const TCP = ["connection.connect_tcp.started", "connection.connect_tcp.complete"];
  const traced = (events: string[]) => ({
    extensions: { trace: (name: string) => void events.push(name) },
  });

  it("a tunnelled request: TCP, the CONNECT, proxy.start_tls, then the request", async () => {
    await using p = new HTTPProxy({ proxyUrl: proxy.url, tls: tls() });
    const first: string[] = [];
    await p.request("GET", "https://example.com/", traced(first));
    expect(first).toEqual([
      ...TCP,
      ...CONNECT,
      "proxy.start_tls.started",
      "proxy.start_tls.complete",
      ...EXCHANGE,
    ]);
    // The tunnel is kept: the next request on it is only the exchange.
    const second: string[] = [];
    await p.request("GET", "https://example.com/", traced(second));
    expect(second).toEqual(EXCHANGE);
  });

  it("through an HTTPS proxy, TLS to the proxy is connection.start_tls, inside it proxy.start_tls", async () => {
    const secure = await proxyFor(world, { tls: true });
    try {
      await using p = new HTTPProxy({ proxyUrl: secure.url, proxyTls: tls(), tls: tls() });
      const events: string[] = [];
      await p.request("GET", "https://example.com/", traced(events));
      expect(events).toEqual([
        ...TCP,
        "connection.start_tls.started",
        "connection.start_tls.complete",
        ...CONNECT,
        "proxy.start_tls.started",
        "proxy.start_tls.complete",
        ...EXCHANGE,
      ]);
    } finally {
      await secure.close();
    }
  });

  it("a forwarded request: TCP to the proxy, then the exchange", async () => {
    await using p = new HTTPProxy({ proxyUrl: proxy.url });
    const events: string[] = [];
    await p.request("GET", "http://example.com/", traced(events));
    expect(events).toEqual([...TCP, ...EXCHANGE]);
  });

  it("a TLS failure inside the tunnel is proxy.start_tls.failed, with the error", async () => {
    await using p = new HTTPProxy({ proxyUrl: proxy.url });
    const events: Array<[string, unknown]> = [];
    const error = await p
      .request("GET", "https://example.com/", {
        extensions: { trace: (name, info) => void events.push([name, info.exception]) },
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(events.map(([name]) => name)).toEqual([
      ...TCP,
      ...CONNECT,
      "proxy.start_tls.started",
      "proxy.start_tls.failed",
    ]);
    expect(events.at(-1)?.[1]).toBe(error);
  });
});

describe("misbehaving proxies during CONNECT", () => {
  const cases = [
    ["close", RemoteProtocolError, "ERR_REMOTE_PROTOCOL"],
    ["garbage", RemoteProtocolError, "ERR_REMOTE_PROTOCOL"],
    ["drop-after-200", ConnectError, "ERR_CONNECT"],
    ["silent", ReadTimeout, "ERR_READ_TIMEOUT"],
  ] as const;
  for (const [behaviour, errorClass, code] of cases) {
    it(`${behaviour}: a typed error, nothing left in the pool, and the pool goes on`, async () => {
      const bad = await proxyFor(world, { connectBehaviour: behaviour });
      try {
        await using p = new HTTPProxy({ proxyUrl: bad.url, tls: tls() });
        const before = bad.connections;
        const error = await p
          .request("GET", "https://example.com/", {
            extensions: { timeout: { read: 200, connect: 1000 } },
          })
          .catch((e) => e);
        expect(error).toBeInstanceOf(errorClass);
        expect(error.code).toBe(code);
        expect(bad.connections - before).toBe(1);
        expect(p.connections).toHaveLength(0);
        expect((await p.request("GET", "http://example.com/")).status).toBe(200);
      } finally {
        await bad.close();
      }
    });
  }
});

describe("abort during CONNECT", () => {
  it("rejects with the signal's reason, closes the tunnel, and the pool goes on", async () => {
    const silent = await proxyFor(world, { connectBehaviour: "silent" });
    try {
      await using p = new HTTPProxy({ proxyUrl: silent.url, tls: tls() });
      const controller = new AbortController();
      const pending = p.request("GET", "https://example.com/", { signal: controller.signal });
      const reason = new Error("no more waiting");
      setTimeout(() => controller.abort(reason), 50);
      await expect(pending).rejects.toBe(reason);
      expect(p.connections).toHaveLength(0);
      expect((await p.request("GET", "http://example.com/")).status).toBe(200);
    } finally {
      await silent.close();
    }
  });
});

describe("composition", () => {
  it("HTTPProxy is a ConnectionPool", () => {
    const p = new HTTPProxy({ proxyUrl: proxy.url });
    expect(p).toBeInstanceOf(ConnectionPool);
    expect(String(p)).toBe(
      "<HTTPProxy [Requests: 0 active, 0 queued | Connections: 0 active, 0 idle]>",
    );
  });
});
