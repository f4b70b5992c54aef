import { getEventListeners } from "node:events";
import type { Socket } from "node:net";
import { onRequestHead, startOrigin, startRawServer, type Origin as TestOrigin } from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectError,
  ConnectionPool,
  ReadTimeout,
  RemoteProtocolError,
  WriteError,
  WriteTimeout,
} from "../src/index.js";

let http: TestOrigin;
beforeAll(async () => {
  http = await startOrigin({ name: "origin" });
});
afterAll(async () => {
  await http.close();
});

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

describe("stale and misbehaving connections", () => {
  it("an idle connection closed by the server leaves the pool at once", async () => {
    const raw = await startRawServer((socket) => {
      onRequestHead(socket, () => {
        socket.write(OK);
        setTimeout(() => socket.end(), 20);
      });
    });
    try {
      await using pool = new ConnectionPool();
      await pool.request("GET", `${raw.url}/`);
      expect(pool.connections).toHaveLength(1);
      await sleep(80);
      expect(pool.connections).toHaveLength(0);
      const again = await pool.request("GET", `${raw.url}/`);
      expect(text(again.content)).toBe("ok");
      expect(raw.connections).toBe(2);
    } finally {
      await raw.close();
    }
  });

  it("a connection closed right behind its response is not reused, even by a request sent at once", async () => {
    // No "Connection: close": the FIN follows the response in the same instant. A POST is
    // not retried on another connection, so sending it on this one would fail it.
    const raw = await startRawServer((socket) => {
      onRequestHead(socket, () => socket.end(OK));
    });
    try {
      await using pool = new ConnectionPool();
      for (let i = 0; i < 20; i++) {
        const response = await pool.request("POST", `${raw.url}/`, { content: "x" });
        expect(text(response.content)).toBe("ok");
      }
      expect(raw.connections).toBe(20);
    } finally {
      await raw.close();
    }
  });

  it("a request waiting for a connection to settle fails when the pool is closed", async () => {
    const raw = await startRawServer((socket) => {
      socket.on("data", () => socket.write(OK));
    });
    try {
      await using pool = new ConnectionPool();
      await pool.request("GET", `${raw.url}/`);
      // The POST waits for the connection just released; close() ends it first.
      const waiting = pool.request("POST", `${raw.url}/`, { content: "x" }).catch((e) => e);
      await pool.close();
      const error = await waiting;
      expect(error).toBeInstanceOf(WriteError);
      expect(error.message).toMatch(/closed before the request was sent/);
      expect(raw.connections).toBe(1);
    } finally {
      await raw.close();
    }
  });

  it("a request aborted while it waits for a connection to settle fails with the reason", async () => {
    const raw = await startRawServer((socket) => {
      socket.on("data", () => socket.write(OK));
    });
    try {
      await using pool = new ConnectionPool();
      await pool.request("GET", `${raw.url}/`);
      const controller = new AbortController();
      const waiting = pool
        .request("POST", `${raw.url}/`, { content: "x", signal: controller.signal })
        .catch((e) => e);
      const reason = new Error("stop");
      controller.abort(reason);
      expect(await waiting).toBe(reason);
      // Nothing was written: the connection is kept, as it was, and serves the next request.
      expect(pool.connections.map((c) => c.info())).toEqual([
        `'${raw.url}', HTTP/1.1, IDLE, Request Count: 1`,
      ]);
      expect((await pool.request("GET", `${raw.url}/`)).status).toBe(200);
      expect(raw.connections).toBe(1);
    } finally {
      await raw.close();
    }
  });

  it("an unsolicited response on an idle connection is never taken as the next answer", async () => {
    // The unsolicited bytes must be on their way before the next request is sent (after it,
    // any client would take them as its answer): the test waits for the server's write.
    let evilSent!: () => void;
    const evilWritten = new Promise<void>((resolve) => {
      evilSent = resolve;
    });
    const raw = await startRawServer((socket, index) => {
      onRequestHead(socket, () => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${index}`);
        if (index === 0)
          setTimeout(
            () =>
              socket.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEVIL!", () => evilSent()),
            20,
          );
      });
    });
    try {
      await using pool = new ConnectionPool();
      expect(text((await pool.request("GET", `${raw.url}/`)).content)).toBe("0");
      await evilWritten;
      await sleep(40);
      expect(text((await pool.request("GET", `${raw.url}/`)).content)).toBe("1");
    } finally {
      await raw.close();
    }
  });

  it("the server's Keep-Alive timeout hint bounds the idle life", async () => {
    await using pool = new ConnectionPool();
    await pool.request("GET", `${http.url}/keepalive/1`);
    // timeout=1 (s) less the 1 s safety margin: expired at once.
    await sleep(2);
    expect(pool.connections).toHaveLength(0);
    await pool.request("GET", `${http.url}/keepalive/30`);
    expect(pool.connections).toHaveLength(1);
    // Each response's own hint counts, not the one seen before it.
    await sleep(2);
    expect(pool.connections).toHaveLength(1);
    await pool.request("GET", `${http.url}/keepalive/1`);
    await sleep(2);
    expect(pool.connections).toHaveLength(0);
  });

  it("the Keep-Alive hint's name is matched in any case", async () => {
    const raw = await startRawServer((socket) => {
      onRequestHead(socket, () =>
        socket.write("HTTP/1.1 200 OK\r\nKEEP-alive: timeout=1\r\nContent-Length: 2\r\n\r\nok"),
      );
    });
    try {
      await using pool = new ConnectionPool();
      await pool.request("GET", `${raw.url}/`);
      await sleep(2);
      expect(pool.connections).toHaveLength(0);
    } finally {
      await raw.close();
    }
  });

  it("connection refused is a ConnectError", async () => {
    const raw = await startRawServer(() => {});
    const port = raw.port;
    await raw.close();
    await using pool = new ConnectionPool();
    const error = await pool.request("GET", `http://127.0.0.1:${port}/`).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it("silence after the request is a ReadTimeout; the connection leaves the pool", async () => {
    const raw = await startRawServer(() => {});
    try {
      await using pool = new ConnectionPool();
      const error = await pool
        .request("GET", `${raw.url}/`, { extensions: { timeout: { read: 50 } } })
        .catch((e) => e);
      expect(error).toBeInstanceOf(ReadTimeout);
      expect(pool.connections).toHaveLength(0);
    } finally {
      await raw.close();
    }
  });

  it("a close in the middle of the body is a RemoteProtocolError", async () => {
    const raw = await startRawServer((socket) => {
      onRequestHead(socket, () =>
        socket.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"),
      );
    });
    try {
      await using pool = new ConnectionPool();
      const error = await pool.request("GET", `${raw.url}/`).catch((e) => e);
      expect(error).toBeInstanceOf(RemoteProtocolError);
      expect(error.message).toMatch(/received 7 bytes, expected 100/);
      expect(pool.connections).toHaveLength(0);
    } finally {
      await raw.close();
    }
  });
});

describe("write timeout", () => {
  it("a server that stops reading an upload gives WriteTimeout, and the connection is closed", async () => {
    // Reads the head, then nothing: the kernel buffers fill and our writes stall.
    const raw = await startRawServer((socket) => onRequestHead(socket, () => socket.pause()));
    try {
      await using pool = new ConnectionPool();
      async function* big() {
        for (let i = 0; i < 1024; i++) yield new Uint8Array(256 * 1024);
      }
      const error = await pool
        .request("PUT", `${raw.url}/`, {
          content: big(),
          extensions: { timeout: { write: 200, read: 5000 } },
        })
        .catch((e) => e);
      expect(error).toBeInstanceOf(WriteTimeout);
      expect(error.code).toBe("ERR_WRITE_TIMEOUT");
      expect(pool.connections).toHaveLength(0);
    } finally {
      await raw.close();
    }
  });
});

describe("the retry rule", () => {
  // A server that answers the first request on each connection, then closes the
  // connection once the next request has all arrived, without answering it. Closing only
  // after the whole request (a chunked body's last chunk included) was read sends a FIN and
  // never a reset: the client reads the end of the stream, and nothing else.
  async function flakyServer() {
    return startRawServer((socket: Socket) => {
      let served = 0;
      let buffered = "";
      socket.on("data", (chunk) => {
        buffered += chunk.toString("latin1");
        const end = buffered.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buffered.slice(0, end);
        let length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (/transfer-encoding: chunked/i.test(head)) {
          // The bodies here are one small chunk and the last: "1\r\nx\r\n0\r\n\r\n".
          const last = buffered.indexOf("0\r\n\r\n", end + 4);
          if (last === -1) return;
          length = last + 5 - (end + 4);
        }
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        if (served++ === 0) socket.write(OK);
        else socket.destroy();
      });
    });
  }

  it("a GET that fails on a reused connection before any response byte is retried once on a new one", async () => {
    const raw = await flakyServer();
    try {
      await using pool = new ConnectionPool();
      await pool.request("GET", `${raw.url}/`);
      const second = await pool.request("GET", `${raw.url}/`);
      expect(text(second.content)).toBe("ok");
      expect(raw.connections).toBe(2);
    } finally {
      await raw.close();
    }
  });

  it("a POST is never retried", async () => {
    const raw = await flakyServer();
    try {
      await using pool = new ConnectionPool();
      await pool.request("POST", `${raw.url}/`, { content: "a" });
      const error = await pool.request("POST", `${raw.url}/`, { content: "b" }).catch((e) => e);
      expect(error).toBeInstanceOf(RemoteProtocolError);
      expect(error).toMatchObject({
        code: "ERR_REMOTE_PROTOCOL",
        message: "Server disconnected without sending a response.",
        // What made a GET safe to send again; a POST is not.
        retry: "reused-connection",
      });
      expect(raw.connections).toBe(1);
    } finally {
      await raw.close();
    }
  });

  it("a PUT with a one-shot body (async iterable) is not retried", async () => {
    const raw = await flakyServer();
    try {
      await using pool = new ConnectionPool();
      await pool.request("GET", `${raw.url}/`);
      async function* once() {
        yield new TextEncoder().encode("x");
      }
      const error = await pool.request("PUT", `${raw.url}/`, { content: once() }).catch((e) => e);
      expect(error).toBeInstanceOf(RemoteProtocolError);
      expect(error).toMatchObject({
        code: "ERR_REMOTE_PROTOCOL",
        message: "Server disconnected without sending a response.",
      });
      expect(raw.connections).toBe(1);
    } finally {
      await raw.close();
    }
  });
});

describe("abort", () => {
  it("one signal shared by 50 concurrent requests: one listener, no warning, and it stops them all", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      await using pool = new ConnectionPool({ maxConnections: 50 });
      const batch = new AbortController();
      await Promise.all(
        Array.from({ length: 50 }, () =>
          pool.request("GET", `${http.url}/`, { signal: batch.signal }),
        ),
      );
      expect(getEventListeners(batch.signal, "abort")).toHaveLength(0);
      const pending = Array.from({ length: 50 }, () =>
        pool.request("GET", `${http.url}/slow/2000`, { signal: batch.signal }),
      );
      await sleep(50);
      expect(getEventListeners(batch.signal, "abort")).toHaveLength(1);
      const reason = new Error("cancel the batch");
      batch.abort(reason);
      const results = await Promise.allSettled(pending);
      expect(results).toEqual(Array(50).fill({ status: "rejected", reason }));
      expect(results.every((r) => r.status === "rejected" && r.reason === reason)).toBe(true);
      await sleep(10);
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("rejects with the signal's reason while waiting for the pool, and queued requests go on", async () => {
    await using pool = new ConnectionPool({ maxConnections: 1 });
    const held = await pool.stream("GET", `${http.url}/bytes/10`);
    const controller = new AbortController();
    const waiting = pool.request("GET", `${http.url}/`, { signal: controller.signal });
    const after = pool.request("GET", `${http.url}/whoami`);
    const reason = new Error("changed my mind");
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    await held.read();
    await held.close();
    expect(text((await after).content)).toBe("origin");
  });

  it("while connecting", async () => {
    const raw = await startRawServer(() => {});
    try {
      await using pool = new ConnectionPool();
      const signal = AbortSignal.timeout(1);
      const p = pool.request("GET", `${raw.url}/`, { signal });
      await expect(p).rejects.toMatchObject({ name: "TimeoutError" });
      expect(await p.catch((e) => e)).toBe(signal.reason);
      expect(pool.connections).toHaveLength(0);
    } finally {
      await raw.close();
    }
  });

  it("while reading the head and while reading the body; the connection is closed", async () => {
    for (const path of ["/slow/200", "/stream/1000"]) {
      await using pool = new ConnectionPool();
      const controller = new AbortController();
      const reason = new Error(`stop ${path}`);
      const p = (async () => {
        const s = await pool.stream("GET", `${http.url}${path}`, { signal: controller.signal });
        for await (const _ of s) controller.abort(reason);
      })();
      setTimeout(() => controller.abort(reason), 30);
      await expect(p).rejects.toBe(reason);
      expect(pool.connections).toHaveLength(0);
      expect(String(pool)).toBe(
        "<ConnectionPool [Requests: 0 active, 0 queued | Connections: 0 active, 0 idle]>",
      );
      const next = await pool.request("GET", `${http.url}/whoami`);
      expect(next.status).toBe(200);
    }
  });

  it("while writing the body", async () => {
    const raw = await startRawServer(() => {});
    try {
      await using pool = new ConnectionPool();
      const controller = new AbortController();
      const reason = new Error("stop upload");
      async function* slowBody() {
        for (let i = 0; i < 100; i++) {
          yield new Uint8Array(64 * 1024);
          if (i === 2) controller.abort(reason);
        }
      }
      await expect(
        pool.request("POST", `${raw.url}/`, { content: slowBody(), signal: controller.signal }),
      ).rejects.toBe(reason);
      expect(pool.connections).toHaveLength(0);
    } finally {
      await raw.close();
    }
  });
});

describe("early responses and backpressure", () => {
  it("a 413 sent before the upload is read is delivered as the response", async () => {
    const raw = await startRawServer((socket) => {
      onRequestHead(socket, () => {
        socket.end(
          "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!",
        );
      });
    });
    try {
      await using pool = new ConnectionPool();
      const big = new Uint8Array(8 * 1024 * 1024);
      const r = await pool.request("POST", `${raw.url}/upload`, { content: big });
      expect(r.status).toBe(413);
      expect(text(r.content)).toBe("too big!");
      expect(pool.connections).toHaveLength(0);
    } finally {
      await raw.close();
    }
  });

  it("stream() reads from the socket only as fast as the caller consumes", async () => {
    const total = 64 * 1024 * 1024;
    let written = 0;
    const raw = await startRawServer((socket) => {
      onRequestHead(socket, () => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${total}\r\n\r\n`);
        const block = Buffer.alloc(256 * 1024);
        const pump = () => {
          while (written < total) {
            written += block.length;
            if (!socket.write(block)) return socket.once("drain", pump);
          }
        };
        pump();
      });
    });
    try {
      await using pool = new ConnectionPool();
      const s = await pool.stream("GET", `${raw.url}/`);
      const iterator = s[Symbol.asyncIterator]();
      await iterator.next();
      await sleep(200);
      // Kernel buffers and our high-water mark hold a few MiB at most; not 64.
      expect(written).toBeLessThan(16 * 1024 * 1024);
      await iterator.return?.();
      await s.close();
    } finally {
      await raw.close();
    }
  });
});
