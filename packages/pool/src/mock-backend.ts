import type { ConnectionOptions as TlsOptions } from "node:tls";
import { ConnectError, ReadError, WriteError } from "./errors.js";
import type { ConnectOptions, NetworkBackend, NetworkStream, ResolveOptions } from "./network.js";

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === "string" ? encoder.encode(chunk) : chunk;
}

/**
 * A scripted NetworkStream: reads replay the chunks, writes are recorded. After `close()`
 * it behaves as a closed socket: a read rejects with ReadError, a write with WriteError.
 *
 * @example
 * const backend = new MockBackend(["HTTP/1.1 204 No Content\\r\\n\\r\\n"]); await pool.request("GET", url); backend.streams[0].written
 */
export class MockStream implements NetworkStream {
  readonly #chunks: Uint8Array[];
  readonly #backend: MockBackend;
  /** What was written to this stream. */
  readonly written: Uint8Array[] = [];
  closed = false;
  tls = false;

  constructor(chunks: Uint8Array[], backend: MockBackend) {
    this.#chunks = chunks;
    this.#backend = backend;
  }

  async read(maxBytes: number): Promise<Uint8Array> {
    if (this.closed) throw new ReadError("the stream is closed");
    const chunk = this.#chunks.shift();
    if (chunk === undefined) return EMPTY;
    if (chunk.length > maxBytes) {
      this.#chunks.unshift(chunk.subarray(maxBytes));
      return chunk.subarray(0, maxBytes);
    }
    return chunk;
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.closed) throw new WriteError("the stream is closed");
    this.written.push(data.slice());
    this.#backend.written.push(data.slice());
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async startTls(_tls: TlsOptions, _serverHostname: string): Promise<NetworkStream> {
    if (this.closed) throw new ConnectError("the stream is closed");
    this.tls = true;
    return this;
  }

  getExtraInfo(key: string): unknown {
    // A closed socket reads as readable (its end is there to read), as NodeStream says.
    if (key === "is_readable") return this.closed;
    return undefined;
  }
}

/**
 * A NetworkBackend for tests: every connection replays the same scripted chunks, and
 * everything written is recorded (per stream, and in `written`).
 *
 * @example
 * const backend = new MockBackend(["HTTP/1.1 200 OK\r\n", "Content-Length: 2\r\n\r\nok"]);
 * const pool = new ConnectionPool({ networkBackend: backend });
 * (await pool.request("GET", "https://example.com/")).status; // 200
 */
export class MockBackend implements NetworkBackend {
  readonly #chunks: Uint8Array[];
  /** Every byte array written, on any connection, in order. */
  readonly written: Uint8Array[] = [];
  /** The streams opened, in order. */
  readonly streams: MockStream[] = [];
  /** The delays `sleep()` was asked for. */
  readonly sleeps: number[] = [];

  readonly #addresses: Readonly<Record<string, string>>;

  /**
   * `options.addresses` maps host names to the addresses `resolve()` gives for them (any
   * other name fails with ConnectError).
   */
  constructor(
    chunks: ReadonlyArray<Uint8Array | string>,
    options: { readonly addresses?: Readonly<Record<string, string>> } = {},
  ) {
    this.#chunks = chunks.map(toBytes);
    this.#addresses = options.addresses ?? {};
  }

  async resolve(host: string, options: ResolveOptions = {}): Promise<string> {
    const address = Object.hasOwn(this.#addresses, host) ? this.#addresses[host] : undefined;
    const family = address === undefined ? 0 : address.includes(":") ? 6 : 4;
    if (address === undefined || (options.family !== undefined && options.family !== family)) {
      throw new ConnectError(`could not resolve ${host} (not in the MockBackend's addresses)`);
    }
    return address;
  }

  async connectTcp(
    _host: string,
    _port: number,
    _options?: ConnectOptions,
  ): Promise<NetworkStream> {
    return this.#open();
  }

  async connectUnixSocket(_path: string, _options?: ConnectOptions): Promise<NetworkStream> {
    return this.#open();
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
  }

  #open(): MockStream {
    const stream = new MockStream([...this.#chunks], this);
    this.streams.push(stream);
    return stream;
  }
}
