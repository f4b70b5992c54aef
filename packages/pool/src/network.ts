import type { ConnectionOptions as TlsOptions } from "node:tls";

/**
 * Socket settings applied to each new TCP socket.
 *
 * @example
 * new ConnectionPool({ socketOptions: { keepAlive: true, keepAliveInitialDelay: 30_000 } })
 */
export interface SocketOptions {
  readonly noDelay?: boolean;
  readonly keepAlive?: boolean;
  readonly keepAliveInitialDelay?: number;
}

/**
 * Options of `connectTcp` / `connectUnixSocket`.
 *
 * @example
 * await new NodeBackend().connectTcp("example.com", 80, { timeout: 5000, socketOptions: { keepAlive: true } })
 */
export interface ConnectOptions {
  /** Milliseconds; undefined means none. */
  readonly timeout?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly socketOptions?: SocketOptions | undefined;
  /** Aborting it abandons the attempt (the stream, if any, is closed). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * A byte stream, as a connection sees it. Implement it (with NetworkBackend) to run the
 * pool over anything: a test double, a socket from elsewhere, a tunnel.
 *
 * @example
 * const data = await stream.read(65536, 5000); if (data.length === 0) console.log("EOF")
 */
export interface NetworkStream {
  /** Up to `maxBytes` bytes; an empty array means EOF. Rejects with ReadError or ReadTimeout. */
  read(maxBytes: number, timeout?: number): Promise<Uint8Array>;
  /**
   * Optional: read() without a promise, for a caller that would only pass the bytes on.
   * Returns the bytes at once when some are waiting (an empty array at EOF), and throws at
   * once where read() would reject at once; otherwise returns null, and calls `onData` or
   * `onError` (a ReadError or ReadTimeout) later, once, when read() would settle.
   */
  readOrWait?(
    maxBytes: number,
    timeout: number | undefined,
    onData: (data: Uint8Array) => void,
    onError: (error: unknown) => void,
  ): Uint8Array | null;
  /** Writes all of `data`. Rejects with WriteError or WriteTimeout. */
  write(data: Uint8Array, timeout?: number): Promise<void>;
  /** Closes the stream; pending reads fail. */
  close(): Promise<void>;
  /**
   * Starts TLS over this stream and returns the encrypted stream (this one must not be used
   * afterwards). Works over a TLS stream too (TLS in TLS). Rejects with ConnectError or
   * ConnectTimeout.
   */
  startTls(
    tls: TlsOptions,
    serverHostname: string,
    timeout?: number,
    signal?: AbortSignal,
  ): Promise<NetworkStream>;
  /**
   * Extra facts: "is_readable" (bytes or EOF are waiting: on an idle connection that means
   * the peer closed or misbehaved), "read_may_continue" (false only when the last read
   * emptied the socket, so nothing more can arrive before the event loop polls again;
   * anything else is taken as maybe), "alpn_protocol" (what TLS negotiated by ALPN, or
   * null), "tls_socket", "socket", "server_addr", "client_addr".
   */
  getExtraInfo(key: string): unknown;
}

/**
 * Opens NetworkStreams. `NodeBackend` is the default; `MockBackend` is for tests.
 *
 * @example
 * new ConnectionPool({ networkBackend: new NodeBackend() })
 */
export interface NetworkBackend {
  connectTcp(host: string, port: number, options?: ConnectOptions): Promise<NetworkStream>;
  connectUnixSocket(path: string, options?: ConnectOptions): Promise<NetworkStream>;
  /** Waits `ms` milliseconds (used between connect retries). */
  sleep(ms: number): Promise<void>;
  /**
   * Resolves a host name to one address (as text: "93.184.215.14", "2606:2800::1"), of the
   * given family when one is asked for; rejects with ConnectError when it cannot. Optional:
   * used where a name must be resolved on this side (SOCKS4 and SOCKS5 without "h").
   */
  resolve?(host: string, options?: ResolveOptions): Promise<string>;
}

/**
 * Options of `NetworkBackend.resolve`.
 *
 * @example
 * await backend.resolve("example.com", { family: 4 })
 */
export interface ResolveOptions {
  /** 4 or 6 for an address of that family only (default: either). */
  readonly family?: 4 | 6 | undefined;
}
