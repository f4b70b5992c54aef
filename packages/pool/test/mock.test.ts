import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  ConnectError,
  ConnectionPool,
  HTTP11Connection,
  MockBackend,
  type NetworkStream,
  Origin,
  RemoteProtocolError,
  Request,
  URL,
  WriteScheduler,
} from "../src/index.js";

const OK = [
  "HTTP/1.1 200 OK\r\n",
  "Content-Type: plain/text\r\n",
  "Content-Length: 13\r\n",
  "\r\n",
  "Hello, world!",
];
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("with MockBackend (httpcore's pool tests)", () => {
  it("keeps one connection alive across requests and prints as httpcore does", async () => {
    const backend = new MockBackend(OK);
    await using pool = new ConnectionPool({ networkBackend: backend });
    const s = await pool.stream("GET", "https://example.com/");
    expect(inspect(pool.connections[0])).toBe(
      "<HTTPConnection ['https://example.com:443', HTTP/1.1, ACTIVE, Request Count: 1]>",
    );
    expect(String(pool)).toBe(
      "<ConnectionPool [Requests: 1 active, 0 queued | Connections: 1 active, 0 idle]>",
    );
    await s.read();
    await s.close();
    expect(inspect(pool.connections[0])).toBe(
      "<HTTPConnection ['https://example.com:443', HTTP/1.1, IDLE, Request Count: 1]>",
    );
    expect(String(pool)).toBe(
      "<ConnectionPool [Requests: 0 active, 0 queued | Connections: 0 active, 1 idle]>",
    );
    expect(backend.streams[0]?.tls).toBe(true);
    const written = backend.written.map(text).join("");
    expect(written).toBe("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
  });

  it("reports httpcore's trace events in order", async () => {
    const events: string[] = [];
    await using pool = new ConnectionPool({ networkBackend: new MockBackend(OK) });
    await pool.request("GET", "https://example.com/", {
      extensions: { trace: (name) => void events.push(name) },
    });
    expect(events).toEqual([
      "connection.connect_tcp.started",
      "connection.connect_tcp.complete",
      "connection.start_tls.started",
      "connection.start_tls.complete",
      "http11.send_request_headers.started",
      "http11.send_request_headers.complete",
      "http11.send_request_body.started",
      "http11.send_request_body.complete",
      "http11.receive_response_headers.started",
      "http11.receive_response_headers.complete",
      "http11.receive_response_body.started",
      "http11.receive_response_body.complete",
      "http11.response_closed.started",
      "http11.response_closed.complete",
    ]);
  });

  it("Connection: close, and an HTTP/1.0 response, close the connection", async () => {
    for (const head of ["HTTP/1.1 200 OK\r\nConnection: close\r\n", "HTTP/1.0 200 OK\r\n"]) {
      await using pool = new ConnectionPool({
        networkBackend: new MockBackend([head, "Content-Length: 2\r\n\r\nok"]),
      });
      const r = await pool.request("GET", "http://example.com/");
      expect(text(r.content)).toBe("ok");
      expect(pool.connections).toHaveLength(0);
    }
  });

  it("retries connecting with httpcore's backoff", async () => {
    let attempts = 0;
    const backend = new MockBackend(OK);
    const connectTcp = backend.connectTcp.bind(backend);
    backend.connectTcp = async (host, port, options) => {
      if (++attempts <= 3) throw new ConnectError("refused");
      return connectTcp(host, port, options);
    };
    const events: string[] = [];
    await using pool = new ConnectionPool({ networkBackend: backend, retries: 3 });
    const r = await pool.request("GET", "http://example.com/", {
      extensions: { trace: (name) => void events.push(name) },
    });
    expect(r.status).toBe(200);
    expect(backend.sleeps).toEqual([0, 500, 1000]);
    expect(events.filter((e) => e === "connection.retry.started")).toHaveLength(3);

    attempts = 0;
    await using strict = new ConnectionPool({ networkBackend: backend, retries: 2 });
    await expect(strict.request("GET", "http://example.com/")).rejects.toBeInstanceOf(ConnectError);
    expect(strict.connections).toHaveLength(0);
  });

  it("a failed connect prints as CONNECTION FAILED and leaves the pool", async () => {
    const backend = new MockBackend(OK);
    backend.connectTcp = async () => {
      throw new ConnectError("refused");
    };
    await using pool = new ConnectionPool({ networkBackend: backend });
    await expect(pool.request("GET", "http://example.com/")).rejects.toMatchObject({
      code: "ERR_CONNECT",
    });
    expect(pool.connections).toHaveLength(0);
  });

  it("HTTP11Connection on its own: states and printing", async () => {
    const backend = new MockBackend(OK);
    const stream: NetworkStream = await backend.connectTcp("example.com", 80);
    const conn = new HTTP11Connection(new Origin("http", "example.com", 80), stream);
    expect(String(conn)).toBe(
      "<HTTP11Connection ['http://example.com:80', NEW, Request Count: 0]>",
    );
    const res = await conn.handleRequest(
      new Request("GET", "http://example.com/", { headers: { Host: "example.com" } }),
    );
    expect(conn.state).toBe("ACTIVE");
    expect(conn.isAvailable()).toBe(false);
    await res.read();
    expect(String(conn)).toBe(
      "<HTTP11Connection ['http://example.com:80', IDLE, Request Count: 1]>",
    );
    expect(conn.info()).toBe("'http://example.com:80', HTTP/1.1, IDLE, Request Count: 1");
    expect(conn.isIdle() && conn.isAvailable() && !conn.hasExpired()).toBe(true);
    await expect(
      conn.handleRequest(
        new Request("GET", "http://other.com/", { headers: { Host: "other.com" } }),
      ),
    ).rejects.toMatchObject({ code: "ERR_CONNECTION_NOT_AVAILABLE" });
    await conn.close();
    expect(conn.isClosed()).toBe(true);
  });

  it("a garbage response is a RemoteProtocolError and the connection leaves the pool", async () => {
    await using pool = new ConnectionPool({
      networkBackend: new MockBackend(["HTTP/1.1 2OO OK\r\n\r\n"]),
    });
    const error = await pool.request("GET", "http://example.com/").catch((e) => e);
    expect(error.code).toBe("ERR_REMOTE_PROTOCOL");
    expect(error.cause?.code).toBe("H11_REMOTE_PROTOCOL_ERROR");
    // Printed before anything sweeps the pool: the failed connection is already gone.
    expect(String(pool)).toBe(
      "<ConnectionPool [Requests: 0 active, 0 queued | Connections: 0 active, 0 idle]>",
    );
    expect(pool.connections).toHaveLength(0);
  });

  it("a server that closes without answering: RemoteProtocolError", async () => {
    await using pool = new ConnectionPool({ networkBackend: new MockBackend([]) });
    const error = await pool.request("GET", "http://example.com/").catch((e) => e);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error).toMatchObject({
      code: "ERR_REMOTE_PROTOCOL",
      message: "Server disconnected without sending a response.",
    });
  });

  it("URL and Origin", () => {
    const url = new URL("https://EXAMPLE.com:8443/a%20b?x=1#frag");
    expect([url.scheme, url.host, url.port, url.target]).toEqual([
      "https",
      "example.com",
      8443,
      "/a%20b?x=1",
    ]);
    expect(String(url.origin)).toBe("https://example.com:8443");
    expect(String(new URL("http://[::1]/").origin)).toBe("http://[::1]:80");
    expect(new URL("http://a.com").target).toBe("/");
    expect(
      new URL({ scheme: "http", host: "a.com", port: 8080, target: "/x" }).origin.authority,
    ).toBe("a.com:8080");
  });
});

// A stream that answers each request with a 200 at once, or (held) never answers.
class EchoStream implements NetworkStream {
  writes = 0;
  #replies = 0;
  #parked: Array<(error: Error) => void> = [];
  /** What "read_may_continue" answers: true when a read may be followed by more at once. */
  mayContinue = false;
  constructor(readonly held = false) {}
  read(): Promise<Uint8Array> {
    if (!this.held && this.#replies > 0) {
      this.#replies--;
      return Promise.resolve(
        new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
      );
    }
    return new Promise((_, reject) => this.#parked.push(reject));
  }
  write(): Promise<void> {
    this.writes++;
    this.#replies++;
    return Promise.resolve();
  }
  /** What the reads still waiting when the stream closes fail with. */
  readonly closedError = new Error("closed");
  async close(): Promise<void> {
    for (const reject of this.#parked.splice(0)) reject(this.closedError);
  }
  async startTls(): Promise<NetworkStream> {
    return this;
  }
  getExtraInfo(key: string): unknown {
    return key === "read_may_continue" ? this.mayContinue : false;
  }
}

describe("when a request goes out on a connection released just now", () => {
  const origin = new Origin("http", "example.com", 80);
  const get = () =>
    new Request("GET", "http://example.com/", { headers: [["Host", "example.com"]] });
  const post = () =>
    new Request("POST", "http://example.com/", {
      headers: [
        ["Host", "example.com"],
        ["Content-Length", "1"],
      ],
      content: new Uint8Array([120]),
    });
  const checkPhase = () => new Promise((resolve) => setImmediate(resolve));

  it("alone, a GET is written at once; beside another exchange, in the check phase", async () => {
    const stream = new EchoStream();
    const conn = new HTTP11Connection(origin, stream);
    await (await conn.handleRequest(get())).read();
    let pending = conn.handleRequest(get());
    expect(stream.writes).toBe(2);
    await (await pending).read();

    const busyStream = new EchoStream(true);
    const busy = new HTTP11Connection(origin, busyStream);
    const stalled = busy.handleRequest(get()).catch((e: unknown) => e);
    pending = conn.handleRequest(get());
    expect(stream.writes).toBe(2);
    await checkPhase();
    expect(stream.writes).toBe(3);
    await (await pending).read();

    // The other exchange over (its connection closed), a GET goes at once again.
    await busy.close();
    // Its read failed with the stream's own error, which the request fails with as it is.
    expect(await stalled).toBe(busyStream.closedError);
    pending = conn.handleRequest(get());
    expect(stream.writes).toBe(4);
    await (await pending).read();
  });

  it("another pool's exchange in flight does not hold back this pool's writes", async () => {
    const stream = new EchoStream();
    const conn = new HTTP11Connection(origin, stream, { writeScheduler: new WriteScheduler() });
    await (await conn.handleRequest(get())).read();
    const busy = new HTTP11Connection(origin, new EchoStream(true), {
      writeScheduler: new WriteScheduler(),
    });
    const stalled = busy.handleRequest(get()).catch((e: unknown) => e);
    const pending = conn.handleRequest(get());
    expect(stream.writes).toBe(2);
    await (await pending).read();
    await busy.close();
    expect(await stalled).toBeInstanceOf(Error);
  });

  it("after a read that may go on in this poll phase, a GET waits for the check phase", async () => {
    const stream = new EchoStream();
    const conn = new HTTP11Connection(origin, stream);
    await (await conn.handleRequest(get())).read();
    stream.mayContinue = true;
    const pending = conn.handleRequest(get());
    expect(conn.state).toBe("ACTIVE");
    expect(stream.writes).toBe(1);
    await checkPhase();
    expect(stream.writes).toBe(2);
    await (await pending).read();
  });

  it("a POST waits for a poll phase to go by, then is written", async () => {
    const stream = new EchoStream();
    const conn = new HTTP11Connection(origin, stream);
    await (await conn.handleRequest(get())).read();
    const pending = conn.handleRequest(post());
    expect(conn.state).toBe("ACTIVE");
    await checkPhase();
    expect(stream.writes).toBe(1);
    await checkPhase();
    expect(stream.writes).toBe(2);
    await (await pending).read();
    expect(conn.state).toBe("IDLE");
  });
});
