// Ports of httpcore's tests/_async/test_connection.py (httpcore 1.0.9): HTTPConnection, which
// connects on its first request, over MockBackend or a small backend of the test's own.
import { describe, expect, it } from "vitest";
import {
  ConnectError,
  ConnectionNotAvailable,
  HTTPConnection,
  type HTTPConnectionOptions,
  MockBackend,
  type NetworkStream,
  Origin,
  RemoteProtocolError,
  Request,
  WriteError,
} from "../../src/index.js";
import { backendOf, HELLO, host, REUSABLE, states, text } from "./helpers.js";

const ORIGIN = new Origin("https", "example.com", 443);

const connection = (options: HTTPConnectionOptions) => new HTTPConnection(ORIGIN, options);

const request = (method: string, url: string, content?: Uint8Array) =>
  content === undefined
    ? new Request(method, url, { headers: host() })
    : new Request(method, url, {
        headers: { ...host(), "Content-Length": content.length },
        content,
      });

/** A MockBackend stream whose writes fail once more than 1 000 000 bytes were written. */
function failsPastAMegabyte(chunks: ReadonlyArray<string>): () => NetworkStream {
  const backend = new MockBackend(chunks);
  return () => {
    let stream: NetworkStream | null = null;
    let count = 0;
    const opening = backend.connectTcp("example.com", 443).then((s) => (stream = s));
    const inner = async () => stream ?? (await opening);
    return {
      read: async (maxBytes, timeout) => (await inner()).read(maxBytes, timeout),
      write: async (data) => {
        count += data.length;
        if (count > 1_000_000) throw new WriteError("the peer stopped reading");
      },
      close: async () => (await inner()).close(),
      startTls: async function (this: NetworkStream) {
        return this;
      },
      getExtraInfo: () => undefined,
    };
  };
}

/**
 * httpcore's NeedsRetryBackend: the first `tcpFailures` connects and the first
 * `tlsFailures` TLS handshakes fail with ConnectError, the rest go to a MockBackend.
 */
function needsRetry(tcpFailures: number, tlsFailures: number) {
  const mock = new MockBackend(HELLO);
  let tcpLeft = tcpFailures;
  let tlsLeft = tlsFailures;
  const wrap = (stream: NetworkStream): NetworkStream => ({
    read: (maxBytes, timeout) => stream.read(maxBytes, timeout),
    write: (data, timeout) => stream.write(data, timeout),
    close: () => stream.close(),
    startTls: async (tls, serverHostname, timeout) => {
      if (tlsLeft > 0) {
        tlsLeft--;
        throw new ConnectError("TLS failed");
      }
      return wrap(await stream.startTls(tls, serverHostname, timeout));
    },
    getExtraInfo: (key) => stream.getExtraInfo(key),
  });
  return {
    connectTcp: async (host: string, port: number) => {
      if (tcpLeft > 0) {
        tcpLeft--;
        throw new ConnectError("refused");
      }
      return wrap(await mock.connectTcp(host, port));
    },
    connectUnixSocket: (path: string) => mock.connectUnixSocket(path),
    sleep: async () => {},
  };
}

describe("httpcore test_connection.py", () => {
  // httpcore: tests/_async/test_connection.py::test_http_connection
  it("CONNECTING until the first request, then HTTP/1.1, ACTIVE and IDLE", async () => {
    await using conn = connection({
      networkBackend: new MockBackend(HELLO),
      keepaliveExpiry: 5000,
    });
    // httpcore: `not conn.is_available()` for an HTTP/1.1 connection not yet open. Here a
    // connection not yet open is available: it has room for the request that opens it
    // (ConnectionInterface.isAvailable: "it has room that nobody has reserved"; the pool's
    // capacity contract, README "The connection contract").
    expect(states(conn)).toEqual({ idle: false, closed: false, available: true, expired: false });
    expect(String(conn)).toBe("<HTTPConnection [CONNECTING]>");

    const response = await conn.handleRequest(request("GET", "https://example.com/"));
    expect(String(conn)).toBe(
      "<HTTPConnection ['https://example.com:443', HTTP/1.1, ACTIVE, Request Count: 1]>",
    );
    await response.read();
    await response.close();
    expect(response.status).toBe(200);
    expect(text(response.content)).toBe("Hello, world!");

    expect(states(conn)).toEqual(REUSABLE);
    expect(String(conn)).toBe(
      "<HTTPConnection ['https://example.com:443', HTTP/1.1, IDLE, Request Count: 1]>",
    );
  });

  // httpcore: tests/_async/test_connection.py::test_concurrent_requests_not_available_on_http11_connections
  it("a second request on an active HTTP/1.1 connection is ConnectionNotAvailable", async () => {
    await using conn = connection({
      networkBackend: new MockBackend(HELLO),
      keepaliveExpiry: 5000,
    });
    await using _inFlight = await conn.handleRequest(request("GET", "https://example.com/"));
    await expect(conn.handleRequest(request("GET", "https://example.com/"))).rejects.toBeInstanceOf(
      ConnectionNotAvailable,
    );
  });

  // httpcore: tests/_async/test_connection.py::test_write_error_with_response_sent
  it("a server that stops reading the upload but answers: the answer is returned", async () => {
    await using conn = connection({
      networkBackend: backendOf(
        failsPastAMegabyte([
          "HTTP/1.1 413 Payload Too Large\r\n",
          "Content-Type: plain/text\r\n",
          "Content-Length: 37\r\n",
          "\r\n",
          "Request body exceeded 1,000,000 bytes",
        ]),
      ),
      keepaliveExpiry: 5000,
    });
    const content = new Uint8Array(10_000_000).fill(0x78);
    const response = await conn.handleRequest(request("POST", "https://example.com/", content));
    expect(response.status).toBe(413);
    expect(text(await response.read())).toBe("Request body exceeded 1,000,000 bytes");
  });

  // httpcore: tests/_async/test_connection.py::test_write_error_without_response_sent
  it("a server that stops reading the upload and closes: RemoteProtocolError", async () => {
    await using conn = connection({
      networkBackend: backendOf(failsPastAMegabyte([])),
      keepaliveExpiry: 5000,
    });
    const content = new Uint8Array(10_000_000).fill(0x78);
    const error = await conn
      .handleRequest(request("POST", "https://example.com/", content))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect((error as Error).message).toBe("Server disconnected without sending a response.");
  });

  // httpcore: tests/_async/test_connection.py::test_request_to_incorrect_origin
  it("a request for another origin is refused", async () => {
    // httpcore raises RuntimeError; here it is ConnectionNotAvailable (the pool's "try
    // another connection"), and the connection is not opened for it.
    const backend = new MockBackend([]);
    await using conn = connection({ networkBackend: backend });
    await expect(
      conn.handleRequest(new Request("GET", "https://other.com/", { headers: host("other.com") })),
    ).rejects.toBeInstanceOf(ConnectionNotAvailable);
    expect(backend.streams).toHaveLength(0);
  });

  // With retries 3 the request gets through the failures; without retries it fails.
  async function throughFailures(tcpFailures: number, tlsFailures: number): Promise<void> {
    {
      await using conn = connection({
        networkBackend: needsRetry(tcpFailures, tlsFailures),
        retries: 3,
      });
      const response = await conn.handleRequest(request("GET", "https://example.com/"));
      expect(response.status).toBe(200);
      await response.close();
    }
    {
      await using conn = connection({ networkBackend: needsRetry(tcpFailures, tlsFailures) });
      await expect(
        conn.handleRequest(request("GET", "https://example.com/")),
      ).rejects.toBeInstanceOf(ConnectError);
    }
  }

  // httpcore: tests/_async/test_connection.py::test_connection_retries
  it("failed connects are retried up to `retries` times", async () => {
    await throughFailures(2, 0);
  });

  // httpcore: tests/_async/test_connection.py::test_connection_retries_tls
  // httpcore's connect retries cover the TLS handshake too (a ConnectError from start_tls
  // is retried with a new TCP connection); so do they here. (A certificate refused is not
  // retried: test/parity.test.ts.)
  it("failed TLS handshakes are retried up to `retries` times", async () => {
    await throughFailures(0, 2);
  });

  // httpcore: tests/_async/test_connection.py::test_uds_connections
  it("with `uds`, the connection goes over the Unix socket path", async () => {
    const backend = new MockBackend(HELLO);
    const paths: string[] = [];
    const connectUnixSocket = backend.connectUnixSocket.bind(backend);
    backend.connectUnixSocket = (path, options) => {
      paths.push(path);
      return connectUnixSocket(path, options);
    };
    await using conn = connection({ networkBackend: backend, uds: "/mock/example" });
    const response = await conn.handleRequest(request("GET", "https://example.com/"));
    expect(response.status).toBe(200);
    await response.close();
    expect(paths).toEqual(["/mock/example"]);
  });
});
