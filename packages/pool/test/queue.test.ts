import { describe, expect, it } from "vitest";
import { ConnectionPool, type NetworkBackend, type NetworkStream } from "../src/index.js";

const RESPONSE = new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

// A stream that answers each request as soon as it is written, all in microtasks: every
// response of a burst completes in the same tick, which is where release races hide.
class EchoStream implements NetworkStream {
  #pending = 0;
  #waiter: ((b: Uint8Array) => void) | null = null;
  async read(): Promise<Uint8Array> {
    if (this.#pending > 0) {
      this.#pending--;
      return RESPONSE;
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }
  async write(): Promise<void> {
    const waiter = this.#waiter;
    if (waiter === null) this.#pending++;
    else {
      this.#waiter = null;
      queueMicrotask(() => waiter(RESPONSE));
    }
  }
  async close(): Promise<void> {}
  async startTls(): Promise<NetworkStream> {
    return this;
  }
  getExtraInfo(): unknown {
    return false;
  }
}

function echoBackend(): NetworkBackend & { opened: number } {
  const backend = {
    opened: 0,
    async connectTcp() {
      backend.opened++;
      return new EchoStream();
    },
    async connectUnixSocket() {
      backend.opened++;
      return new EchoStream();
    },
    async sleep() {},
  };
  return backend;
}

describe("queueing", () => {
  it("a burst of 5000 requests on maxConnections 10 reuses the same 10 connections", async () => {
    const backend = echoBackend();
    await using pool = new ConnectionPool({ maxConnections: 10, networkBackend: backend });
    const responses = await Promise.all(
      Array.from({ length: 5000 }, () => pool.request("GET", "http://queue.test/")),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(backend.opened).toBe(10);
    expect(pool.connections.map((c) => c.info())).toEqual(
      Array.from({ length: 10 }, () => expect.stringMatching(/IDLE, Request Count: \d+$/)),
    );
    const counts = pool.connections.map((c) => Number(/Request Count: (\d+)/.exec(c.info())![1]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(5000);
  });

  it("serves queued requests first in, first out", async () => {
    const backend = echoBackend();
    await using pool = new ConnectionPool({ maxConnections: 1, networkBackend: backend });
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        pool.request("GET", `http://queue.test/${i}`).then(() => order.push(i)),
      ),
    );
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("the keep-alive limit closes the least recently used idle connections", async () => {
    const backend = echoBackend();
    await using pool = new ConnectionPool({
      maxConnections: 10,
      maxKeepaliveConnections: 3,
      networkBackend: backend,
    });
    await Promise.all(Array.from({ length: 100 }, () => pool.request("GET", "http://queue.test/")));
    expect(pool.connections).toHaveLength(3);
    expect(pool.connections.every((c) => c.isIdle())).toBe(true);
  });
});
