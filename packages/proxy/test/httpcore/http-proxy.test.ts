// Ports of httpcore's tests/_async/test_http_proxy.py (httpcore 1.0.9), on MockBackend: the
// proxy's answers and the origin's are one script, read in order.
import { MockBackend, type NetworkBackend, type NetworkStream, Origin } from "@x/pool";
import { startH2Peer } from "@x/testkit";
import { describe, expect, it } from "vitest";
import { basicAuth, HTTPProxy, ProxyError } from "../../src/index.js";
import { HELLO, info, reusable, streamed, text } from "./helpers.js";

const PROXY_URL = "http://localhost:8080/";
const ORIGINS = {
  httpExample: new Origin("http", "example.com", 80),
  httpOther: new Origin("http", "other.com", 80),
  httpsExample: new Origin("https", "example.com", 443),
  httpsOther: new Origin("https", "other.com", 443),
};

/** Which of httpcore's four origins a connection says it can handle. */
function handles(conn: { canHandleRequest(origin: Origin): boolean }): Record<string, boolean> {
  return Object.fromEntries(
    Object.entries(ORIGINS).map(([name, origin]) => [name, conn.canHandleRequest(origin)]),
  );
}

describe("httpcore test_http_proxy.py", () => {
  // httpcore: tests/_async/test_http_proxy.py::test_proxy_forwarding
  it("an http: request is forwarded on a connection to the proxy", async () => {
    const backend = new MockBackend(HELLO);
    await using proxy = new HTTPProxy({
      proxyUrl: PROXY_URL,
      maxConnections: 10,
      networkBackend: backend,
    });
    const forward = (state: string) =>
      `<ForwardHTTPConnection ['http://localhost:8080', HTTP/1.1, ${state}, Request Count: 1]>`;
    const { during, status, body } = await streamed(proxy, "http://example.com/");
    expect(during).toEqual([forward("ACTIVE")]);
    expect({ status, body }).toEqual({ status: 200, body: "Hello, world!" });
    expect(info(proxy)).toEqual([forward("IDLE")]);
    const conn = proxy.connections[0]!;
    expect(reusable(conn)).toBe(true);
    expect(text(backend.written[0]!)).toMatch(/^GET http:\/\/example\.com\/ HTTP\/1\.1\r\n/);

    // httpcore: a forwarding connection handles http: requests to its one origin. Here
    // forwarded requests share the connection to the proxy whatever their http: origin
    // (@x/proxy README, "Proxy connections"), so other.com over http: is handled too; https:
    // never is (it needs a tunnel).
    expect(handles(conn)).toEqual({
      httpExample: true,
      httpOther: true,
      httpsExample: false,
      httpsOther: false,
    });
  });

  // httpcore: tests/_async/test_http_proxy.py::test_proxy_forwarding (httpcore's rule, kept
  // by shareForwardConnections: false)
  it("with shareForwardConnections false, a forwarding connection is for one origin, as in httpcore", async () => {
    await using proxy = new HTTPProxy({
      proxyUrl: PROXY_URL,
      networkBackend: new MockBackend(HELLO),
      shareForwardConnections: false,
    });
    await proxy.request("GET", "http://example.com/");
    expect(handles(proxy.connections[0]!)).toEqual({
      httpExample: true,
      httpOther: false,
      httpsExample: false,
      httpsOther: false,
    });
  });

  // httpcore: tests/_async/test_http_proxy.py::test_proxy_tunneling
  it("an https: request goes through a CONNECT tunnel to its origin", async () => {
    const backend = new MockBackend(["HTTP/1.1 200 OK\r\n\r\n", ...HELLO]);
    await using proxy = new HTTPProxy({ proxyUrl: PROXY_URL, networkBackend: backend });
    await expectOneTunnel(proxy, "HTTP/1.1", () => text(backend.written[0]!));
  });

  // httpcore: tests/_async/test_http_proxy.py::test_proxy_tunneling_with_403
  it("a CONNECT refused with 403 is a ProxyError, and no connection stays", async () => {
    await using proxy = new HTTPProxy({
      proxyUrl: PROXY_URL,
      networkBackend: new MockBackend(["HTTP/1.1 403 Permission Denied\r\n\r\n"]),
    });
    const error = await proxy.request("GET", "https://example.com/").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProxyError);
    expect((error as Error).message).toBe("403 Permission Denied");
    expect(proxy.connections).toEqual([]);
  });

  // httpcore: tests/_async/test_http_proxy.py::test_proxy_tunneling_with_auth
  it("an authenticated tunnel", async () => {
    const backend = new MockBackend(["HTTP/1.1 200 OK\r\n\r\n", ...HELLO]);
    await using proxy = new HTTPProxy({
      proxyUrl: PROXY_URL,
      proxyAuth: ["username", "password"],
      networkBackend: backend,
    });
    const response = await proxy.request("GET", "https://example.com/");
    expect(response.status).toBe(200);
    expect(text(response.content)).toBe("Hello, world!");
    // The credentials went with the CONNECT, and only there.
    const written = backend.written.map(text);
    expect(written[0]).toContain("Proxy-Authorization: Basic dXNlcm5hbWU6cGFzc3dvcmQ=\r\n");
    expect(written.slice(1).join("")).not.toContain("Proxy-Authorization");
  });

  // httpcore: tests/_async/test_http_proxy.py::test_proxy_tunneling_http2
  it("HTTP/2 inside a CONNECT tunnel", async () => {
    // httpcore's HTTP1ThenHTTP2Backend: the proxy's 200 to CONNECT, then the origin's
    // HTTP/2 frames. Here the stream answers the CONNECT, and TLS inside the tunnel hands
    // over to an in-memory node:http2 peer that picks h2 by ALPN (testkit's startH2Peer).
    const written: string[] = [];
    const backend: NetworkBackend = {
      connectTcp: async () => http1ThenHttp2(written),
      connectUnixSocket: async () => http1ThenHttp2(written),
      sleep: async () => {},
    };
    await using proxy = new HTTPProxy({
      proxyUrl: PROXY_URL,
      networkBackend: backend,
      http2: true,
    });
    await expectOneTunnel(proxy, "HTTP/2", () => written[0]!);
  });

  // httpcore: tests/_async/test_http_proxy.py::test_proxy_headers
  it("credentials make the header Basic base64(username:password)", () => {
    // httpcore's Proxy(...).headers; here the header is built by basicAuth (HTTPProxy has
    // no public headers list; the test above checks it is what goes to the proxy).
    expect(basicAuth("username", "password")).toBe("Basic dXNlcm5hbWU6cGFzc3dvcmQ=");
  });
});

/**
 * httpcore's checks of one GET through a tunnel: printed ACTIVE then IDLE with `version`,
 * "Hello, world!", reusable, a CONNECT first (`firstWrite`), and https: to its origin only.
 */
async function expectOneTunnel(
  proxy: HTTPProxy,
  version: string,
  firstWrite: () => string,
): Promise<void> {
  const tunnel = (state: string) =>
    `<TunnelHTTPConnection ['https://example.com:443', ${version}, ${state}, Request Count: 1]>`;
  const { during, status, body } = await streamed(proxy, "https://example.com/");
  expect(during).toEqual([tunnel("ACTIVE")]);
  expect({ status, body }).toEqual({ status: 200, body: "Hello, world!" });
  expect(info(proxy)).toEqual([tunnel("IDLE")]);
  const conn = proxy.connections[0]!;
  expect(reusable(conn)).toBe(true);
  expect(firstWrite()).toMatch(/^CONNECT example\.com:443 HTTP\/1\.1\r\n/);
  // A tunnel handles https: requests to its one origin.
  expect(handles(conn)).toEqual({
    httpExample: false,
    httpOther: false,
    httpsExample: true,
    httpsOther: false,
  });
}

/** A stream that answers one CONNECT with 200, then speaks HTTP/2 (ALPN h2) after startTls. */
function http1ThenHttp2(written: string[]): NetworkStream {
  let answer: Uint8Array | null = null;
  return {
    read: async () => {
      const chunk = answer ?? new Uint8Array(0);
      answer = null;
      return chunk;
    },
    write: async (data) => {
      written.push(text(data));
      answer = new TextEncoder().encode("HTTP/1.1 200 OK\r\n\r\n");
    },
    close: async () => {},
    startTls: async () => startH2Peer().stream as NetworkStream,
    getExtraInfo: () => undefined,
  };
}
