// URL and Origin without sockets: how a URL string or its parts are read and checked, the
// port written in a URL (even the scheme's default), and what an origin prints.
import { describe, expect, it } from "vitest";
import { LocalProtocolError, Origin, Request, UnsupportedProtocol, URL } from "../src/index.js";
import { usesTLS } from "../src/url.js";
import { thrown } from "./helpers.js";

/** The URL's four parts. */
const parts = (url: URL) => [url.scheme, url.host, url.port, url.target];

describe("a URL string", () => {
  it.each([
    ["HTTP://Example.COM/a", ["http", "example.com", null, "/a"]],
    ["wss://a.test:443", ["wss", "a.test", 443, "/"]],
    ["ws://a.test:80/x?y=1", ["ws", "a.test", 80, "/x?y=1"]],
    ["https://[2001:db8::1]:8443/", ["https", "2001:db8::1", 8443, "/"]],
    // The WHATWG parser drops trailing white space, and reads a backslash as a slash.
    ["http://a.test/b \n", ["http", "a.test", null, "/b"]],
    ["http:\\\\a.test:80\\b", ["http", "a.test", 80, "/b"]],
    ["http:a.test:80/", ["http", "a.test", 80, "/"]],
    // A ":80" after the authority is not its port.
    ["http://a.test?x=:80", ["http", "a.test", null, "/?x=:80"]],
    ["http://a.test#:80", ["http", "a.test", null, "/"]],
    ["http://a.test\\b:80", ["http", "a.test", null, "/b:80"]],
    ["http://u:80@a.test/", ["http", "a.test", null, "/"]],
    ["http://u:1@v@a.test:80/", ["http", "a.test", 80, "/"]],
  ])("%j", (input, expected) => {
    expect(parts(new URL(input))).toEqual(expected);
  });

  it("a WHATWG URL is read as its string is, without a port it dropped", () => {
    const whatwg = new globalThis.URL("https://u:443@a.test:443/p:443?q#f");
    expect(parts(new URL(whatwg))).toEqual(["https", "a.test", null, "/p:443?q"]);
    expect(parts(new URL(new globalThis.URL("http://[::1]:8080/")))).toEqual([
      "http",
      "::1",
      8080,
      "/",
    ]);
  });

  it("white space or a control character inside is a LocalProtocolError", () => {
    for (const input of ["http://a.test/a b", "http://a.test/\x7f", "http://a\x00.test/"]) {
      const error = thrown(() => new URL(input));
      expect(error, input).toBeInstanceOf(LocalProtocolError);
      expect(error).toMatchObject({
        code: "ERR_LOCAL_PROTOCOL",
        message: `Invalid URL ${JSON.stringify(input)}: it contains whitespace or control characters`,
      });
    }
  });

  it("no scheme, or one we do not speak, is UnsupportedProtocol", () => {
    for (const input of ["a.test/", "//a.test/", "1http://a.test/", " http://a.test/"]) {
      const error = thrown(() => new URL(input));
      expect(error, input).toBeInstanceOf(UnsupportedProtocol);
      expect(error).toMatchObject({
        code: "ERR_UNSUPPORTED_PROTOCOL",
        message: "Request URL is missing an 'http://' or 'https://' protocol.",
      });
    }
    for (const [input, scheme] of [
      ["ftp://a.test/", "ftp"],
      ["svn+ssh://a.test/", "svn+ssh"],
      ["Git.Hub-x://a.test/", "git.hub-x"],
    ]) {
      expect(thrown(() => new URL(input!))).toMatchObject({
        code: "ERR_UNSUPPORTED_PROTOCOL",
        message: `Request URL has an unsupported protocol '${scheme}://'.`,
      });
    }
  });

  it("a string the WHATWG parser refuses is a LocalProtocolError with its error as cause", () => {
    const error = thrown(() => new URL("http://a.test:99999/"));
    expect(error).toBeInstanceOf(LocalProtocolError);
    expect(error).toMatchObject({ message: 'Invalid URL "http://a.test:99999/"' });
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });

  it("port 0 is out of range", () => {
    expect(thrown(() => new URL("http://a.test:0/"))).toMatchObject({
      code: "ERR_LOCAL_PROTOCOL",
      message: 'Invalid URL "http://a.test:0/": port 0 is out of range',
    });
  });

  it("prints as given, with the port only when one was written", () => {
    expect(String(new URL("https://[::1]:443/a?b"))).toBe("https://[::1]:443/a?b");
    expect(String(new URL("https://[::1]/a?b"))).toBe("https://[::1]/a?b");
  });
});

describe("URL parts", () => {
  it("a URL with no port or target: port null, target /", () => {
    expect(parts(new URL({ scheme: "http", host: "a.test" }))).toEqual([
      "http",
      "a.test",
      null,
      "/",
    ]);
    expect(parts(new URL({ scheme: "https", host: "a.test", port: null }))).toEqual([
      "https",
      "a.test",
      null,
      "/",
    ]);
  });

  it("are taken as given", () => {
    const url = new URL({ scheme: "https", host: "a.test", port: 1, target: "*" });
    expect(parts(url)).toEqual(["https", "a.test", 1, "*"]);
    expect(new URL({ scheme: "http", host: "a.test", port: 65535 }).port).toBe(65535);
  });

  it("a port that is not an integer from 1 to 65535 is a LocalProtocolError", () => {
    for (const port of [0, -1, 65536, 1.5, Number.NaN]) {
      const error = thrown(() => new URL({ scheme: "http", host: "a.test", port }));
      expect(error, String(port)).toBeInstanceOf(LocalProtocolError);
      expect((error as Error).message).toMatch(
        new RegExp(`^Invalid URL .*: port ${port} is out of range$`),
      );
    }
  });

  it("no host is a LocalProtocolError", () => {
    const error = thrown(() => new URL({ scheme: "http", host: "" }));
    expect(error).toBeInstanceOf(LocalProtocolError);
    expect(error).toMatchObject({ message: 'Invalid URL "": it has no host' });
  });

  it("a scheme we do not speak, or none, is UnsupportedProtocol", () => {
    expect(thrown(() => new URL({ scheme: "ftp", host: "a.test" }))).toBeInstanceOf(
      UnsupportedProtocol,
    );
    expect(thrown(() => new URL({ scheme: "", host: "a.test" }))).toMatchObject({
      code: "ERR_UNSUPPORTED_PROTOCOL",
      message: "Request URL is missing an 'http://' or 'https://' protocol.",
    });
  });

  it("neither a string, a URL nor parts is a TypeError naming what it got", () => {
    for (const [value, named] of [
      [123, "number 123"],
      [null, "null"],
      [undefined, "undefined undefined"],
      [true, "boolean true"],
    ] as const) {
      const error = thrown(() => new URL(value as never));
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({
        code: "ERR_INVALID_ARG_TYPE",
        message: `a URL must be a string, a URL or { scheme, host, port, target }, not ${named}`,
      });
    }
  });
});

describe("Origin", () => {
  it("equal only when scheme, host and port are all equal", () => {
    const origin = new Origin("http", "a.test", 80);
    expect(origin.equals(new Origin("http", "a.test", 80))).toBe(true);
    expect(origin.equals(new Origin("https", "a.test", 80))).toBe(false);
    expect(origin.equals(new Origin("http", "b.test", 80))).toBe(false);
    expect(origin.equals(new Origin("http", "a.test", 81))).toBe(false);
  });

  it("authority: the port only when it is not the scheme's default; IPv6 in brackets", () => {
    expect(new Origin("https", "a.test", 443).authority).toBe("a.test");
    expect(new Origin("wss", "a.test", 443).authority).toBe("a.test");
    expect(new Origin("ws", "a.test", 80).authority).toBe("a.test");
    expect(new Origin("https", "a.test", 80).authority).toBe("a.test:80");
    expect(new Origin("http", "::1", 8080).authority).toBe("[::1]:8080");
    expect(new Origin("http", "::1", 80).authority).toBe("[::1]");
    // A scheme with no default port (a SOCKS proxy's, say) always shows its port.
    expect(new Origin("socks5", "a.test", 1080).authority).toBe("a.test:1080");
  });

  it("prints with the port always shown", () => {
    expect(String(new Origin("https", "a.test", 443))).toBe("https://a.test:443");
    expect(String(new Origin("http", "::1", 80))).toBe("http://[::1]:80");
  });

  it("a URL's origin fills in the default port, and is made once", () => {
    const url = new URL("wss://a.test/");
    expect(url.origin).toEqual(new Origin("wss", "a.test", 443));
    expect(url.origin).toBe(url.origin);
    expect(new URL("ws://a.test:8080/").origin).toEqual(new Origin("ws", "a.test", 8080));
  });
});

describe("a Request's URL", () => {
  it("a URL given is used as it is", () => {
    const url = new URL("http://a.test/");
    expect(new Request("GET", url).url).toBe(url);
  });

  it("a URL string is parsed once while it stays in the cache of the last 1024", () => {
    // The cache holds up to 1024 strings and empties when a new one would pass that.
    // Strings no earlier run has cached.
    const salt = Math.random().toString(36).slice(2);
    let fresh = 0;
    const urlOf = (s: string) => new Request("GET", s).url;
    const next = () => urlOf(`http://cache-${fresh++}.test/${salt}`);
    const sentinel = `http://sentinel.test/${salt}`;
    let first = urlOf(sentinel);
    expect(urlOf(sentinel)).toBe(first);
    // Fill the cache until it empties: the sentinel is then parsed anew (and cached again).
    for (let i = 0; i < 2048; i++) {
      next();
      const again = urlOf(sentinel);
      if (again !== first) {
        first = again;
        break;
      }
      expect(i).toBeLessThan(2047);
    }
    // The cache holds the last string and the sentinel: 1022 more fill it, and keep it.
    for (let i = 0; i < 1022; i++) next();
    expect(urlOf(sentinel)).toBe(first);
    // One more empties it.
    next();
    expect(urlOf(sentinel)).not.toBe(first);
    expect(urlOf(sentinel)).toEqual(first);
  });
});

describe("usesTLS", () => {
  it.each([
    ["https", true],
    ["wss", true],
    ["http", false],
    ["ws", false],
    ["HTTPS", false], // schemes arrive lowercased by URL; an uppercase one is not one of them
  ])("%s → %s", (scheme, expected) => {
    expect(usesTLS(scheme)).toBe(expected);
  });
});
