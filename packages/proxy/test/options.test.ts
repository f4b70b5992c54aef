// What HTTPProxy and SOCKSProxy make of their options, where each connects to (a backend that
// records the address and refuses), ProxyError's fields, a ProxyAuthenticator on its own, and
// a ForwardHTTPConnection before it is connected. No socket is opened here.
import {
  ConnectError,
  HTTPConnection,
  LocalProtocolError,
  MockBackend,
  type NetworkBackend,
  Request,
  TransportError,
  URL,
} from "@x/pool";
import { describe, expect, it } from "vitest";
import {
  ForwardHTTPConnection,
  HTTPProxy,
  ProxyAuthenticator,
  ProxyError,
  SOCKSProxy,
} from "../src/index.js";

// A backend that records where each connection goes, and refuses it.
function recording(): NetworkBackend & { calls: Array<[string, number]> } {
  const calls: Array<[string, number]> = [];
  return {
    calls,
    async connectTcp(host: string, port: number) {
      calls.push([host, port]);
      throw new ConnectError(`refused by the test (${host}:${port})`);
    },
    async connectUnixSocket() {
      throw new ConnectError("no unix sockets here");
    },
    async sleep() {},
  };
}

function thrown(make: () => unknown): TypeError & { code: string } {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    return error as TypeError & { code: string };
  }
  throw new Error("did not throw");
}

describe("HTTPProxy's options", () => {
  it("proxyUrl is required", () => {
    for (const options of [undefined, {}]) {
      const error = thrown(() => new HTTPProxy(options as unknown as { proxyUrl: string }));
      expect(error.message).toBe("proxyUrl is required");
    }
  });

  it("proxyTls needs an https: proxy URL, saying so", () => {
    const error = thrown(() => new HTTPProxy({ proxyUrl: "http://127.0.0.1:1", proxyTls: {} }));
    expect(error.message).toBe(
      "proxyTls was given, but the proxy URL is http: (use an https: proxy URL for TLS to the proxy)",
    );
    expect(() => new HTTPProxy({ proxyUrl: "https://127.0.0.1:1", proxyTls: {} })).not.toThrow();
  });

  it("the scheme of a WHATWG URL is checked too", () => {
    const whatwg = thrown(() => new HTTPProxy({ proxyUrl: new globalThis.URL("socks5://h:1") }));
    expect(whatwg.message).toBe(
      "the proxy URL must be http: or https:, not socks5: (for a SOCKS proxy, use SOCKSProxy)",
    );
    const ftp = thrown(() => new HTTPProxy({ proxyUrl: "ftp://h:1/" }));
    expect(ftp.message).toBe("the proxy URL must be http: or https:, not ftp:");
  });

  it("credentials: strings without CR, LF, NUL, nor a colon in the username", () => {
    const notStrings = thrown(
      () =>
        new HTTPProxy({
          proxyUrl: "http://127.0.0.1:1",
          proxyAuth: ["u", 1] as unknown as [string, string],
        }),
    );
    expect(notStrings.message).toBe("proxyAuth must be [username, password] strings");
    const notString = thrown(
      () =>
        new HTTPProxy({
          proxyUrl: "http://127.0.0.1:1",
          proxyAuth: [1, "p"] as unknown as [string, string],
        }),
    );
    expect(notString.message).toBe("proxyAuth must be [username, password] strings");
    for (const proxyAuth of [
      ["u\nx", "p"],
      ["u", "p\r"],
      ["u\0", "p"],
      ["u:x", "p"],
    ] as const) {
      const error = thrown(() => new HTTPProxy({ proxyUrl: "http://127.0.0.1:1", proxyAuth }));
      expect(error.message).toBe(
        "proxy credentials must not contain CR, LF or NUL, nor a colon in the username",
      );
    }
    // A colon in the password is fine.
    expect(
      () => new HTTPProxy({ proxyUrl: "http://127.0.0.1:1", proxyAuth: ["u", "p:q"] }),
    ).not.toThrow();
  });

  it("proxyAuthScheme: checked, and digest or any need credentials", () => {
    const bad = thrown(
      () =>
        new HTTPProxy({
          proxyUrl: "http://127.0.0.1:1",
          proxyAuth: ["u", "p"],
          proxyAuthScheme: "ntlm" as "any",
        }),
    );
    expect(bad.message).toBe(`proxyAuthScheme must be "basic", "digest" or "any"`);
    for (const scheme of ["digest", "any"] as const) {
      const error = thrown(
        () => new HTTPProxy({ proxyUrl: "http://127.0.0.1:1", proxyAuthScheme: scheme }),
      );
      expect(error.message).toBe(
        `proxyAuthScheme "${scheme}" needs credentials: proxyAuth, or a username and password in the proxy URL`,
      );
    }
    // "basic" without credentials is no authentication at all.
    expect(
      () => new HTTPProxy({ proxyUrl: "http://127.0.0.1:1", proxyAuthScheme: "basic" }),
    ).not.toThrow();
    // Credentials in the URL count, a password alone too.
    expect(
      () => new HTTPProxy({ proxyUrl: "http://:pw@127.0.0.1:1", proxyAuthScheme: "digest" }),
    ).not.toThrow();
    expect(
      () => new HTTPProxy({ proxyUrl: "http://user@127.0.0.1:1", proxyAuthScheme: "any" }),
    ).not.toThrow();
  });

  it("the proxy's port: as given, else 80 for http: and 443 for https:", async () => {
    for (const [proxyUrl, port] of [
      ["http://127.0.0.1", 80],
      ["https://127.0.0.1/", 443],
      ["http://127.0.0.1:8123", 8123],
      [new URL("http://127.0.0.1/"), 80],
      [new globalThis.URL("https://127.0.0.1"), 443],
    ] as const) {
      const backend = recording();
      await using p = new HTTPProxy({ proxyUrl, networkBackend: backend });
      for (const target of ["http://example.com/", "https://example.com/"]) {
        const error = await p.request("GET", target).catch((e) => e);
        expect(error).toBeInstanceOf(ConnectError);
      }
      expect(backend.calls).toEqual([
        ["127.0.0.1", port],
        ["127.0.0.1", port],
      ]);
    }
  });
});

describe("SOCKSProxy's options", () => {
  it("proxyUrl is required, and must be a URL", () => {
    for (const options of [undefined, {}]) {
      const error = thrown(() => new SOCKSProxy(options as unknown as { proxyUrl: string }));
      expect(error.message).toBe("proxyUrl is required");
    }
    const error = thrown(() => new SOCKSProxy({ proxyUrl: "not a url" }));
    expect(error.message).toBe('the proxy URL is not a URL: "not a url"');
  });

  it("the scheme is one of the four, saying which are", () => {
    const error = thrown(() => new SOCKSProxy({ proxyUrl: new globalThis.URL("http://h/") }));
    expect(error.message).toBe(
      "the proxy URL must be socks4:, socks4a:, socks5:, socks5h: (not http:): socks4 and socks5 resolve names here, socks4a and socks5h at the proxy",
    );
  });

  it("a URL without a host is refused", () => {
    const error = thrown(() => new SOCKSProxy({ proxyUrl: "socks5://" }));
    expect(error.message).toBe("the proxy URL has no host");
  });

  it("the proxy's address: the host (an IPv6 one without brackets), port 1080 by default", async () => {
    for (const [proxyUrl, host, port] of [
      ["socks5h://127.0.0.1", "127.0.0.1", 1080],
      ["socks5h://127.0.0.1:9050/", "127.0.0.1", 9050],
      ["socks5h://[::1]", "::1", 1080],
      ["socks4a://[::1]:1081", "::1", 1081],
    ] as const) {
      const backend = recording();
      await using p = new SOCKSProxy({ proxyUrl, networkBackend: backend });
      const error = await p.request("GET", "http://example.com/").catch((e) => e);
      expect(error).toBeInstanceOf(ConnectError);
      expect(backend.calls).toEqual([[host, port]]);
    }
  });

  it("credentials from the URL: a username or a password alone counts, and is checked", () => {
    const long = "a".repeat(256);
    for (const proxyUrl of [`socks5://${long}@127.0.0.1`, `socks5://:${long}@127.0.0.1`]) {
      const error = thrown(() => new SOCKSProxy({ proxyUrl }));
      expect(error.message).not.toContain(long);
    }
    // proxyAuth wins over the URL's.
    expect(
      () => new SOCKSProxy({ proxyUrl: `socks5://${long}@127.0.0.1`, proxyAuth: ["user", "pass"] }),
    ).not.toThrow();
  });

  it("URL credentials that are not percent-encoding: saying which", () => {
    for (const [userinfo, which] of [
      ["%zz", "username"],
      ["u:%zz", "password"],
    ] as const) {
      const error = thrown(() => new SOCKSProxy({ proxyUrl: `socks5://${userinfo}@127.0.0.1` }));
      expect(error.message).toBe(`the proxy URL's ${which} is not valid percent-encoding`);
    }
  });

  it("without credentials, SOCKS5 offers no authentication only", async () => {
    // Method 0x00 chosen, then reply 0x05 (refused).
    const backend = new MockBackend([
      new Uint8Array([5, 0]),
      new Uint8Array([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]),
    ]);
    await using p = new SOCKSProxy({ proxyUrl: "socks5h://127.0.0.1", networkBackend: backend });
    const error = await p.request("GET", "http://example.com/").catch((e) => e);
    expect(error).toBeInstanceOf(ProxyError);
    expect([...Buffer.concat(backend.written).subarray(0, 3)]).toEqual([5, 1, 0]);
  });

  it("sends the URL's credentials (RFC 1929) when the proxy asks for them", async () => {
    // Method 0x02 chosen, then status 0x01: refused. What was sent is the sub-negotiation.
    const backend = new MockBackend([new Uint8Array([5, 2]), new Uint8Array([1, 1])]);
    await using p = new SOCKSProxy({
      proxyUrl: "socks5h://us%40er:p%3Ass@127.0.0.1",
      networkBackend: backend,
    });
    const error = await p.request("GET", "http://example.com/").catch((e) => e);
    expect(error).toBeInstanceOf(ProxyError);
    const sent = Buffer.concat(backend.written);
    expect([...sent.subarray(0, 4)]).toEqual([5, 2, 0, 2]);
    expect([...sent.subarray(4)]).toEqual([
      1,
      5,
      ...Buffer.from("us@er"),
      4,
      ...Buffer.from("p:ss"),
    ]);
  });
});

describe("ProxyError", () => {
  it("a SOCKS refusal: its message and reply; no status, reason, headers or body", () => {
    const error = new ProxyError({ message: "SOCKS5 reply 0x05: connection refused", reply: 5 });
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({
      code: "ERR_PROXY",
      message: "SOCKS5 reply 0x05: connection refused",
      status: 0,
      reasonPhrase: "",
      headers: [],
      reply: 5,
    });
    expect(error.body).toBeInstanceOf(Uint8Array);
    expect(error.body.length).toBe(0);
  });

  it("an HTTP refusal: the status line as the message, its fields, reply null", () => {
    const body = new TextEncoder().encode("go away");
    const headers: Array<[string, string]> = [["X-Why", "policy"]];
    const error = new ProxyError({ status: 403, reasonPhrase: "Forbidden", headers, body });
    expect(error).toMatchObject({
      code: "ERR_PROXY",
      message: "403 Forbidden",
      status: 403,
      reasonPhrase: "Forbidden",
      reply: null,
    });
    expect(error.headers).toBe(headers);
    expect(error.body).toBe(body);
    const bare = new ProxyError({ status: 502, reasonPhrase: "", headers: [], body });
    expect(bare.message).toBe("502");
  });
});

describe("ProxyAuthenticator on its own", () => {
  const digest = (params: string): Array<[string, string]> => [
    ["Proxy-Authenticate", `Digest ${params}`],
  ];

  it("checks its options", () => {
    const cases: Array<[unknown, string]> = [
      [
        { username: 1, password: "p", scheme: "digest" },
        "the proxy credentials must be [username, password] strings",
      ],
      [
        { username: "u", password: undefined, scheme: "digest" },
        "the proxy credentials must be [username, password] strings",
      ],
      [
        { username: "u\r", password: "p", scheme: "digest" },
        "proxy credentials must not contain CR, LF or NUL, nor a colon in the username",
      ],
      [
        { username: "u", password: "p\n", scheme: "any" },
        "proxy credentials must not contain CR, LF or NUL, nor a colon in the username",
      ],
      [
        { username: "u:v", password: "p", scheme: "any" },
        "proxy credentials must not contain CR, LF or NUL, nor a colon in the username",
      ],
      [
        { username: "u", password: "p", scheme: "basic" },
        `a ProxyAuthenticator's scheme is "digest" or "any"`,
      ],
    ];
    for (const [options, message] of cases) {
      const error = thrown(
        () =>
          new ProxyAuthenticator(options as ConstructorParameters<typeof ProxyAuthenticator>[0]),
      );
      expect(error.message).toBe(message);
    }
  });

  it("prints and serialises its scheme only", () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "hunter2", scheme: "any" });
    expect(String(auth)).toBe("<ProxyAuthenticator [any]>");
    expect(JSON.stringify(auth)).toBe('{"scheme":"any"}');
  });

  it("nothing before a challenge; Proxy-Authenticate found whatever its case", () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "p", scheme: "digest" });
    expect(auth.authorization("GET", "http://example.com/")).toBeUndefined();
    expect(auth.learn([["proxy-AUTHENTICATE", 'Digest realm="r", nonce="n"']])).toBe(true);
    expect(auth.authorization("GET", "http://example.com/")).toMatch(/^Digest username="u"/);
    // Other fields are not challenges.
    expect(auth.learn([["WWW-Authenticate", 'Digest realm="r", nonce="n"']])).toBe(false);
    expect(auth.authorization("GET", "http://example.com/")).toBeUndefined();
  });

  it("a Digest challenge without realm, nonce or a known algorithm, or with auth-int only, is not answered", () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "p", scheme: "any" });
    for (const params of [
      'nonce="n"',
      'realm="r"',
      'realm="r", nonce="n", algorithm=SHA-512',
      'realm="r", nonce="n", qop="auth-int"',
    ]) {
      expect(auth.learn(digest(params))).toBe(false);
      expect(auth.authorization("GET", "/")).toBeUndefined();
    }
    expect(auth.learn(digest('realm="r", nonce="n", qop="auth-int, AUTH"'))).toBe(true);
    expect(auth.authorization("GET", "/")).toContain("qop=auth");
    expect(auth.learn(digest('realm="r", nonce="n2"'))).toBe(true);
    expect(auth.authorization("GET", "/")).not.toContain("qop=");
  });

  it('"any": the strongest of Basic, Digest MD5 and Digest SHA-256, in any order', () => {
    const basic: [string, string] = ["Proxy-Authenticate", 'Basic realm="r"'];
    const md5 = digest('realm="r", nonce="n", algorithm=MD5')[0]!;
    const sha = digest('realm="r", nonce="n", algorithm=SHA-256-sess')[0]!;
    const orders: Array<[Array<[string, string]>, RegExp]> = [
      [[basic], /^Basic /],
      [[basic, md5], /algorithm=MD5,/],
      [[md5, basic], /algorithm=MD5,/],
      [[md5, sha], /algorithm=SHA-256-sess,/],
      [[sha, md5, basic], /algorithm=SHA-256-sess,/],
      [[basic, sha, md5], /algorithm=SHA-256-sess,/],
    ];
    for (const [headers, expected] of orders) {
      const auth = new ProxyAuthenticator({ username: "u", password: "p", scheme: "any" });
      expect(auth.learn(headers)).toBe(true);
      expect(auth.authorization("GET", "/")).toMatch(expected);
    }
    // Of two as strong, the first.
    const twice = new ProxyAuthenticator({ username: "u", password: "p", scheme: "any" });
    twice.learn([...digest('realm="r", nonce="first"'), ...digest('realm="r", nonce="second"')]);
    expect(twice.authorization("GET", "/")).toContain('nonce="first"');
    const digestOnly = new ProxyAuthenticator({ username: "u", password: "p", scheme: "digest" });
    expect(digestOnly.learn([basic])).toBe(false);
    // Another scheme with Digest's parameters is not Digest.
    for (const scheme of ["Basic", "Bearer"]) {
      expect(digestOnly.learn([["Proxy-Authenticate", `${scheme} realm="r", nonce="n"`]])).toBe(
        false,
      );
    }
    expect(digestOnly.learn([basic, md5])).toBe(true);
    expect(digestOnly.authorization("GET", "/")).toMatch(/algorithm=MD5,/);
  });

  it("the same nonce keeps its count and client nonce; another realm, nonce or algorithm starts again", () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "p", scheme: "digest" });
    const nc = (value: string | undefined) => /nc=([0-9a-f]{8})/.exec(value ?? "")?.[1];
    const cnonce = (value: string | undefined) => /cnonce="([^"]*)"/.exec(value ?? "")?.[1];
    const base = 'realm="r", nonce="n", qop="auth", algorithm=MD5';
    auth.learn(digest(base));
    const first = auth.authorization("GET", "/");
    expect(nc(first)).toBe("00000001");
    auth.learn(digest(base));
    const second = auth.authorization("GET", "/");
    expect(nc(second)).toBe("00000002");
    expect(cnonce(second)).toBe(cnonce(first));
    for (const other of [
      'realm="r2", nonce="n", qop="auth", algorithm=MD5',
      'realm="r2", nonce="n2", qop="auth", algorithm=MD5',
      'realm="r2", nonce="n2", qop="auth", algorithm=SHA-256',
    ]) {
      auth.learn(digest(other));
      const value = auth.authorization("GET", "/");
      expect(nc(value)).toBe("00000001");
      expect(cnonce(value)).not.toBe(cnonce(first));
    }
  });

  it("opaque and userhash are taken from the challenge", () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "p", scheme: "digest" });
    auth.learn(digest('realm="r", nonce="n", opaque="xyz", userhash=TRUE'));
    const value = auth.authorization("GET", "/")!;
    expect(value).toContain('opaque="xyz"');
    expect(value).toContain("userhash=true");
    expect(value).not.toContain('username="u"');
    auth.learn(digest('realm="r", nonce="n2", userhash=false'));
    const plain = auth.authorization("GET", "/")!;
    expect(plain).toContain('username="u"');
    expect(plain).not.toContain("opaque");
    expect(plain).not.toContain("userhash=true");
  });

  it("a value that would hold CR or LF is refused before it is sent", () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "p", scheme: "digest" });
    auth.learn(digest('realm="line\nbreak", nonce="n"'));
    expect(() => auth.authorization("GET", "/")).toThrow(LocalProtocolError);
    expect(() => auth.authorization("GET", "/")).toThrow(
      "the Proxy-Authorization value built for the proxy's challenge holds CR, LF or NUL; it was not sent",
    );
  });

  it("claimRetry: true once per request", () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "p", scheme: "digest" });
    const a = new Request("GET", "http://example.com/");
    const b = new Request("GET", "http://example.com/");
    expect(auth.claimRetry(a)).toBe(true);
    expect(auth.claimRetry(a)).toBe(false);
    expect(auth.claimRetry(b)).toBe(true);
  });
});

describe("a ForwardHTTPConnection before it connects", () => {
  const proxyOrigin = new URL("http://127.0.0.1:3128").origin;
  const remoteOrigin = new URL("http://example.com").origin;
  const other = new URL("http://httpbin.org").origin;
  const secure = new URL("https://example.com").origin;

  it("shared (the default): any http: origin, never https:", async () => {
    const conn = new ForwardHTTPConnection({ proxyOrigin, remoteOrigin });
    expect(conn.canHandleRequest(remoteOrigin)).toBe(true);
    expect(conn.canHandleRequest(other)).toBe(true);
    expect(conn.canHandleRequest(secure)).toBe(false);
    await conn.close();
  });

  it("not shared: its own origin only", async () => {
    const conn = new ForwardHTTPConnection({
      proxyOrigin,
      remoteOrigin,
      shareForwardConnections: false,
    });
    expect(conn.canHandleRequest(remoteOrigin)).toBe(true);
    expect(conn.canHandleRequest(other)).toBe(false);
    expect(conn.canHandleRequest(secure)).toBe(false);
    await conn.close();
  });

  it("reports the state of its connection to the proxy", async () => {
    const conn = new ForwardHTTPConnection({ proxyOrigin, remoteOrigin });
    const plain = new HTTPConnection(proxyOrigin);
    const state = (c: HTTPConnection | ForwardHTTPConnection) => [
      c.isAvailable(),
      c.hasExpired(),
      c.isIdle(),
      c.isClosed(),
      c.info(),
    ];
    expect(state(conn)).toEqual(state(plain));
    expect(String(conn)).toBe(`<ForwardHTTPConnection [${plain.info()}]>`);
    const request = new Request("GET", "http://example.com/");
    expect(conn.tryReserve(request)).toBe(true);
    expect(conn.tryReserve(new Request("GET", "http://example.com/"))).toBe(false);
    conn.unreserve(request);
    expect(conn.tryReserve(request)).toBe(true);
    conn.unreserve(request);
    await conn.close();
    await plain.close();
    expect(conn.isClosed()).toBe(true);
  });
});
