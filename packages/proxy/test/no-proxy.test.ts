// parseNoProxy: the entries it takes (and how it reads them), the ones it skips and why,
// and matches(host, port) called directly. The environment table (env-table.test.ts) runs
// the same rules through ProxyRouter.fromEnv and curl.
import { describe, expect, it } from "vitest";
import { parseNoProxy } from "../src/index.js";

describe("describe(): what was taken", () => {
  it("reads names, addresses, ranges and ports, normalized", () => {
    const list = parseNoProxy(
      "localhost, .Example.COM *.corp.example. 10.0.0.0/8 10.1.2.3/8 [fd00::]/8 0:0::1 [::1]:8080 api.example:8443 127.0.0.1 bücher.example",
    );
    expect(list.describe()).toEqual({
      taken: [
        { entry: "localhost", kind: "name", host: "localhost", port: null },
        { entry: ".Example.COM", kind: "name", host: "example.com", port: null },
        { entry: "*.corp.example.", kind: "name", host: "corp.example", port: null },
        { entry: "10.0.0.0/8", kind: "range", host: "10.0.0.0/8", port: null },
        { entry: "10.1.2.3/8", kind: "range", host: "10.0.0.0/8", port: null },
        { entry: "[fd00::]/8", kind: "range", host: "fd00::/8", port: null },
        { entry: "0:0::1", kind: "address", host: "::1", port: null },
        { entry: "[::1]:8080", kind: "address", host: "::1", port: 8080 },
        { entry: "api.example:8443", kind: "name", host: "api.example", port: 8443 },
        { entry: "127.0.0.1", kind: "address", host: "127.0.0.1", port: null },
        { entry: "bücher.example", kind: "name", host: "xn--bcher-kva.example", port: null },
      ],
      skipped: [],
    });
  });

  it("IPv6 addresses in every form, written back compressed as RFC 5952 says", () => {
    const hosts: Array<[entry: string, host: string]> = [
      ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
      // "::" for one group is allowed in, but a single zero group is not compressed out.
      ["1:2:3:4:5:6::7", "1:2:3:4:5:6:0:7"],
      // The longest run of zeros becomes "::"; of two as long, the first.
      ["0:0:1:0:0:0:2:3", "0:0:1::2:3"],
      ["1:0:0:2:0:0:3:4", "1::2:0:0:3:4"],
      ["0:0:0:0:0:0:0:0", "::"],
      // An IPv4 address as the last 32 bits.
      ["::ffff:1.2.3.4", "::ffff:102:304"],
      ["0:0:0:0:0:ffff:1.2.3.4", "::ffff:102:304"],
      ["255.255.255.255", "255.255.255.255"],
    ];
    const { taken, skipped } = parseNoProxy(hosts.map(([entry]) => entry).join(",")).describe();
    expect(skipped).toEqual([]);
    expect(taken.map((t) => [t.entry, t.kind, t.host])).toEqual(
      hosts.map(([entry, host]) => [entry, "address", host]),
    );
  });

  it("a range's host bits are cleared, also inside a byte", () => {
    const { taken } = parseNoProxy("172.20.0.0/12 fe80:1::/10 ::/0 10.1.2.3/32").describe();
    expect(taken.map((t) => t.host)).toEqual(["172.16.0.0/12", "fe80::/10", "::/0", "10.1.2.3/32"]);
  });

  it("names of up to 253 characters; a last label with letters is a name, not an address", () => {
    const longest = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
    expect(longest).toHaveLength(253);
    const { taken, skipped } = parseNoProxy(`${longest} www.3com node.x25`).describe();
    expect(skipped).toEqual([]);
    expect(taken.map((t) => [t.kind, t.host])).toEqual([
      ["name", longest],
      ["name", "www.3com"],
      ["name", "node.x25"],
    ]);
    expect(parseNoProxy(`${longest}d`).describe().skipped).toEqual([
      { entry: `${longest}d`, reason: "a name has at most 253 characters" },
    ]);
  });

  it("ports 1 and 65535 are taken", () => {
    const { taken } = parseNoProxy("example.com:1 example.com:65535 [::1]:1").describe();
    expect(taken.map((t) => t.port)).toEqual([1, 65535, 1]);
  });

  it("'*' as the whole value (spaces around it ignored) is every host", () => {
    for (const value of ["*", " * ", "\t*\n"]) {
      expect(parseNoProxy(value).describe()).toEqual({
        taken: [{ entry: "*", kind: "all", host: "*", port: null }],
        skipped: [],
      });
      expect(parseNoProxy(value).matches("anything.example", 1)).toBe(true);
      expect(parseNoProxy(value).matches("10.0.0.1")).toBe(true);
    }
  });

  it("nothing, or only separators: an empty list that matches nothing", () => {
    for (const value of [undefined, null, "", " , ,\t"]) {
      const list = parseNoProxy(value);
      expect(list.describe()).toEqual({ taken: [], skipped: [] });
      expect(list.matches("localhost", 80)).toBe(false);
    }
  });

  it("prints as the entries taken, joined by commas", () => {
    expect(String(parseNoProxy("a.example, 10.0.0.0/33 [::1]:8080"))).toBe("a.example,[::1]:8080");
  });

  it("describe() returns plain data the caller may keep and change", () => {
    const list = parseNoProxy("a.example");
    const first = list.describe();
    (first.taken as unknown as Array<{ host: string }>)[0]!.host = "changed";
    expect(list.describe().taken[0]!.host).toBe("a.example");
    expect(JSON.parse(JSON.stringify(first))).toEqual(first);
  });
});

describe("describe(): what was skipped, and why (never fatal)", () => {
  const cases: Array<[entry: string, reason: RegExp]> = [
    ["*", /only as the whole value/],
    ["http://example.com", /a scheme is not allowed/],
    ["user@example.com", /not a host/],
    ["example.com/path", /needs an IPv4 or IPv6 address/],
    ["a*b.example", /a wildcard is only allowed as a leading/],
    ["*example.com", /a wildcard is only allowed as a leading/],
    ["example.*", /a wildcard is only allowed as a leading/],
    ["example.com:0", /the port must be a number from 1 to 65535/],
    ["example.com:65536", /the port must be a number from 1 to 65535/],
    ["example.com:http", /the port must be a number from 1 to 65535/],
    ["example.com:", /the port must be a number from 1 to 65535/],
    ["10.0.0.0/33", /prefix length must be a number from 0 to 32/],
    ["fd00::/129", /prefix length must be a number from 0 to 128/],
    ["10.0.0.0/8x", /prefix length/],
    ["10.0.0.0/", /prefix length/],
    ["10.0.0.0/8:80", /a CIDR range takes no port/],
    ["256.0.0.1", /not a valid IPv4 address/],
    ["127.0.0.01", /not a valid IPv4 address/],
    ["127.0.0", /not a valid IPv4 address/],
    ["[::1", /without a closing/],
    ["[::g]", /not a valid IPv6 address/],
    ["[::1]x", /unexpected text after/],
    ["1:2:3:4:5:6:7:8:9", /not a valid IPv6 address/],
    [".", /the name is empty/],
    ["*.", /the name is empty/],
    ["-bad-.example", /not a valid host name/],
    ["a..b", /not a valid host name/],
    ["a%b.example", /not a valid host name \(the label "a%b"\)/],
    ["bü%.example", /not a valid international domain name/],
    ["1.2.3.4.5", /not a valid IPv4 address/],
    ["1::2::3", /not a valid IPv6 address/],
    ["1:2:3:4:5:6:7:8::9::a", /not a valid IPv6 address/],
    ["[::g]/8", /needs an IPv4 or IPv6 address before the slash/],
    ["1:2:3:4:5:6:7", /not a valid IPv6 address/],
    ["1:2:3:4::5:6:7:8", /not a valid IPv6 address/],
    ["1:2:3:4:5:6:7:12345", /not a valid IPv6 address/],
    ["1.2.3.4::", /not a valid IPv6 address/],
    ["::1.2.3.4:5", /not a valid IPv6 address/],
    ["::ffff:1.2.3", /not a valid IPv6 address/],
    ["10.0.0.0/08", /prefix length must be a number from 0 to 32/],
    ["example.com:000080", /the port must be a number from 1 to 65535/],
    ["[::1]:0", /the port must be a number from 1 to 65535/],
    ["[::g]", /not a valid IPv6 address between the brackets/],
    ["1::]", /not a valid IPv6 address/],
    ["::1.2.3.4.", /not a valid IPv6 address/],
    ["fd00::]/8", /needs an IPv4 or IPv6 address before the slash/],
    ["10.0.0.0/8:x", /a CIDR range takes no port/],
    ["10.0.0.0/16:80", /a CIDR range takes no port/],
    ["[::1]/8:80", /the prefix length must be a number from 0 to 128/],
  ];

  it.each(cases)("%s", (entry, reason) => {
    const { taken, skipped } = parseNoProxy(`ok.example,${entry}`).describe();
    expect(taken.map((t) => t.entry)).toEqual(["ok.example"]);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.entry).toBe(entry);
    expect(skipped[0]!.reason).toMatch(reason);
  });

  it("a skipped entry matches nothing; the rest still do", () => {
    const list = parseNoProxy("10.0.0.0/33 example.com:0 good.example");
    expect(list.matches("10.0.0.1")).toBe(false);
    expect(list.matches("example.com", 0)).toBe(false);
    expect(list.matches("good.example")).toBe(true);
    expect(list.describe().skipped.map((s) => s.entry)).toEqual(["10.0.0.0/33", "example.com:0"]);
  });
});

describe("matches(host, port)", () => {
  // Parsed in each test, not while vitest collects the file: code run outside any test is a
  // "static" mutant to Stryker, which leaves it unscored (tooling/mutation/README.md).
  const LIST =
    "example.com, api.example:8443, 10.0.0.0/8, 192.168.1.7, fd00::/8, [::1]:8080, 2001:db8::1";

  const cases: Array<[host: string, port: number | undefined, expected: boolean]> = [
    ["example.com", 443, true],
    ["EXAMPLE.com.", 443, true],
    ["deep.sub.example.com", undefined, true],
    ["notexample.com", 443, false],
    ["www.example.org", 443, false],
    ["com", 443, false],
    ["api.example", 8443, true],
    ["api.example", 443, false],
    // An entry with a port never matches when the port is not known.
    ["api.example", undefined, false],
    ["10.255.0.1", 80, true],
    ["11.0.0.1", 80, false],
    ["192.168.1.7", 1, true],
    ["192.168.1.8", 1, false],
    ["fd12::1", 80, true],
    ["[fd12::1]", 80, true],
    ["fe80::1", 80, false],
    ["::1", 8080, true],
    ["[0:0:0:0:0:0:0:1]", 8080, true],
    ["::1", 80, false],
    ["2001:db8:0:0::1", 443, true],
    ["[2001:DB8::1]", 443, true],
    // Names and addresses never match each other; nothing is resolved.
    ["10.example.com", 80, true],
    ["fd00.example", 80, false],
    ["::ffff:10.0.0.1", 80, false],
  ];
  // Prefixes that end inside a byte.
  const partial: Array<[host: string, expected: boolean]> = [
    ["172.16.0.1", true],
    ["172.31.255.255", true],
    ["172.15.255.255", false],
    ["172.32.0.0", false],
    ["febf::1", true],
    ["fe80::1", true],
    ["fec0::1", false],
  ];

  it.each(partial)("172.16.0.0/12 fe80::/10: %s → %s", (host, expected) => {
    expect(parseNoProxy("172.16.0.0/12 fe80::/10").matches(host, 80)).toBe(expected);
  });

  it.each(cases)("%s port %s → %s", (host, port, expected) => {
    expect(parseNoProxy(LIST).matches(host, port)).toBe(expected);
  });

  it("a host with an unclosed bracket is not an address", () => {
    expect(parseNoProxy("::/0").matches("[fd00::1", 80)).toBe(false);
    expect(parseNoProxy("::/0").matches("[fd00::1]", 80)).toBe(true);
  });

  it("international names are compared as punycode, either way round", () => {
    expect(parseNoProxy("bücher.example").matches("xn--bcher-kva.example")).toBe(true);
    expect(parseNoProxy("xn--bcher-kva.example").matches("www.bücher.example")).toBe(true);
    // A name without one ASCII character.
    expect(parseNoProxy("xn--wgv71a").matches("日本")).toBe(true);
  });
});
