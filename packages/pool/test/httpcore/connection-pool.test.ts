// Ports of httpcore's tests/_async/test_connection_pool.py (httpcore 1.0.9), on MockBackend.
import { describe, expect, it } from "vitest";
import {
  ConnectError,
  ConnectionPool,
  MockBackend,
  PoolTimeout,
  ReadError,
  UnsupportedProtocol,
} from "../../src/index.js";
import { HELLO, info, text, tracer } from "./helpers.js";

// The events of a request over TLS up to its response head, as httpcore names them.
const UP_TO_HEAD = [
  "connection.connect_tcp.started",
  "connection.connect_tcp.complete",
  "connection.start_tls.started",
  "connection.start_tls.complete",
  "http11.send_request_headers.started",
  "http11.send_request_headers.complete",
  "http11.send_request_body.started",
  "http11.send_request_body.complete",
  "http11.receive_response_headers.started",
];
const CLOSED = ["http11.response_closed.started", "http11.response_closed.complete"];

const https = (state: string, count: number) =>
  `<HTTPConnection ['https://example.com:443', HTTP/1.1, ${state}, Request Count: ${count}]>`;

describe("httpcore test_connection_pool.py", () => {
  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_with_keepalive
  it("returns HTTP/1.1 connections to the pool, and reuses them for the same origin only", async () => {
    await using pool = new ConnectionPool({
      networkBackend: new MockBackend([...HELLO, ...HELLO]),
    });

    // A first request, which once complete returns to the pool, IDLE.
    let response = await pool.stream("GET", "https://example.com/");
    expect(info(pool)).toEqual([https("ACTIVE", 1)]);
    expect(String(pool)).toBe(
      "<ConnectionPool [Requests: 1 active, 0 queued | Connections: 1 active, 0 idle]>",
    );
    await response.read();
    await response.close();
    expect(response.status).toBe(200);
    expect(text(response.content)).toBe("Hello, world!");
    expect(info(pool)).toEqual([https("IDLE", 1)]);
    expect(String(pool)).toBe(
      "<ConnectionPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );

    // A second request to the same origin reuses the IDLE connection.
    response = await pool.stream("GET", "https://example.com/");
    expect(info(pool)).toEqual([https("ACTIVE", 2)]);
    expect(String(pool)).toBe(
      "<ConnectionPool [Requests: 1 active, 0 queued | Connections: 1 active, 0 idle]>",
    );
    await response.read();
    await response.close();
    expect(text(response.content)).toBe("Hello, world!");
    expect(info(pool)).toEqual([https("IDLE", 2)]);

    // A request to another origin does not reuse it. httpcore lists connections oldest
    // first; this port lists the most recently used first (README, "Where this differs
    // from httpcore": `connections`), so the new http connection comes first here.
    response = await pool.stream("GET", "http://example.com/");
    expect(info(pool)).toEqual([
      "<HTTPConnection ['http://example.com:80', HTTP/1.1, ACTIVE, Request Count: 1]>",
      https("IDLE", 2),
    ]);
    expect(String(pool)).toBe(
      "<ConnectionPool [Requests: 1 active, 0 queued | Connections: 1 active, 1 idle]>",
    );
    await response.read();
    await response.close();
    expect(text(response.content)).toBe("Hello, world!");
    expect(info(pool)).toEqual([
      "<HTTPConnection ['http://example.com:80', HTTP/1.1, IDLE, Request Count: 1]>",
      https("IDLE", 2),
    ]);
    expect(String(pool)).toBe(
      "<ConnectionPool [Requests: 0 active, 0 queued | Connections: 0 active, 2 idle]>",
    );
  });

  // One request on a pool, after which no connection is kept (it was ACTIVE meanwhile).
  async function noneKept(
    options: { keepaliveExpiry?: number; maxKeepaliveConnections?: number },
    headers: Record<string, string> = {},
  ): Promise<void> {
    await using pool = new ConnectionPool({ ...options, networkBackend: new MockBackend(HELLO) });
    const response = await pool.stream("GET", "https://example.com/", { headers });
    expect(info(pool)).toEqual([https("ACTIVE", 1)]);
    await response.read();
    await response.close();
    expect(response.status).toBe(200);
    expect(text(response.content)).toBe("Hello, world!");
    expect(info(pool)).toEqual([]);
  }

  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_with_close
  it("a request with Connection: close does not return its connection to the pool", async () => {
    await noneKept({}, { Connection: "close" });
  });

  // httpcore: tests/_async/test_connection_pool.py::test_trace_request
  it("the trace extension reports httpcore's events, in order", async () => {
    const { names, trace } = tracer();
    await using pool = new ConnectionPool({ networkBackend: new MockBackend(HELLO) });
    await pool.request("GET", "https://example.com/", { extensions: { trace } });
    expect(names).toEqual([
      ...UP_TO_HEAD,
      "http11.receive_response_headers.complete",
      "http11.receive_response_body.started",
      "http11.receive_response_body.complete",
      ...CLOSED,
    ]);
  });

  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_with_http_exception
  it("a connection whose response is not HTTP leaves the pool", async () => {
    const { names, trace } = tracer();
    await using pool = new ConnectionPool({
      networkBackend: new MockBackend(["Wait, this isn't valid HTTP!"]),
    });
    await expect(
      pool.request("GET", "https://example.com/", { extensions: { trace } }),
    ).rejects.toThrow();
    expect(info(pool)).toEqual([]);
    expect(names).toEqual([...UP_TO_HEAD, "http11.receive_response_headers.failed", ...CLOSED]);
  });

  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_with_connect_exception
  it("a connection that fails to connect leaves the pool", async () => {
    const backend = new MockBackend([]);
    backend.connectTcp = async () => {
      throw new ConnectError("Could not connect");
    };
    const { names, trace } = tracer();
    await using pool = new ConnectionPool({ networkBackend: backend });
    await expect(
      pool.request("GET", "https://example.com/", { extensions: { trace } }),
    ).rejects.toBeInstanceOf(ConnectError);
    expect(info(pool)).toEqual([]);
    expect(names).toEqual(["connection.connect_tcp.started", "connection.connect_tcp.failed"]);
  });

  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_with_immediate_expiry
  it("keepaliveExpiry 0 expires a connection as soon as it is idle", async () => {
    await noneKept({ keepaliveExpiry: 0 });
  });

  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_with_no_keepalive_connections_allowed
  it("maxKeepaliveConnections 0 keeps no idle connection", async () => {
    await noneKept({ maxKeepaliveConnections: 0 });
  });

  // Concurrent fetches (httpcore runs these under trio's nursery; Promise.all here).
  async function fetchAll(pool: ConnectionPool, urls: string[]): Promise<string[][]> {
    const seen: string[][] = [];
    await Promise.all(
      urls.map(async (url) => {
        const response = await pool.stream("GET", url);
        seen.push(info(pool));
        await response.read();
        await response.close();
      }),
    );
    return seen;
  }

  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_concurrency
  it("concurrent requests never exceed maxConnections", async () => {
    await using pool = new ConnectionPool({
      maxConnections: 1,
      networkBackend: new MockBackend(HELLO),
    });
    const domains = ["a.com", "b.com", "c.com", "d.com", "e.com"];
    const seen = await fetchAll(
      pool,
      domains.map((d) => `http://${d}/`),
    );
    expect(seen).toHaveLength(5);
    const allowed = domains.map(
      (d) => `<HTTPConnection ['http://${d}:80', HTTP/1.1, ACTIVE, Request Count: 1]>`,
    );
    for (const item of seen) {
      // One connection at any time, each to a different host, one request on each.
      expect(item).toHaveLength(1);
      expect(allowed).toContain(item[0]);
    }
  });

  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_concurrency_same_domain_closing
  // (with http2: true, as httpcore's: the mock speaks HTTP/1.1, so the requests that waited
  // for the connection to open in case it was HTTP/2 go back to the queue.)
  it("concurrent requests to one origin that closes each connection: one at a time", async () => {
    await using pool = new ConnectionPool({
      http2: true,
      maxConnections: 1,
      networkBackend: new MockBackend([
        "HTTP/1.1 200 OK\r\n",
        "Content-Type: plain/text\r\n",
        "Content-Length: 13\r\n",
        "Connection: close\r\n",
        "\r\n",
        "Hello, world!",
      ]),
    });
    const seen = await fetchAll(pool, Array(5).fill("https://a.com/"));
    expect(seen).toHaveLength(5);
    for (const item of seen) {
      expect(item).toEqual([
        "<HTTPConnection ['https://a.com:443', HTTP/1.1, ACTIVE, Request Count: 1]>",
      ]);
    }
  });

  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_concurrency_same_domain_keepalive
  // (with http2: true, as above.)
  it("concurrent requests to one origin share one kept-alive connection", async () => {
    const pool = new ConnectionPool({
      http2: true,
      maxConnections: 1,
      networkBackend: new MockBackend(Array(5).fill(HELLO).flat()),
    });
    const seen = await fetchAll(pool, Array(5).fill("https://a.com/"));
    expect(seen).toHaveLength(5);
    const allowed = [1, 2, 3, 4, 5].map(
      (n) => `<HTTPConnection ['https://a.com:443', HTTP/1.1, ACTIVE, Request Count: ${n}]>`,
    );
    for (const item of seen) {
      expect(item).toHaveLength(1);
      expect(allowed).toContain(item[0]);
    }
    await pool.close();
    expect(String(pool)).toBe(
      "<ConnectionPool [Requests: 0 active, 0 queued | Connections: 0 active, 0 idle]>",
    );
  });

  // httpcore: tests/_async/test_connection_pool.py::test_unsupported_protocol
  it("a URL whose scheme is not http(s) or ws(s), or that has none, is UnsupportedProtocol", async () => {
    await using pool = new ConnectionPool();
    await expect(pool.request("GET", "ftp://www.example.com/")).rejects.toBeInstanceOf(
      UnsupportedProtocol,
    );
    await expect(pool.request("GET", "://www.example.com/")).rejects.toBeInstanceOf(
      UnsupportedProtocol,
    );
    expect(info(pool)).toEqual([]);
  });

  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_closed_while_request_in_flight
  it("closing the pool while a response streams makes reading it a ReadError", async () => {
    await using pool = new ConnectionPool({ networkBackend: new MockBackend(HELLO) });
    const response = await pool.stream("GET", "https://example.com/");
    await pool.close();
    await expect(response.read()).rejects.toBeInstanceOf(ReadError);
    await response.close();
  });

  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_timeout
  it("a request that waits for a connection longer than timeout.pool is a PoolTimeout", async () => {
    await using pool = new ConnectionPool({
      maxConnections: 1,
      networkBackend: new MockBackend(HELLO),
    });
    // httpcore's 0.0001 s; the smallest positive wait in milliseconds.
    await using _held = await pool.stream("GET", "https://example.com/");
    await expect(
      pool.request("GET", "https://example.com/", { extensions: { timeout: { pool: 1 } } }),
    ).rejects.toBeInstanceOf(PoolTimeout);
  });

  // httpcore: tests/_async/test_connection_pool.py::test_connection_pool_timeout_zero
  it("timeout.pool 0 fails only a request that would have to wait", async () => {
    const backend = new MockBackend([...HELLO, ...HELLO]);
    const extensions = { timeout: { pool: 0 } };
    {
      // Two requests one after the other: neither waits.
      await using pool = new ConnectionPool({ networkBackend: backend, maxConnections: 1 });
      for (let i = 0; i < 2; i++) {
        const response = await pool.request("GET", "https://example.com/", { extensions });
        expect(response.status).toBe(200);
        expect(text(response.content)).toBe("Hello, world!");
      }
    }
    {
      // Two at once: the second would wait, so it times out.
      await using pool = new ConnectionPool({ networkBackend: backend, maxConnections: 1 });
      const response = await pool.stream("GET", "https://example.com/", { extensions });
      await expect(
        pool.request("GET", "https://example.com/", { extensions }),
      ).rejects.toBeInstanceOf(PoolTimeout);
      await response.read();
      await response.close();
      expect(response.status).toBe(200);
      expect(text(response.content)).toBe("Hello, world!");
    }
  });

  // httpcore: tests/_async/test_connection_pool.py::test_http11_upgrade_connection
  it("101 Switching Protocols hands over the network stream, with no body events", async () => {
    const { names, trace } = tracer();
    await using pool = new ConnectionPool({
      maxConnections: 1,
      networkBackend: new MockBackend([
        "HTTP/1.1 101 Switching Protocols\r\n",
        "Connection: upgrade\r\n",
        "Upgrade: custom\r\n",
        "\r\n",
        "...",
      ]),
    });
    {
      await using response = await pool.stream("GET", "wss://example.com/", {
        headers: { Connection: "upgrade", Upgrade: "custom" },
        extensions: { trace },
      });
      expect(response.status).toBe(101);
      const stream = response.extensions.networkStream!;
      expect(text(await stream.read(1024))).toBe("...");
    }
    expect(names).toEqual([...UP_TO_HEAD, "http11.receive_response_headers.complete", ...CLOSED]);
  });
});
