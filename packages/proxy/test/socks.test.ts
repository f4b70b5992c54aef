// SOCKSProxy on the wire, scripted with MockBackend: the bytes each scheme sends (greeting,
// authentication, the address type of CONNECT), and each failure's type. Real proxies and
// socks4a over a real socket are in socks-interop.test.ts.
import { inspect } from "node:util";
import {
  ConnectError,
  MockBackend,
  type MockStream,
  ReadTimeout,
  RemoteProtocolError,
  TransportError,
} from "@x/pool";
import { describe, expect, it } from "vitest";
import { ProxyError, SOCKSProxy } from "../src/index.js";

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const bytes = (...b: number[]) => Uint8Array.from(b);
const GREETED = bytes(0x05, 0x00);
const CONNECTED = bytes(0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0);
const ADDRESSES = { "www.example.com": "93.184.215.14", "v6.example.com": "2001:db8::1" };

function backend(chunks: Array<Uint8Array | string>): MockBackend {
  return new MockBackend(chunks, { addresses: ADDRESSES });
}

// What the client wrote on its first stream, as arrays of bytes per write.
function writes(b: MockBackend): number[][] {
  return (b.streams[0] as MockStream).written.map((w) => [...w]);
}

const name = (s: string) => [...new TextEncoder().encode(s)];

describe("what each scheme sends", () => {
  it("socks5h: no-auth greeting, then CONNECT with the name (atyp 3)", async () => {
    const b = backend([GREETED, CONNECTED, OK]);
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks5h://127.0.0.1:1080/",
      networkBackend: b,
    });
    const r = await proxy.request("GET", "http://www.example.com/");
    expect(new TextDecoder().decode(r.content)).toBe("ok");
    const [greeting, connect, http] = writes(b);
    expect(greeting).toEqual([0x05, 0x01, 0x00]);
    expect(connect).toEqual([0x05, 0x01, 0x00, 0x03, 15, ...name("www.example.com"), 0, 80]);
    expect(new TextDecoder().decode(Uint8Array.from(http!))).toMatch(
      /^GET \/ HTTP\/1\.1\r\nHost: www\.example\.com\r\n/,
    );
  });

  it("socks5: the name is resolved here and an IPv4 address sent (atyp 1)", async () => {
    const b = backend([GREETED, CONNECTED, OK]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks5://127.0.0.1/", networkBackend: b });
    await proxy.request("GET", "http://www.example.com:8080/");
    expect(writes(b)[1]).toEqual([0x05, 0x01, 0x00, 0x01, 93, 184, 215, 14, 0x1f, 0x90]);
  });

  it("socks5: an IPv6 address (resolved or literal) is sent as atyp 4", async () => {
    const b = backend([GREETED, CONNECTED, OK]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks5://127.0.0.1/", networkBackend: b });
    await proxy.request("GET", "http://v6.example.com/");
    expect(writes(b)[1]).toEqual([
      0x05, 0x01, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80,
    ]);
    const b2 = backend([GREETED, CONNECTED, OK]);
    await using p2 = new SOCKSProxy({ proxyUrl: "socks5h://127.0.0.1/", networkBackend: b2 });
    await p2.request("GET", "http://[::ffff:1.2.3.4]/");
    expect(writes(b2)[1]).toEqual([
      0x05, 0x01, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4, 0, 80,
    ]);
  });

  it("socks5 with credentials offers both methods and sends RFC 1929's sub-negotiation", async () => {
    const b = backend([bytes(0x05, 0x02), bytes(0x01, 0x00), CONNECTED, OK]);
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks5h://us%C3%A9r:p%40ss@127.0.0.1/",
      networkBackend: b,
    });
    await proxy.request("GET", "http://www.example.com/");
    const [greeting, auth] = writes(b);
    expect(greeting).toEqual([0x05, 0x02, 0x00, 0x02]);
    expect(auth).toEqual([0x01, 5, ...name("usér"), 4, ...name("p@ss")]);
  });

  it("a proxy that takes no authentication is not sent the credentials", async () => {
    const b = backend([GREETED, CONNECTED, OK]);
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks5h://127.0.0.1/",
      proxyAuth: ["user", "secret"],
      networkBackend: b,
    });
    await proxy.request("GET", "http://www.example.com/");
    expect(writes(b)[1]![0]).toBe(0x05); // straight to CONNECT
    expect(Buffer.from(writes(b).flat()).includes("secret")).toBe(false);
  });

  it("socks4: an IPv4 address and the user id", async () => {
    const b = backend([bytes(0x00, 0x5a, 0, 0, 0, 0, 0, 0), OK]);
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks4://127.0.0.1/",
      proxyAuth: ["alice", ""],
      networkBackend: b,
    });
    await proxy.request("GET", "http://www.example.com/");
    expect(writes(b)[0]).toEqual([0x04, 0x01, 0, 80, 93, 184, 215, 14, ...name("alice"), 0]);
  });

  it("socks4a: 0.0.0.1, the user id, then the name", async () => {
    const b = backend([bytes(0x00, 0x5a, 0, 0, 0, 0, 0, 0), OK]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks4a://127.0.0.1/", networkBackend: b });
    await proxy.request("GET", "http://www.example.com/");
    expect(writes(b)[0]).toEqual([0x04, 0x01, 0, 80, 0, 0, 0, 1, 0, ...name("www.example.com"), 0]);
  });

  it("https: origins get TLS inside the tunnel, one tunnel per origin, printed", async () => {
    const b = backend([GREETED, CONNECTED, OK, OK]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks5h://127.0.0.1/", networkBackend: b });
    await proxy.request("GET", "https://www.example.com/");
    await proxy.request("GET", "https://www.example.com/");
    expect(b.streams).toHaveLength(1);
    expect((b.streams[0] as MockStream).tls).toBe(true);
    expect(proxy.connections.map((c) => inspect(c))).toEqual([
      "<SOCKSConnection ['https://www.example.com:443', HTTP/1.1, IDLE, Request Count: 2]>",
    ]);
  });

  it("bytes the origin sends right after the reply reach the connection first", async () => {
    const reply = new Uint8Array([...CONNECTED, ...new TextEncoder().encode(OK)]);
    const b = backend([GREETED, reply]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks5h://127.0.0.1/", networkBackend: b });
    const r = await proxy.request("GET", "http://www.example.com/");
    expect(new TextDecoder().decode(r.content)).toBe("ok");
  });

  it("the handshake is traced in httpcore's style", async () => {
    const names: string[] = [];
    const b = backend([GREETED, CONNECTED, OK]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks5h://127.0.0.1/", networkBackend: b });
    await proxy.request("GET", "http://www.example.com/", {
      extensions: { trace: (n: string) => void names.push(n) },
    });
    expect(names.slice(0, 4)).toEqual([
      "socks.connect_tcp.started",
      "socks.connect_tcp.complete",
      "socks.setup_socks5_connection.started",
      "socks.setup_socks5_connection.complete",
    ]);
  });
});

describe("failures, each typed, leaving nothing behind", () => {
  async function failWith(
    chunks: Array<Uint8Array | string>,
    url = "socks5h://127.0.0.1/",
    extra: object = {},
  ): Promise<{ error: unknown; b: MockBackend; proxy: SOCKSProxy }> {
    const b = backend(chunks);
    const proxy = new SOCKSProxy({ proxyUrl: url, networkBackend: b, ...extra });
    const error = await proxy.request("GET", "http://www.example.com/").catch((e: unknown) => e);
    expect(proxy.connections).toEqual([]);
    expect(b.streams.every((s) => (s as MockStream).closed)).toBe(true);
    await proxy.close();
    return { error, b, proxy };
  }

  for (const [code, words] of [
    [1, "general SOCKS server failure"],
    [2, "connection not allowed by ruleset"],
    [3, "network unreachable"],
    [4, "host unreachable"],
    [5, "connection refused"],
    [6, "TTL expired"],
    [7, "command not supported"],
    [8, "address type not supported"],
  ] as const) {
    it(`SOCKS5 reply ${code} is a ProxyError that says so`, async () => {
      const { error } = await failWith([GREETED, bytes(0x05, code, 0, 1, 0, 0, 0, 0, 0, 0)]);
      expect(error).toBeInstanceOf(ProxyError);
      expect((error as ProxyError).message).toBe(`SOCKS5 reply 0x0${code}: ${words}`);
      expect((error as ProxyError).reply).toBe(code);
      expect((error as ProxyError).code).toBe("ERR_PROXY");
    });
  }

  for (const code of [0x5b, 0x5c, 0x5d]) {
    it(`SOCKS4 reply 0x${code.toString(16)} is a ProxyError`, async () => {
      const { error } = await failWith([bytes(0, code, 0, 0, 0, 0, 0, 0)], "socks4a://127.0.0.1/");
      expect(error).toBeInstanceOf(ProxyError);
      expect((error as ProxyError).reply).toBe(code);
      expect((error as ProxyError).message).toMatch(/^SOCKS4 reply 0x5[bcd]: request rejected/);
    });
  }

  it("no acceptable method: ProxyError, with a hint when no credentials were given", async () => {
    const { error } = await failWith([bytes(0x05, 0xff)]);
    expect(error).toBeInstanceOf(ProxyError);
    expect((error as ProxyError).message).toMatch(/none of the authentication methods.*username/);
  });

  it("credentials refused: ProxyError, and the credentials appear nowhere", async () => {
    const { error } = await failWith([bytes(0x05, 0x02), bytes(0x01, 0x01)], undefined, {
      proxyAuth: ["alice", "hunter2-secret"],
    });
    expect(error).toBeInstanceOf(ProxyError);
    const shown = `${(error as Error).message} ${inspect(error)} ${(error as Error).stack}`;
    expect(shown).toMatch(/refused the username and password/);
    expect(shown).not.toMatch(/hunter2|alice/);
  });

  it("a wrong version, a garbage reply, an unknown method: RemoteProtocolError", async () => {
    for (const chunks of [
      [bytes(0x04, 0x00)],
      [GREETED, bytes(0x05, 0x00, 0x00, 0x09, 1, 2, 3, 4)],
      [bytes(0x05, 0x03)],
      [GREETED, bytes(0x04, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0)],
    ]) {
      const { error } = await failWith(chunks);
      expect(error).toBeInstanceOf(RemoteProtocolError);
    }
    const { error } = await failWith([bytes(0x04, 0x5a, 0, 0, 0, 0, 0, 0)], "socks4://127.0.0.1/");
    expect(error).toBeInstanceOf(RemoteProtocolError);
  });

  it("a proxy that closes mid-handshake: RemoteProtocolError", async () => {
    for (const chunks of [[], [GREETED], [GREETED, bytes(0x05, 0x00, 0x00)]]) {
      const { error } = await failWith(chunks);
      expect(error).toBeInstanceOf(RemoteProtocolError);
      expect((error as Error).message).toMatch(
        /closed the connection in the middle of the handshake/,
      );
    }
  });

  it("a name that cannot be resolved here (socks5:, socks4:) is a ConnectError", async () => {
    const b = new MockBackend([GREETED, CONNECTED, OK]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks5://127.0.0.1/", networkBackend: b });
    await expect(proxy.request("GET", "http://unknown.test/")).rejects.toBeInstanceOf(ConnectError);
  });

  it("socks4 reaches IPv4 only: a name with only an IPv6 address is a ConnectError", async () => {
    const b = backend([bytes(0, 0x5a, 0, 0, 0, 0, 0, 0), OK]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks4://127.0.0.1/", networkBackend: b });
    const error = await proxy.request("GET", "http://v6.example.com/").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(writes(b)).toEqual([]);
  });
});

describe("the constructor refuses what it cannot send, before any byte", () => {
  for (const url of ["socks://127.0.0.1/", "http://127.0.0.1/", "socks6://127.0.0.1/"]) {
    it(`${url}: a TypeError naming the four schemes`, () => {
      expect(() => new SOCKSProxy({ proxyUrl: url })).toThrow(
        /socks4:, socks4a:, socks5:, socks5h:/,
      );
    });
  }

  it("credentials over 255 bytes, or with NUL: ERR_INVALID_ARG_VALUE, never echoed", () => {
    const long = "é".repeat(128); // 256 bytes of UTF-8
    for (const auth of [
      [long, "x"],
      ["x", long],
      ["a\0b", "x"],
      ["x", "p\0ss"],
    ] as const) {
      let error: unknown;
      try {
        new SOCKSProxy({ proxyUrl: "socks5://127.0.0.1/", proxyAuth: auth });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect((error as { code: string }).code).toBe("ERR_INVALID_ARG_VALUE");
      expect((error as Error).message).not.toContain("p\0ss");
      expect((error as Error).message).not.toContain("é");
    }
  });

  it("a socks4 tunnel to an IPv6 literal is a ConnectError, nothing sent but the TCP connect", async () => {
    const b = backend([bytes(0, 0x5a, 0, 0, 0, 0, 0, 0), OK]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks4://127.0.0.1/", networkBackend: b });
    const error = await proxy.request("GET", "http://[2001:db8::1]/").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(writes(b)).toEqual([]);
  });

  it("silence is a ReadTimeout (a TransportError)", async () => {
    const never = new MockBackend([]);
    // A stream that never answers: reads wait forever, so the read timeout decides.
    (never as unknown as { connectTcp: unknown }).connectTcp = async () => ({
      read: (_n: number, timeout?: number) =>
        new Promise((_, reject) =>
          setTimeout(() => reject(new ReadTimeout(`nothing within ${timeout} ms`)), timeout),
        ),
      write: async () => {},
      close: async () => {},
      startTls: async () => {
        throw new Error("no");
      },
      getExtraInfo: () => undefined,
    });
    await using proxy = new SOCKSProxy({ proxyUrl: "socks5h://127.0.0.1/", networkBackend: never });
    const error = await proxy
      .request("GET", "http://www.example.com/", { extensions: { timeout: { read: 30 } } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadTimeout);
    expect(error).toBeInstanceOf(TransportError);
  });
});
