// Shared by the ports of httpcore's own tests (tests/_async/*.py, tests/test_*.py).
import {
  ConnectError,
  MockBackend,
  type NetworkBackend,
  type NetworkStream,
  ReadError,
  WriteError,
} from "../../src/index.js";

export { HELLO, info, text } from "@x/testkit";

/** A scripted stream for a bare HTTP11Connection (httpcore's AsyncMockStream). */
export function mockStream(chunks: ReadonlyArray<string | Uint8Array>): Promise<NetworkStream> {
  return new MockBackend(chunks).connectTcp("example.com", 443);
}

/** Records the trace event names of a request (httpcore's `trace` callback). */
export function tracer(): { names: string[]; trace: (name: string) => void } {
  const names: string[] = [];
  return { names, trace: (name: string) => void names.push(name) };
}

/** Request headers for a bare connection, which adds none (httpcore's does add Host). */
export const host = (authority = "example.com"): { Host: string } => ({ Host: authority });

/**
 * A NetworkBackend whose streams are made by `make`: for the tests where httpcore
 * subclasses its mock backend or stream.
 */
export function backendOf(make: () => NetworkStream): NetworkBackend {
  return {
    connectTcp: async () => make(),
    connectUnixSocket: async () => make(),
    sleep: async () => {},
  };
}

/**
 * Reads replay `reads`, then wait; writes settle at once or, with `stallWrites`, wait
 * (httpcore's SlowReadStream and SlowWriteStream, which wait with `anyio.sleep(999)`).
 * httpcore cancels the waiting task; a promise cannot be cancelled, so here the connection
 * closes the stream, and what waits fails then, as on a socket (NetworkStream: "close():
 * pending reads fail"). Pending writes fail too unless `writesIgnoreClose`.
 */
export class ScriptedStream implements NetworkStream {
  closed = false;
  readonly #reads: Uint8Array[];
  readonly #stallWrites: boolean;
  readonly #writesIgnoreClose: boolean;
  readonly #waiting = new Set<(error: Error) => void>();

  constructor(
    reads: ReadonlyArray<string>,
    options: { stallWrites?: boolean; writesIgnoreClose?: boolean } = {},
  ) {
    this.#reads = reads.map((r) => new TextEncoder().encode(r));
    this.#stallWrites = options.stallWrites ?? false;
    this.#writesIgnoreClose = options.writesIgnoreClose ?? false;
  }

  #wait<T>(failOnClose: boolean, make: (message: string) => Error): Promise<T> {
    if (this.closed) return Promise.reject(make("the stream is closed"));
    return new Promise<T>((_resolve, reject) => {
      if (failOnClose) this.#waiting.add(reject);
    }).catch(() => {
      throw make("the stream was closed");
    });
  }

  read(): Promise<Uint8Array> {
    const next = this.#reads.shift();
    if (next !== undefined && !this.closed) return Promise.resolve(next);
    return this.#wait(true, (m) => new ReadError(m));
  }

  write(): Promise<void> {
    if (!this.#stallWrites && !this.closed) return Promise.resolve();
    return this.#wait(!this.#writesIgnoreClose, (m) => new WriteError(m));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const reject of this.#waiting) reject(new Error("closed"));
    this.#waiting.clear();
  }

  async startTls(): Promise<NetworkStream> {
    if (this.closed) throw new ConnectError("the stream is closed");
    return this;
  }

  getExtraInfo(): unknown {
    return undefined;
  }
}

/** httpcore's four state checks at once: is_idle, is_closed, is_available, has_expired. */
export function states(conn: {
  isIdle(): boolean;
  isClosed(): boolean;
  isAvailable(): boolean;
  hasExpired(): boolean;
}): { idle: boolean; closed: boolean; available: boolean; expired: boolean } {
  return {
    idle: conn.isIdle(),
    closed: conn.isClosed(),
    available: conn.isAvailable(),
    expired: conn.hasExpired(),
  };
}

/** The states of an IDLE connection that can be reused. */
export const REUSABLE = { idle: true, closed: false, available: true, expired: false } as const;
