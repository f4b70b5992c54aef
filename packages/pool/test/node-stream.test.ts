// NodeBackend and NodeStream over real loopback sockets: the errors each operation gives
// (class, code, message), the pending read, timeouts, aborts, the TLS step, the socket
// options, getExtraInfo's keys, and backpressure both ways.
import { once } from "node:events";
import { type AddressInfo, connect as connectNet, isIP, Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { startRawServer, testCA } from "@x/testkit";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ConnectError,
  ConnectTimeout,
  NodeBackend,
  NodeStream,
  ReadError,
  ReadTimeout,
  WriteError,
  WriteTimeout,
} from "../src/index.js";

afterEach(async () => {
  vi.restoreAllMocks();
});

const text = (b: Uint8Array) => Buffer.from(b).toString();
const backend = new NodeBackend();

// Waits until `check` holds, polling once per event-loop turn (no timing assumption: it
// waits for an event, however long the machine takes).
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 1));
}

// A server whose sockets the test drives: resolves with the next accepted one.
async function drivenServer() {
  const accepted: Socket[] = [];
  const waiting: Array<(socket: Socket) => void> = [];
  const server = await startRawServer((socket) => {
    const take = waiting.shift();
    if (take === undefined) accepted.push(socket);
    else take(socket);
  });
  const next = (): Promise<Socket> => {
    const socket = accepted.shift();
    if (socket !== undefined) return Promise.resolve(socket);
    return new Promise((resolve) => waiting.push(resolve));
  };
  return { server, next };
}

// A NodeStream to a driven server, and the server's side of it.
async function connected() {
  const { server, next } = await drivenServer();
  const stream = (await backend.connectTcp("127.0.0.1", server.port)) as NodeStream;
  return { server, stream, peer: await next() };
}

describe("NodeStream reads", () => {
  it("a pending read larger chunks are split to its size, the rest kept for the next read", async () => {
    const { server, stream, peer } = await connected();
    const pending = stream.read(3);
    peer.write("hello");
    expect(text(await pending)).toBe("hel");
    expect(stream.getExtraInfo("is_readable")).toBe(true);
    expect(text(await stream.read(100))).toBe("lo");
    expect(stream.getExtraInfo("is_readable")).toBe(false);
    await stream.close();
    await server.close();
  });

  it("a second read while one is pending: ReadError; the first still gets the bytes", async () => {
    const { server, stream, peer } = await connected();
    const first = stream.read(100);
    const second = stream.read(100);
    await expect(second).rejects.toThrow(ReadError);
    await expect(second).rejects.toMatchObject({
      code: "ERR_READ",
      message: "a read is already pending",
    });
    peer.write("one");
    expect(text(await first)).toBe("one");
    await stream.close();
    await server.close();
  });

  it("a read pending when the stream is closed, and one after: ReadError", async () => {
    const { server, stream } = await connected();
    const pending = stream.read(100);
    await stream.close();
    await expect(pending).rejects.toThrow(ReadError);
    await expect(pending).rejects.toThrow("the connection was closed while reading");
    await expect(stream.read(100)).rejects.toMatchObject({
      code: "ERR_READ",
      message: "the connection was closed",
    });
    // Closing again changes nothing.
    await stream.close();
    expect(stream.getExtraInfo("is_readable")).toBe(true);
    await server.close();
  });

  it("the peer's EOF ends a pending read with no bytes, and every read after", async () => {
    const { server, stream, peer } = await connected();
    const pending = stream.read(100);
    peer.end();
    expect((await pending).length).toBe(0);
    expect((await stream.read(100)).length).toBe(0);
    expect(stream.getExtraInfo("is_readable")).toBe(true);
    await stream.close();
    await server.close();
  });

  it("a reset by the peer fails a pending read, and the next one, with ReadError and its cause", async () => {
    const { server, stream, peer } = await connected();
    const pending = stream.read(100);
    peer.resetAndDestroy();
    const error = await pending.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReadError);
    expect((error as ReadError).message).toMatch(/^reading failed: ECONNRESET: /);
    expect(((error as ReadError).cause as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    await expect(stream.read(100)).rejects.toThrow(/^reading failed: ECONNRESET: /);
    expect(stream.getExtraInfo("is_readable")).toBe(true);
    // A write after the error names it too.
    await expect(stream.write(new Uint8Array([1]))).rejects.toMatchObject({
      code: "ERR_WRITE",
      message: expect.stringMatching(/^writing failed: ECONNRESET: /),
    });
    await stream.close();
    await server.close();
  });

  it("a read that waits longer than its timeout: ReadTimeout; the stream still reads after", async () => {
    const { server, stream, peer } = await connected();
    const error = await stream.read(100, 20).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReadTimeout);
    expect(error).toMatchObject({
      code: "ERR_READ_TIMEOUT",
      message: "no data arrived within 20 ms",
    });
    // The timed-out read is forgotten: a new one waits and gets the next bytes.
    const again = stream.read(100);
    peer.write("late");
    expect(text(await again)).toBe("late");
    await stream.close();
    await server.close();
  });

  it("a read answered before its timeout is not failed by it later", async () => {
    const { server, stream, peer } = await connected();
    const first = stream.read(100, 30);
    peer.write("in time");
    expect(text(await first)).toBe("in time");
    // A second read without a timeout, pending past the first one's: not rejected by it.
    const second = stream.read(100);
    let settled = false;
    second.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(settled).toBe(false);
    peer.write("later");
    expect(text(await second)).toBe("later");
    await stream.close();
    await server.close();
  });

  it("a read answered before its timeout clears its timer", async () => {
    const { server, stream, peer } = await connected();
    const set = vi.spyOn(globalThis, "setTimeout");
    const clear = vi.spyOn(globalThis, "clearTimeout");
    const reading = stream.read(100, 60_000);
    const at = set.mock.calls.findIndex((call) => call[1] === 60_000);
    expect(at).toBeGreaterThanOrEqual(0);
    const timer = set.mock.results[at]!.value;
    expect(clear).not.toHaveBeenCalledWith(timer);
    peer.write("in time");
    expect(text(await reading)).toBe("in time");
    expect(clear).toHaveBeenCalledWith(timer);
    vi.restoreAllMocks();
    await stream.close();
    await server.close();
  });

  it("more than 256 KiB unread pauses the socket; reading it resumes", async () => {
    const payload = Buffer.alloc(1024 * 1024, 7);
    const { server, stream, peer } = await connected();
    peer.write(payload);
    await until(() => stream.socket.isPaused());
    let got = 0;
    while (got < payload.length) got += (await stream.read(64 * 1024)).length;
    expect(got).toBe(payload.length);
    expect(stream.socket.isPaused()).toBe(false);
    await stream.close();
    await server.close();
  });
});

describe("NodeStream.readOrWait (read() without a promise)", () => {
  // The callbacks of one read, and what they were called with.
  function callbacks() {
    const calls: Array<["data", string] | ["error", unknown]> = [];
    let called: () => void = () => {};
    const settled = new Promise<void>((resolve) => {
      called = resolve;
    });
    return {
      calls,
      settled,
      onData: (data: Uint8Array) => {
        calls.push(["data", text(data)]);
        called();
      },
      onError: (error: unknown) => {
        calls.push(["error", error]);
        called();
      },
    };
  }

  it("bytes waiting: returned at once (split to its size); none: null, then onData once", async () => {
    const { server, stream, peer } = await connected();
    const first = callbacks();
    expect(stream.readOrWait(3, undefined, first.onData, first.onError)).toBeNull();
    peer.write("hello");
    await first.settled;
    expect(first.calls).toEqual([["data", "hel"]]);
    const second = callbacks();
    const now = stream.readOrWait(100, undefined, second.onData, second.onError);
    expect(text(now!)).toBe("lo");
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(first.calls).toHaveLength(1);
    expect(second.calls).toHaveLength(0);
    await stream.close();
    await server.close();
  });

  it("EOF: an empty array at once; closed: throws ReadError at once; a read pending: throws", async () => {
    const { server, stream, peer } = await connected();
    const pending = callbacks();
    expect(stream.readOrWait(100, undefined, pending.onData, pending.onError)).toBeNull();
    const second = callbacks();
    expect(() => stream.readOrWait(100, undefined, second.onData, second.onError)).toThrow(
      "a read is already pending",
    );
    peer.end();
    await pending.settled;
    expect(pending.calls).toEqual([["data", ""]]);
    const atEof = callbacks();
    expect(stream.readOrWait(100, undefined, atEof.onData, atEof.onError)?.length).toBe(0);
    await stream.close();
    expect(() => stream.readOrWait(100, undefined, atEof.onData, atEof.onError)).toThrow(ReadError);
    expect(atEof.calls).toHaveLength(0);
    await server.close();
  });

  it("a read that waits: onError once with ReadTimeout after its timeout, or ReadError when the stream closes", async () => {
    const { server, stream, peer } = await connected();
    const timed = callbacks();
    expect(stream.readOrWait(100, 20, timed.onData, timed.onError)).toBeNull();
    await timed.settled;
    expect(timed.calls).toHaveLength(1);
    expect(timed.calls[0]![1]).toBeInstanceOf(ReadTimeout);
    const closed = callbacks();
    expect(stream.readOrWait(100, 1000, closed.onData, closed.onError)).toBeNull();
    await stream.close();
    await closed.settled;
    expect(closed.calls).toHaveLength(1);
    expect(closed.calls[0]![1]).toMatchObject({
      code: "ERR_READ",
      message: "the connection was closed while reading",
    });
    peer.write("too late");
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(timed.calls).toHaveLength(1);
    expect(closed.calls).toHaveLength(1);
    await server.close();
  });
});

describe("NodeStream writes", () => {
  it("an empty write resolves; a write to a closed stream: WriteError", async () => {
    const { server, stream } = await connected();
    await stream.write(new Uint8Array(0));
    await stream.close();
    const error = await stream.write(new Uint8Array([1])).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WriteError);
    expect(error).toMatchObject({ code: "ERR_WRITE", message: "the connection is closed" });
    await server.close();
  });

  it("a write the peer does not take waits for drain, and fails with WriteTimeout", async () => {
    const { server, stream, peer } = await connected();
    peer.pause();
    const big = new Uint8Array(8 * 1024 * 1024);
    const error = await stream.write(big, 50).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WriteTimeout);
    expect(error).toMatchObject({
      code: "ERR_WRITE_TIMEOUT",
      message: "the peer did not take our bytes within 50 ms",
    });
    // The listeners of the failed write are gone.
    expect(stream.socket.listenerCount("drain")).toBe(0);
    await stream.close();
    await server.close();
  });

  it("a write the peer takes later resolves once drained", async () => {
    const { server, stream, peer } = await connected();
    peer.pause();
    const big = new Uint8Array(8 * 1024 * 1024);
    const listening = ["drain", "error", "close"].map((e) => stream.socket.listenerCount(e));
    const set = vi.spyOn(globalThis, "setTimeout");
    const clear = vi.spyOn(globalThis, "clearTimeout");
    let done = false;
    const writing = stream.write(big, 60_000).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toBe(false);
    // An empty write while the socket's buffer is full resolves at once all the same.
    expect(await settledNow(stream.write(new Uint8Array(0)))).toBeUndefined();
    let received = 0;
    peer.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    peer.resume();
    await writing;
    // Its listeners are gone, and its timer cleared.
    expect(["drain", "error", "close"].map((e) => stream.socket.listenerCount(e))).toEqual(
      listening,
    );
    const at = set.mock.calls.findIndex((call) => call[1] === 60_000);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(clear).toHaveBeenCalledWith(set.mock.results[at]!.value);
    vi.restoreAllMocks();
    await until(() => received === big.length);
    await stream.close();
    await server.close();
  });

  it("a write without a timeout waits for drain as long as it takes (no timer)", async () => {
    const { server, stream, peer } = await connected();
    peer.pause();
    const big = new Uint8Array(8 * 1024 * 1024);
    const set = vi.spyOn(globalThis, "setTimeout");
    let outcome: unknown = "pending";
    const writing = stream.write(big).then(
      () => {
        outcome = "written";
      },
      (e: unknown) => {
        outcome = e;
      },
    );
    expect(set).not.toHaveBeenCalled();
    vi.restoreAllMocks();
    // Still waiting a while later: the peer has not read.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(outcome).toBe("pending");
    let received = 0;
    peer.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    peer.resume();
    await writing;
    expect(outcome).toBe("written");
    await until(() => received === big.length);
    await stream.close();
    await server.close();
  });

  it("a write waiting for drain when the stream closes: WriteError", async () => {
    const { server, stream, peer } = await connected();
    peer.pause();
    const writing = stream.write(new Uint8Array(8 * 1024 * 1024));
    await stream.close();
    const error = await writing.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WriteError);
    expect((error as WriteError).message).toMatch(
      /^(the connection closed while writing|writing failed: )/,
    );
    await server.close();
  });

  it("a write waiting for drain when the socket fails: WriteError with the error as cause", async () => {
    const { server, stream, peer } = await connected();
    peer.pause();
    const writing = stream.write(new Uint8Array(8 * 1024 * 1024));
    // The socket's error, made here so that its message and code are known.
    const failure = Object.assign(new Error("the wire broke (test)"), { code: "EPIPE" });
    stream.socket.emit("error", failure);
    const error = await writing.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WriteError);
    expect((error as WriteError).message).toMatch(/^writing failed: .*the wire broke \(test\)/);
    expect((error as WriteError).cause).toBe(failure);
    await stream.close();
    await server.close();
  });

  it("a write waiting for drain when the socket is destroyed without an error: WriteError", async () => {
    const { server, stream, peer } = await connected();
    peer.pause();
    const writing = stream.write(new Uint8Array(8 * 1024 * 1024));
    stream.socket.destroy();
    const error = await writing.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WriteError);
    expect((error as WriteError).message).toBe("the connection closed while writing");
    await stream.close();
    await server.close();
  });

  it("a write waiting for drain when the peer resets: WriteError naming the error", async () => {
    const { server, stream, peer } = await connected();
    peer.pause();
    const writing = stream.write(new Uint8Array(8 * 1024 * 1024));
    peer.resetAndDestroy();
    const error = await writing.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WriteError);
    expect((error as WriteError).message).toMatch(
      /^(writing failed: E[A-Z]+: |the connection closed while writing)/,
    );
    await stream.close();
    await server.close();
  });
});

describe("NodeBackend connects", () => {
  it("a refused port: ConnectError naming the address and the system's error", async () => {
    const { server } = await drivenServer();
    const port = server.port;
    await server.close();
    const error = await backend.connectTcp("127.0.0.1", port).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({
      code: "ERR_CONNECT",
      message: expect.stringMatching(
        new RegExp(`^could not connect to 127\\.0\\.0\\.1:${port}: ECONNREFUSED: `),
      ),
    });
    expect(((error as ConnectError).cause as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  it("a Unix socket that is not there: ConnectError naming the path", async () => {
    const path = "/nonexistent-x-http/s.sock";
    await expect(backend.connectUnixSocket(path)).rejects.toMatchObject({
      code: "ERR_CONNECT",
      message: expect.stringMatching(/^could not connect to \/nonexistent-x-http\/s\.sock: ENOENT/),
    });
  });

  it("an aborted signal: ConnectError with the reason as cause, before or while connecting", async () => {
    const { server, next } = await drivenServer();
    const reason = new Error("stop (test)");
    const aborted = AbortSignal.abort(reason);
    const error = await backend.connectTcp("127.0.0.1", server.port, { signal: aborted }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({
      message: `connecting to 127.0.0.1:${server.port} was aborted`,
      cause: reason,
    });
    const controller = new AbortController();
    const connecting = backend.connectTcp("127.0.0.1", server.port, {
      signal: controller.signal,
    });
    controller.abort(reason);
    await expect(connecting).rejects.toMatchObject({
      message: `connecting to 127.0.0.1:${server.port} was aborted`,
      cause: reason,
    });
    // A signal that never aborts, and a timeout that never fires, leave a stream.
    const stream = await backend.connectTcp("127.0.0.1", server.port, {
      signal: new AbortController().signal,
      timeout: 60_000,
    });
    await next();
    expect(stream.getExtraInfo("is_readable")).toBe(false);
    await stream.close();
    await server.close();
  });

  it("a connect that takes longer than its timeout: ConnectTimeout", async () => {
    // A socket whose connect() never starts: it stays pending until the timeout destroys it.
    const { server } = await drivenServer();
    vi.spyOn(Socket.prototype, "connect").mockImplementation(function (this: Socket) {
      return this;
    });
    const destroyed: Socket[] = [];
    const destroy = Socket.prototype.destroy;
    vi.spyOn(Socket.prototype, "destroy").mockImplementation(function (this: Socket, e) {
      destroyed.push(this);
      return destroy.call(this, e);
    });
    const error = await backend.connectTcp("127.0.0.1", server.port, { timeout: 10 }).then(
      () => null,
      (e: unknown) => e,
    );
    vi.restoreAllMocks();
    // The socket that never connected is destroyed.
    expect(destroyed.length).toBe(1);
    expect(error).toBeInstanceOf(ConnectTimeout);
    expect(error).toMatchObject({
      code: "ERR_CONNECT_TIMEOUT",
      message: `connecting to 127.0.0.1:${server.port} took longer than 10 ms`,
    });
    await server.close();
  });

  it("socket options: no delay by default, keep-alive when asked", async () => {
    const { server, next } = await drivenServer();
    const noDelay = vi.spyOn(Socket.prototype, "setNoDelay");
    const keepAlive = vi.spyOn(Socket.prototype, "setKeepAlive");
    const a = await backend.connectTcp("127.0.0.1", server.port);
    expect(noDelay).toHaveBeenLastCalledWith(true);
    expect(keepAlive).not.toHaveBeenCalled();
    const b = await backend.connectTcp("127.0.0.1", server.port, {
      socketOptions: { noDelay: false, keepAlive: true, keepAliveInitialDelay: 1234 },
    });
    expect(noDelay).toHaveBeenLastCalledWith(false);
    expect(keepAlive).toHaveBeenLastCalledWith(true, 1234);
    const c = await backend.connectTcp("127.0.0.1", server.port, {
      socketOptions: { keepAlive: true },
    });
    expect(keepAlive).toHaveBeenLastCalledWith(true, 0);
    expect(keepAlive).toHaveBeenCalledTimes(2);
    await next();
    await next();
    await next();
    for (const s of [a, b, c]) await s.close();
    await server.close();
  });

  it("connects from localAddress; server_addr and client_addr say where", async () => {
    const { server, next } = await drivenServer();
    const stream = await backend.connectTcp("127.0.0.1", server.port, {
      localAddress: "127.0.0.2",
    });
    const peer = await next();
    expect(peer.remoteAddress).toBe("127.0.0.2");
    expect(stream.getExtraInfo("server_addr")).toEqual({ address: "127.0.0.1", port: server.port });
    expect(stream.getExtraInfo("client_addr")).toEqual({
      address: "127.0.0.2",
      port: peer.remotePort,
    });
    expect(stream.getExtraInfo("socket")).toBe((stream as NodeStream).socket);
    expect(stream.getExtraInfo("tls_socket")).toBeUndefined();
    expect(stream.getExtraInfo("ssl_object")).toBeUndefined();
    expect(stream.getExtraInfo("alpn_protocol")).toBeNull();
    expect(stream.getExtraInfo("no such key")).toBeUndefined();
    // A small read emptied the socket: nothing more can come in this poll phase.
    const reading = stream.read(100);
    peer.write("x");
    await reading;
    expect(stream.getExtraInfo("read_may_continue")).toBe(false);
    await stream.close();
    await server.close();
  });

  it("sleep waits", async () => {
    const started = Date.now();
    await backend.sleep(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4);
  });
});

describe("NodeBackend.resolve", () => {
  it("an address of the family asked for (or any) is its own answer", async () => {
    expect(await backend.resolve("127.0.0.1")).toBe("127.0.0.1");
    expect(await backend.resolve("127.0.0.1", { family: 4 })).toBe("127.0.0.1");
    expect(await backend.resolve("::1", { family: 6 })).toBe("::1");
    expect(await backend.resolve("::1")).toBe("::1");
  });

  it("an address of the other family than asked for: ConnectError (as MockBackend)", async () => {
    for (const [host, family, other] of [
      ["127.0.0.1", 6, 4],
      ["::1", 4, 6],
    ] as const) {
      const error = await backend.resolve(host, { family }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConnectError);
      expect(error).toMatchObject({
        code: "ERR_CONNECT",
        message: `could not resolve ${host} to an IPv${family} address: it is an IPv${other} address`,
      });
    }
  });

  it("a name that does not resolve: ConnectError naming it (and the family asked for)", async () => {
    // .invalid is reserved (RFC 2606): no resolver answers it.
    for (const [options, name] of [
      [{}, "nonexistent.invalid"],
      [{ family: 6 as const }, "nonexistent.invalid to an IPv6 address"],
    ] as const) {
      const error = await backend.resolve("nonexistent.invalid", options).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConnectError);
      expect(error).toMatchObject({
        code: "ERR_CONNECT",
        message: expect.stringMatching(new RegExp(`^could not resolve ${name}: E[A-Z_]+: `)),
      });
      expect((error as ConnectError).cause).toBeInstanceOf(Error);
    }
  });

  it("a name asked for in one family is looked up in that family only", async () => {
    // localhost is 127.0.0.1 in /etc/hosts; as IPv6 it is ::1 where the system says so, and
    // not found where it does not (as here): never the IPv4 address.
    const got = await backend.resolve("localhost", { family: 6 }).then(
      (address) => address,
      (e: unknown) => e,
    );
    if (typeof got === "string") {
      expect(isIP(got)).toBe(6);
    } else {
      expect(got).toBeInstanceOf(ConnectError);
      expect(got).toMatchObject({
        code: "ERR_CONNECT",
        message: expect.stringMatching(/^could not resolve localhost to an IPv6 address: /),
      });
    }
  });

  it("a name from /etc/hosts", async () => {
    expect(await backend.resolve("localhost", { family: 4 })).toBe("127.0.0.1");
    // Either family when none is asked for.
    expect(["127.0.0.1", "::1"]).toContain(await backend.resolve("localhost"));
  });
});

// A TLS server on loopback with a certificate for `localhost` and 127.0.0.1 that records
// the name each client asked for (SNI) and the ALPN protocol chosen.
async function tlsServer(alpn: string[] | undefined, names = ["localhost", "127.0.0.1"]) {
  const pair = testCA().issue(names);
  const sockets = new Set<Socket>();
  const seen: Array<{ servername: string | false | null; alpn: string | false | null }> = [];
  const server = createTlsServer(
    { key: pair.key, cert: pair.cert, ...(alpn === undefined ? {} : { ALPNProtocols: alpn }) },
    (socket: TLSSocket) => {
      seen.push({ servername: socket.servername, alpn: socket.alpnProtocol });
      socket.on("data", (chunk) => socket.write(chunk));
    },
  );
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port, seen, close };
}

describe("NodeStream.startTls", () => {
  it("offers http/1.1 by ALPN by default, names the host by SNI, and reads and writes", async () => {
    const server = await tlsServer(["h2", "http/1.1"]);
    const plain = await backend.connectTcp("127.0.0.1", server.port);
    const secure = await plain.startTls({ ca: testCA().cert }, "localhost");
    await until(() => server.seen.length > 0);
    expect(server.seen).toEqual([{ servername: "localhost", alpn: "http/1.1" }]);
    expect(secure.getExtraInfo("alpn_protocol")).toBe("http/1.1");
    const socket = secure.getExtraInfo("tls_socket") as TLSSocket;
    expect(socket.encrypted).toBe(true);
    expect(secure.getExtraInfo("ssl_object")).toBe(socket);
    // 'data' events (TLS): a read may always continue.
    expect(secure.getExtraInfo("read_may_continue")).toBe(true);
    await secure.write(new TextEncoder().encode("echo"));
    expect(text(await secure.read(100))).toBe("echo");
    await secure.close();
    await server.close();
  });

  it("no ALPN agreed: alpn_protocol is null; an IP address is not sent as SNI", async () => {
    const server = await tlsServer(undefined);
    const plain = await backend.connectTcp("127.0.0.1", server.port);
    const secure = await plain.startTls({ ca: testCA().cert, ALPNProtocols: [] }, "127.0.0.1");
    await until(() => server.seen.length > 0);
    expect(server.seen).toEqual([{ servername: false, alpn: false }]);
    expect(secure.getExtraInfo("alpn_protocol")).toBeNull();
    await secure.close();
    await server.close();
  });

  it("TLS over a TLS stream (a tunnel through a TLS proxy): reads and writes", async () => {
    const inner = await tlsServer(["http/1.1"]);
    // The outer server forwards what it decrypts to the inner one, as a TLS proxy's tunnel.
    const pair = testCA().issue(["localhost"]);
    const sockets = new Set<Socket>();
    const outer = createTlsServer({ key: pair.key, cert: pair.cert }, (socket: TLSSocket) => {
      const onward = connectNet(inner.port, "127.0.0.1");
      sockets.add(onward);
      socket.pipe(onward).pipe(socket);
      onward.on("error", () => socket.destroy());
      socket.on("error", () => onward.destroy());
    });
    outer.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => outer.listen(0, "127.0.0.1", resolve));
    const plain = await backend.connectTcp("127.0.0.1", (outer.address() as AddressInfo).port);
    const tunnel = await plain.startTls({ ca: testCA().cert }, "localhost");
    const secure = await tunnel.startTls({ ca: testCA().cert }, "localhost");
    expect(secure.getExtraInfo("alpn_protocol")).toBe("http/1.1");
    await secure.write(new TextEncoder().encode("deep"));
    expect(text(await secure.read(100))).toBe("deep");
    await secure.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => outer.close(() => resolve()));
    await inner.close();
  });

  it("the certificate is checked against the host asked for (an IP address here)", async () => {
    // A certificate for 127.0.0.1 only: checked against "localhost" it would fail.
    const server = await tlsServer(undefined, ["127.0.0.1"]);
    const plain = await backend.connectTcp("127.0.0.1", server.port);
    const secure = await plain.startTls({ ca: testCA().cert }, "127.0.0.1");
    await secure.write(new TextEncoder().encode("ip"));
    expect(text(await secure.read(100))).toBe("ip");
    await secure.close();
    await server.close();
  });

  it("a handshake with a timeout and a signal: the timer is cleared, a later abort does nothing", async () => {
    const server = await tlsServer(undefined);
    const plain = (await backend.connectTcp("127.0.0.1", server.port)) as NodeStream;
    const set = vi.spyOn(globalThis, "setTimeout");
    const clear = vi.spyOn(globalThis, "clearTimeout");
    const controller = new AbortController();
    const secure = (await plain.startTls(
      { ca: testCA().cert },
      "localhost",
      60_000,
      controller.signal,
    )) as NodeStream;
    const at = set.mock.calls.findIndex((call) => call[1] === 60_000);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(clear).toHaveBeenCalledWith(set.mock.results[at]!.value);
    vi.restoreAllMocks();
    controller.abort(new Error("too late (test)"));
    expect(secure.socket.destroyed).toBe(false);
    expect(plain.socket.destroyed).toBe(false);
    // Only the stream's own listeners are left on the TLS socket.
    expect(secure.socket.listenerCount("secureConnect")).toBe(0);
    expect(secure.socket.listenerCount("close")).toBe(2); // TLS's own, and the stream's
    expect(secure.socket.listenerCount("error")).toBe(1);
    await secure.write(new TextEncoder().encode("still here"));
    expect(text(await secure.read(100))).toBe("still here");
    await secure.close();
    await server.close();
  });

  it("bytes that arrived before TLS began go to TLS (here: junk, which fails the handshake)", async () => {
    const { server, stream: plain, peer } = await connected();
    peer.write("not a TLS record at all\r\n");
    await until(() => plain.getExtraInfo("is_readable") === true);
    const error = await plain.startTls({ ca: testCA().cert }, "localhost", 60_000).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).message).toMatch(/^TLS handshake failed: /);
    expect((error as ConnectError).cause).toBeInstanceOf(Error);
    await server.close();
  });

  it("a certificate TLS refuses: ConnectError naming the error, both sockets closed", async () => {
    const server = await tlsServer(undefined);
    const plain = (await backend.connectTcp("127.0.0.1", server.port)) as NodeStream;
    const error = await plain.startTls({}, "localhost").then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({
      code: "ERR_CONNECT",
      message: expect.stringMatching(/^TLS handshake failed: [A-Z_]+: /),
    });
    expect(plain.socket.destroyed).toBe(true);
    await server.close();
  });

  it("a peer that never answers: ConnectTimeout after the timeout", async () => {
    const { server, stream: plain, peer } = await connected();
    peer.resume();
    const error = await plain.startTls({ ca: testCA().cert }, "localhost", 20).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectTimeout);
    expect(error).toMatchObject({
      code: "ERR_CONNECT_TIMEOUT",
      message: "the TLS handshake did not finish within 20 ms",
    });
    expect(plain.socket.destroyed).toBe(true);
    await server.close();
  });

  it("a peer that closes during the handshake: ConnectError", async () => {
    const { server, stream: plain, peer } = await connected();
    peer.once("data", () => peer.end());
    const error = await plain.startTls({ ca: testCA().cert }, "localhost").then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).message).toMatch(
      /^(the connection closed during the TLS handshake|TLS handshake failed: )/,
    );
    await server.close();
  });

  it("the socket destroyed under the handshake (no error): ConnectError saying it closed", async () => {
    const { server, stream: plain, peer } = await connected();
    peer.resume();
    const handshaking = plain.startTls({ ca: testCA().cert }, "localhost");
    // Once the ClientHello is out, the plain socket is destroyed without an error: TLS sees
    // only a 'close'.
    await once(peer, "data");
    plain.socket.destroy();
    const error = await handshaking.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({
      code: "ERR_CONNECT",
      message: "the connection closed during the TLS handshake",
    });
    expect((error as ConnectError).cause).toBeUndefined();
    await server.close();
  });

  it("an abort, before or during the handshake: ConnectError with the reason as cause", async () => {
    const { server, next } = await drivenServer();
    const reason = new Error("stop (test)");
    const a = (await backend.connectTcp("127.0.0.1", server.port)) as NodeStream;
    (await next()).resume();
    await expect(
      a.startTls({ ca: testCA().cert }, "localhost", undefined, AbortSignal.abort(reason)),
    ).rejects.toMatchObject({
      code: "ERR_CONNECT",
      message: "the TLS handshake was aborted",
      cause: reason,
    });
    expect(a.socket.destroyed).toBe(true);
    const b = await backend.connectTcp("127.0.0.1", server.port);
    const peer = await next();
    const controller = new AbortController();
    const handshaking = b.startTls(
      { ca: testCA().cert },
      "localhost",
      undefined,
      controller.signal,
    );
    // Abort once the ClientHello has arrived: the handshake is under way.
    await once(peer, "data");
    controller.abort(reason);
    await expect(handshaking).rejects.toMatchObject({
      message: "the TLS handshake was aborted",
      cause: reason,
    });
    await server.close();
  });
});

// A NodeStream over an unconnected net.Socket whose events the test emits: chunks of exact
// sizes, an 'end', an 'error' or a 'close' at a chosen moment. No network involved.
function fed() {
  const socket = new Socket();
  const listeners = {
    data: socket.listenerCount("data"),
    end: socket.listenerCount("end"),
    error: socket.listenerCount("error"),
    close: socket.listenerCount("close"),
  };
  const stream = new NodeStream(socket);
  return { socket, stream, listeners };
}

const HIGH_WATER = 256 * 1024;

// Settles with "pending" when `promise` has not settled after a turn of the event loop.
function settledNow<T>(promise: Promise<T>): Promise<T | "pending"> {
  return Promise.race([
    promise,
    new Promise<"pending">((resolve) => setImmediate(() => resolve("pending"))),
  ]);
}

describe("NodeStream's queue and backpressure (a socket the test feeds)", () => {
  it("exactly 256 KiB unread pauses the socket; it resumes once less than that is left", async () => {
    const { socket, stream } = fed();
    socket.emit("data", Buffer.alloc(HIGH_WATER - 1, 1));
    expect(socket.isPaused()).toBe(false);
    socket.emit("data", Buffer.from([2]));
    expect(socket.isPaused()).toBe(true);
    socket.emit("data", Buffer.from([3]));
    // 256 KiB + 1 queued; a read of one byte leaves 256 KiB: still paused.
    expect((await stream.read(1))[0]).toBe(1);
    expect(socket.isPaused()).toBe(true);
    expect((await stream.read(1))[0]).toBe(1);
    expect(socket.isPaused()).toBe(false);
    let total = 2;
    const last: number[] = [];
    while (stream.getExtraInfo("is_readable") === true) {
      const chunk = await stream.read(64 * 1024);
      total += chunk.length;
      last.push(chunk[chunk.length - 1]!);
    }
    expect(total).toBe(HIGH_WATER + 1);
    expect(last.slice(-2)).toEqual([2, 3]);
    // Resumed, it pauses again the next time 256 KiB wait unread.
    socket.emit("data", Buffer.alloc(HIGH_WATER, 4));
    expect(socket.isPaused()).toBe(true);
    await stream.close();
  });

  it("the rest of a chunk split for a pending read counts toward the 256 KiB", async () => {
    const { socket, stream } = fed();
    const pending = stream.read(10);
    socket.emit("data", Buffer.alloc(HIGH_WATER + 5));
    expect((await pending).length).toBe(10);
    // HIGH_WATER - 5 queued.
    socket.emit("data", Buffer.alloc(1));
    expect(socket.isPaused()).toBe(false);
    socket.emit("data", Buffer.alloc(4));
    expect(socket.isPaused()).toBe(true);
    await stream.close();
  });

  it("a chunk exactly as large as the read is handed over whole, and nothing stays queued", async () => {
    const { socket, stream } = fed();
    const pending = stream.read(3);
    socket.emit("data", Buffer.from("abc"));
    expect(text(await pending)).toBe("abc");
    expect(stream.getExtraInfo("is_readable")).toBe(false);
    expect(await settledNow(stream.read(3))).toBe("pending");
    // The same from the queue.
    const other = fed();
    other.socket.emit("data", Buffer.from("xyz"));
    expect(text(await other.stream.read(3))).toBe("xyz");
    expect(other.stream.getExtraInfo("is_readable")).toBe(false);
    expect(await settledNow(other.stream.read(3))).toBe("pending");
    await stream.close();
    await other.stream.close();
  });

  it("'end' ends a pending read at once, and says is_readable before the socket closes", async () => {
    const { socket, stream } = fed();
    const pending = stream.read(10);
    socket.emit("end");
    expect(stream.getExtraInfo("is_readable")).toBe(true);
    expect(socket.destroyed).toBe(false);
    const result = await settledNow(pending);
    expect(result).not.toBe("pending");
    expect((result as Uint8Array).length).toBe(0);
    await stream.close();
  });

  it("a socket destroyed under the stream (not by close()): a pending read ends with EOF", async () => {
    const { socket, stream } = fed();
    const pending = stream.read(10);
    socket.destroy();
    expect((await pending).length).toBe(0);
    // Writing to it: WriteError, as to a closed stream.
    const error = await stream.write(new Uint8Array([1])).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WriteError);
    expect(error).toMatchObject({ code: "ERR_WRITE", message: "the connection is closed" });
    await stream.close();
  });

  it("the first error is the one reads and writes report, with its code and as cause", async () => {
    const { socket, stream } = fed();
    const first = Object.assign(new Error("boom"), { code: "EBOOM" });
    expect(stream.getExtraInfo("is_readable")).toBe(false);
    socket.emit("error", first);
    socket.emit("error", new Error("second"));
    // A read would not wait (it fails at once), whether or not the socket is destroyed yet.
    expect(socket.destroyed).toBe(false);
    expect(stream.getExtraInfo("is_readable")).toBe(true);
    const read = await stream.read(10).then(
      () => null,
      (e: unknown) => e,
    );
    expect(read).toBeInstanceOf(ReadError);
    expect(read).toMatchObject({ message: "reading failed: EBOOM: boom", cause: first });
    const write = await stream.write(new Uint8Array([1])).then(
      () => null,
      (e: unknown) => e,
    );
    expect(write).toBeInstanceOf(WriteError);
    expect(write).toMatchObject({ message: "writing failed: EBOOM: boom", cause: first });
    // An error without a code, and something thrown that is not an Error.
    const plain = fed();
    plain.socket.emit("error", new Error("no code"));
    await expect(plain.stream.read(1)).rejects.toThrow(/^reading failed: no code$/);
    const odd = fed();
    odd.socket.emit("error", "not an Error");
    await expect(odd.stream.read(1)).rejects.toThrow(/^reading failed: not an Error$/);
    for (const s of [stream, plain.stream, odd.stream]) await s.close();
  });

  it("detach() puts the unread bytes back on the socket in order, and the stream lets go", async () => {
    const { socket, stream, listeners } = fed();
    socket.emit("data", Buffer.from("ab"));
    socket.emit("data", Buffer.from("cd"));
    const detached = stream.detach()!;
    expect(detached).toBe(socket);
    const chunks: Buffer[] = [];
    detached.on("data", (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => setImmediate(resolve));
    expect(Buffer.concat(chunks).toString()).toBe("abcd");
    // The stream no longer has them, nor listens.
    await expect(stream.read(10)).rejects.toMatchObject({ message: "the connection was closed" });
    expect(socket.listenerCount("end")).toBe(listeners.end);
    expect(socket.listenerCount("error")).toBe(listeners.error);
    expect(socket.listenerCount("close")).toBe(listeners.close);
    socket.emit("data", Buffer.from("later"));
    await expect(stream.read(10)).rejects.toMatchObject({ message: "the connection was closed" });
    socket.destroy();
  });

  it("detach() fails a pending read, and resumes a socket paused by backpressure", async () => {
    const { socket, stream } = fed();
    const pending = stream.read(10);
    const first = fed();
    first.socket.emit("data", Buffer.alloc(HIGH_WATER));
    expect(first.socket.isPaused()).toBe(true);
    const resumed = first.stream.detach()!;
    expect(resumed.isPaused()).toBe(false);
    resumed.on("data", () => {});
    stream.detach();
    await expect(pending).rejects.toMatchObject({
      code: "ERR_READ",
      message: "the connection was closed while reading",
    });
    socket.destroy();
    resumed.destroy();
  });

  it("detach() resumes only what the stream paused: a socket its owner paused stays paused", async () => {
    const { socket, stream } = fed();
    socket.emit("data", Buffer.from("unread"));
    socket.pause();
    const detached = stream.detach()!;
    expect(detached).toBe(socket);
    expect(detached.isPaused()).toBe(true);
    expect(detached.read()?.toString()).toBe("unread");
    socket.destroy();
  });
});

describe("NodeBackend: what a connect leaves behind", () => {
  it("a connect with a timeout and a signal: the timer is cleared, a later abort does nothing", async () => {
    const { server, next } = await drivenServer();
    const set = vi.spyOn(globalThis, "setTimeout");
    const clear = vi.spyOn(globalThis, "clearTimeout");
    const controller = new AbortController();
    const stream = (await backend.connectTcp("127.0.0.1", server.port, {
      timeout: 60_000,
      signal: controller.signal,
    })) as NodeStream;
    const at = set.mock.calls.findIndex((call) => call[1] === 60_000);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(clear).toHaveBeenCalledWith(set.mock.results[at]!.value);
    vi.restoreAllMocks();
    controller.abort(new Error("too late (test)"));
    const peer = await next();
    expect(stream.socket.destroyed).toBe(false);
    // Only the stream's own listeners are left on the socket.
    expect(stream.socket.listenerCount("connect")).toBe(0);
    expect(stream.socket.listenerCount("error")).toBe(1);
    await stream.write(new TextEncoder().encode("still here"));
    expect((await once(peer, "data"))[0].toString()).toBe("still here");
    await stream.close();
    await server.close();
  });

  it("a closed stream has no server_addr", async () => {
    const { server, next } = await drivenServer();
    const stream = await backend.connectTcp("127.0.0.1", server.port);
    await next();
    await stream.close();
    expect(stream.getExtraInfo("server_addr")).toBeUndefined();
    await server.close();
  });

  it("a read that filled the read buffer may continue", async () => {
    const { server, stream, peer } = await connected();
    peer.write(Buffer.alloc(4 * 1024 * 1024, 1));
    await until(() => stream.socket.isPaused());
    expect(stream.getExtraInfo("read_may_continue")).toBe(true);
    await stream.close();
    await server.close();
  });
});
