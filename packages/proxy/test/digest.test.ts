// The Digest computation (RFC 7616 §3.9.1's examples, RFC 2617's, the -sess variants and
// userhash) and the challenge parser, without sockets.
import { createHash } from "node:crypto";
import { inspect } from "node:util";
import { LocalProtocolError, Request } from "@x/pool";
import { describe, expect, it } from "vitest";
import { parseChallenges } from "../src/challenges.js";
import {
  type DigestInput,
  digestAlgorithm,
  digestAuthorization,
  digestResponse,
  digestUserhash,
} from "../src/digest.js";
import { ProxyAuthenticator } from "../src/index.js";

// RFC 7616 §3.9.1: GET /dir/index.html, user Mufasa, password "Circle of Life".
const rfc7616: Omit<DigestInput, "algorithm"> = {
  username: "Mufasa",
  password: "Circle of Life",
  realm: "http-auth@example.org",
  nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
  opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
  method: "GET",
  uri: "/dir/index.html",
  qop: "auth",
  nc: 1,
  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
};

const md5 = (s: string) => createHash("md5").update(s, "utf8").digest("hex");
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

describe("the Digest response", () => {
  it("RFC 7616 §3.9.1 with MD5", () => {
    expect(digestResponse({ ...rfc7616, algorithm: "MD5" })).toBe(
      "8ca523f5e9506fed4657c9700eebdbec",
    );
  });

  it("RFC 7616 §3.9.1 with SHA-256", () => {
    expect(digestResponse({ ...rfc7616, algorithm: "SHA-256" })).toBe(
      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    );
  });

  it("RFC 7616 §3.9.1's Authorization field, as sent", () => {
    expect(digestAuthorization({ ...rfc7616, algorithm: "SHA-256" })).toBe(
      'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", ' +
        'algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, ' +
        'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, ' +
        'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", ' +
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    );
  });

  it("RFC 2617 §3.5 (MD5, qop=auth)", () => {
    expect(
      digestResponse({
        algorithm: "MD5",
        username: "Mufasa",
        password: "Circle Of Life",
        realm: "testrealm@host.com",
        nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        method: "GET",
        uri: "/dir/index.html",
        qop: "auth",
        nc: 1,
        cnonce: "0a4f113b",
      }),
    ).toBe("6629fae49393a05397450978507c4ef1");
  });

  it("the -sess variants hash H(user:realm:pass) again with the nonce and cnonce", () => {
    for (const [algorithm, h] of [
      ["MD5-sess", md5],
      ["SHA-256-sess", sha256],
    ] as const) {
      const ha1 = h(
        `${h("Mufasa:http-auth@example.org:Circle of Life")}:${rfc7616.nonce}:${rfc7616.cnonce}`,
      );
      const ha2 = h("GET:/dir/index.html");
      const expected = h(`${ha1}:${rfc7616.nonce}:00000001:${rfc7616.cnonce}:auth:${ha2}`);
      expect(digestResponse({ ...rfc7616, algorithm })).toBe(expected);
      expect(digestResponse({ ...rfc7616, algorithm })).not.toBe(
        digestResponse({ ...rfc7616, algorithm: algorithm === "MD5-sess" ? "MD5" : "SHA-256" }),
      );
    }
  });

  it("the nonce count is eight hex digits and changes the response", () => {
    const a = digestAuthorization({ ...rfc7616, algorithm: "MD5", nc: 255 });
    expect(a).toContain("nc=000000ff,");
    expect(digestResponse({ ...rfc7616, algorithm: "MD5", nc: 2 })).not.toBe(
      digestResponse({ ...rfc7616, algorithm: "MD5", nc: 1 }),
    );
  });

  it("without qop (RFC 2069): H(HA1:nonce:HA2), no nc nor cnonce sent", () => {
    const ha1 = md5("Mufasa:http-auth@example.org:Circle of Life");
    const ha2 = md5("GET:/dir/index.html");
    expect(digestResponse({ ...rfc7616, algorithm: "MD5", qop: null })).toBe(
      md5(`${ha1}:${rfc7616.nonce}:${ha2}`),
    );
    const value = digestAuthorization({ ...rfc7616, algorithm: "MD5", qop: null });
    expect(value).not.toMatch(/nc=|cnonce=|qop=/);
  });

  it("userhash: the username is H(username:realm), and userhash=true is sent", () => {
    expect(digestUserhash("SHA-256", "Mufasa", "http-auth@example.org")).toBe(
      sha256("Mufasa:http-auth@example.org"),
    );
    expect(digestUserhash("MD5", "Jäsøn Doe", "api@example.org")).toBe(
      md5("Jäsøn Doe:api@example.org"),
    );
    const value = digestAuthorization({ ...rfc7616, algorithm: "SHA-256", userhash: true });
    expect(value).toContain(`username="${sha256("Mufasa:http-auth@example.org")}"`);
    expect(value).toMatch(/, userhash=true$/);
    expect(value).not.toContain("Mufasa");
    // The response is still computed from the username itself (RFC 7616 §3.4.4).
    expect(value).toContain(`response="${digestResponse({ ...rfc7616, algorithm: "SHA-256" })}"`);
  });

  it("a non-ASCII username goes as username* (RFC 8187), hashed as UTF-8", () => {
    const value = digestAuthorization({ ...rfc7616, algorithm: "MD5", username: "Jäsøn Doe" });
    expect(value).toMatch(/^Digest username\*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm=/);
    const ha1 = md5("Jäsøn Doe:http-auth@example.org:Circle of Life");
    const ha2 = md5("GET:/dir/index.html");
    expect(value).toContain(
      `response="${md5(`${ha1}:${rfc7616.nonce}:00000001:${rfc7616.cnonce}:auth:${ha2}`)}"`,
    );
  });

  it("wire strings are hashed as their latin1 octets, the password as UTF-8", () => {
    const input: DigestInput = {
      algorithm: "MD5",
      username: "u",
      password: "pässword",
      realm: "caf\u00e9",
      nonce: "n\u00ff",
      method: "GET",
      uri: "/\u00e0",
      qop: null,
      nc: 1,
      cnonce: "c",
    };
    const h = (...parts: Buffer[]) =>
      createHash("md5")
        .update(Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from(":"), p]))))
        .digest("hex");
    const l = (s: string) => Buffer.from(s, "latin1");
    const ha1 = h(l("u"), l("caf\u00e9"), Buffer.from("pässword", "utf8"));
    const ha2 = h(l("GET"), l("/\u00e0"));
    expect(digestResponse(input)).toBe(h(l(ha1), l("n\u00ff"), l(ha2)));
  });

  it("a username with control characters goes as username*, each octet as two hex digits", () => {
    const value = digestAuthorization({ ...rfc7616, algorithm: "MD5", username: "a\tb\u0001" });
    expect(value).toMatch(/^Digest username\*=UTF-8''a%09b%01, realm=/);
  });

  it("quotes and backslashes in echoed values are escaped", () => {
    const value = digestAuthorization({
      ...rfc7616,
      algorithm: "MD5",
      username: 'a"b\\c',
      realm: 'r"1',
    });
    expect(value).toContain('username="a\\"b\\\\c", realm="r\\"1"');
  });

  it("names algorithms case-insensitively; MD5 when none; null for ones it does not answer", () => {
    expect(digestAlgorithm(undefined)).toBe("MD5");
    expect(digestAlgorithm("sha-256-SESS")).toBe("SHA-256-sess");
    expect(digestAlgorithm("SHA-512-256")).toBeNull();
    expect(digestAlgorithm("token")).toBeNull();
  });
});

describe("parseChallenges", () => {
  const params = (c: { params: ReadonlyMap<string, string> } | undefined) =>
    Object.fromEntries(c?.params ?? []);

  it("quoted strings with escapes, tokens, and spaces around =", () => {
    const [c] = parseChallenges([
      'Digest realm="a \\"quoted\\" realm, with a comma", nonce = "n\\\\1", algorithm=SHA-256, qop="auth,auth-int"',
    ]);
    expect(c?.scheme).toBe("digest");
    expect(params(c)).toEqual({
      realm: 'a "quoted" realm, with a comma',
      nonce: "n\\1",
      algorithm: "SHA-256",
      qop: "auth,auth-int",
    });
  });

  it("several challenges in one field", () => {
    const cs = parseChallenges([
      'Basic realm="proxy", Digest realm="proxy", nonce="abc", algorithm=MD5, Negotiate, NTLM',
    ]);
    expect(cs.map((c) => c.scheme)).toEqual(["basic", "digest", "negotiate", "ntlm"]);
    expect(params(cs[0])).toEqual({ realm: "proxy" });
    expect(params(cs[1])).toEqual({ realm: "proxy", nonce: "abc", algorithm: "MD5" });
  });

  it("challenges in several fields, in order", () => {
    const cs = parseChallenges(['Digest realm="x", nonce="1"', "Basic realm=x", "NTLM"]);
    expect(cs.map((c) => c.scheme)).toEqual(["digest", "basic", "ntlm"]);
    expect(params(cs[1])).toEqual({ realm: "x" });
  });

  it("token68, and a token68 followed by another challenge", () => {
    const cs = parseChallenges(['Negotiate YIIB+w==, Basic realm="r"']);
    expect(cs[0]).toMatchObject({ scheme: "negotiate", token68: "YIIB+w==" });
    expect(cs[1]?.scheme).toBe("basic");
  });

  it("unknown params are kept, the first of a repeated name wins, names are lower-cased", () => {
    const [c] = parseChallenges(['DIGEST Realm="r", Nonce="1", nonce="2", x-custom=yes, , ']);
    expect(c?.scheme).toBe("digest");
    expect(params(c)).toEqual({ realm: "r", nonce: "1", "x-custom": "yes" });
  });

  it("empty list elements and surrounding commas are skipped", () => {
    const cs = parseChallenges([' , Basic realm="a" ,, ,Digest nonce="b",']);
    expect(cs.map((c) => c.scheme)).toEqual(["basic", "digest"]);
  });

  it("an unterminated quoted string ends the field; the next field is still read", () => {
    const cs = parseChallenges(['Basic realm="a", Digest realm="b', "Digest nonce=c"]);
    expect(cs.map((c) => c.scheme)).toEqual(["basic", "digest", "digest"]);
    expect(params(cs[2])).toEqual({ nonce: "c" });
  });

  it("params are separated by commas: one after a space alone is not read", () => {
    const [c] = parseChallenges(['Digest realm="r" nonce="n"']);
    expect(c).toStrictEqual({ scheme: "digest", params: new Map([["realm", "r"]]) });
  });

  it("a token68 that ends the field", () => {
    expect(parseChallenges(["Negotiate YIIB+w=="])).toStrictEqual([
      { scheme: "negotiate", params: new Map(), token68: "YIIB+w==" },
    ]);
  });

  it("a token68 takes no params: a param after it is not its own", () => {
    const [c] = parseChallenges(['Negotiate abc, realm="x"']);
    expect(c).toStrictEqual({ scheme: "negotiate", params: new Map(), token68: "abc" });
  });

  it("a scheme alone before a comma, spaces around it, has no params", () => {
    const cs = parseChallenges(["NTLM , Basic realm=x"]);
    expect(cs).toStrictEqual([
      { scheme: "ntlm", params: new Map() },
      { scheme: "basic", params: new Map([["realm", "x"]]) },
    ]);
  });

  it("params and a token68 come after a space: a scheme followed by '/' is read alone", () => {
    expect(parseChallenges(["Basic/abc"])).toStrictEqual([{ scheme: "basic", params: new Map() }]);
  });

  it("a stray character ends its field; what was read before it, and later fields, are kept", () => {
    const cs = parseChallenges(["Basic realm=x, =junk, Digest nonce=1", "NTLM"]);
    expect(cs).toStrictEqual([
      { scheme: "basic", params: new Map([["realm", "x"]]) },
      { scheme: "ntlm", params: new Map() },
    ]);
  });

  it("a challenge whose first param cannot be read is kept without params", () => {
    const cs = parseChallenges(['Basic realm="a", Digest realm="b']);
    expect(cs).toStrictEqual([
      { scheme: "basic", params: new Map([["realm", "a"]]) },
      { scheme: "digest", params: new Map() },
    ]);
  });

  it("__proto__ as a param name is just a name", () => {
    const [c] = parseChallenges(['Digest __proto__="x", realm="r"']);
    expect(c?.params.get("__proto__")).toBe("x");
    expect(c?.params.get("realm")).toBe("r");
  });
});

describe("ProxyAuthenticator", () => {
  const challenge = (...values: string[]): Array<[string, string]> =>
    values.map((v) => ["Proxy-Authenticate", v]);
  const field = (value: string | undefined, name: string) =>
    new RegExp(`${name}="?([^",]*)`).exec(value ?? "")?.[1];

  it("sends nothing before a challenge, then answers it with a growing nonce count", () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "p", scheme: "digest" });
    expect(auth.authorization("GET", "http://a/")).toBeUndefined();
    expect(auth.learn(challenge('Digest realm="r", nonce="n1", qop="auth"'))).toBe(true);
    const first = auth.authorization("GET", "http://a/");
    const second = auth.authorization("CONNECT", "a:443");
    expect(field(first, "nc")).toBe("00000001");
    expect(field(second, "nc")).toBe("00000002");
    expect(field(first, "cnonce")).toBe(field(second, "cnonce"));
    expect(field(second, "uri")).toBe("a:443");
    // The same nonce again keeps counting; a new nonce starts at 1.
    auth.learn(challenge('Digest realm="r", nonce="n1", qop="auth"'));
    expect(field(auth.authorization("GET", "http://a/"), "nc")).toBe("00000003");
    auth.learn(challenge('Digest realm="r", nonce="n2", qop="auth", stale=true'));
    const fresh = auth.authorization("GET", "http://a/");
    expect(field(fresh, "nonce")).toBe("n2");
    expect(field(fresh, "nc")).toBe("00000001");
  });

  it('"any" picks Digest SHA-256 over Digest MD5 over Basic, wherever they are offered', () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "p", scheme: "any" });
    auth.learn(
      challenge(
        'Basic realm="r"',
        'Digest realm="r", nonce="m", algorithm=MD5, qop="auth"',
        'Digest realm="r", nonce="s", algorithm=SHA-256-sess, qop="auth"',
      ),
    );
    expect(field(auth.authorization("GET", "/"), "algorithm")).toBe("SHA-256-sess");
    auth.learn(challenge('Basic realm="r", Digest realm="r", nonce="m", qop="auth"'));
    expect(field(auth.authorization("GET", "/"), "algorithm")).toBe("MD5");
    auth.learn(challenge('Basic realm="r"'));
    expect(auth.authorization("GET", "/")).toBe("Basic dTpw");
  });

  it('"digest" does not answer Basic, nor Digest it cannot compute; what it kept is dropped', () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "p", scheme: "digest" });
    expect(auth.learn(challenge('Digest realm="r", nonce="n"'))).toBe(true);
    expect(auth.learn(challenge('Basic realm="r"'))).toBe(false);
    expect(auth.authorization("GET", "/")).toBeUndefined();
    expect(auth.learn(challenge('Digest realm="r", nonce="n", algorithm=SHA-512-256'))).toBe(false);
    expect(auth.learn(challenge('Digest realm="r", nonce="n", qop="auth-int"'))).toBe(false);
    expect(auth.learn(challenge('Digest nonce="n"'))).toBe(false); // no realm
    expect(auth.learn([["Content-Type", "text/plain"]])).toBe(false);
  });

  it("opaque and userhash from the challenge are sent back", () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "p", scheme: "digest" });
    auth.learn(
      challenge('Digest realm="r", nonce="n", opaque="op", userhash=true, algorithm=SHA-256'),
    );
    const value = auth.authorization("GET", "/") ?? "";
    expect(field(value, "opaque")).toBe("op");
    expect(field(value, "username")).toBe(sha256("u:r"));
    expect(value).toContain("userhash=true");
  });

  it("one answered challenge per request", () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "p", scheme: "digest" });
    const request = new Request("GET", "http://a/");
    expect(auth.claimRetry(request)).toBe(true);
    expect(auth.claimRetry(request)).toBe(false);
    expect(auth.claimRetry(new Request("GET", "http://a/"))).toBe(true);
  });

  it("a value built with CR, LF or NUL is refused, and the error does not hold the secret", () => {
    const auth = new ProxyAuthenticator({ username: "u", password: "hunter2", scheme: "digest" });
    auth.learn(challenge('Digest realm="r", nonce="n"'));
    let error: unknown;
    try {
      auth.authorization("GET", "/\r\nX-Evil: 1");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LocalProtocolError);
    expect(String((error as Error).stack)).not.toContain("hunter2");
  });

  it("refuses unsafe credentials, without echoing them", () => {
    for (const [username, password] of [
      ["a", "secret1\r\nX: 1"],
      ["a\0", "secret2"],
      ["a:b", "secret3"],
    ] as const) {
      const make = () => new ProxyAuthenticator({ username, password, scheme: "digest" });
      expect(make).toThrow(TypeError);
      try {
        make();
      } catch (e) {
        expect((e as Error).message).not.toContain(password);
      }
    }
  });

  it("prints without the credentials", () => {
    const auth = new ProxyAuthenticator({ username: "user", password: "hunter2", scheme: "any" });
    auth.learn(challenge('Digest realm="r", nonce="n"'));
    for (const text of [
      inspect(auth),
      String(auth),
      JSON.stringify(auth),
      inspect(auth, { showHidden: true }),
    ]) {
      expect(text).not.toContain("hunter2");
      expect(text).not.toContain("user");
    }
    expect(inspect(auth)).toBe("<ProxyAuthenticator [any]>");
  });
});
