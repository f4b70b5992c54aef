// The seams around the network: DirectDialer's retries and trace events, startTlsFor,
// MockBackend and MockStream, traced(), printable(), and NetworkSocket's edges. Scripted
// backends (no sockets) except where a NetworkSocket passes calls to a real one.
import { once } from "node:events";
import { Socket } from "node:net";
import { inspect } from "node:util";
import { startRawServer } from "@x/testkit";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ConnectError,
  ConnectTimeout,
  DirectDialer,
  exponentialBackoff,
  MockBackend,
  MockStream,
  NetworkSocket,
  type NetworkStream,
  NodeBackend,
  printable,
  ReadError,
  RemoteProtocolError,
  Request,
  startTlsFor,
  traced,
  URL,
  WriteError,
} from "../src/index.js";

afterEach(async () => {
  vi.restoreAllMocks();
});

const encoder = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

// A request to `url` whose trace events (name and info) are recorded in `events`.
function tracedRequest(url: string, extensions: Record<string, unknown> = {}) {
  const events: Array<[string, Record<string, unknown>]> = [];
  const request = new Request("GET", url, {
    extensions: { ...extensions, trace: (name, info) => void events.push([name, info]) },
  });
  return { request, events };
}

// A MockBackend whose connects fail with `errors`, one each, before they succeed; every
// connect's arguments are recorded.
function failingBackend(errors: Error[]) {
  const backend = new MockBackend([]);
  const calls: Array<{ kind: string; args: unknown[] }> = [];
  const open = async (kind: string, args: unknown[]): Promise<NetworkStream> => {
    calls.push({ kind, args });
    const error = errors.shift();
    if (error !== undefined) throw error;
    return kind === "tcp"
      ? MockBackend.prototype.connectTcp.call(backend, "", 0)
      : MockBackend.prototype.connectUnixSocket.call(backend, "");
  };
  backend.connectTcp = (...args) => open("tcp", args);
  backend.connectUnixSocket = (...args) => open("unix", args);
  return { backend, calls };
}

describe("exponentialBackoff", () => {
  it("0, then the factor doubling each time", () => {
    const delays = exponentialBackoff(3);
    expect(Array.from({ length: 6 }, () => delays.next().value)).toEqual([0, 3, 6, 12, 24, 48]);
  });
});

describe("DirectDialer", () => {
  const origin = new URL("http://example.com:8080/").origin;

  it("connects over TCP with the request's connect timeout and its own options, traced", async () => {
    const { backend, calls } = failingBackend([]);
    const socketOptions = { noDelay: false };
    const dialer = new DirectDialer({
      networkBackend: backend,
      localAddress: "127.0.0.9",
      socketOptions,
    });
    const { request, events } = tracedRequest("http://example.com:8080/", {
      timeout: { connect: 1234 },
    });
    const signal = new AbortController().signal;
    const stream = await dialer.dial(origin, request, signal);
    expect(stream).toBe(backend.streams[0]);
    expect(calls).toEqual([
      {
        kind: "tcp",
        args: [
          "example.com",
          8080,
          { timeout: 1234, localAddress: "127.0.0.9", socketOptions, signal },
        ],
      },
    ]);
    const info = { host: "example.com", port: 8080, timeout: 1234, localAddress: "127.0.0.9" };
    expect(events).toEqual([
      ["connection.connect_tcp.started", info],
      ["connection.connect_tcp.complete", { ...info, return_value: stream }],
    ]);
  });

  it("a Unix socket when uds is set, traced as connect_unix_socket with its prefix", async () => {
    const { backend, calls } = failingBackend([]);
    const dialer = new DirectDialer({
      networkBackend: backend,
      uds: "/tmp/x.sock",
      tracePrefix: "socks",
    });
    const { request, events } = tracedRequest("http://example.com:8080/");
    const signal = new AbortController().signal;
    const stream = await dialer.dial(origin, request, signal);
    expect(calls).toEqual([
      {
        kind: "unix",
        args: ["/tmp/x.sock", { timeout: undefined, socketOptions: undefined, signal }],
      },
    ]);
    expect(events).toEqual([
      ["socks.connect_unix_socket.started", { path: "/tmp/x.sock", timeout: undefined }],
      [
        "socks.connect_unix_socket.complete",
        { path: "/tmp/x.sock", timeout: undefined, return_value: stream },
      ],
    ]);
  });

  it("retries ConnectError and ConnectTimeout as many times as asked, with the backoff, traced", async () => {
    const { backend, calls } = failingBackend([
      new ConnectError("refused (test)"),
      new ConnectTimeout("slow (test)"),
      new ConnectError("refused (test)"),
    ]);
    const dialer = new DirectDialer({ networkBackend: backend, retries: 3, tracePrefix: "p" });
    const { request, events } = tracedRequest("http://example.com:8080/");
    await dialer.dial(origin, request, new AbortController().signal);
    expect(calls).toHaveLength(4);
    expect(backend.sleeps).toEqual([0, 500, 1000]);
    expect(events.filter(([name]) => name.startsWith("p.retry"))).toEqual([
      ["p.retry.started", { delay: 0 }],
      ["p.retry.complete", { delay: 0, return_value: undefined }],
      ["p.retry.started", { delay: 500 }],
      ["p.retry.complete", { delay: 500, return_value: undefined }],
      ["p.retry.started", { delay: 1000 }],
      ["p.retry.complete", { delay: 1000, return_value: undefined }],
    ]);
  });

  it("no retries by default, and none past the count: the last error", async () => {
    const first = new ConnectError("refused (test)");
    let { backend, calls } = failingBackend([first]);
    const request = new Request("GET", "http://example.com:8080/");
    await expect(
      new DirectDialer({ networkBackend: backend }).dial(
        origin,
        request,
        new AbortController().signal,
      ),
    ).rejects.toBe(first);
    expect(calls).toHaveLength(1);
    expect(backend.sleeps).toEqual([]);
    const last = new ConnectError("refused again (test)");
    ({ backend, calls } = failingBackend([new ConnectError("refused (test)"), last]));
    await expect(
      new DirectDialer({ networkBackend: backend, retries: 1 }).dial(
        origin,
        request,
        new AbortController().signal,
      ),
    ).rejects.toBe(last);
    expect(calls).toHaveLength(2);
  });

  it("other errors, and any error once the signal aborted, are not retried", async () => {
    const other = new RemoteProtocolError("not a connect error (test)");
    let { backend, calls } = failingBackend([other]);
    const request = new Request("GET", "http://example.com:8080/");
    await expect(
      new DirectDialer({ networkBackend: backend, retries: 3 }).dial(
        origin,
        request,
        new AbortController().signal,
      ),
    ).rejects.toBe(other);
    expect(calls).toHaveLength(1);
    const refused = new ConnectError("refused (test)");
    ({ backend, calls } = failingBackend([refused]));
    await expect(
      new DirectDialer({ networkBackend: backend, retries: 3 }).dial(
        origin,
        request,
        AbortSignal.abort(),
      ),
    ).rejects.toBe(refused);
    expect(calls).toHaveLength(1);
    expect(backend.sleeps).toEqual([]);
  });

  it("a NodeBackend by default", async () => {
    const server = await startRawServer(() => {});
    const dialer = new DirectDialer();
    const here = new URL(`http://127.0.0.1:${server.port}/`).origin;
    const stream = await dialer.dial(
      here,
      new Request("GET", `http://127.0.0.1:${server.port}/`),
      new AbortController().signal,
    );
    expect(stream.getExtraInfo("socket")).toBeInstanceOf(Socket);
    await stream.close();
    await server.close();
  });
});

describe("startTlsFor", () => {
  // A stream that records its startTls calls and returns `secured`.
  function recording() {
    const calls: unknown[][] = [];
    const secured = new MockStream([], new MockBackend([]));
    const stream = new MockStream([], new MockBackend([]));
    stream.startTls = async (...args: unknown[]) => {
      calls.push(args);
      return secured;
    };
    return { stream, secured, calls };
  }

  it("http and ws origins: the stream as it is", async () => {
    for (const url of ["http://example.com/", "ws://example.com/"]) {
      const { stream, calls } = recording();
      const request = new Request("GET", url);
      const signal = new AbortController().signal;
      const origin = new URL(url).origin;
      expect(await startTlsFor(origin, stream, request, undefined, ["h2"], signal)).toBe(stream);
      expect(calls).toEqual([]);
    }
  });

  it("https and wss: TLS to the host (or the SNI name), offering alpn unless tls names its own", async () => {
    for (const url of ["https://example.com/", "wss://example.com/"]) {
      const { stream, secured, calls } = recording();
      const signal = new AbortController().signal;
      const { request, events } = tracedRequest(url, { timeout: { connect: 77 } });
      const origin = new URL(url).origin;
      const tls = { rejectUnauthorized: false };
      const alpn = ["h2", "http/1.1"];
      expect(await startTlsFor(origin, stream, request, tls, alpn, signal)).toBe(secured);
      expect(calls).toEqual([
        [
          { ALPNProtocols: ["h2", "http/1.1"], rejectUnauthorized: false },
          "example.com",
          77,
          signal,
        ],
      ]);
      const info = { serverHostname: "example.com", timeout: 77 };
      expect(events).toEqual([
        ["connection.start_tls.started", info],
        ["connection.start_tls.complete", { ...info, return_value: secured }],
      ]);
    }
    const { stream, calls } = recording();
    const signal = new AbortController().signal;
    const { request, events } = tracedRequest("https://example.com/", {
      sniHostname: "sni.test",
    });
    const origin = new URL("https://example.com/").origin;
    await startTlsFor(
      origin,
      stream,
      request,
      { ALPNProtocols: ["x"] },
      ["h2"],
      signal,
      "proxy.start_tls",
    );
    expect(calls).toEqual([[{ ALPNProtocols: ["x"] }, "sni.test", undefined, signal]]);
    expect(events[0]).toEqual([
      "proxy.start_tls.started",
      { serverHostname: "sni.test", timeout: undefined },
    ]);
  });
});

describe("MockBackend and MockStream", () => {
  it("replays the chunks (split to the size asked), then EOF; records writes", async () => {
    const backend = new MockBackend(["hello", encoder.encode("!")]);
    const stream = (await backend.connectTcp("example.com", 80)) as MockStream;
    expect(backend.streams).toEqual([stream]);
    expect(text(await stream.read(3))).toBe("hel");
    // A chunk exactly as large as asked comes whole, and the next one after it.
    expect(text(await stream.read(2))).toBe("lo");
    expect(text(await stream.read(100))).toBe("!");
    expect((await stream.read(100)).length).toBe(0);
    const data = encoder.encode("sent");
    await stream.write(data);
    data[0] = 0x53; // the recorded copy does not change
    expect(stream.written.map(text)).toEqual(["sent"]);
    expect(backend.written.map(text)).toEqual(["sent"]);
    expect(stream.getExtraInfo("is_readable")).toBe(false);
    expect(stream.getExtraInfo("socket")).toBeUndefined();
    // Each connection replays the whole script.
    const unix = await backend.connectUnixSocket("/tmp/x.sock");
    expect(backend.streams).toHaveLength(2);
    expect(text(await unix.read(100))).toBe("hello");
  });

  it("TLS is recorded; a closed stream refuses everything with the usual errors", async () => {
    const backend = new MockBackend([]);
    const stream = (await backend.connectTcp("example.com", 443)) as MockStream;
    expect(stream.tls).toBe(false);
    expect(await stream.startTls({}, "example.com")).toBe(stream);
    expect(stream.tls).toBe(true);
    await stream.close();
    expect(stream.closed).toBe(true);
    expect(stream.getExtraInfo("is_readable")).toBe(true);
    await expect(stream.read(10)).rejects.toThrow(ReadError);
    await expect(stream.read(10)).rejects.toThrow("the stream is closed");
    await expect(stream.write(new Uint8Array(1))).rejects.toThrow(WriteError);
    await expect(stream.write(new Uint8Array(1))).rejects.toThrow("the stream is closed");
    await expect(stream.startTls({}, "example.com")).rejects.toThrow(ConnectError);
    await expect(stream.startTls({}, "example.com")).rejects.toThrow("the stream is closed");
    expect(backend.written).toEqual([]);
  });

  it("sleep records the delay; resolve answers from its addresses, by family", async () => {
    const backend = new MockBackend([], {
      addresses: { "a.test": "192.0.2.1", "b.test": "2001:db8::1" },
    });
    await backend.sleep(25);
    expect(backend.sleeps).toEqual([25]);
    expect(await backend.resolve("a.test")).toBe("192.0.2.1");
    expect(await backend.resolve("a.test", { family: 4 })).toBe("192.0.2.1");
    expect(await backend.resolve("b.test", { family: 6 })).toBe("2001:db8::1");
    await expect(backend.resolve("a.test", { family: 6 })).rejects.toThrow(ConnectError);
    await expect(backend.resolve("b.test", { family: 4 })).rejects.toThrow(
      "could not resolve b.test (not in the MockBackend's addresses)",
    );
    await expect(backend.resolve("c.test")).rejects.toMatchObject({
      code: "ERR_CONNECT",
      message: "could not resolve c.test (not in the MockBackend's addresses)",
    });
    // Names inherited from Object are not addresses.
    await expect(backend.resolve("toString")).rejects.toThrow(ConnectError);
    await expect(new MockBackend([]).resolve("a.test")).rejects.toThrow(ConnectError);
  });
});

describe("traced", () => {
  it("started, then complete with the return value, each with the info", async () => {
    const { request, events } = tracedRequest("http://example.com/");
    expect(await traced("x.step", request, { a: 1 }, async () => 42)).toBe(42);
    expect(events).toEqual([
      ["x.step.started", { a: 1 }],
      ["x.step.complete", { a: 1, return_value: 42 }],
    ]);
  });

  it("started, then failed with the error, which is thrown", async () => {
    const { request, events } = tracedRequest("http://example.com/");
    const error = new Error("boom (test)");
    await expect(
      traced("x.step", request, { a: 1 }, async () => {
        throw error;
      }),
    ).rejects.toBe(error);
    expect(events).toEqual([
      ["x.step.started", { a: 1 }],
      ["x.step.failed", { a: 1, exception: error }],
    ]);
  });

  it("waits for an async trace callback before going on", async () => {
    const order: string[] = [];
    const request = new Request("GET", "http://example.com/", {
      extensions: {
        trace: async (name) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          order.push(name);
        },
      },
    });
    await traced("x", request, {}, async () => void order.push("fn"));
    expect(order).toEqual(["x.started", "fn", "x.complete"]);
  });

  it("without a request, or a trace, only runs fn", async () => {
    expect(await traced("x", null, {}, async () => 1)).toBe(1);
    expect(await traced("x", new Request("GET", "http://example.com/"), {}, async () => 2)).toBe(2);
  });
});

describe("printable", () => {
  it("inspect shows toString()", () => {
    class Thing {
      toString(): string {
        return "<Thing [IDLE]>";
      }
    }
    printable(Thing);
    expect(inspect(new Thing())).toBe("<Thing [IDLE]>");
    expect(inspect({ inner: new Thing() })).toBe("{ inner: <Thing [IDLE]> }");
    // Writable and configurable: a subclass can print its own way.
    const descriptor = Object.getOwnPropertyDescriptor(Thing.prototype, inspect.custom);
    expect(descriptor).toMatchObject({ writable: true, configurable: true, enumerable: false });
  });
});

// A stream whose reads and writes are settled by the test.
function scriptedStream(overrides: Partial<NetworkStream> = {}): NetworkStream {
  return {
    read: () => new Promise<Uint8Array>(() => {}),
    write: async () => {},
    close: async () => {},
    startTls: async () => {
      throw new Error("no TLS here");
    },
    getExtraInfo: () => undefined,
    ...overrides,
  };
}

describe("NetworkSocket", () => {
  it("a failed read destroys it with that error; onClose runs once", async () => {
    const error = new ReadError("reading failed (test)");
    let closes = 0;
    const socket = new NetworkSocket(scriptedStream({ read: () => Promise.reject(error) }), {
      onClose: () => closes++,
    });
    const errors: unknown[] = [];
    socket.on("error", (e) => errors.push(e));
    socket.resume();
    await closed(socket);
    expect(errors).toEqual([error]);
    expect(closes).toBe(1);
  });

  it("reads one chunk at a time, as the reader asks", async () => {
    let reads = 0;
    const resolvers: Array<(chunk: Uint8Array) => void> = [];
    const socket = new NetworkSocket(
      scriptedStream({
        read: () => {
          reads++;
          return new Promise<Uint8Array>((resolve) => resolvers.push(resolve));
        },
      }),
    );
    const chunks: string[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
    await new Promise((resolve) => setImmediate(resolve));
    // Readable asks again while the first read is pending: still one read.
    socket.read(0);
    expect(reads).toBe(1);
    resolvers.shift()!(encoder.encode("a"));
    await until(() => reads === 2);
    resolvers.shift()!(new Uint8Array(0));
    await once(socket, "end");
    expect(chunks).toEqual(["a"]);
    socket.destroy();
    await closed(socket);
  });

  it("a failed write reaches the writer's callback", async () => {
    const error = new WriteError("writing failed (test)");
    const socket = new NetworkSocket(scriptedStream({ write: () => Promise.reject(error) }));
    socket.on("error", () => {});
    const written = await new Promise((resolve) => socket.write("x", resolve));
    expect(written).toBe(error);
    socket.destroy();
    await closed(socket);
  });

  it("a write the stream took calls back without an error, and the next write goes out", async () => {
    const writes: string[] = [];
    const socket = new NetworkSocket(
      scriptedStream({ write: async (data) => void writes.push(text(data)) }),
    );
    const results: unknown[] = [];
    socket.write("a", (error) => results.push(error));
    socket.write("b", (error) => results.push(error));
    await turns(3);
    expect(writes).toEqual(["a", "b"]);
    expect(results).toEqual([null, null]);
    socket.destroy();
    await closed(socket);
  });

  it("the stream's EOF ends the socket both ways, as net.Socket does: the stream is closed", async () => {
    let closes = 0;
    let streamCloses = 0;
    const stream = await new MockBackend(["hello"]).connectTcp("example.com", 80);
    const close = stream.close.bind(stream);
    stream.close = () => {
      streamCloses++;
      return close();
    };
    const socket = new NetworkSocket(stream, { onClose: () => closes++ });
    const chunks: string[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
    await once(socket, "end");
    expect(chunks).toEqual(["hello"]);
    // Not half-open: the end of the peer's data ends our side too, and the socket closes.
    await turns(3);
    expect(socket.writableEnded).toBe(true);
    if (!socket.closed) socket.destroy();
    await closed(socket);
    expect(closes).toBe(1);
    expect(streamCloses).toBe(1);
  });

  it("each read and each write restarts the idle timeout; destroy() stops it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const reads: Array<(chunk: Uint8Array) => void> = [];
      const socket = new NetworkSocket(
        scriptedStream({ read: () => new Promise((resolve) => reads.push(resolve)) }),
      );
      const chunks: string[] = [];
      socket.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
      let timeouts = 0;
      socket.on("timeout", () => timeouts++);
      socket.setTimeout(100);
      await turns(1);
      expect(reads.length).toBe(1);
      vi.advanceTimersByTime(60);
      await new Promise<void>((resolve) => socket.write("x", () => resolve()));
      // 120 ms after setTimeout, 60 after the write.
      vi.advanceTimersByTime(60);
      expect(timeouts).toBe(0);
      reads.shift()!(encoder.encode("a"));
      await turns(1);
      expect(chunks).toEqual(["a"]);
      // 180 ms after setTimeout, 120 after the write, 60 after the read.
      vi.advanceTimersByTime(60);
      expect(timeouts).toBe(0);
      vi.advanceTimersByTime(50);
      expect(timeouts).toBe(1);
      socket.setTimeout(100);
      socket.destroy();
      await closed(socket);
      vi.advanceTimersByTime(500);
      expect(timeouts).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("the idle timer does not keep the process alive (unref)", async () => {
    const socket = new NetworkSocket(scriptedStream());
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    socket.setTimeout(60_000);
    const after = timers();
    socket.setTimeout(0);
    expect(after).toBe(before);
    socket.destroy();
    await closed(socket);
  });

  it("destroyed with an error: the error is emitted, onClose runs, also when close() fails", async () => {
    let closes = 0;
    const socket = new NetworkSocket(
      scriptedStream({ close: () => Promise.reject(new Error("close failed (test)")) }),
      { onClose: () => closes++ },
    );
    const errors: unknown[] = [];
    socket.on("error", (e) => errors.push(e));
    const error = new Error("destroyed (test)");
    socket.destroy(error);
    await closed(socket);
    expect(errors).toEqual([error]);
    expect(closes).toBe(1);
  });

  it("end() does not close the stream; destroy() does", async () => {
    let closes = 0;
    const socket = new NetworkSocket(scriptedStream({ close: async () => void closes++ }));
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.end(resolve));
    expect(closes).toBe(0);
    socket.destroy();
    await closed(socket);
    expect(closes).toBe(1);
  });

  it("setTimeout: 'timeout' after idle ms; 0 clears it and removes the callback", async () => {
    const socket = new NetworkSocket(scriptedStream());
    const fired: string[] = [];
    const cb = () => fired.push("cb");
    socket.setTimeout(5, cb);
    expect(socket.listenerCount("timeout")).toBe(1);
    socket.setTimeout(0, cb);
    expect(socket.timeout).toBe(0);
    expect(socket.listenerCount("timeout")).toBe(0);
    socket.setTimeout(5);
    expect(socket.timeout).toBe(5);
    await once(socket, "timeout");
    socket.setTimeout(0);
    socket.on("timeout", () => fired.push("late"));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fired).toEqual([]);
    socket.destroy();
    await closed(socket);
  });

  it("setNoDelay, setKeepAlive, ref and unref reach the Node socket under the stream", async () => {
    const server = await startRawServer(() => {});
    const stream = await new NodeBackend().connectTcp("127.0.0.1", server.port);
    const raw = stream.getExtraInfo("socket") as Socket;
    const noDelay = vi.spyOn(raw, "setNoDelay");
    const keepAlive = vi.spyOn(raw, "setKeepAlive");
    const ref = vi.spyOn(raw, "ref");
    const unref = vi.spyOn(raw, "unref");
    const socket = new NetworkSocket(stream);
    expect(socket.setNoDelay(false)).toBe(socket);
    expect(socket.setKeepAlive(true, 10)).toBe(socket);
    expect(socket.unref()).toBe(socket);
    expect(socket.ref()).toBe(socket);
    expect(noDelay.mock.calls).toEqual([[false]]);
    expect(keepAlive.mock.calls).toEqual([[true, 10]]);
    expect(unref).toHaveBeenCalledTimes(1);
    expect(ref).toHaveBeenCalledTimes(1);
    expect(socket.connecting).toBe(false);
    socket.destroy();
    await closed(socket);
    await server.close();
  });

  it("without a Node socket under the stream, those calls do nothing", async () => {
    for (const value of [undefined, null, "a string"]) {
      const socket = new NetworkSocket(scriptedStream({ getExtraInfo: () => value }));
      expect(socket.setNoDelay(true).setKeepAlive(true).ref().unref()).toBe(socket);
      socket.destroy();
      await closed(socket);
    }
  });
});

// Resolves once `socket` has closed (at once if it has), whatever it emitted before.
function closed(socket: NetworkSocket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

// Lets `n` turns of the event loop pass (immediates: no timer, real or fake, involved).
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

// Waits until `check` holds, one timer turn at a time.
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 1));
}
