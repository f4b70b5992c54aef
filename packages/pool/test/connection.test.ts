// HTTPConnection's opening, over a stand-in Dialer whose streams the test scripts (no
// sockets): the ALPN protocols it offers and what it does with the one TLS chose, the TLS
// handshakes it tries again (and those it does not), closes while it dials, starts TLS or
// waits to retry, and the options it hands to the HTTP/1.1 connection it opens.
import type { ConnectionOptions as TlsOptions } from "node:tls";
import { describe, expect, it } from "vitest";
import {
  ConnectError,
  ConnectionNotAvailable,
  ConnectTimeout,
  type Dialer,
  HTTPConnection,
  type HTTPConnectionOptions,
  MockBackend,
  type NetworkStream,
  type Origin,
  ReadError,
  RemoteProtocolError,
  Request,
  URL,
} from "../src/index.js";

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const encoder = new TextEncoder();

type TlsStep = { alpn?: unknown } | { error: unknown } | { wait: true };

/** A stream that answers every request with OK; its startTls does what `tls` says. */
class FakeStream implements NetworkStream {
  closed = false;
  alpn: unknown;
  readonly offered: Array<readonly string[] | undefined> = [];
  readonly #chunks: Uint8Array[];
  #tlsWait: (() => void) | null = null;
  constructor(
    readonly tls: TlsStep = {},
    chunks: string[] = [OK],
  ) {
    this.#chunks = chunks.map((c) => encoder.encode(c));
  }
  async read(): Promise<Uint8Array> {
    if (this.closed) throw new ReadError("closed (test)");
    return this.#chunks.shift() ?? new Uint8Array(0);
  }
  async write(): Promise<void> {}
  async close(): Promise<void> {
    this.closed = true;
  }
  async startTls(
    options: TlsOptions,
    _name: string,
    _timeout?: number,
    signal?: AbortSignal,
  ): Promise<NetworkStream> {
    this.offered.push(options.ALPNProtocols as readonly string[] | undefined);
    const step = this.tls;
    if ("error" in step) throw step.error;
    if ("wait" in step) {
      await new Promise<void>((resolve, reject) => {
        this.#tlsWait = resolve;
        signal?.addEventListener("abort", () => reject(new ConnectError("aborted (test)")));
      });
    } else {
      this.alpn = step.alpn;
    }
    return this;
  }
  /** Lets a startTls that waits go on. */
  finishTls(): void {
    this.#tlsWait?.();
  }
  getExtraInfo(key: string): unknown {
    if (key === "alpn_protocol") return this.alpn;
    if (key === "is_readable") return this.closed;
    return undefined;
  }
}

/** Gives the streams `make` makes, one a dial; `hold` makes a dial wait for `letDial()`. */
class StandInDialer implements Dialer {
  readonly streams: FakeStream[] = [];
  readonly signals: AbortSignal[] = [];
  closed = 0;
  hold = false;
  #let: (() => void) | null = null;
  readonly tlsTraceName?: string;
  constructor(
    readonly make: (index: number) => FakeStream = () => new FakeStream(),
    tlsTraceName?: string,
  ) {
    if (tlsTraceName !== undefined) this.tlsTraceName = tlsTraceName;
  }
  async dial(_origin: Origin, _request: Request, signal: AbortSignal): Promise<NetworkStream> {
    this.signals.push(signal);
    if (this.hold) await new Promise<void>((resolve) => (this.#let = resolve));
    const stream = this.make(this.streams.length);
    this.streams.push(stream);
    return stream;
  }
  letDial(): void {
    this.#let?.();
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

function get(url: string, trace?: string[]): Request {
  const u = new URL(url);
  const headers: [string, string][] = [["Host", u.origin.authority]];
  if (trace === undefined) return new Request("GET", u, { headers });
  return new Request("GET", u, {
    headers,
    extensions: { trace: (name: string) => void trace.push(name) },
  });
}

function connection(url: string, dialer: Dialer, options: HTTPConnectionOptions = {}) {
  return new HTTPConnection(new URL(url).origin, { ...options, dialer });
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const certRefused = (code: unknown) => new ConnectError("handshake (test)", { cause: { code } });

describe("ALPN", () => {
  it.each([
    [{}, ["http/1.1"]],
    [{ http1: true, http2: false }, ["http/1.1"]],
    [{ http2: true }, ["h2", "http/1.1"]],
    [{ http1: false, http2: true }, ["h2"]],
  ] as const)("with %o it offers %o", async (options, offered) => {
    const dialer = new StandInDialer(() => new FakeStream({ error: certRefused("CERT_X") }));
    const conn = connection("https://a.test/", dialer, options);
    await expect(conn.handleRequest(get("https://a.test/"))).rejects.toBeInstanceOf(ConnectError);
    expect(dialer.streams[0]!.offered).toEqual([offered]);
  });

  it.each([["http/1.1"], [""], [undefined], [7]])(
    "speaks HTTP/1.1 when TLS chose %o",
    async (alpn) => {
      for (const options of [{}, { http2: true }]) {
        const dialer = new StandInDialer(() => new FakeStream({ alpn }));
        const conn = connection("https://a.test/", dialer, options);
        const response = await conn.handleRequest(get("https://a.test/"));
        expect(response.status).toBe(200);
        await response.read();
        expect(conn.info()).toBe("'https://a.test:443', HTTP/1.1, IDLE, Request Count: 1");
        await conn.close();
        expect(dialer.streams[0]!.closed).toBe(true);
      }
    },
  );

  it.each([
    ["h2", {}],
    ["spdy/3", { http2: true }],
    ["http/1.1", { http1: false, http2: true }],
  ] as const)("a protocol not offered (%s, with %o) is a ConnectError", async (alpn, options) => {
    const dialer = new StandInDialer(() => new FakeStream({ alpn }));
    const conn = connection("https://a.test/", dialer, options);
    const error = await conn.handleRequest(get("https://a.test/")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({
      code: "ERR_CONNECT",
      message: `the server chose ${alpn} (by ALPN), which was not offered`,
    });
    expect(dialer.streams[0]!.closed).toBe(true);
    expect(conn.info()).toBe("CONNECTION FAILED");
  });

  it("an http origin starts no TLS", async () => {
    const dialer = new StandInDialer();
    const conn = connection("http://a.test/", dialer);
    expect((await conn.handleRequest(get("http://a.test/"))).status).toBe(200);
    expect(dialer.streams[0]!.offered).toEqual([]);
    await conn.close();
  });
});

describe("a TLS handshake tried again", () => {
  const flaky = (error: unknown, failures: number) => (i: number) =>
    new FakeStream(i < failures ? { error } : {});

  it.each([
    ["a ConnectError with no cause", new ConnectError("reset (test)")],
    ["a ConnectError whose cause is a reset", certRefused("ECONNRESET")],
    ["a ConnectError whose cause's code is not a string", certRefused(42)],
    ["a ConnectTimeout", new ConnectTimeout("slow (test)")],
  ])("%s: on a new stream, with the backoff, traced", async (_, error) => {
    const backend = new MockBackend([]);
    const dialer = new StandInDialer(flaky(error, 2));
    const trace: string[] = [];
    const conn = connection("https://a.test/", dialer, { retries: 2, networkBackend: backend });
    expect((await conn.handleRequest(get("https://a.test/", trace))).status).toBe(200);
    expect(dialer.streams.map((s) => s.closed)).toEqual([true, true, false]);
    expect(backend.sleeps).toEqual([0, 500]);
    expect(trace.filter((n) => n === "connection.retry.started")).toHaveLength(2);
    await conn.close();
  });

  it("the retry is traced under the tracePrefix", async () => {
    const backend = new MockBackend([]);
    const dialer = new StandInDialer(flaky(new ConnectError("reset (test)"), 1));
    const trace: string[] = [];
    const conn = connection("https://a.test/", dialer, {
      retries: 1,
      networkBackend: backend,
      tracePrefix: "tunnel",
    });
    await conn.handleRequest(get("https://a.test/", trace));
    expect(trace).toContain("tunnel.retry.started");
    expect(trace).not.toContain("connection.retry.started");
    await conn.close();
  });

  it("no more than `retries` times (none by default): then the last error", async () => {
    for (const retries of [undefined, 0, 1]) {
      const backend = new MockBackend([]);
      const error = new ConnectError("reset (test)");
      const dialer = new StandInDialer(flaky(error, 5));
      const options = retries === undefined ? {} : { retries };
      const conn = connection("https://a.test/", dialer, { ...options, networkBackend: backend });
      await expect(conn.handleRequest(get("https://a.test/"))).rejects.toBe(error);
      expect(dialer.streams).toHaveLength((retries ?? 0) + 1);
      expect(dialer.streams.every((s) => s.closed)).toBe(true);
      expect(conn.info()).toBe("CONNECTION FAILED");
    }
  });

  it.each([
    "CERT_HAS_EXPIRED",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "ERR_TLS_CERT_ALTNAME_INVALID",
    "HOSTNAME_MISMATCH",
  ])("a certificate refused (%s) is not tried again", async (code) => {
    const backend = new MockBackend([]);
    const error = certRefused(code);
    const dialer = new StandInDialer(flaky(error, 5));
    const conn = connection("https://a.test/", dialer, { retries: 3, networkBackend: backend });
    await expect(conn.handleRequest(get("https://a.test/"))).rejects.toBe(error);
    expect(dialer.streams).toHaveLength(1);
    expect(backend.sleeps).toEqual([]);
  });

  it("an error that is not the network's is not tried again", async () => {
    const backend = new MockBackend([]);
    const error = new ReadError("not a connect error (test)");
    const dialer = new StandInDialer(flaky(error, 5));
    const conn = connection("https://a.test/", dialer, { retries: 3, networkBackend: backend });
    await expect(conn.handleRequest(get("https://a.test/"))).rejects.toBe(error);
    expect(dialer.streams).toHaveLength(1);
  });
});

describe("closed while opening", () => {
  it("while dialing: the dial's signal aborts, the stream dialed is closed, the request refused", async () => {
    const dialer = new StandInDialer();
    dialer.hold = true;
    const conn = connection("http://a.test/", dialer);
    const pending = conn.handleRequest(get("http://a.test/"));
    await turn();
    expect(dialer.signals[0]!.aborted).toBe(false);
    await conn.close();
    expect(dialer.signals[0]!.aborted).toBe(true);
    expect(dialer.closed).toBe(1);
    dialer.letDial();
    await expect(pending).rejects.toThrow(
      new ConnectionNotAvailable("the connection was closed while opening"),
    );
    expect(dialer.streams[0]!.closed).toBe(true);
    expect(conn.isClosed()).toBe(true);
  });

  it("while TLS starts: the handshake stops and is not tried again", async () => {
    const backend = new MockBackend([]);
    const dialer = new StandInDialer(() => new FakeStream({ wait: true }));
    const conn = connection("https://a.test/", dialer, { retries: 3, networkBackend: backend });
    const pending = conn.handleRequest(get("https://a.test/"));
    await turn();
    await conn.close();
    expect(dialer.streams[0]!.closed).toBe(true);
    await expect(pending).rejects.toThrow("aborted (test)");
    expect(dialer.streams).toHaveLength(1);
    expect(backend.sleeps).toEqual([]);
  });

  it("when TLS has started: the stream is closed, the request refused", async () => {
    const dialer = new StandInDialer(() => new FakeStream({ wait: true }));
    const conn = connection("https://a.test/", dialer);
    const pending = conn.handleRequest(get("https://a.test/"));
    await turn();
    // close() without release() aborting the handshake: it ends as the close begins.
    const stream = dialer.streams[0]!;
    const closing = conn.close();
    stream.finishTls();
    await closing;
    await expect(pending).rejects.toThrow(
      new ConnectionNotAvailable("the connection was closed while opening"),
    );
    expect(stream.closed).toBe(true);
  });

  it("while waiting to retry: no new dial", async () => {
    let wake: (() => void) | null = null;
    const backend = new MockBackend([]);
    backend.sleep = (ms: number) => {
      backend.sleeps.push(ms);
      return new Promise<void>((resolve) => (wake = resolve));
    };
    const dialer = new StandInDialer((i) =>
      i === 0 ? new FakeStream({ error: new ConnectError("reset (test)") }) : new FakeStream(),
    );
    const conn = connection("https://a.test/", dialer, { retries: 3, networkBackend: backend });
    const pending = conn.handleRequest(get("https://a.test/"));
    await turn();
    expect(backend.sleeps).toEqual([0]);
    await conn.close();
    (wake as (() => void) | null)?.();
    await expect(pending).rejects.toThrow(
      new ConnectionNotAvailable("the connection was closed while opening"),
    );
    expect(dialer.streams).toHaveLength(1);
  });
});

describe("what the connection opened is given", () => {
  it("keepaliveExpiry: an idle connection expires after it", async () => {
    for (const [options, expired] of [
      [{ keepaliveExpiry: 0 }, true],
      [{}, false],
    ] as const) {
      const conn = connection("http://a.test/", new StandInDialer(), options);
      await (await conn.handleRequest(get("http://a.test/"))).read();
      await turn();
      expect(conn.hasExpired()).toBe(expired);
      await conn.close();
    }
  });

  it("maxHeaderSize: a longer response head is refused", async () => {
    const conn = connection("http://a.test/", new StandInDialer(), { maxHeaderSize: 10 });
    await expect(conn.handleRequest(get("http://a.test/"))).rejects.toBeInstanceOf(
      RemoteProtocolError,
    );
    await conn.close();
  });

  it("the dialer's name for the TLS trace events", async () => {
    for (const [name, expected] of [
      [undefined, "connection.start_tls.started"],
      ["tunnel.start_tls", "tunnel.start_tls.started"],
    ] as const) {
      const trace: string[] = [];
      const conn = connection("https://a.test/", new StandInDialer(undefined, name));
      await (await conn.handleRequest(get("https://a.test/", trace))).read();
      expect(trace).toContain(expected);
      await conn.close();
    }
  });
});

describe("which connections may multiplex (take places while opening)", () => {
  it.each([
    ["https://a.test/", { http2: true }, true],
    ["wss://a.test/", { http2: true }, true],
    ["http://a.test/", { http2: true, http1: false }, true],
    ["http://a.test/", { http2: true }, false],
    ["https://a.test/", {}, false],
    ["https://a.test/", { http2: false }, false],
  ] as const)("%s with %o: %s", (url, options, multiplexes) => {
    const conn = connection(url, new StandInDialer(), options);
    expect(conn.tryReserve(get(url))).toBe(true);
    expect(conn.isAvailable()).toBe(multiplexes);
    expect(conn.tryReserve(get(url))).toBe(multiplexes);
  });
});
