// Ports of httpcore's tests/_async/test_integration.py and tests/test_api.py (httpcore
// 1.0.9). httpcore runs them against httpbin servers; here against loopback origins from
// @x/testkit (there is no internet). Every socket they open is closed at the end.
import type { TLSSocket } from "node:tls";
import {
  expectSocketsClosed,
  type Origin,
  openSocketHandles,
  startOrigin,
  testCA,
} from "@x/testkit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConnectionPool } from "../../src/index.js";

let http: Origin;
let https: Origin;
beforeAll(async () => {
  http = await startOrigin({ name: "httpcore-integration" });
  https = await startOrigin({ tls: true, name: "httpcore-integration-tls" });
});
afterAll(async () => {
  await http.close();
  await https.close();
});

let baseline: number;
beforeEach(() => {
  baseline = openSocketHandles();
});
afterEach(async () => {
  await expectSocketsClosed(baseline);
});

describe("httpcore test_integration.py", () => {
  // httpcore: tests/_async/test_integration.py::test_request
  it("a request to a real server", async () => {
    await using pool = new ConnectionPool();
    const response = await pool.request("GET", http.url);
    expect(response.status).toBe(200);
  });

  // httpcore: tests/_async/test_integration.py::test_ssl_request
  it("a request over TLS, certificates not verified", async () => {
    // httpcore's ssl_context with check_hostname False and CERT_NONE.
    await using pool = new ConnectionPool({ tls: { rejectUnauthorized: false } });
    const response = await pool.request("GET", https.url);
    expect(response.status).toBe(200);
  });

  // httpcore: tests/_async/test_integration.py::test_extra_info
  it("the response's network stream answers get_extra_info", async () => {
    await using pool = new ConnectionPool({ tls: { ca: testCA().cert } });
    await using response = await pool.stream("GET", https.url);
    expect(response.status).toBe(200);
    const stream = response.extensions.networkStream!;

    const tls = stream.getExtraInfo("ssl_object") as TLSSocket;
    expect(tls.getProtocol()).toBe("TLSv1.3");

    const local = stream.getExtraInfo("client_addr") as { address: string; port: number };
    expect(local.address).toBe("127.0.0.1");

    // httpcore: "https://%s:%d" % server_addr == httpbin_secure.url. The testkit origin's
    // URL names localhost; the address is 127.0.0.1.
    const remote = stream.getExtraInfo("server_addr") as { address: string; port: number };
    expect(remote).toEqual({ address: "127.0.0.1", port: https.port });
    expect(https.url).toBe(`https://localhost:${remote.port}`);

    // A socket of node:net (httpcore: has `family` and `type`).
    const socket = stream.getExtraInfo("socket") as { remoteFamily?: string };
    expect(socket.remoteFamily).toBe("IPv4");

    expect(stream.getExtraInfo("invalid")).toBeUndefined();
    expect(typeof stream.getExtraInfo("is_readable")).toBe("boolean");
  });
});

// tests/test_api.py is httpcore's module-level `httpcore.request()` and `httpcore.stream()`,
// which are sync and open a pool for the one request. This port has no sync API and no
// module-level functions; the same one-off use is a pool in an `await using` block, which
// these check against a real server, as httpcore's do.
describe("httpcore test_api.py (as one-off pools)", () => {
  // httpcore: tests/test_api.py::test_request
  it("a one-off request", async () => {
    await using pool = new ConnectionPool();
    const response = await pool.request("GET", http.url);
    expect(response.status).toBe(200);
  });

  // httpcore: tests/test_api.py::test_stream
  it("a one-off stream", async () => {
    await using pool = new ConnectionPool();
    await using response = await pool.stream("GET", http.url);
    expect(response.status).toBe(200);
  });

  // httpcore: tests/test_api.py::test_request_with_content
  it("a one-off request with content", async () => {
    await using pool = new ConnectionPool();
    const response = await pool.request("POST", `${http.url}/echo`, {
      content: new TextEncoder().encode('{"hello":"world"}'),
    });
    expect(response.status).toBe(200);
    const echoed = (await response.json()) as { body: string };
    expect(JSON.parse(echoed.body)).toEqual({ hello: "world" });
  });
});
