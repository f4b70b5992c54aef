// ProxyRouter.fromEnv(env).proxyFor(url), row by row, for every environment rule: which
// variables are read, NO_PROXY's forms. Each row whose rule curl 7.88 shares is also run
// through the real curl (installed in CI) with the same variables, against three recording
// proxies (A, B, C) and loopback origins: the proxy it went through, or none, must be the
// same. Rows marked `beyondCurl` are rules this package adds (ports, `*.`, IPv6, a few
// more), or where curl 7.88 reads an entry otherwise; they are not run through curl.
import { execFile, spawnSync } from "node:child_process";
import { type EmbeddedProxy, type Origin, startOrigin, startProxy } from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProxyRouter } from "../src/index.js";

type Via = "A" | "B" | "C" | null;

interface Row {
  /** The rule the row shows. */
  readonly rule: string;
  /** The variables; `{A}` is proxy A's URL, `{A:bare}` the same without its scheme. */
  readonly env: Readonly<Record<string, string>>;
  readonly url: string;
  /** The proxy the request goes through, or null for direct. */
  readonly via: Via;
  /** Why curl 7.88 cannot check this row (a rule beyond curl's, or one curl reads otherwise). */
  readonly beyondCurl?: string;
}

const A = "{A}";
const B = "{B}";
const C = "{C}";
const PORT = "beyond curl 7.88: an entry with a port (curl ignores it)";
const STAR_DOT = "beyond curl 7.88: '*.' (curl compares it literally)";
const IPV6 = "beyond curl 7.88: IPv6 literals and ranges (curl compares IPv6 as text)";

// http_proxy=A for the NO_PROXY rows.
const np = (noProxy: string, url: string, via: Via, rule: string, beyondCurl?: string): Row => ({
  rule,
  env: { http_proxy: A, no_proxy: noProxy },
  url,
  via,
  ...(beyondCurl === undefined ? {} : { beyondCurl }),
});

const rows: Row[] = [
  // Which variable, for which scheme.
  { rule: "http_proxy for http:", env: { http_proxy: A }, url: "http://example.com/", via: "A" },
  {
    rule: "HTTP_PROXY (upper case) is ignored: httpoxy",
    env: { HTTP_PROXY: A },
    url: "http://example.com/",
    via: null,
  },
  {
    rule: "http_proxy, not HTTP_PROXY",
    env: { http_proxy: A, HTTP_PROXY: B },
    url: "http://example.com/",
    via: "A",
  },
  {
    rule: "http_proxy is not for https:",
    env: { http_proxy: A },
    url: "https://example.com/",
    via: null,
  },
  {
    rule: "https_proxy for https:",
    env: { https_proxy: A },
    url: "https://example.com/",
    via: "A",
  },
  {
    rule: "HTTPS_PROXY for https:",
    env: { HTTPS_PROXY: A },
    url: "https://example.com/",
    via: "A",
  },
  {
    rule: "https_proxy wins over HTTPS_PROXY",
    env: { https_proxy: A, HTTPS_PROXY: B },
    url: "https://example.com/",
    via: "A",
  },
  {
    rule: "an empty https_proxy counts as unset",
    env: { https_proxy: "", HTTPS_PROXY: B },
    url: "https://example.com/",
    via: "B",
  },
  {
    rule: "https_proxy is not for http:",
    env: { https_proxy: A },
    url: "http://example.com/",
    via: null,
  },
  { rule: "all_proxy for http:", env: { all_proxy: A }, url: "http://example.com/", via: "A" },
  { rule: "ALL_PROXY for https:", env: { ALL_PROXY: A }, url: "https://example.com/", via: "A" },
  {
    rule: "all_proxy wins over ALL_PROXY",
    env: { all_proxy: A, ALL_PROXY: B },
    url: "http://example.com/",
    via: "A",
  },
  {
    rule: "an empty all_proxy counts as unset",
    env: { all_proxy: "", ALL_PROXY: B },
    url: "http://example.com/",
    via: "B",
  },
  {
    rule: "the scheme's own proxy wins over all_proxy",
    env: { http_proxy: A, all_proxy: B },
    url: "http://example.com/",
    via: "A",
  },
  {
    rule: "all_proxy for a scheme without its own",
    env: { http_proxy: A, all_proxy: B },
    url: "https://example.com/",
    via: "B",
  },
  {
    rule: "HTTPS_PROXY wins over all_proxy",
    env: { HTTPS_PROXY: A, all_proxy: B },
    url: "https://example.com/",
    via: "A",
  },
  {
    rule: "HTTP_PROXY ignored, ALL_PROXY taken",
    env: { HTTP_PROXY: A, ALL_PROXY: B },
    url: "http://example.com/",
    via: "B",
  },
  {
    rule: "an empty http_proxy falls back to all_proxy",
    env: { http_proxy: "", all_proxy: B },
    url: "http://example.com/",
    via: "B",
  },
  {
    rule: "a value without a scheme is http://",
    env: { http_proxy: "{A:bare}" },
    url: "http://example.com/",
    via: "A",
  },
  {
    rule: "a value without a scheme is http:// (for https: too)",
    env: { HTTPS_PROXY: "{B:bare}" },
    url: "https://example.com/",
    via: "B",
  },
  { rule: "nothing set: direct", env: {}, url: "http://example.com/", via: null },
  {
    rule: "loopback is not special: localhost",
    env: { http_proxy: A },
    url: "http://localhost/",
    via: "A",
  },
  {
    rule: "loopback is not special: 127.0.0.1",
    env: { http_proxy: A },
    url: "http://127.0.0.1:8080/",
    via: "A",
  },
  {
    rule: "loopback is not special: ::1",
    env: { all_proxy: C },
    url: "http://[::1]/",
    via: "C",
  },

  // NO_PROXY: the whole value "*".
  np("*", "http://example.com/", null, "'*' bypasses every host"),
  {
    rule: "NO_PROXY=* (upper case) bypasses every host",
    env: { https_proxy: A, NO_PROXY: "*" },
    url: "https://example.com/",
    via: null,
  },
  np("foo.com,*", "http://example.com/", "A", "'*' only as the whole value, not in a list"),
  np(" * ", "http://example.com/", null, "'*' with spaces around", "curl 7.88 wants exactly '*'"),

  // Names.
  np("example.com", "http://example.com/", null, "a name matches itself"),
  np("example.com", "http://www.example.com/", null, "a name matches its subdomains"),
  np("example.com", "http://a.b.example.com/", null, "a name matches deeper subdomains"),
  np("example.com", "http://notexample.com/", "A", "example.com does not match notexample.com"),
  np("ample.com", "http://example.com/", "A", "matches end at a dot"),
  np("www.example.com", "http://example.com/", "A", "a subdomain does not match its parent"),
  np(".example.com", "http://example.com/", null, "a leading dot is optional (the name)"),
  np(".example.com", "http://www.example.com/", null, "a leading dot is optional (subdomain)"),
  np("*.example.com", "http://www.example.com/", null, "'*.' is optional (subdomain)", STAR_DOT),
  np("*.example.com", "http://example.com/", null, "'*.' is optional (the name)", STAR_DOT),
  np("com", "http://example.com/", null, "a top-level name matches all below it"),
  np("EXAMPLE.com", "http://www.Example.COM/", null, "names are case-insensitive"),
  np("example.com.", "http://example.com/", null, "a trailing dot on the entry is ignored"),
  np("example.com", "http://example.com./", null, "a trailing dot on the host is ignored"),
  np(
    "bücher.example",
    "http://bücher.example/",
    null,
    "international names",
    "curl 7.88 compares a non-ASCII entry with the punycode name, so it never matches",
  ),
  np("xn--bcher-kva.example", "http://bücher.example/", null, "international names, punycode"),
  np("localhost", "http://localhost/", null, "localhost goes direct when listed"),
  np("localhost", "http://127.0.0.1/", "A", "a name never matches an address"),

  // Separators, and lists with bad entries.
  np("foo.com,example.com", "http://example.com/", null, "comma-separated"),
  np("foo.com example.com", "http://example.com/", null, "space-separated"),
  np("foo.com, example.com", "http://example.com/", null, "comma and space"),
  np("foo.com\texample.com", "http://example.com/", null, "tab-separated"),
  np(",,example.com,,", "http://example.com/", null, "empty entries are ignored"),
  np("a*b.com,example.com", "http://example.com/", null, "a bad entry does not spoil the rest"),
  np("http://example.com", "http://example.com/", "A", "an entry with a scheme is skipped"),
  np("example.com/8", "http://example.com/", "A", "a name with a slash is skipped"),

  // Which variable.
  {
    rule: "no_proxy wins over NO_PROXY",
    env: { http_proxy: A, no_proxy: "other.com", NO_PROXY: "example.com" },
    url: "http://example.com/",
    via: "A",
  },
  {
    rule: "an empty no_proxy counts as unset",
    env: { http_proxy: A, no_proxy: "", NO_PROXY: "example.com" },
    url: "http://example.com/",
    via: null,
  },
  {
    rule: "NO_PROXY (upper case)",
    env: { http_proxy: A, NO_PROXY: "example.com" },
    url: "http://example.com/",
    via: null,
  },
  {
    rule: "NO_PROXY applies to https_proxy",
    env: { https_proxy: A, no_proxy: ".internal" },
    url: "https://api.internal/",
    via: null,
  },
  {
    rule: "NO_PROXY applies to all_proxy",
    env: { all_proxy: B, no_proxy: "example.com" },
    url: "https://example.com/",
    via: null,
  },

  // Ports.
  np("example.com", "http://example.com:8080/", null, "an entry without a port: any port"),
  np("example.com:8080", "http://example.com:8080/", null, "an entry's port: that port", PORT),
  np("example.com:8080", "http://example.com/", "A", "an entry's port: not another", PORT),
  {
    rule: "an entry's port: the scheme's default port counts",
    env: { https_proxy: A, no_proxy: "example.com:443" },
    url: "https://example.com/",
    via: null,
    beyondCurl: PORT,
  },
  np("127.0.0.1:8080", "http://127.0.0.1:8080/", null, "an address with a port", PORT),
  np("127.0.0.1:8080", "http://127.0.0.1:9090/", "A", "an address with another port", PORT),
  np("example.com:0", "http://example.com/", "A", "port 0 is skipped"),

  // IPv4 addresses and ranges.
  np("127.0.0.1", "http://127.0.0.1/", null, "an IPv4 address"),
  np("127.0.0.1", "http://127.0.0.1:8080/", null, "an IPv4 address, any port"),
  np("127.0.0.1", "http://localhost/", "A", "an address never matches a name"),
  np("127.0.0.2", "http://127.0.0.1/", "A", "another IPv4 address"),
  np("127.0.0.0/8", "http://127.1.2.3/", null, "an IPv4 range"),
  np("127.0.0.0/8", "http://localhost/", "A", "a range does not match names (nothing resolved)"),
  np("10.0.0.0/8", "http://10.200.3.4/", null, "a private range"),
  np("10.0.0.0/8", "http://11.0.0.1/", "A", "an address outside the range"),
  np("127.1.2.0/24", "http://127.1.2.200/", null, "a /24"),
  np("127.1.2.0/24", "http://127.1.3.1/", "A", "outside a /24"),
  np("127.1.2.3/32", "http://127.1.2.3/", null, "a /32"),
  np("127.1.2.3/8", "http://127.9.9.9/", null, "host bits in a range are ignored"),
  np(
    "0.0.0.0/0",
    "http://127.9.9.9/",
    null,
    "a /0 matches every IPv4 address",
    "curl 7.88 reads /0 as no prefix",
  ),
  np("10.0.0.0/33", "http://10.0.0.1/", "A", "a prefix over 32 is skipped"),
  np(
    "10.0.0.0/8x",
    "http://10.0.0.1/",
    "A",
    "a bad prefix is skipped",
    "curl 7.88 reads /8x as /8",
  ),
  np("127.0.0.01", "http://127.0.0.1/", "A", "leading zeros are skipped"),
  np("127.0.0", "http://127.0.0.1/", "A", "three numbers are not an address"),
  np(
    "127.0.0.1.",
    "http://127.0.0.1/",
    null,
    "an address with a trailing dot",
    "curl 7.88 skips it",
  ),

  // IPv6.
  np("::1", "http://[::1]/", null, "an IPv6 address", IPV6),
  np("[::1]", "http://[::1]/", null, "an IPv6 address in brackets", IPV6),
  np("0:0:0::1", "http://[::1]/", null, "IPv6 compared as addresses, not text", IPV6),
  np("[::1]:8080", "http://[::1]:8080/", null, "an IPv6 address with a port", IPV6),
  np("[::1]:8080", "http://[::1]/", "A", "an IPv6 address with another port", IPV6),
  np("fd00::/8", "http://[fd12:3456::1]/", null, "an IPv6 range", IPV6),
  np("[fd00::]/8", "http://[fd12:3456::1]/", null, "an IPv6 range in brackets", IPV6),
  np("fd00::/8", "http://[fe80::1]/", "A", "outside an IPv6 range", IPV6),
  np("::1", "http://localhost/", "A", "an IPv6 address never matches a name", IPV6),
  np("127.0.0.0/8", "http://[::ffff:127.0.0.1]/", "A", "IPv4 ranges do not match IPv6", IPV6),
];

const NAMES = {
  A: "http://proxy-a.test:3128",
  B: "http://proxy-b.test:3128",
  C: "socks5h://proxy-c.test:1080",
};

// The variables with the proxies' URLs put in.
function fill(env: Readonly<Record<string, string>>, urls: Record<"A" | "B" | "C", string>) {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    out[k] = v.replace(/\{([ABC])(:bare)?\}/g, (_, p: "A" | "B" | "C", bare?: string) =>
      bare ? urls[p].replace(/^[a-z0-9]+:\/\//, "") : urls[p],
    );
  }
  return out;
}

describe("fromEnv(env).proxyFor(url)", () => {
  it("has at least 60 rows, and covers each rule", () => {
    expect(rows.length).toBeGreaterThanOrEqual(60);
    expect(new Set(rows.map((r) => `${JSON.stringify(r.env)} ${r.url}`)).size).toBe(rows.length);
  });

  it.each(rows)("$rule: $url", (row) => {
    const router = ProxyRouter.fromEnv(fill(row.env, NAMES));
    expect(router.proxyFor(row.url)).toBe(row.via === null ? null : NAMES[row.via]);
  });
});

describe("fromEnv: values it refuses, and NO_PROXY entries it skips", () => {
  const bad: Array<[env: Record<string, string>, says: RegExp]> = [
    [{ https_proxy: "ftp://proxy.corp" }, /^https_proxy: "ftp:\/\/proxy.corp" is not a proxy URL/],
    [{ HTTPS_PROXY: "http://proxy.corp:3128/path" }, /^HTTPS_PROXY: .* has a path/],
    [{ http_proxy: "http://" }, /^http_proxy: "http:\/\/" is not a URL/],
    [{ ALL_PROXY: "socks5h://" }, /^ALL_PROXY: "socks5h:\/\/" has no host/],
  ];

  it.each(bad)("%o", (env, says) => {
    expect(() => ProxyRouter.fromEnv(env)).toThrow(says);
    try {
      ProxyRouter.fromEnv(env);
    } catch (error) {
      expect(error).toMatchObject({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" });
    }
  });

  it("never echoes a proxy's credentials", () => {
    expect(() =>
      ProxyRouter.fromEnv({ https_proxy: "http://user:hunter2@proxy.corp:3128/x" }),
    ).toThrow(/^https_proxy: "http:\/\/\*\*\*@proxy.corp:3128\/x" has a path/);
  });

  it("a bad NO_PROXY entry is skipped and said, not fatal", () => {
    const router = ProxyRouter.fromEnv({
      http_proxy: "proxy.test:3128",
      no_proxy: "10.0.0.0/33, ok.example",
    });
    expect(router.noProxy?.describe()).toEqual({
      taken: [{ entry: "ok.example", kind: "name", host: "ok.example", port: null }],
      skipped: [
        { entry: "10.0.0.0/33", reason: "the prefix length must be a number from 0 to 32" },
      ],
    });
    expect(router.proxyFor("http://10.0.0.1/")).toBe("http://proxy.test:3128");
    expect(String(router)).toBe(
      "<ProxyRouter [Routes: 1, No proxy: 1 | Requests: 0 active, 0 queued | Connections: 0 active, 0 idle]>",
    );
  });

  it("the router's other options are taken (and checked)", () => {
    expect(() => ProxyRouter.fromEnv({}, { maxConnections: 0 })).toThrow(/maxConnections/);
  });
});

// curl: in CI it must be there (the tests fail without it); elsewhere they say they skipped.
const curlThere = spawnSync("curl", ["--version"]).status === 0;
const checked = rows.filter((r) => r.beyondCurl === undefined);

describe.skipIf(!curlThere && !process.env.CI)("the same rows, against curl", () => {
  let proxies: Record<"A" | "B" | "C", EmbeddedProxy>;
  let http: Origin;
  let https: Origin;

  beforeAll(async () => {
    proxies = { A: await startProxy(), B: await startProxy(), C: await startProxy() };
    http = await startOrigin();
    https = await startOrigin({ tls: true });
  });
  afterAll(async () => {
    for (const p of Object.values(proxies)) await p.close();
    await http.close();
    await https.close();
  });

  function curl(env: Record<string, string>, url: string, originPort: number): Promise<string> {
    const args = ["-q", "-s", "-k", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"];
    // Every host, direct, reaches the loopback origin of the URL's scheme.
    args.push("--connect-to", `::127.0.0.1:${originPort}`, url);
    return new Promise((resolve, reject) => {
      execFile(
        "curl",
        args,
        { env: { PATH: process.env.PATH ?? "", LC_ALL: "C.UTF-8", ...env } },
        (error, out) => (error && error.code === "ENOENT" ? reject(error) : resolve(out)),
      );
    });
  }

  it("checks most rows", () => {
    expect(checked.length).toBeGreaterThanOrEqual(60);
  });

  it.each(checked)("curl agrees: $rule: $url", async (row) => {
    // Here all three are HTTP recording proxies (in the table, C is a socks5h: URL).
    const urls = { A: proxies.A.url, B: proxies.B.url, C: proxies.C.url };
    const env = fill(row.env, urls);
    const before = { A: proxies.A.log.length, B: proxies.B.log.length, C: proxies.C.log.length };
    const origin = row.url.startsWith("https:") ? https : http;
    const served = origin.requests;
    const status = await curl(env, row.url, origin.port);
    const through = (["A", "B", "C"] as const).filter((p) => proxies[p].log.length > before[p]);
    expect(through).toEqual(row.via === null ? [] : [row.via]);
    if (row.via === null) {
      // Direct: the origin answered.
      expect(status).toBe("200");
      expect(origin.requests).toBe(served + 1);
    }
    // And the router says the same, with these proxies.
    expect(ProxyRouter.fromEnv(env).proxyFor(row.url)).toBe(
      row.via === null ? null : urls[row.via],
    );
  });
});
