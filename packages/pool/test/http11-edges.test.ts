// HTTP11Connection's less travelled paths, over scripted in-memory streams (MockStream): an
// upload whose body fails, the expiry clock of a connection back in use, the stream shown
// with ordinary responses.
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import {
  ExtraInfoStream,
  HTTP11Connection,
  MockBackend,
  MockStream,
  Origin,
  ReadError,
  Request,
  WriteScheduler,
} from "../src/index.js";

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const origin = new Origin("http", "example.com", 80);
const get = () => new Request("GET", "http://example.com/", { headers: { Host: "example.com" } });
const OK2 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// A MockStream that says its last read emptied the socket: a request on it goes at once.
class DrainedStream extends MockStream {
  override getExtraInfo(key: string): unknown {
    return key === "read_may_continue" ? false : super.getExtraInfo(key);
  }
}
const drained = (chunks: string[]) => new DrainedStream(chunks.map(bytes), new MockBackend([]));

// A stream whose reads wait until it is closed, as a socket's do when the server is silent.
class SilentStream extends MockStream {
  #wake: (() => void) | null = null;
  override read(): Promise<Uint8Array> {
    return new Promise((_resolve, reject) => {
      this.#wake = () => reject(new ReadError("the stream is closed"));
    });
  }
  override async close(): Promise<void> {
    await super.close();
    this.#wake?.();
  }
}

describe("an upload whose body fails (not a write)", () => {
  it("the request fails with the body's error, and the stream is closed", async () => {
    const stream = new SilentStream([], new MockBackend([]));
    const conn = new HTTP11Connection(origin, stream);
    const failure = new TypeError("the body's source failed (test)");
    async function* body() {
      yield new Uint8Array(10);
      throw failure;
    }
    const request = new Request("POST", "http://example.com/", {
      headers: { Host: "example.com", "Content-Length": "100" },
      content: body(),
    });
    expect(await conn.handleRequest(request).catch((e: unknown) => e)).toBe(failure);
    expect(stream.closed).toBe(true);
    expect(conn.state).toBe("CLOSED");
  });
});

describe("the expiry clock", () => {
  it("stops while the connection is in use again", async () => {
    const stream = drained([OK2, OK2]);
    const conn = new HTTP11Connection(origin, stream, {
      writeScheduler: new WriteScheduler(),
      keepaliveExpiry: 100,
    });
    await (await conn.handleRequest(get())).read();
    // Taken again at once (the socket was emptied), well within its 100 ms.
    const response = await conn.handleRequest(get());
    expect(conn.state).toBe("ACTIVE");
    await new Promise((resolve) => setTimeout(resolve, 150));
    // In use: not expired however long the response takes.
    expect(conn.hasExpired()).toBe(false);
    expect(text(await response.read())).toBe("ok");
    expect(conn.state).toBe("IDLE");
    // Idle again: the clock starts anew.
    expect(conn.hasExpired()).toBe(false);
  });
});

describe("the stream ordinary responses carry", () => {
  it("one ExtraInfoStream per connection, over its stream", async () => {
    const stream = drained([OK2, OK2]);
    const conn = new HTTP11Connection(origin, stream, { writeScheduler: new WriteScheduler() });
    const first = await conn.handleRequest(get());
    await first.read();
    const second = await conn.handleRequest(get());
    await second.read();
    const shown = first.extensions.networkStream;
    expect(shown).toBeInstanceOf(ExtraInfoStream);
    expect(second.extensions.networkStream).toBe(shown);
    expect(shown?.getExtraInfo("read_may_continue")).toBe(false);
  });
});

describe("WriteScheduler over many turns", () => {
  const checkPhase = () => new Promise((resolve) => setImmediate(resolve));

  it("calls each callback once, at the turn it asked for, with its lists reused", async () => {
    const scheduler = new WriteScheduler();
    const calls: string[] = [];
    const at = (until: number, name: string) =>
      scheduler.atTurn(until, () => calls.push(`${name}@${scheduler.turn}`));
    at(1, "a");
    at(2, "b");
    await checkPhase();
    // At turn 1: one for the next turn, one for the turn after it.
    at(2, "c");
    at(3, "d");
    await checkPhase();
    at(3, "e");
    at(4, "f");
    for (let i = 0; i < 4; i++) await checkPhase();
    expect(calls).toEqual(["a@1", "b@2", "c@2", "d@3", "e@3", "f@4"]);
    expect(scheduler.turn).toBe(4);
    // Nothing is called again, and the turns have stopped.
    at(5, "g");
    for (let i = 0; i < 4; i++) await checkPhase();
    expect(calls).toEqual(["a@1", "b@2", "c@2", "d@3", "e@3", "f@4", "g@5"]);
    expect(scheduler.turn).toBe(5);
  });
});

describe("the request's AbortSignal", () => {
  it("is no longer watched once the connection is closed, or the response is", async () => {
    for (const end of ["connection", "response"] as const) {
      const stream = new MockStream(
        ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "ok"].map(bytes),
        new MockBackend([]),
      );
      const conn = new HTTP11Connection(origin, stream);
      const controller = new AbortController();
      const request = new Request("GET", "http://example.com/", {
        headers: { Host: "example.com" },
        signal: controller.signal,
      });
      const response = await conn.handleRequest(request);
      expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
      if (end === "connection") await conn.close();
      else expect(text(await response.read())).toBe("ok");
      expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
      // An abort now changes nothing.
      controller.abort(new Error("late (test)"));
      expect(conn.state).toBe(end === "connection" ? "CLOSED" : "IDLE");
    }
  });
});
