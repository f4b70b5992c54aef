// NetworkSocket: a NetworkStream as a Node Duplex, for the APIs that want a socket —
// node:http's Agent, tls.connect({ socket }), undici's upgrade and CONNECT handlers, ws.
// Reads are pulled from the stream only as the Duplex's reader asks (Readable's
// back-pressure), writes go out one at a time, and destroying the Duplex closes the stream.
// The few net.Socket methods node:http calls (setTimeout, setNoDelay, setKeepAlive, ref,
// unref) are served: the timeout counts inactivity here, the others go to the underlying
// Node socket when the stream has one.

import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import type { NetworkStream } from "./network.js";

const READ_SIZE = 64 * 1024;

/**
 * Options of a NetworkSocket.
 *
 * @example
 * new NetworkSocket(stream, { onClose: () => response.close() })
 */
export interface NetworkSocketOptions {
  /** Called once, after the stream has been closed (say, to release what it came from). */
  readonly onClose?: (() => unknown) | undefined;
}

/**
 * A Node `Duplex` over a NetworkStream: hand a pool's stream (a tunnel, a 101's
 * `networkStream`) to an API that wants a socket. Destroying it closes the stream.
 *
 * @example
 * const socket = new NetworkSocket(response.extensions.networkStream!);
 * socket.write("hello"); socket.on("data", (chunk) => console.log(chunk));
 */
export class NetworkSocket extends Duplex {
  readonly #stream: NetworkStream;
  readonly #onClose: (() => unknown) | undefined;
  #reading = false;
  #timeoutMs = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Never connecting: the stream is open already (node:http looks). */
  readonly connecting = false;

  constructor(stream: NetworkStream, options: NetworkSocketOptions = {}) {
    // As net.Socket: the end of the peer's data ends ours.
    super({ allowHalfOpen: false });
    this.#stream = stream;
    this.#onClose = options.onClose;
  }

  /** The NetworkStream under it. */
  get stream(): NetworkStream {
    return this.#stream;
  }

  get #socket(): Socket | undefined {
    const socket = this.#stream.getExtraInfo("socket");
    return socket !== null && typeof socket === "object" ? (socket as Socket) : undefined;
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#stream.read(READ_SIZE).then(
      (chunk) => {
        this.#reading = false;
        this.#touch();
        this.push(chunk.length === 0 ? null : chunk);
      },
      (error: unknown) => {
        this.#reading = false;
        this.destroy(error as Error);
      },
    );
  }

  override _write(
    chunk: Uint8Array,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#touch();
    this.#stream.write(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // A NetworkStream cannot half-close: the stream closes when the Duplex is destroyed.
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearTimer();
    const done = (): void => {
      try {
        this.#onClose?.();
      } finally {
        callback(error);
      }
    };
    this.#stream.close().then(done, done);
  }

  /** net.Socket's inactivity timeout: 'timeout' is emitted after `ms` without I/O (0: none). */
  setTimeout(ms: number, callback?: () => void): this {
    this.#timeoutMs = ms;
    if (callback !== undefined) {
      if (ms === 0) this.off("timeout", callback);
      else this.once("timeout", callback);
    }
    this.#clearTimer();
    if (ms > 0) {
      this.#timer = setTimeout(() => this.emit("timeout"), ms);
      this.#timer.unref();
    }
    return this;
  }

  /** The timeout set by setTimeout (ms), as net.Socket's `timeout`. */
  get timeout(): number {
    return this.#timeoutMs;
  }

  #touch(): void {
    this.#timer?.refresh();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  setNoDelay(noDelay?: boolean): this {
    this.#socket?.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.#socket?.setKeepAlive(enable, initialDelay);
    return this;
  }

  ref(): this {
    this.#socket?.ref();
    return this;
  }

  unref(): this {
    this.#socket?.unref();
    return this;
  }
}
