// The read buffers of the TCP and Unix sockets NodeBackend opens (net's `onread` option, the
// ReadBuffers class in node-backend.ts), driven with reads of exact sizes: which buffer each
// read goes into, which chunks are copied out and which are handed over as views, when a
// socket takes a buffer of its own and when it gives it back. The kernel decides the sizes of
// real reads, so this test takes the `onread` option NodeBackend passes to net.connect and
// calls it as net does (the buffer, then the callback, then the buffer for the next read),
// on a connected socket whose peer sends nothing.
import type * as Net from "node:net";
import { startRawServer } from "@x/testkit";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { NodeBackend, type NodeStream } from "../src/index.js";

interface OnRead {
  buffer: () => Buffer;
  callback: (nread: number, buf: Buffer) => boolean;
}

// Every `onread` option net.connect was given, in order.
const given = vi.hoisted(() => [] as OnRead[]);
vi.mock("node:net", async (importOriginal) => {
  const net = await importOriginal<typeof Net>();
  const connect = (options: Net.NetConnectOpts & { onread?: OnRead }) => {
    if (options.onread !== undefined) given.push(options.onread);
    return net.connect(options);
  };
  return { ...net, connect };
});

const KiB = 1024;
const READ_BUFFER = 128 * KiB;

beforeEach(() => {
  given.length = 0;
});

// A NodeStream to a silent peer, and its `onread`: `read(n)` is one read of n bytes as net
// makes it, and says whether the chunk the stream hands out is a view of the buffer read
// into, whether it holds the bytes read, and the buffer the next read goes into.
async function opened() {
  const server = await startRawServer(() => {});
  const stream = (await new NodeBackend().connectTcp("127.0.0.1", server.port)) as NodeStream;
  const onread = given.at(-1)!;
  let fill = 0;
  const read = async (nread: number) => {
    const buf = onread.buffer();
    fill = (fill + 1) % 251;
    buf.fill(fill, 0, nread);
    expect(onread.callback(nread, buf)).toBe(true);
    const chunk = await stream.read(READ_BUFFER);
    return {
      chunk,
      into: buf,
      view: chunk.buffer === buf.buffer,
      bytes: Buffer.from(chunk).equals(Buffer.alloc(nread, fill)),
      next: onread.buffer(),
    };
  };
  // Checks a read's buffers by identity (toBe would print 128 KiB buffers when it fails).
  const expectRead = (
    r: Awaited<ReturnType<typeof read>>,
    want: { into: Buffer; view: boolean; next?: Buffer },
  ) => {
    expect(r.into === want.into, "the buffer read into").toBe(true);
    expect(r.view, "handed over as a view").toBe(want.view);
    expect(r.bytes, "the bytes read").toBe(true);
    if (want.next !== undefined) expect(r.next === want.next, "the next buffer").toBe(true);
  };
  const close = async () => {
    await stream.close();
    await server.close();
  };
  return { stream, onread, read, expectRead, close };
}

describe("NodeBackend's read buffers (reads of exact sizes)", () => {
  it("sockets start on one shared buffer; small reads are copied out of it and stay on it", async () => {
    const a = await opened();
    const b = await opened();
    const shared = a.onread.buffer();
    expect(shared.length).toBe(READ_BUFFER);
    expect(b.onread.buffer() === shared).toBe(true);
    for (const n of [1, 100, 16 * KiB - 1]) {
      const r = await a.read(n);
      a.expectRead(r, { into: shared, view: false, next: shared });
    }
    await a.close();
    await b.close();
  });

  it("a read of 16 KiB or more into the shared buffer is copied, and gives the socket its own", async () => {
    for (const n of [16 * KiB, 100 * KiB]) {
      const s = await opened();
      const shared = s.onread.buffer();
      const r = await s.read(n);
      s.expectRead(r, { into: shared, view: false });
      expect(r.next === shared).toBe(false);
      expect(r.next.length).toBe(READ_BUFFER);
      await s.close();
    }
  });

  it("a read filling half its own buffer or more is handed over as a view, and a new one follows", async () => {
    const s = await opened();
    const shared = s.onread.buffer();
    const own = (await s.read(20 * KiB)).next;
    const half = await s.read(64 * KiB);
    s.expectRead(half, { into: own, view: true });
    expect(half.next === own).toBe(false);
    expect(half.next === shared).toBe(false);
    const full = await s.read(READ_BUFFER);
    s.expectRead(full, { into: half.next, view: true });
    expect(full.next === half.next).toBe(false);
    expect(full.next === shared).toBe(false);
    // The chunks handed over hold their bytes still: those buffers are not read into again.
    await s.read(100);
    expect(half.chunk.length).toBe(64 * KiB);
    expect(half.chunk.every((b) => b === half.chunk[0])).toBe(true);
    expect(full.chunk.every((b) => b === full.chunk[0])).toBe(true);
    expect(full.chunk[0]).not.toBe(half.chunk[0]);
    await s.close();
  });

  it("less than half of its own buffer is copied out, and the socket keeps that buffer", async () => {
    const s = await opened();
    const own = (await s.read(20 * KiB)).next;
    const r = await s.read(64 * KiB - 1);
    s.expectRead(r, { into: own, view: false, next: own });
    await s.close();
  });

  it("two small reads in a row (under 16 KiB) give its own buffer back; one does not", async () => {
    const s = await opened();
    const shared = s.onread.buffer();
    const own = (await s.read(20 * KiB)).next;
    // One small read (the tail of a body): it keeps its buffer.
    s.expectRead(await s.read(100), { into: own, view: false, next: own });
    // A read of 16 KiB, not small: the count starts again.
    s.expectRead(await s.read(16 * KiB), { into: own, view: false, next: own });
    s.expectRead(await s.read(16 * KiB - 1), { into: own, view: false, next: own });
    // The second small read in a row: back to the shared buffer.
    s.expectRead(await s.read(1), { into: own, view: false, next: shared });
    // And from there, as at the start: a large read gives it a buffer of its own again,
    // which one small read after does not take back (the count started again too).
    const again = (await s.read(16 * KiB)).next;
    expect(again === shared).toBe(false);
    s.expectRead(await s.read(10), { into: again, view: false, next: again });
    s.expectRead(await s.read(10), { into: again, view: false, next: shared });
    await s.close();
  });

  it("a read handed over as a view starts the count of small reads again", async () => {
    const s = await opened();
    const shared = s.onread.buffer();
    const own = (await s.read(20 * KiB)).next;
    s.expectRead(await s.read(10), { into: own, view: false, next: own });
    const view = await s.read(100 * KiB);
    s.expectRead(view, { into: own, view: true });
    s.expectRead(await s.read(10), { into: view.next, view: false, next: view.next });
    s.expectRead(await s.read(10), { into: view.next, view: false, next: shared });
    await s.close();
  });

  it("read_may_continue: only after a read that filled its buffer", async () => {
    const s = await opened();
    expect(s.stream.getExtraInfo("read_may_continue")).toBe(false);
    await s.read(READ_BUFFER);
    expect(s.stream.getExtraInfo("read_may_continue")).toBe(true);
    await s.read(READ_BUFFER - 1);
    expect(s.stream.getExtraInfo("read_may_continue")).toBe(false);
    await s.close();
  });

  it("a read before the stream is made (before 'connect') waits for it, in order", async () => {
    const server = await startRawServer(() => {});
    const connecting = new NodeBackend().connectTcp("127.0.0.1", server.port);
    const onread = given.at(-1)!;
    for (const text of ["early ", "bytes"]) {
      const buf = onread.buffer();
      buf.write(text);
      onread.callback(text.length, buf);
    }
    const stream = await connecting;
    expect(Buffer.from(await stream.read(100)).toString()).toBe("early ");
    expect(Buffer.from(await stream.read(100)).toString()).toBe("bytes");
    await stream.close();
    await server.close();
  });
});
