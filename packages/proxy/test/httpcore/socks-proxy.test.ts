// Ports of httpcore's tests/_async/test_socks_proxy.py (httpcore 1.0.9), and of
// tests/test_models.py::test_url_origin_socks5, on MockBackend: the SOCKS replies and the
// origin's response are one script, read in order.
//
// httpcore's `socks5://` sends the origin's name for the proxy to resolve; here that is
// `socks5h://`, and `socks5://` resolves the name on this side first, as curl does (the
// SOCKS section of @x/proxy's README, from the socks-15 branch). The ports use socks5h.
import { MockBackend, Origin, RemoteProtocolError } from "@x/pool";
import { describe, expect, it } from "vitest";
import { ProxyError, SOCKSProxy } from "../../src/index.js";
import { HELLO, info, reusable, streamed } from "./helpers.js";

const bytes = (...b: number[]) => Uint8Array.from(b);
//   v5 NOAUTH
const NO_AUTH = bytes(0x05, 0x00);
//   v5 USERNAME/PASSWORD
const USER_PASS = bytes(0x05, 0x02);
//   v5 SUC RSV IP4 255.0.0.1 :80
const CONNECTED = bytes(0x05, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x01, 0x00, 0x50);

const socks = (state: string) =>
  `<SOCKSConnection ['https://example.com:443', HTTP/1.1, ${state}, Request Count: 1]>`;

/** A request through the proxy fails with `type`, and leaves no connection. */
async function refused(proxy: SOCKSProxy, type: abstract new (...args: never[]) => Error) {
  const error = await proxy.request("GET", "https://example.com/").catch((e: unknown) => e);
  expect(error).toBeInstanceOf(type);
  expect(proxy.connections).toEqual([]);
  return (error as Error).message;
}

describe("httpcore test_socks_proxy.py", () => {
  // httpcore: tests/_async/test_socks_proxy.py::test_socks5_request
  it("a request through a SOCKS5 tunnel", async () => {
    const backend = new MockBackend([NO_AUTH, CONNECTED, ...HELLO]);
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks5h://localhost:8080/",
      networkBackend: backend,
    });
    const { during, status, body } = await streamed(proxy, "https://example.com/");
    expect(during).toEqual([socks("ACTIVE")]);
    expect({ status, body }).toEqual({ status: 200, body: "Hello, world!" });
    expect(info(proxy)).toEqual([socks("IDLE")]);
    const conn = proxy.connections[0]!;
    expect(reusable(conn)).toBe(true);
    // The CONNECT named example.com:443 (address type 3, a name).
    const name = [...new TextEncoder().encode("example.com")];
    expect([...backend.written[1]!]).toEqual([5, 1, 0, 3, name.length, ...name, 0x01, 0xbb]);
    // A tunnel handles https: requests to its one origin.
    expect(conn.canHandleRequest(new Origin("http", "example.com", 80))).toBe(false);
    expect(conn.canHandleRequest(new Origin("http", "other.com", 80))).toBe(false);
    expect(conn.canHandleRequest(new Origin("https", "example.com", 443))).toBe(true);
    expect(conn.canHandleRequest(new Origin("https", "other.com", 443))).toBe(false);
  });

  // httpcore: tests/_async/test_socks_proxy.py::test_authenticated_socks5_request
  it("a request through a SOCKS5 tunnel with username and password", async () => {
    const backend = new MockBackend([USER_PASS, bytes(0x01, 0x00), CONNECTED, ...HELLO]);
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks5h://localhost:8080/",
      proxyAuth: ["username", "password"],
      networkBackend: backend,
    });
    const { during, status, body } = await streamed(proxy, "https://example.com/");
    expect(during).toEqual([socks("ACTIVE")]);
    expect({ status, body }).toEqual({ status: 200, body: "Hello, world!" });
    expect(info(proxy)).toEqual([socks("IDLE")]);
    expect(reusable(proxy.connections[0]!)).toBe(true);
    // RFC 1929: version 1, then each length-prefixed.
    const auth = new TextDecoder().decode(backend.written[1]!.subarray(1));
    expect(auth).toBe("\x08username\x08password");
  });

  // httpcore: tests/_async/test_socks_proxy.py::test_socks5_request_connect_failed
  it("a CONNECT the proxy refuses is a ProxyError", async () => {
    //   v5 NO(connection refused) RSV IP4 0.0.0.0 :0
    const failed = bytes(0x05, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks5h://localhost:8080/",
      networkBackend: new MockBackend([NO_AUTH, failed]),
    });
    // httpcore: "Proxy Server could not connect: Connection refused."
    expect(await refused(proxy, ProxyError)).toBe("SOCKS5 reply 0x05: connection refused");
  });

  // httpcore: tests/_async/test_socks_proxy.py::test_socks5_request_failed_to_provide_auth
  it("a proxy that wants a password when none was given", async () => {
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks5h://localhost:8080/",
      networkBackend: new MockBackend([USER_PASS]),
    });
    // httpcore's script: the proxy picks USERNAME/PASSWORD, which was not offered, and
    // httpcore raises ProxyError. Here a method that was not offered breaks RFC 1928 and
    // is a RemoteProtocolError, as other wrong replies are (the failures table of the SOCKS
    // section in the socks-15 branch's README; not yet on main).
    expect(await refused(proxy, RemoteProtocolError)).toMatch(/0x02, which was not offered/);

    // What a proxy following RFC 1928 answers instead, "no acceptable methods" (0xFF), is a
    // ProxyError that says a password may be wanted: httpcore's intent, for real proxies.
    await using strict = new SOCKSProxy({
      proxyUrl: "socks5h://localhost:8080/",
      networkBackend: new MockBackend([bytes(0x05, 0xff)]),
    });
    expect(await refused(strict, ProxyError)).toMatch(/may want a username and password/);
  });

  // httpcore: tests/_async/test_socks_proxy.py::test_socks5_request_incorrect_auth
  it("a username and password the proxy refuses is a ProxyError", async () => {
    await using proxy = new SOCKSProxy({
      proxyUrl: "socks5h://localhost:8080/",
      proxyAuth: ["invalid", "invalid"],
      networkBackend: new MockBackend([USER_PASS, bytes(0x01, 0x01)]),
    });
    // httpcore: "Invalid username/password".
    expect(await refused(proxy, ProxyError)).toBe(
      "the SOCKS5 proxy refused the username and password (status 0x01)",
    );
  });
});

describe("httpcore test_models.py: SOCKS proxy URLs", () => {
  // httpcore: tests/test_models.py::test_url_origin_socks5
  it("socks5:// and socks5h:// proxy URLs default to port 1080", async () => {
    // httpcore checks URL("socks5://127.0.0.1").origin; here a SOCKS proxy URL is read by
    // SOCKSProxy (@x/pool's URL takes http(s) and ws(s) only), so the port is where it
    // connects.
    for (const scheme of ["socks5", "socks5h"]) {
      const backend = new MockBackend([NO_AUTH, CONNECTED, ...HELLO]);
      const dialed: string[] = [];
      const connectTcp = backend.connectTcp.bind(backend);
      backend.connectTcp = (host, port, options) => {
        dialed.push(`${host}:${port}`);
        return connectTcp(host, port, options);
      };
      await using proxy = new SOCKSProxy({
        proxyUrl: `${scheme}://127.0.0.1`,
        networkBackend: backend,
      });
      // An address as the origin: neither scheme needs to resolve a name.
      expect((await proxy.request("GET", "http://10.0.0.1/")).status).toBe(200);
      expect(dialed).toEqual(["127.0.0.1:1080"]);
    }
  });
});
