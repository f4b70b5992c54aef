// NodeStream over real sockets: what a read hands over is the peer's bytes, whatever sizes
// the kernel delivers them in (TCP and Unix sockets read into buffers of their own).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startRawServer } from "@x/testkit";
import { describe, expect, it } from "vitest";
import { type NetworkStream, NodeBackend } from "../src/index.js";

// Writes `payload` in pieces of 1 B to 200 KiB, some after a pause, so that reads come in
// every size: small ones (copied out of the read buffer) and large ones (handed over).
async function sendInPieces(socket: Socket, payload: Buffer, seed: number): Promise<void> {
  let state = seed;
  const next = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  let at = 0;
  while (at < payload.length) {
    const size = [1, 7, 100, 1500, 16 * 1024, 40 * 1024, 200 * 1024][next(7)]!;
    const piece = payload.subarray(at, at + size);
    at += piece.length;
    if (!socket.write(piece)) await new Promise((resolve) => socket.once("drain", resolve));
    if (next(4) === 0) await sleep(1);
  }
  socket.end();
}

// Reads to the end, keeping every chunk: a buffer read into again after it was handed over
// would change chunks already taken.
async function readAll(stream: NetworkStream, maxBytes: number): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const chunk = await stream.read(maxBytes);
    if (chunk.length === 0) return chunks;
    chunks.push(chunk);
  }
}

function expectSame(chunks: Uint8Array[], payload: Buffer): void {
  const got = Buffer.concat(chunks);
  expect(got.length).toBe(payload.length);
  expect(got.equals(payload)).toBe(true);
}

describe("NodeStream reads", () => {
  it("hands over a TCP peer's bytes unchanged, in reads of every size", async () => {
    const payload = randomBytes(3 * 1024 * 1024);
    const server = await startRawServer((socket) => void sendInPieces(socket, payload, 7));
    try {
      const stream = await new NodeBackend().connectTcp("127.0.0.1", server.port);
      // HTTP11Connection's read size: reads of a whole buffer are not split.
      const chunks = await readAll(stream, 128 * 1024);
      expectSame(chunks, payload);
      // Both ways of handing a read over were taken.
      expect(chunks.some((c) => c.length < 4096)).toBe(true);
      expect(chunks.some((c) => c.length >= 32 * 1024)).toBe(true);
      // A large read is handed over as it is, a view of the socket's own read buffer (no copy).
      expect(chunks.some((c) => c.length >= 64 * 1024 && c.buffer.byteLength > c.length)).toBe(
        true,
      );
      // A chunk holds at most twice its own size (small ones share Buffer's pool).
      for (const c of chunks) {
        if (c.length >= 4096) expect(c.buffer.byteLength).toBeLessThanOrEqual(2 * c.length);
      }
      await stream.close();
    } finally {
      await server.close();
    }
  });

  it("many sockets reading at once, small and large reads mixed, each gets its own bytes", async () => {
    // Sockets reading small amounts share one read buffer, and one that reads a lot gets a
    // buffer of its own and back: a mix-up would put one peer's bytes in another's chunks,
    // or change a chunk already taken. Each keeps every chunk until the end to show neither.
    const payloads = Array.from({ length: 12 }, () => randomBytes(600 * 1024));
    let accepted = 0;
    const server = await startRawServer((socket) => {
      const index = accepted++;
      socket.once("data", () => void sendInPieces(socket, payloads[index]!, 100 + index));
    });
    try {
      const backend = new NodeBackend();
      const streams = await Promise.all(
        payloads.map(async (_payload, index) => {
          const stream = await backend.connectTcp("127.0.0.1", server.port);
          // Connect in order, so that the server's index matches ours.
          return { stream, index };
        }),
      );
      const results = await Promise.all(
        streams.map(async ({ stream }) => {
          await stream.write(new Uint8Array([1]));
          const chunks = await readAll(stream, 64 * 1024);
          await stream.close();
          return chunks;
        }),
      );
      // Which payload each socket got is the server's order of accepts: match by content.
      const remaining = new Set(payloads);
      for (const chunks of results) {
        const got = Buffer.concat(chunks);
        const match = [...remaining].find((p) => p.equals(got));
        expect(match).toBeDefined();
        remaining.delete(match!);
      }
      expect(remaining.size).toBe(0);
    } finally {
      await server.close();
    }
  });

  it("reads of a few bytes at a time split chunks without losing any", async () => {
    const payload = randomBytes(256 * 1024);
    const server = await startRawServer((socket) => void sendInPieces(socket, payload, 11));
    try {
      const stream = await new NodeBackend().connectTcp("127.0.0.1", server.port);
      const chunks = await readAll(stream, 1000);
      expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(1000);
      expectSame(chunks, payload);
      await stream.close();
    } finally {
      await server.close();
    }
  });

  it("does the same over a Unix socket", async () => {
    const dir = mkdtempSync(join(tmpdir(), "x-pool-"));
    const path = join(dir, "s.sock");
    const payload = randomBytes(1024 * 1024);
    const server: Server = createServer((socket) => void sendInPieces(socket, payload, 3));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const stream = await new NodeBackend().connectUnixSocket(path);
      expectSame(await readAll(stream, 64 * 1024), payload);
      await stream.close();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("bytes that arrive while nobody reads wait, and the peer's close is seen after them", async () => {
    const server = await startRawServer((socket) => socket.end("early bytes"));
    try {
      const stream = await new NodeBackend().connectTcp("127.0.0.1", server.port);
      await sleep(50);
      expect(stream.getExtraInfo("is_readable")).toBe(true);
      expect(Buffer.from(await stream.read(100)).toString()).toBe("early bytes");
      expect((await stream.read(100)).length).toBe(0);
      await stream.close();
    } finally {
      await server.close();
    }
  });
});
