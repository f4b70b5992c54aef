// Answering 407s against a scripted proxy: how much of a 407's body is read to keep its
// connection (64 KiB), what a second 407 teaches, and a caller's own Proxy-Authorization on
// CONNECT. The proxy answers each request head as the test says; "tunnel" answers 200 and
// joins the connection to the HTTPS origin.
import { connect, type Socket } from "node:net";
import { ConnectionNotAvailable, Request, URL } from "@x/pool";
import { type RawServer, startRawServer, testCA } from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ForwardHTTPConnection,
  HTTPProxy,
  type HTTPProxyOptions,
  ProxyAuthenticator,
  ProxyError,
} from "../src/index.js";
import { startWorld, type World } from "./setup.js";

let world: World;
const tls = () => ({ ca: testCA().cert });

beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

type Answer = string | Buffer | "tunnel";

interface Scripted extends RawServer {
  readonly heads: string[];
}

async function scripted(answer: (head: string, index: number) => Answer): Promise<Scripted> {
  const heads: string[] = [];
  const upstreams = new Set<Socket>();
  const raw = await startRawServer((socket) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let end = buffered.indexOf("\r\n\r\n"); end !== -1; end = buffered.indexOf("\r\n\r\n")) {
        const head = buffered.subarray(0, end).toString("latin1");
        buffered = buffered.subarray(end + 4);
        heads.push(head);
        const reply = answer(head, heads.length - 1);
        if (reply !== "tunnel") {
          socket.write(reply);
          continue;
        }
        socket.off("data", onData);
        socket.write("HTTP/1.1 200 Connection established\r\n\r\n");
        const up = connect(world.https.port, "127.0.0.1");
        upstreams.add(up);
        up.on("error", () => socket.destroy());
        up.on("close", () => {
          upstreams.delete(up);
          socket.destroy();
        });
        socket.on("close", () => up.destroy());
        socket.pipe(up).pipe(socket);
        return;
      }
    };
    socket.on("data", onData);
  });
  return Object.assign(Object.create(raw) as RawServer, {
    heads,
    close: async () => {
      for (const up of upstreams) up.destroy();
      await raw.close();
    },
  }) as Scripted;
}

const hasAuth = (head: string) => /\r\nproxy-authorization:/i.test(head);
const authValues = (head: string) =>
  head
    .split("\r\n")
    .filter((line) => /^proxy-authorization:/i.test(line))
    .map((line) => line.slice(line.indexOf(":") + 1).trim());

function refusal(challenges: string[], body: Buffer | string = ""): Buffer {
  const data = Buffer.from(body);
  const fields = challenges.map((c) => `Proxy-Authenticate: ${c}\r\n`).join("");
  return Buffer.concat([
    Buffer.from(
      `HTTP/1.1 407 Proxy Authentication Required\r\n${fields}Content-Length: ${data.length}\r\n\r\n`,
    ),
    data,
  ]);
}

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const BASIC = 'Basic realm="r"';

function client(raw: Scripted, options: Partial<HTTPProxyOptions> = {}): HTTPProxy {
  return new HTTPProxy({
    proxyUrl: raw.url,
    proxyAuth: ["user", "pass"],
    proxyAuthScheme: "any",
    tls: tls(),
    ...options,
  });
}

describe("a 407's body is read to keep its connection, up to 64 KiB", () => {
  const KIB64 = 64 * 1024;
  const cases: Array<[string, number, number]> = [
    ["an empty body", 0, 1],
    ["exactly 64 KiB", KIB64, 1],
    ["64 KiB and one byte", KIB64 + 1, 2],
  ];
  for (const [name, size, connections] of cases) {
    it(`forwarding, ${name}: the answer goes on ${connections === 1 ? "the same" : "a new"} connection`, async () => {
      const raw = await scripted((head) =>
        hasAuth(head) ? OK : refusal([BASIC], Buffer.alloc(size, 0x61)),
      );
      try {
        await using p = client(raw);
        const r = await p.request("GET", "http://example.com/");
        expect(r.status).toBe(200);
        expect(raw.heads.map(hasAuth)).toEqual([false, true]);
        expect(raw.connections).toBe(connections);
      } finally {
        await raw.close();
      }
    });

    it(`CONNECT, ${name}: the answer goes on ${connections === 1 ? "the same" : "a new"} connection`, async () => {
      const raw = await scripted((head) =>
        hasAuth(head) ? "tunnel" : refusal([BASIC], Buffer.alloc(size, 0x61)),
      );
      try {
        await using p = client(raw);
        const r = await p.request("GET", "https://example.com/");
        expect(r.status).toBe(200);
        expect(await r.json()).toMatchObject({ host: "example.com", tls: true });
        expect(raw.heads.map(hasAuth)).toEqual([false, true]);
        expect(raw.connections).toBe(connections);
      } finally {
        await raw.close();
      }
    });
  }
});

// The first 407 offers Digest, the answer's 407 only Basic, which "digest" does not answer:
// nothing is kept, and the next request goes without Proxy-Authorization.
describe("a second 407 is learnt from too", () => {
  const DIGEST = 'Digest realm="r", nonce="n1", qop="auth"';
  const script = (then: Answer) => (_head: string, index: number) =>
    index === 0 ? refusal([DIGEST]) : index === 1 ? refusal([BASIC]) : then;

  it("forwarding: the 407 is the response; the next request goes without an answer", async () => {
    const raw = await scripted(script(OK));
    try {
      await using p = client(raw, { proxyAuthScheme: "digest" });
      expect((await p.request("GET", "http://example.com/")).status).toBe(407);
      expect((await p.request("GET", "http://example.com/")).status).toBe(200);
      expect(raw.heads.map(hasAuth)).toEqual([false, true, false]);
    } finally {
      await raw.close();
    }
  });

  it("CONNECT: ProxyError 407; the next CONNECT goes without an answer", async () => {
    const raw = await scripted(script("tunnel"));
    try {
      await using p = client(raw, { proxyAuthScheme: "digest" });
      const error = await p.request("GET", "https://example.com/").catch((e) => e);
      expect(error).toBeInstanceOf(ProxyError);
      expect(error).toMatchObject({ code: "ERR_PROXY", status: 407 });
      expect((await p.request("GET", "https://example.com/")).status).toBe(200);
      expect(raw.heads.map(hasAuth)).toEqual([false, true, false]);
    } finally {
      await raw.close();
    }
  });
});

describe("a caller's own Proxy-Authorization", () => {
  it("CONNECT: sent as is, once, and a 407 to it is not answered", async () => {
    const raw = await scripted(() => refusal(['Digest realm="r", nonce="n"', BASIC]));
    try {
      await using p = client(raw, { proxyHeaders: { "Proxy-Authorization": "Bearer abc" } });
      const error = await p.request("GET", "https://example.com/").catch((e) => e);
      expect(error).toBeInstanceOf(ProxyError);
      expect(error).toMatchObject({ code: "ERR_PROXY", status: 407 });
      expect(raw.heads.map(authValues)).toEqual([["Bearer abc"]]);
    } finally {
      await raw.close();
    }
  });

  it('"basic" with proxyAuth: a Proxy-Authorization in proxyHeaders wins, and goes alone', async () => {
    const raw = await scripted(() => OK);
    try {
      await using p = client(raw, {
        proxyAuthScheme: "basic",
        proxyHeaders: [["proxy-authorization", "Bearer abc"]],
      });
      expect((await p.request("GET", "http://example.com/")).status).toBe(200);
      expect(raw.heads.map(authValues)).toEqual([["Bearer abc"]]);
    } finally {
      await raw.close();
    }
  });

  it('"basic" from a URL with a password alone: Basic of ":password"', async () => {
    const raw = await scripted(() => OK);
    try {
      await using p = new HTTPProxy({ proxyUrl: `http://:pw@127.0.0.1:${raw.port}` });
      expect((await p.request("GET", "http://example.com/")).status).toBe(200);
      expect(raw.heads.map(authValues)).toEqual([
        [`Basic ${Buffer.from(":pw").toString("base64")}`],
      ]);
    } finally {
      await raw.close();
    }
  });
});

describe("forwarding, on a connection of its own", () => {
  it("a ForwardHTTPConnection without proxyHeaders sends the request's headers only", async () => {
    const raw = await scripted(() => OK);
    try {
      const conn = new ForwardHTTPConnection({
        proxyOrigin: new URL(raw.url).origin,
        remoteOrigin: new URL("http://example.com").origin,
      });
      const r = await conn.handleRequest(
        new Request("GET", "http://example.com/x?y", { headers: [["Host", "example.com"]] }),
      );
      expect(r.status).toBe(200);
      await r.close();
      await conn.close();
      expect(raw.heads).toEqual(["GET http://example.com/x?y HTTP/1.1\r\nHost: example.com"]);
    } finally {
      await raw.close();
    }
  });

  it("an abort while the proxy holds the request rejects with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("no more waiting");
    const raw = await scripted(() => {
      controller.abort(reason);
      return "";
    });
    try {
      await using p = new HTTPProxy({ proxyUrl: raw.url });
      const pending = p.request("GET", "http://example.com/", { signal: controller.signal });
      await expect(pending).rejects.toBe(reason);
      expect(p.connections).toHaveLength(0);
    } finally {
      await raw.close();
    }
  });
});

// Used on its own (no pool to send the request again), a ForwardHTTPConnection answers a 407
// on its connection when the proxy keeps it, and says so when the proxy closes it.
describe("a ForwardHTTPConnection of its own, with a ProxyAuthenticator", () => {
  const forward = (raw: Scripted) =>
    new ForwardHTTPConnection({
      proxyOrigin: new URL(raw.url).origin,
      remoteOrigin: new URL("http://example.com").origin,
      proxyAuthenticator: new ProxyAuthenticator({ username: "u", password: "p", scheme: "any" }),
    });
  const request = () =>
    new Request("GET", "http://example.com/", { headers: [["Host", "example.com"]] });

  it("a kept-alive 407 is answered on the same connection", async () => {
    const raw = await scripted((head) => (hasAuth(head) ? OK : refusal([BASIC], "challenge")));
    try {
      const conn = forward(raw);
      const r = await conn.handleRequest(request());
      expect(r.status).toBe(200);
      await r.close();
      await conn.close();
      expect(raw.heads.map(hasAuth)).toEqual([false, true]);
      expect(raw.connections).toBe(1);
    } finally {
      await raw.close();
    }
  });

  it("a 407 that closes the connection: ConnectionNotAvailable, for the pool to send it again", async () => {
    const closing = Buffer.from(
      `HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: ${BASIC}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
    const raw = await scripted(() => closing);
    try {
      const conn = forward(raw);
      const error = await conn.handleRequest(request()).catch((e) => e);
      await conn.close();
      expect(error).toBeInstanceOf(ConnectionNotAvailable);
      expect(error).toMatchObject({
        code: "ERR_CONNECTION_NOT_AVAILABLE",
        message:
          "the proxy closed the connection after its 407: the request goes again, answering the challenge",
      });
      expect(raw.heads).toHaveLength(1);
    } finally {
      await raw.close();
    }
  });
});
