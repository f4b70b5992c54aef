import type { Socket } from "node:net";

const EMPTY = new Uint8Array(0);
const HIGH_WATER = 1024 * 1024;

/** Pull-style reads from a socket (empty = EOF), with backpressure; detach to pipe it. */
export class SocketReader {
  readonly #socket: Socket;
  #queue: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #waiter: ((chunk: Uint8Array) => void) | null = null;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", this.#onEnd);
  }

  #onData = (chunk: Buffer): void => {
    if (this.#waiter !== null) {
      const w = this.#waiter;
      this.#waiter = null;
      w(chunk);
      return;
    }
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued > HIGH_WATER) this.#socket.pause();
  };

  #onEnd = (): void => {
    this.#ended = true;
    if (this.#waiter !== null) {
      const w = this.#waiter;
      this.#waiter = null;
      w(EMPTY);
    }
  };

  read(): Promise<Uint8Array> {
    const chunk = this.#queue.shift();
    if (chunk !== undefined) {
      this.#queued -= chunk.length;
      if (this.#queued <= HIGH_WATER) this.#socket.resume();
      return Promise.resolve(chunk);
    }
    if (this.#ended) return Promise.resolve(EMPTY);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** Stops reading; returns what was queued. The socket is left paused. */
  detach(): Buffer[] {
    this.#socket.off("data", this.#onData);
    this.#socket.off("end", this.#onEnd);
    this.#socket.off("close", this.#onEnd);
    this.#socket.pause();
    const rest = this.#queue;
    this.#queue = [];
    return rest;
  }
}
