// The CONNECT tunnel on its own: what ConnectDialer sends, which answers open a tunnel, what a
// refusal keeps, and a dial stopped while it answers a 407 (ConnectDialer used directly, with
// a signal and a close() of the test's own), and the proxy spoken to in HTTP/1.1 only.
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { ConnectError, ConnectionNotAvailable, HTTPConnection, Request, URL } from "@x/pool";
import {
  digestChallenger,
  type EmbeddedProxy,
  onRequestHead,
  startRawServer,
  testCA,
} from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectDialer, HTTPProxy, ProxyAuthenticator, ProxyError } from "../src/index.js";
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

const origin = (text: string) => new URL(text).origin;

// A raw proxy that answers every CONNECT with `answer` (bytes as latin1), then does `after`.
async function answering(answer: string, after: "close" | "end" | "stay" = "close") {
  return startRawServer((socket) =>
    onRequestHead(socket, () => {
      socket.write(Buffer.from(answer, "latin1"));
      if (after === "close") socket.destroy();
      else if (after === "end") socket.end();
    }),
  );
}

describe("what CONNECT carries", () => {
  it("Host and Accept: */*, then the proxy headers, which replace those of the same name", async () => {
    await using p = new HTTPProxy({ proxyUrl: proxy.url, tls: tls() });
    await p.request("GET", "https://example.com/");
    expect(proxy.log.at(-1)).toMatchObject({ method: "CONNECT", target: "example.com:443" });
    expect(proxy.log.at(-1)?.headers).toEqual([
      ["Host", "example.com:443"],
      ["Accept", "*/*"],
    ]);

    await using q = new HTTPProxy({
      proxyUrl: proxy.url,
      tls: tls(),
      proxyHeaders: [
        ["accept", "text/plain"],
        ["X-Via", "test"],
      ],
    });
    await q.request("GET", "https://example.com:443/");
    expect(proxy.log.at(-1)?.headers).toEqual([
      ["Host", "example.com:443"],
      ["accept", "text/plain"],
      ["X-Via", "test"],
    ]);
  });

  it("a ConnectDialer without proxyHeaders sends only Host and Accept", async () => {
    const remote = origin("https://example.com/");
    await using conn = new HTTPConnection(remote, {
      tls: tls(),
      dialer: new ConnectDialer({ proxyOrigin: origin(proxy.url) }),
    });
    const r = await conn.handleRequest(
      new Request("GET", "https://example.com/", { headers: [["Host", "example.com"]] }),
    );
    expect(r.status).toBe(200);
    await r.close();
    expect(proxy.log.at(-1)?.headers).toEqual([
      ["Host", "example.com:443"],
      ["Accept", "*/*"],
    ]);
  });
});

// The error of a tunnelled request through a raw proxy that answers CONNECT with `answer`
// and closes; the pool keeps no connection after it.
async function tunnelError(answer: string) {
  const raw = await answering(answer);
  try {
    await using p = new HTTPProxy({ proxyUrl: raw.url, tls: tls() });
    const error = await p.request("GET", "https://example.com/").catch((e) => e);
    expect(p.connections).toHaveLength(0);
    return error;
  } finally {
    await raw.close();
  }
}

describe("which answers open a tunnel", () => {
  it("299 is a 2xx: the tunnel opens (then TLS fails on the closed stream, a ConnectError)", async () => {
    const error = await tunnelError("HTTP/1.1 299 Odd\r\n\r\n");
    expect(error).not.toBeInstanceOf(ProxyError);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.code).toBe("ERR_CONNECT");
  });

  it("300 is a refusal: ProxyError 300 with its status line as the message", async () => {
    const error = await tunnelError("HTTP/1.1 300 Multiple Choices\r\nContent-Length: 2\r\n\r\nno");
    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({
      code: "ERR_PROXY",
      message: "300 Multiple Choices",
      status: 300,
      reasonPhrase: "Multiple Choices",
      reply: null,
    });
    expect(new TextDecoder().decode(error.body)).toBe("no");
  });

  it("a refusal without a reason phrase: the message is the status alone", async () => {
    const error = await tunnelError("HTTP/1.1 403 \r\nContent-Length: 0\r\n\r\n");
    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({ code: "ERR_PROXY", message: "403", status: 403 });
    expect(error.reasonPhrase).toBe("");
    expect(error.body.length).toBe(0);
  });

  it("a refusal whose body breaks off: ProxyError with what arrived", async () => {
    const error = await tunnelError("HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\npartial");
    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({ code: "ERR_PROXY", message: "403 Forbidden", status: 403 });
    expect(new TextDecoder().decode(error.body)).toBe("partial");
  });
});

// A ProxyAuthenticator whose learn() also runs `onLearn`: a hook at the moment the 407 has
// arrived, before the dialer decides where to answer it.
class Hooked extends ProxyAuthenticator {
  onLearn: () => void = () => {};
  override learn(headers: Parameters<ProxyAuthenticator["learn"]>[0]): boolean {
    const learnt = super.learn(headers);
    this.onLearn();
    return learnt;
  }
}

describe("a challenged CONNECT", () => {
  it("teaches the tunnels after it to authenticate at once", async () => {
    const challenger = digestChallenger({ users: { alice: "pw" } });
    const guarded = await proxyFor(world, { challenger });
    try {
      await using p = new HTTPProxy({
        proxyUrl: guarded.url,
        proxyAuth: ["alice", "pw"],
        proxyAuthScheme: "digest",
        tls: tls(),
      });
      expect((await p.request("GET", "https://example.com/")).status).toBe(200);
      expect((await p.request("GET", "https://httpbin.org/")).status).toBe(200);
      expect(guarded.log.map((e) => `${e.method} ${e.target}`)).toEqual([
        "CONNECT example.com:443",
        "CONNECT example.com:443",
        "CONNECT httpbin.org:443",
      ]);
      expect(challenger.refusals).toEqual(["none"]);
      expect(challenger.accepted.map((a) => a.nc)).toEqual([1, 2]);
    } finally {
      await guarded.close();
    }
  });
});

describe("a dial stopped while it answers a 407 on a new connection", () => {
  let closing: EmbeddedProxy;
  beforeAll(async () => {
    closing = await proxyFor(world, {
      challenger: digestChallenger({ users: { alice: "pw" }, closeAfter407: true }),
    });
  });
  afterAll(async () => {
    await closing.close();
  });

  for (const how of ["close()", "the signal"] as const) {
    it(`by ${how}: ConnectionNotAvailable, and no second CONNECT`, async () => {
      const auth = new Hooked({ username: "alice", password: "pw", scheme: "digest" });
      const dialer = new ConnectDialer({
        proxyOrigin: origin(closing.url),
        proxyAuthenticator: auth,
      });
      const controller = new AbortController();
      auth.onLearn = () => {
        if (how === "close()") void dialer.close();
        else controller.abort();
      };
      const before = closing.log.length;
      const remote = origin("https://example.com/");
      const request = new Request("GET", "https://example.com/");
      const result = await dialer.dial(remote, request, controller.signal).catch((e) => e);
      if (!(result instanceof Error)) await result.close();
      await dialer.close();
      expect(result).toBeInstanceOf(ConnectionNotAvailable);
      expect(result).toMatchObject({
        code: "ERR_CONNECTION_NOT_AVAILABLE",
        message: "the connection was closed while opening",
      });
      expect(closing.log.length - before).toBe(1);
    });
  }

  it("the request's own signal stops a CONNECT the proxy holds", async () => {
    const controller = new AbortController();
    const reason = new Error("no more waiting");
    const raw = await startRawServer((socket) =>
      onRequestHead(socket, () => controller.abort(reason)),
    );
    try {
      const dialer = new ConnectDialer({ proxyOrigin: origin(raw.url) });
      const request = new Request("GET", "https://example.com/", { signal: controller.signal });
      const result = await dialer
        .dial(origin("https://example.com/"), request, new AbortController().signal)
        .catch((e) => e);
      await dialer.close();
      expect(result).toBe(reason);
    } finally {
      await raw.close();
    }
  });

  it("not stopped: the answer goes on a new connection and the tunnel opens", async () => {
    const auth = new Hooked({ username: "alice", password: "pw", scheme: "digest" });
    const dialer = new ConnectDialer({
      proxyOrigin: origin(closing.url),
      proxyAuthenticator: auth,
    });
    const before = closing.log.length;
    const stream = await dialer.dial(
      origin("https://example.com/"),
      new Request("GET", "https://example.com/"),
      new AbortController().signal,
    );
    await stream.close();
    await dialer.close();
    expect(closing.log.length - before).toBe(2);
  });
});

// An https: proxy that records the ALPN protocols each client offers, and answers every
// request head with `answer`.
async function alpnRecordingProxy(answer: string) {
  const offered: string[][] = [];
  const sockets = new Set<TLSSocket>();
  const { key, cert } = testCA().issue(["localhost", "127.0.0.1"]);
  const server = createTlsServer({
    key,
    cert,
    ALPNCallback: ({ protocols }) => {
      offered.push(protocols);
      return "http/1.1";
    },
  });
  server.on("secureConnection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onRequestHead(socket, () => socket.end(answer));
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    offered,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((ok) => server.close(ok));
    },
  };
}

describe("the proxy itself is spoken to in HTTP/1.1, whatever the pool's http2", () => {
  it("forwarding and CONNECT offer http/1.1 alone to an https: proxy", async () => {
    const proxy = await alpnRecordingProxy("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    try {
      await using p = new HTTPProxy({
        proxyUrl: proxy.url,
        proxyTls: tls(),
        tls: tls(),
        http2: true,
      });
      expect((await p.request("GET", "http://example.com/")).status).toBe(403);
      const error = await p.request("GET", "https://example.com/").catch((e) => e);
      expect(error).toBeInstanceOf(ProxyError);
      expect(error).toMatchObject({ code: "ERR_PROXY", status: 403 });
      expect(proxy.offered).toEqual([["http/1.1"], ["http/1.1"]]);
    } finally {
      await proxy.close();
    }
  });
});
