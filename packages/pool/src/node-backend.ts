// NodeBackend: NetworkStreams over Node's net and tls sockets.
//
// Theory of operation. A NodeStream keeps its socket *flowing* and queues what arrives,
// pausing the socket only when more than HIGH_WATER bytes wait unread. Two things follow:
// reads are cheap (a queued chunk is handed over at once), and an idle connection notices
// at once when its peer closes it or sends something unasked ("is_readable"), so the pool
// can drop it before using it. Backpressure still holds: a slow reader stops the socket.
// Writes resolve as soon as the socket accepts the bytes, and wait for 'drain' only when
// its buffer is full; errors arrive through the 'error' event and fail the next operation.
//
// Plain TCP and Unix sockets that NodeBackend opens read into buffers of our own (net's
// `onread` option, see ReadBuffers) instead of emitting 'data': that skips the readable
// stream's bookkeeping and a new backing store for every read. TLS sockets, made over an
// open socket by startTls, cannot take `onread` and use 'data' events.

import { lookup } from "node:dns/promises";
import { isIP, connect as netConnect, type Socket } from "node:net";
import {
  type TLSSocket,
  type ConnectionOptions as TlsOptions,
  connect as tlsConnect,
} from "node:tls";
import {
  ConnectError,
  ConnectTimeout,
  ReadError,
  ReadTimeout,
  WriteError,
  WriteTimeout,
} from "./errors.js";
import type {
  ConnectOptions,
  NetworkBackend,
  NetworkStream,
  ResolveOptions,
  SocketOptions,
} from "./network.js";
import { SETTLED } from "./settled.js";

const EMPTY = new Uint8Array(0);
const HIGH_WATER = 256 * 1024;
// The size of every read buffer, shared or a socket's own.
const READ_BUFFER = 128 * 1024;
// A read at least this large into the shared buffer gives the socket a buffer of its own,
// which it gives back after this many smaller reads in a row.
const OWN_BUFFER_FROM = 16 * 1024;
const BACK_TO_SHARED_AFTER = 2;

// The read buffer of every socket that is not reading large amounts right now: small reads
// are copied out of it at once, so one buffer serves them all, and an idle connection holds
// none of its own. Made on first use.
let sharedBuffer: Buffer | null = null;
const shared = (): Buffer => (sharedBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER));
const ownBuffer = (): Buffer => Buffer.allocUnsafeSlow(READ_BUFFER);

/**
 * The `onread` option of one socket: where it reads to, and what it does with each read.
 *
 * A socket reads into the buffer shared by all sockets, and each read is copied out of it
 * (Buffer.allocUnsafe: below 4 KiB a slice of Buffer's shared 8 KiB pool, like Node's other
 * small Buffers). So small responses cost a copy of their bytes, and a kept-alive
 * connection that sits idle holds no read buffer at all: 5000 idle connections hold one
 * 128 KiB buffer between them, not 5000.
 *
 * A read of OWN_BUFFER_FROM bytes or more (a large body is coming) gives the socket a
 * buffer of its own for the next read. A read that fills at least half of its own buffer
 * is handed over as it is (a view, no copy) and the socket gets a new one; a smaller read is
 * copied out, and after two small reads in a row (not just the tail of a body) the socket
 * goes back to the shared buffer. Large bodies one after another are so read without
 * copies but the very first read, and a handed-over chunk holds at most twice its length.
 * A connection left idle right after a large body keeps its own buffer until it reads
 * small amounts again.
 *
 * The shared buffer is never handed over: every socket reading into it points at it (Node
 * keeps each socket's current buffer, and libuv writes into it on the next read).
 */
class ReadBuffers {
  #buffer: Buffer = shared();
  /**
   * The last read filled its buffer, so libuv reads the socket again in this poll phase:
   * more bytes may come before the event loop moves on.
   */
  lastFilled = false;
  // Who takes the chunks: the socket's NodeStream, made on 'connect' before the first read
  // (chunks would wait in #early until then).
  #deliver: ((chunk: Uint8Array) => void) | null = null;
  #early: Uint8Array[] = [];
  // Small reads in a row into this socket's own buffer.
  #smallReads = 0;

  readonly onread = {
    buffer: (): Buffer => this.#buffer,
    // Returns true: backpressure is NodeStream's pause(), as with 'data' events.
    callback: (nread: number, buf: Buffer): boolean => {
      let chunk: Uint8Array;
      this.lastFilled = nread === buf.length;
      if (buf !== sharedBuffer && nread * 2 >= buf.length) {
        chunk = buf.subarray(0, nread);
        this.#buffer = ownBuffer();
        this.#smallReads = 0;
      } else {
        chunk = Buffer.allocUnsafe(nread);
        buf.copy(chunk, 0, 0, nread);
        if (buf === sharedBuffer) {
          if (nread >= OWN_BUFFER_FROM) this.#buffer = ownBuffer();
        } else if (nread >= OWN_BUFFER_FROM) {
          this.#smallReads = 0;
        } else if (++this.#smallReads >= BACK_TO_SHARED_AFTER) {
          // The tail of a large body is one small read; two in a row say the large ones
          // are over.
          this.#buffer = shared();
          this.#smallReads = 0;
        }
      }
      if (this.#deliver === null) this.#early.push(chunk);
      else this.#deliver(chunk);
      return true;
    },
  };

  /** Sends the chunks to `deliver` from now on, first those that waited. */
  attach(deliver: (chunk: Uint8Array) => void): void {
    this.#deliver = deliver;
    const early = this.#early;
    this.#early = [];
    for (const chunk of early) deliver(chunk);
  }
}

const ignore = (): void => {};

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/**
 * A NetworkStream over a Node socket (net.Socket or tls.TLSSocket).
 *
 * @example
 * const stream = await new NodeBackend().connectTcp("example.com", 80); stream.getExtraInfo("socket")
 */
export class NodeStream implements NetworkStream {
  #socket: Socket;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #paused = false;
  #eof = false;
  #error: Error | null = null;
  #closed = false;
  // The pending read, if any: its settlers, size and timer. Fields, not an object per read.
  #waitResolve: ((chunk: Uint8Array) => void) | null = null;
  #waitReject: ((error: Error) => void) | null = null;
  #waitMax = 0;
  #waitTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #park = (resolve: (chunk: Uint8Array) => void, reject: (error: Error) => void): void => {
    this.#waitResolve = resolve;
    this.#waitReject = reject;
  };

  #reads: ReadBuffers | null;

  /**
   * @param reads The socket's `onread` buffers, when it was opened with them (internal: the
   *   NodeBackend passes them); otherwise the stream listens for 'data'.
   */
  constructor(socket: Socket, reads?: ReadBuffers) {
    this.#socket = socket;
    this.#reads = reads ?? null;
    if (reads === undefined) socket.on("data", this.#onData);
    else reads.attach(this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
  }

  /** The underlying socket. */
  get socket(): Socket {
    return this.#socket;
  }

  #onData = (chunk: Uint8Array): void => {
    const resolve = this.#waitResolve;
    if (resolve !== null && this.#queue.length === 0) {
      const max = this.#waitMax;
      this.#unpark();
      if (chunk.length > max) {
        this.#queue.push(chunk.subarray(max));
        this.#queued += chunk.length - max;
        resolve(chunk.subarray(0, max));
      } else {
        resolve(chunk);
      }
      return;
    }
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued >= HIGH_WATER && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  };

  #onEnd = (): void => {
    this.#eof = true;
    this.#wake();
  };

  #onError = (error: Error): void => {
    if (this.#error === null) this.#error = error;
    this.#wake();
  };

  #onClose = (): void => {
    this.#eof = true;
    this.#wake();
  };

  // Forgets the pending read (its settlers are about to be called, or were).
  #unpark(): void {
    this.#waitResolve = null;
    this.#waitReject = null;
    if (this.#waitTimer !== null) {
      clearTimeout(this.#waitTimer);
      this.#waitTimer = null;
    }
  }

  // Settles a pending read after EOF, an error or a close.
  #wake(): void {
    const resolve = this.#waitResolve;
    const reject = this.#waitReject;
    if (resolve === null || reject === null) return;
    this.#unpark();
    if (this.#error !== null) reject(this.#readError());
    else if (this.#closed) reject(new ReadError("the connection was closed while reading"));
    else resolve(EMPTY);
  }

  #readError(): ReadError {
    return new ReadError(`reading failed: ${describe(this.#error)}`, { cause: this.#error });
  }

  read(maxBytes: number, timeout?: number): Promise<Uint8Array> {
    let now: Uint8Array | null;
    try {
      now = this.#readNow(maxBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    if (now !== null) return Promise.resolve(now);
    const pending = new Promise<Uint8Array>(this.#park);
    this.#wait(maxBytes, timeout);
    return pending;
  }

  readOrWait(
    maxBytes: number,
    timeout: number | undefined,
    onData: (data: Uint8Array) => void,
    onError: (error: unknown) => void,
  ): Uint8Array | null {
    const now = this.#readNow(maxBytes);
    if (now !== null) return now;
    this.#waitResolve = onData;
    this.#waitReject = onError;
    this.#wait(maxBytes, timeout);
    return null;
  }

  // What a read gets at once: queued bytes, or EMPTY at EOF; null when it must wait. Throws
  // what it would reject with at once.
  #readNow(maxBytes: number): Uint8Array | null {
    if (this.#queue.length > 0) {
      let chunk = this.#queue.shift()!;
      if (chunk.length > maxBytes) {
        this.#queue.unshift(chunk.subarray(maxBytes));
        chunk = chunk.subarray(0, maxBytes);
      }
      this.#queued -= chunk.length;
      if (this.#paused && this.#queued < HIGH_WATER) {
        this.#paused = false;
        this.#socket.resume();
      }
      return chunk;
    }
    if (this.#closed) throw new ReadError("the connection was closed");
    if (this.#error !== null) throw this.#readError();
    if (this.#eof) return EMPTY;
    if (this.#waitResolve !== null) throw new ReadError("a read is already pending");
    return null;
  }

  // The read parked (its settlers in #waitResolve/#waitReject) waits for `maxBytes` at most,
  // for `timeout` ms at most.
  #wait(maxBytes: number, timeout: number | undefined): void {
    this.#waitMax = maxBytes;
    if (timeout !== undefined) {
      const reject = this.#waitReject!;
      this.#waitTimer = setTimeout(() => {
        if (this.#waitReject !== reject) return;
        this.#unpark();
        reject(new ReadTimeout(`no data arrived within ${timeout} ms`));
      }, timeout);
    }
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  write(data: Uint8Array, timeout?: number): Promise<void> {
    const socket = this.#socket;
    if (this.#closed || socket.destroyed || this.#error !== null) {
      return Promise.reject(
        new WriteError(
          this.#error ? `writing failed: ${describe(this.#error)}` : "the connection is closed",
          { cause: this.#error },
        ),
      );
    }
    if (data.length === 0 || socket.write(data)) return SETTLED;
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const done = (error: Error | null): void => {
        socket.off("drain", onDrain);
        socket.off("error", onFail);
        socket.off("close", onClose);
        if (timer !== null) clearTimeout(timer);
        if (error === null) resolve();
        else reject(error);
      };
      const onDrain = (): void => done(null);
      const onFail = (error: Error): void =>
        done(new WriteError(`writing failed: ${describe(error)}`, { cause: error }));
      const onClose = (): void => done(new WriteError("the connection closed while writing"));
      socket.on("drain", onDrain);
      socket.on("error", onFail);
      socket.on("close", onClose);
      if (timeout !== undefined) {
        timer = setTimeout(
          () => done(new WriteTimeout(`the peer did not take our bytes within ${timeout} ms`)),
          timeout,
        );
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#wake();
  }

  async startTls(
    tls: TlsOptions,
    serverHostname: string,
    timeout?: number,
    signal?: AbortSignal,
  ): Promise<NetworkStream> {
    const raw = this.#socket;
    // TLS reads the socket from now on: nothing more comes to this stream.
    if (this.#reads === null) raw.off("data", this.#onData);
    else this.#reads.attach(ignore);
    raw.off("end", this.#onEnd);
    raw.off("error", this.#onError);
    raw.off("close", this.#onClose);
    // Bytes that arrived before the handshake go back to the socket for TLS to read.
    for (let i = this.#queue.length - 1; i >= 0; i--) raw.unshift(this.#queue[i]!);
    this.#queue.length = 0;
    this.#queued = 0;
    if (this.#paused) raw.resume();
    const options: TlsOptions = {
      ALPNProtocols: ["http/1.1"],
      ...tls,
      socket: raw,
      host: serverHostname,
    };
    if (isIP(serverHostname) === 0) options.servername = serverHostname;
    const secure = tlsConnect(options);
    return handshake(secure, timeout, signal, raw);
  }

  /**
   * Hands the socket to a new owner (node:http, tls.connect ...): this stream stops
   * listening to it and must not be used again, and the bytes it had read but not handed
   * out are put back on the socket, first. Returns null, and changes nothing, for a socket
   * read through net's `onread` (the TCP and Unix sockets NodeBackend opens, whose bytes
   * never reach the socket's own events): start TLS over one first (`startTls` hands it to
   * TLS), or wrap the stream in a NetworkSocket.
   *
   * @example
   * const tls = await tunnel.startTls({ ALPNProtocols: ["http/1.1"] }, "example.com");
   * const socket = (tls as NodeStream).detach(); // a TLSSocket, for an http.Agent
   */
  detach(): Socket | null {
    if (this.#reads !== null || this.#closed) return null;
    return this.#handOver();
  }

  /**
   * @internal As `detach()`, also for a socket read through `onread`: for a new owner that
   * reads the socket's handle itself (node:http2's session consumes it natively, so the
   * `onread` buffers are no longer used). The caller hands the socket over at once, before
   * the event loop polls again.
   */
  handOver(): Socket {
    return this.#handOver();
  }

  #handOver(): Socket {
    const socket = this.#socket;
    if (this.#reads === null) socket.off("data", this.#onData);
    else this.#reads.attach(ignore);
    socket.off("end", this.#onEnd);
    socket.off("error", this.#onError);
    socket.off("close", this.#onClose);
    this.#closed = true;
    this.#wake();
    for (let i = this.#queue.length - 1; i >= 0; i--) socket.unshift(this.#queue[i]!);
    this.#queue.length = 0;
    this.#queued = 0;
    // The socket stays flowing (as a new socket is): its new owner listens before the
    // event loop polls again, so nothing arrives unheard. Bytes put back wait in its buffer.
    if (this.#paused) {
      this.#paused = false;
      socket.resume();
    }
    return socket;
  }

  getExtraInfo(key: string): unknown {
    const socket = this.#socket;
    switch (key) {
      case "is_readable":
        return this.#queue.length > 0 || this.#eof || this.#error !== null || socket.destroyed;
      case "read_may_continue":
        // 'data' sockets (TLS) may emit several chunks of one read: always maybe.
        return this.#reads === null || this.#reads.lastFilled;
      case "socket":
        return socket;
      case "tls_socket":
      case "ssl_object":
        return "encrypted" in socket ? socket : undefined;
      case "alpn_protocol":
        // The protocol TLS negotiated by ALPN, or null (none, or not TLS).
        return "encrypted" in socket ? (socket as TLSSocket).alpnProtocol || null : null;
      case "server_addr":
        return socket.remoteAddress === undefined
          ? undefined
          : { address: socket.remoteAddress, port: socket.remotePort };
      case "client_addr":
        return { address: socket.localAddress, port: socket.localPort };
      default:
        return undefined;
    }
  }
}

function handshake(
  secure: TLSSocket,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
  underlying: Socket,
): Promise<NetworkStream> {
  return new Promise<NetworkStream>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const finish = (error: Error | null): void => {
      secure.off("secureConnect", onSecure);
      secure.off("error", onError);
      secure.off("close", onClose);
      signal?.removeEventListener("abort", onAbort);
      if (timer !== null) clearTimeout(timer);
      if (error === null) {
        resolve(new NodeStream(secure));
        return;
      }
      secure.destroy();
      underlying.destroy();
      reject(error);
    };
    const onSecure = (): void => finish(null);
    const onError = (error: Error): void =>
      finish(new ConnectError(`TLS handshake failed: ${describe(error)}`, { cause: error }));
    const onClose = (): void =>
      finish(new ConnectError("the connection closed during the TLS handshake"));
    const onAbort = (): void =>
      finish(new ConnectError("the TLS handshake was aborted", { cause: signal?.reason }));
    secure.once("secureConnect", onSecure);
    secure.once("error", onError);
    secure.once("close", onClose);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeout !== undefined) {
      timer = setTimeout(
        () => finish(new ConnectTimeout(`the TLS handshake did not finish within ${timeout} ms`)),
        timeout,
      );
    }
  });
}

function applySocketOptions(socket: Socket, options: SocketOptions | undefined): void {
  socket.setNoDelay(options?.noDelay ?? true);
  if (options?.keepAlive) socket.setKeepAlive(true, options.keepAliveInitialDelay ?? 0);
}

function open(
  socket: Socket,
  reads: ReadBuffers,
  what: string,
  options: ConnectOptions,
): Promise<NetworkStream> {
  return new Promise<NetworkStream>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const signal = options.signal;
    const finish = (error: Error | null): void => {
      socket.off("connect", onConnect);
      socket.off("error", onError);
      signal?.removeEventListener("abort", onAbort);
      if (timer !== null) clearTimeout(timer);
      if (error === null) {
        applySocketOptions(socket, options.socketOptions);
        resolve(new NodeStream(socket, reads));
        return;
      }
      socket.destroy();
      reject(error);
    };
    const onConnect = (): void => finish(null);
    const onError = (error: Error): void =>
      finish(
        new ConnectError(`could not connect to ${what}: ${describe(error)}`, { cause: error }),
      );
    const onAbort = (): void =>
      finish(new ConnectError(`connecting to ${what} was aborted`, { cause: signal?.reason }));
    socket.once("connect", onConnect);
    socket.once("error", onError);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (options.timeout !== undefined) {
      timer = setTimeout(
        () =>
          finish(
            new ConnectTimeout(`connecting to ${what} took longer than ${options.timeout} ms`),
          ),
        options.timeout,
      );
    }
  });
}

/**
 * The default NetworkBackend: TCP and Unix sockets from `node:net`, TLS from `node:tls`.
 *
 * @example
 * const stream = await new NodeBackend().connectTcp("example.com", 443, { timeout: 5000 });
 * const tls = await stream.startTls({}, "example.com", 5000);
 */
export class NodeBackend implements NetworkBackend {
  connectTcp(host: string, port: number, options: ConnectOptions = {}): Promise<NetworkStream> {
    const reads = new ReadBuffers();
    const socket = netConnect({
      host,
      port,
      onread: reads.onread,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    return open(socket, reads, `${host}:${port}`, options);
  }

  connectUnixSocket(path: string, options: ConnectOptions = {}): Promise<NetworkStream> {
    const reads = new ReadBuffers();
    return open(netConnect({ path, onread: reads.onread }), reads, path, options);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /**
   * Resolves `host` with `dns.lookup` (the system's resolver, /etc/hosts included). An
   * address is its own answer, if it is of the family asked for (dns.lookup would give it
   * back whatever the family).
   */
  async resolve(host: string, options: ResolveOptions = {}): Promise<string> {
    const literal = isIP(host);
    if (literal !== 0) {
      if (options.family === undefined || literal === options.family) return host;
      throw new ConnectError(
        `could not resolve ${host} to an IPv${options.family} address: it is an IPv${literal} address`,
      );
    }
    try {
      const { address } = await lookup(host, { family: options.family ?? 0 });
      return address;
    } catch (error) {
      const family = options.family === undefined ? "" : ` to an IPv${options.family} address`;
      throw new ConnectError(`could not resolve ${host}${family}: ${describe(error)}`, {
        cause: error,
      });
    }
  }
}
