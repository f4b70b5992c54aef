// The SOCKS handshakes byte by byte, scripted with MockBackend (every stream checked closed
// when a handshake fails): the address bytes of each kind of IPv6 address, the limits on
// host names, a NetworkBackend without resolve(), every reply's exact error (class, code,
// message), the bound address of each type skipped exactly, replies split into single
// bytes, the timeouts and trace each handshake uses, and an abort in the middle.
import {
  ConnectError,
  MockBackend,
  type MockStream,
  type NetworkBackend,
  type NetworkStream,
  Origin,
  ReadError,
  RemoteProtocolError,
  Request,
} from "@x/pool";
import { describe, expect, it } from "vitest";
import { ProxyError, SOCKSDialer, SOCKSProxy } from "../src/index.js";

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const okBytes = () => [...new TextEncoder().encode(OK)];
const bytes = (...b: number[]) => Uint8Array.from(b);
const GREETED = bytes(0x05, 0x00);
const CONNECTED = bytes(0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0);
const SOCKS4_GRANTED = bytes(0x00, 0x5a, 0, 0, 0, 0, 0, 0);
const name = (s: string) => [...new TextEncoder().encode(s)];
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function writes(b: MockBackend): number[][] {
  return (b.streams[0] as MockStream).written.map((w) => [...w]);
}

// A NetworkBackend with MockBackend's streams and no resolve().
function withoutResolve(b: MockBackend): NetworkBackend {
  return {
    connectTcp: (host, port, options) => b.connectTcp(host, port, options),
    connectUnixSocket: (path, options) => b.connectUnixSocket(path, options),
    sleep: (ms) => b.sleep(ms),
  };
}

// Runs one request, expecting it to fail; checks no connection and no open stream is left.
async function failure(
  chunks: Array<Uint8Array | string>,
  url = "socks5h://127.0.0.1/",
  extra: object = {},
  target = "http://www.example.com/",
): Promise<{ error: unknown; b: MockBackend }> {
  const b = new MockBackend(chunks, { addresses: { "www.example.com": "93.184.215.14" } });
  const proxy = new SOCKSProxy({ proxyUrl: url, networkBackend: b, ...extra });
  const error = await proxy.request("GET", target).catch((e: unknown) => e);
  expect(proxy.connections).toEqual([]);
  expect(b.streams.length).toBeGreaterThan(0);
  expect(b.streams.every((s) => (s as MockStream).closed)).toBe(true);
  await proxy.close();
  return { error, b };
}

function expectError(
  error: unknown,
  cls: abstract new (...a: never[]) => Error,
  code: string,
  message: string,
): void {
  expect(error).toBeInstanceOf(cls);
  expect((error as { code: string }).code).toBe(code);
  expect((error as Error).message).toBe(message);
}

describe("socks5: the address bytes of every form of IPv6 address resolved here", () => {
  for (const [address, expected] of [
    ["::ffff:1.2.3.4", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]],
    ["::ffff:192.168.10.200", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 10, 200]],
    ["0:0:0:0:0:ffff:10.20.30.40", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 20, 30, 40]],
    ["64:ff9b::7.8.9.10", [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 7, 8, 9, 10]],
    ["2001:db8:1:2:3:4:5:abcd", [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0xab, 0xcd]],
    ["2001:db8::", [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
    ["fe80:1::ff00:2", [0xfe, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 2]],
    ["::", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
  ] as const) {
    it(`${address}`, async () => {
      const b = new MockBackend([GREETED, CONNECTED, OK], { addresses: { "v6.test": address } });
      await using proxy = new SOCKSProxy({ proxyUrl: "socks5://127.0.0.1/", networkBackend: b });
      const r = await proxy.request("GET", "http://v6.test:258/");
      expect(text(r.content)).toBe("ok");
      expect(writes(b)[1]).toEqual([0x05, 0x01, 0x00, 0x04, ...expected, 1, 2]);
    });
  }
});

describe("host names", () => {
  // 255 bytes: four labels of 63 and three dots.
  const longest = Array.from({ length: 4 }, (_, i) => String.fromCharCode(97 + i).repeat(63)).join(
    ".",
  );

  it("socks5h sends a name of 255 bytes", async () => {
    const b = new MockBackend([GREETED, CONNECTED, OK]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks5h://127.0.0.1/", networkBackend: b });
    await proxy.request("GET", `http://${longest}/`);
    expect(writes(b)[1]).toEqual([0x05, 0x01, 0x00, 0x03, 255, ...name(longest), 0, 80]);
  });

  it("socks5h refuses a name of 256 bytes with a ConnectError, before CONNECT", async () => {
    const { error, b } = await failure(
      [GREETED, CONNECTED, OK],
      undefined,
      {},
      `http://${longest}e/`,
    );
    expectError(
      error,
      ConnectError,
      "ERR_CONNECT",
      "the host name is too long for SOCKS5 (256 bytes)",
    );
    expect(writes(b)).toEqual([[0x05, 0x01, 0x00]]);
  });

  it("socks4a refuses a name with NUL (a ConnectError), and sends nothing", async () => {
    const b = new MockBackend([SOCKS4_GRANTED]);
    const dialer = new SOCKSDialer({
      proxyHost: "127.0.0.1",
      proxyPort: 1080,
      version: "socks4a",
      networkBackend: b,
    });
    const origin = new Origin("http", "a\0b.example", 80);
    const request = new Request("GET", "http://www.example.com/");
    const error = await dialer
      .dial(origin, request, new AbortController().signal)
      .catch((e: unknown) => e);
    expectError(error, ConnectError, "ERR_CONNECT", "the host name contains NUL");
    expect(writes(b)).toEqual([]);
    expect((b.streams[0] as MockStream).closed).toBe(true);
  });
});

describe("a NetworkBackend without resolve()", () => {
  for (const version of ["socks5", "socks4"]) {
    it(`${version}: a name is a ConnectError that says resolve() is missing`, async () => {
      const b = new MockBackend([GREETED, CONNECTED, OK]);
      const proxy = new SOCKSProxy({
        proxyUrl: `${version}://127.0.0.1/`,
        networkBackend: withoutResolve(b),
      });
      const error = await proxy.request("GET", "http://www.example.com/").catch((e: unknown) => e);
      expectError(
        error,
        ConnectError,
        "ERR_CONNECT",
        `${version}: names are resolved on this side, but the NetworkBackend has no resolve()`,
      );
      expect(b.streams.every((s) => s.closed)).toBe(true);
      await proxy.close();
    });
  }

  it("is enough for socks5h and socks4a (names), and for IP literals", async () => {
    for (const [url, target, reply] of [
      ["socks5h://127.0.0.1/", "http://www.example.com/", [GREETED, CONNECTED]],
      ["socks4a://127.0.0.1/", "http://www.example.com/", [SOCKS4_GRANTED]],
      ["socks5://127.0.0.1/", "http://10.1.2.3/", [GREETED, CONNECTED]],
      ["socks4://127.0.0.1/", "http://10.1.2.3/", [SOCKS4_GRANTED]],
    ] as const) {
      const b = new MockBackend([...reply, OK]);
      await using proxy = new SOCKSProxy({ proxyUrl: url, networkBackend: withoutResolve(b) });
      const r = await proxy.request("GET", target);
      expect(text(r.content)).toBe("ok");
    }
  });
});

describe("every failure's exact error", () => {
  it("SOCKS5 reply 0x09 (not in RFC 1928): a ProxyError, 'unknown reply'", async () => {
    const { error } = await failure([GREETED, bytes(0x05, 0x09, 0, 1, 0, 0, 0, 0, 0, 0)]);
    expectError(error, ProxyError, "ERR_PROXY", "SOCKS5 reply 0x09: unknown reply");
    expect((error as ProxyError).reply).toBe(9);
  });

  it("SOCKS4 replies in words; an unknown code is a RemoteProtocolError", async () => {
    for (const [code, words] of [
      [0x5b, "request rejected or failed"],
      [0x5c, "request rejected: the proxy cannot reach the client's identd"],
      [0x5d, "request rejected: the client's identd reports another user id"],
    ] as const) {
      const { error } = await failure([bytes(0, code, 0, 0, 0, 0, 0, 0)], "socks4a://127.0.0.1/");
      expectError(error, ProxyError, "ERR_PROXY", `SOCKS4 reply 0x${code.toString(16)}: ${words}`);
      expect((error as ProxyError).reply).toBe(code);
    }
    for (const code of [0x5e, 0x00]) {
      const { error } = await failure([bytes(0, code, 0, 0, 0, 0, 0, 0)], "socks4a://127.0.0.1/");
      expectError(
        error,
        RemoteProtocolError,
        "ERR_REMOTE_PROTOCOL",
        `the SOCKS4 proxy's reply has an unknown code 0x${code.toString(16).padStart(2, "0")}`,
      );
    }
  });

  it("versions, methods and address types the client did not expect", async () => {
    for (const [chunks, url, message] of [
      [
        [bytes(0x04, 0x00)],
        undefined,
        "the SOCKS5 proxy answered the greeting with version 0x04, not 0x05",
      ],
      [
        [bytes(0x05, 0x03)],
        undefined,
        "the SOCKS5 proxy chose authentication method 0x03, which was not offered",
      ],
      [
        [bytes(0x05, 0x02)],
        undefined,
        "the SOCKS5 proxy chose authentication method 0x02, which was not offered",
      ],
      [
        [bytes(0x05, 0x01)],
        undefined,
        "the SOCKS5 proxy chose authentication method 0x01, which was not offered",
      ],
      [
        [GREETED, bytes(0x15, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0)],
        undefined,
        "the SOCKS5 proxy answered CONNECT with version 0x15, not 0x05",
      ],
      [
        [GREETED, bytes(0x05, 0x00, 0x00, 0x02, 1, 2, 3, 4)],
        undefined,
        "the SOCKS5 proxy's reply has an unknown address type 0x02",
      ],
      [
        [bytes(0x04, 0x5a, 0, 0, 0, 0, 0, 0)],
        "socks4://127.0.0.1/",
        "the SOCKS4 proxy's reply has version 0x04, not 0x00",
      ],
    ] as const) {
      const { error } = await failure([...chunks], url);
      expectError(error, RemoteProtocolError, "ERR_REMOTE_PROTOCOL", message);
    }
  });

  it("no acceptable method: the methods offered, and the hint only without credentials", async () => {
    const none = await failure([bytes(0x05, 0xff)]);
    expectError(
      none.error,
      ProxyError,
      "ERR_PROXY",
      "the SOCKS5 proxy accepts none of the authentication methods offered (0x00): it may want a username and password",
    );
    expect((none.error as ProxyError).reply).toBe(0xff);
    const withAuth = await failure([bytes(0x05, 0xff)], undefined, { proxyAuth: ["u", "p"] });
    expectError(
      withAuth.error,
      ProxyError,
      "ERR_PROXY",
      "the SOCKS5 proxy accepts none of the authentication methods offered (0x00, 0x02)",
    );
  });

  it("credentials refused: the status, as a ProxyError's reply", async () => {
    const { error } = await failure([bytes(0x05, 0x02), bytes(0x01, 0x10)], undefined, {
      proxyAuth: ["u", "p"],
    });
    expectError(
      error,
      ProxyError,
      "ERR_PROXY",
      "the SOCKS5 proxy refused the username and password (status 0x10)",
    );
    expect((error as ProxyError).reply).toBe(0x10);
  });
});

describe("what the replies carry, read exactly", () => {
  // The bound address of each type, then the origin's response in the same chunk: a byte too
  // many or too few skipped and the response does not parse.
  for (const [label, bound] of [
    ["IPv4", [0x01, 10, 0, 0, 1]],
    ["IPv6", [0x04, ...Array.from({ length: 16 }, (_, i) => i + 1)]],
    ["a name", [0x03, 7, ...name("e.local")]],
    ["an empty name", [0x03, 0]],
  ] as const) {
    it(`SOCKS5 bound address ${label}: skipped, with the port`, async () => {
      const reply = bytes(0x05, 0x00, 0x00, ...bound, 0x1f, 0x90, ...okBytes());
      const b = new MockBackend([GREETED, reply]);
      await using proxy = new SOCKSProxy({ proxyUrl: "socks5h://127.0.0.1/", networkBackend: b });
      const r = await proxy.request("GET", "http://www.example.com/");
      expect(r.status).toBe(200);
      expect(text(r.content)).toBe("ok");
    });
  }

  it("a SOCKS4 reply followed by the origin's response in the same chunk", async () => {
    const b = new MockBackend([bytes(...SOCKS4_GRANTED, ...okBytes())]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks4a://127.0.0.1/", networkBackend: b });
    const r = await proxy.request("GET", "http://www.example.com/");
    expect(text(r.content)).toBe("ok");
  });

  it("replies that arrive one byte at a time", async () => {
    const split = (b: Uint8Array) => [...b].map((x) => bytes(x));
    const b = new MockBackend([
      ...split(bytes(0x05, 0x02)),
      ...split(bytes(0x01, 0x00)),
      ...split(bytes(0x05, 0x00, 0x00, 0x03, 3, 0x61, 0x62, 0x63, 0, 80)),
      OK,
    ]);
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks5h://127.0.0.1/",
      proxyAuth: ["u", "p"],
      networkBackend: b,
    });
    const r = await proxy.request("GET", "http://www.example.com/");
    expect(text(r.content)).toBe("ok");
    const b4 = new MockBackend([...split(SOCKS4_GRANTED), OK]);
    await using p4 = new SOCKSProxy({ proxyUrl: "socks4a://127.0.0.1/", networkBackend: b4 });
    expect(text((await p4.request("GET", "http://www.example.com/")).content)).toBe("ok");
  });
});

describe("what socks4 and socks4a send", () => {
  it("socks4a: the port, 0.0.0.1, the user id and its NUL, the name and its NUL", async () => {
    const b = new MockBackend([SOCKS4_GRANTED, OK]);
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks4a://bob@127.0.0.1/",
      networkBackend: b,
    });
    await proxy.request("GET", "http://www.example.com:8080/");
    expect(writes(b)[0]).toEqual([
      0x04,
      0x01,
      0x1f,
      0x90,
      0,
      0,
      0,
      1,
      ...name("bob"),
      0,
      ...name("www.example.com"),
      0,
    ]);
  });

  it("socks4: an IP literal is sent as it is, with an empty user id", async () => {
    const b = new MockBackend([SOCKS4_GRANTED, OK]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks4://127.0.0.1/", networkBackend: b });
    await proxy.request("GET", "http://192.0.2.250:65535/");
    expect(writes(b)[0]).toEqual([0x04, 0x01, 0xff, 0xff, 192, 0, 2, 250, 0]);
  });

  it("socks4 and socks4a: the IPv6-only refusal names the version and the host", async () => {
    for (const version of ["socks4", "socks4a"]) {
      const { error, b } = await failure(
        [SOCKS4_GRANTED],
        `${version}://127.0.0.1/`,
        {},
        "http://[2001:db8::7]/",
      );
      expectError(
        error,
        ConnectError,
        "ERR_CONNECT",
        `${version} reaches IPv4 addresses only, not 2001:db8::7`,
      );
      expect(writes(b)).toEqual([]);
    }
  });
});

// A stream over MockBackend's that records the timeout of each read and write.
function recording(b: MockBackend, log: string[]): NetworkBackend {
  return {
    resolve: (host, options) => b.resolve(host, options),
    connectTcp: async (host, port, options) => {
      const inner = await b.connectTcp(host, port, options);
      const stream: NetworkStream = {
        read: (n, timeout) => {
          log.push(`read ${timeout}`);
          return inner.read(n, timeout);
        },
        write: (data, timeout) => {
          log.push(`write ${timeout}`);
          return inner.write(data, timeout);
        },
        close: () => inner.close(),
        startTls: (tls, host, timeout) => inner.startTls(tls, host, timeout),
        getExtraInfo: (key) => inner.getExtraInfo(key),
      };
      return stream;
    },
    connectUnixSocket: (path, options) => b.connectUnixSocket(path, options),
    sleep: (ms) => b.sleep(ms),
  };
}

describe("the handshake's timeouts and trace", () => {
  it("socks5: each handshake write and read under the request's write and read timeouts", async () => {
    const log: string[] = [];
    const b = new MockBackend([bytes(0x05, 0x02), bytes(0x01, 0x00), CONNECTED, OK]);
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks5h://u:p@127.0.0.1/",
      networkBackend: recording(b, log),
    });
    await proxy.request("GET", "http://www.example.com/", {
      extensions: { timeout: { read: 1234, write: 567 } },
    });
    expect(log.slice(0, 6)).toEqual([
      "write 567",
      "read 1234",
      "write 567",
      "read 1234",
      "write 567",
      "read 1234",
    ]);
  });

  it("socks4: the same, and the trace names socks4 and what it connects to", async () => {
    const log: string[] = [];
    const traces: Array<[string, unknown]> = [];
    const b = new MockBackend([SOCKS4_GRANTED, OK], {
      addresses: { "www.example.com": "93.184.215.14" },
    });
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks4://127.0.0.1:1081/",
      networkBackend: recording(b, log),
    });
    await proxy.request("GET", "http://www.example.com:81/", {
      extensions: {
        timeout: { read: 1234, write: 567 },
        trace: (n: string, info: unknown) => void traces.push([n, info]),
      },
    });
    expect(log.slice(0, 2)).toEqual(["write 567", "read 1234"]);
    expect(traces.filter(([n]) => n.startsWith("socks.setup"))).toEqual([
      [
        "socks.setup_socks4_connection.started",
        {
          proxyHost: "127.0.0.1",
          proxyPort: 1081,
          version: "socks4",
          host: "www.example.com",
          port: 81,
        },
      ],
      ["socks.setup_socks4_connection.complete", expect.anything()],
    ]);
  });

  it("an abort in the middle of the handshake closes the stream to the proxy", async () => {
    const b = new MockBackend([]);
    let closed = false;
    const hanging: NetworkBackend = {
      connectTcp: async () => {
        let wake: () => void = () => {};
        const stream: NetworkStream = {
          read: () =>
            new Promise((_, reject) => {
              wake = () => reject(new ReadError("closed"));
            }),
          write: async () => {},
          close: async () => {
            closed = true;
            wake();
          },
          startTls: () => Promise.reject(new Error("no TLS here")),
          getExtraInfo: () => undefined,
        };
        return stream;
      },
      connectUnixSocket: (path, options) => b.connectUnixSocket(path, options),
      sleep: (ms) => b.sleep(ms),
    };
    const controller = new AbortController();
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks5h://127.0.0.1/",
      networkBackend: hanging,
    });
    const pending = proxy
      .request("GET", "http://www.example.com/", { signal: controller.signal })
      .catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    controller.abort();
    // Without the close, the read would wait forever: give it a second.
    const error = await Promise.race([
      pending,
      new Promise((r) => setTimeout(() => r("still waiting"), 1000)),
    ]);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("AbortError");
    expect(closed).toBe(true);
    expect(proxy.connections).toEqual([]);
  });
});

describe("credentials, checked in the constructor", () => {
  function thrown(auth: unknown): unknown {
    try {
      new SOCKSProxy({
        proxyUrl: "socks5://127.0.0.1/",
        proxyAuth: auth as readonly [string, string],
      });
    } catch (e) {
      return e;
    }
    return undefined;
  }

  it("each refusal is a TypeError (ERR_INVALID_ARG_VALUE) that says why", () => {
    for (const [auth, message] of [
      [[1, "p"], "proxyAuth must be [username, password] strings"],
      [["u", null], "proxyAuth must be [username, password] strings"],
      [["é".repeat(128), "p"], "SOCKS credentials are at most 255 bytes each (as UTF-8)"],
      [["u", "x".repeat(256)], "SOCKS credentials are at most 255 bytes each (as UTF-8)"],
      [["u\0", "p"], "SOCKS credentials must not contain NUL"],
    ] as const) {
      expectError(thrown(auth), TypeError, "ERR_INVALID_ARG_VALUE", message);
    }
  });

  it("255 bytes each are sent, each with its length", async () => {
    const user = "u".repeat(255);
    const pass = "é".repeat(127) + "p"; // 255 bytes of UTF-8
    expect(thrown([user, pass])).toBeUndefined();
    const b = new MockBackend([bytes(0x05, 0x02), bytes(0x01, 0x00), CONNECTED, OK]);
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks5h://127.0.0.1/",
      proxyAuth: [user, pass],
      networkBackend: b,
    });
    await proxy.request("GET", "http://www.example.com/");
    expect(writes(b)[1]).toEqual([0x01, 255, ...name(user), 255, ...name(pass)]);
  });
});

describe("around the handshake", () => {
  it("resolve() is asked for IPv4 by socks4, for any family by socks5", async () => {
    for (const [version, reply, expected] of [
      ["socks4", [SOCKS4_GRANTED], { family: 4 }],
      ["socks5", [GREETED, CONNECTED], {}],
    ] as const) {
      const asked: unknown[] = [];
      const b = new MockBackend([...reply, OK]);
      const backend = withoutResolve(b);
      backend.resolve = async (_host: string, options?: object) => {
        asked.push(options);
        return "10.0.0.1";
      };
      await using proxy = new SOCKSProxy({
        proxyUrl: `${version}://127.0.0.1/`,
        networkBackend: backend,
      });
      await proxy.request("GET", "http://www.example.com/");
      expect(asked).toStrictEqual([expected]);
    }
  });

  it("TLS to an https: origin inside the tunnel is traced as socks.start_tls", async () => {
    const names: string[] = [];
    const b = new MockBackend([GREETED, CONNECTED, OK]);
    await using proxy = new SOCKSProxy({ proxyUrl: "socks5h://127.0.0.1/", networkBackend: b });
    await proxy.request("GET", "https://www.example.com/", {
      extensions: { trace: (n: string) => void names.push(n) },
    });
    expect(names).toContain("socks.start_tls.started");
    expect(names).toContain("socks.start_tls.complete");
  });

  it("SOCKSDialer: the dial's signal, aborted after the dial, leaves the tunnel open", async () => {
    const b = new MockBackend([GREETED, CONNECTED]);
    const dialer = new SOCKSDialer({
      proxyHost: "127.0.0.1",
      proxyPort: 1080,
      version: "socks5h",
      networkBackend: b,
    });
    const controller = new AbortController();
    const origin = new Origin("http", "www.example.com", 80);
    const stream = await dialer.dial(
      origin,
      new Request("GET", "http://www.example.com/"),
      controller.signal,
    );
    expect(stream).toBe(b.streams[0]);
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((b.streams[0] as MockStream).closed).toBe(false);
    await stream.close();
  });
});
