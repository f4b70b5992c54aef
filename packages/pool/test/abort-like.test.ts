// A request's signal may be any AbortSignalLike, not only an AbortSignal: the pool reads
// `aborted`, `reason` and its 'abort' listeners, nothing else. Here a hand-made one, with
// no EventTarget behind it, aborts requests at each stage, over HTTP/1.1 and HTTP/2, and
// every listener the pool added is gone once a request is settled. toAbortSignal() turns
// one into a real AbortSignal.

import {
  type H2Origin,
  startH2Origin,
  startOrigin,
  startRawServer,
  type Origin as TestOrigin,
  testCA,
} from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchAbort } from "../src/abort.js";
import { type AbortSignalLike, ConnectionPool, toAbortSignal } from "../src/index.js";

/** An AbortSignalLike and nothing more: no EventTarget, no `throwIfAborted`, no `onabort`. */
class PlainAbort implements AbortSignalLike {
  aborted = false;
  reason: unknown = undefined;
  readonly listeners = new Set<() => void>();
  addEventListener(type: "abort", listener: () => void): void {
    expect(type).toBe("abort");
    if (!this.aborted) this.listeners.add(listener);
  }
  removeEventListener(type: "abort", listener: () => void): void {
    expect(type).toBe("abort");
    this.listeners.delete(listener);
  }
  abort(reason: unknown): void {
    this.aborted = true;
    this.reason = reason;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }
}

let http: TestOrigin;
let h2: H2Origin;
beforeAll(async () => {
  http = await startOrigin({ name: "origin" });
  h2 = await startH2Origin();
});
afterAll(async () => {
  await http.close();
  await h2.close();
});

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a request's signal may be an AbortSignalLike", () => {
  it("a request that completes leaves no listener on it (HTTP/1.1 and HTTP/2)", async () => {
    await using pool = new ConnectionPool({ tls: { ca: testCA().cert }, http2: true });
    for (const url of [`${http.url}/whoami`, `${h2.url}/`]) {
      const signal = new PlainAbort();
      const r = await pool.request("GET", url, { signal });
      expect(r.status).toBe(200);
      expect(signal.listeners.size, url).toBe(0);
      const s = await pool.stream("GET", url, { signal });
      expect(signal.listeners.size, url).toBeGreaterThan(0);
      await s.read();
      await s.close();
      expect(signal.listeners.size, url).toBe(0);
    }
  });

  it("aborted before it is sent: rejects with the reason, and nothing is opened", async () => {
    await using pool = new ConnectionPool();
    const signal = new PlainAbort();
    const reason = new Error("too late");
    signal.abort(reason);
    await expect(pool.request("GET", `${http.url}/`, { signal })).rejects.toBe(reason);
    expect(pool.connections).toHaveLength(0);
  });

  it("aborted while queued for the pool: rejects with the reason; the queue goes on", async () => {
    await using pool = new ConnectionPool({ maxConnections: 1 });
    const held = await pool.stream("GET", `${http.url}/bytes/10`);
    const signal = new PlainAbort();
    const waiting = pool.request("GET", `${http.url}/`, { signal });
    const after = pool.request("GET", `${http.url}/whoami`);
    await sleep(10);
    const reason = new Error("changed my mind");
    signal.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    await held.read();
    await held.close();
    expect(text((await after).content)).toBe("origin");
  });

  it("aborted while connecting: rejects with the reason; no connection is left", async () => {
    const raw = await startRawServer(() => {});
    try {
      // An h2c origin that never answers: the abort comes while waiting for its SETTINGS.
      await using pool = new ConnectionPool({ http1: false, http2: true });
      const signal = new PlainAbort();
      const p = pool.request("GET", `${raw.url}/`, { signal });
      await sleep(30);
      const reason = new Error("gave up");
      signal.abort(reason);
      await expect(p).rejects.toBe(reason);
      expect(pool.connections).toHaveLength(0);
    } finally {
      await raw.close();
    }
  });

  it("aborted while the body streams: rejects with the reason; the pool goes on", async () => {
    await using pool = new ConnectionPool({ tls: { ca: testCA().cert }, http2: true });
    for (const url of [`${http.url}/stream/1000`, `${h2.url}/big/1000000`]) {
      const signal = new PlainAbort();
      const reason = new Error(`stop ${url}`);
      const s = await pool.stream("GET", url, { signal });
      const p = (async () => {
        for await (const _ of s) signal.abort(reason);
      })();
      await expect(p, url).rejects.toBe(reason);
      expect(signal.listeners.size, url).toBe(0);
      // The pool is usable afterwards.
      expect((await pool.request("GET", url.replace(/\/(stream|big)\/.*/, "/"))).status).toBe(200);
    }
  });
});

describe("watchAbort of an AbortSignalLike that is not an EventTarget", () => {
  // No listener count to keep down there (Node warns about EventTargets only): each watch
  // has a listener of its own, added at once and removed when the watch stops.
  it("a listener per watch, each removed when its watch stops; stopping twice does nothing", () => {
    const signal = new PlainAbort();
    const stops = [watchAbort(signal, () => {}), watchAbort(signal, () => {})];
    expect(signal.listeners.size).toBe(2);
    stops[0]!();
    stops[0]!();
    expect(signal.listeners.size).toBe(1);
    stops[1]!();
    expect(signal.listeners.size).toBe(0);
  });

  it("an abort calls each watch still on, once, in order; one callback watched twice is called twice", () => {
    const signal = new PlainAbort();
    const calls: string[] = [];
    const twice = () => calls.push("twice");
    watchAbort(signal, () => calls.push("first"));
    const stopped = watchAbort(signal, () => calls.push("stopped"));
    const stopTwice = watchAbort(signal, twice);
    watchAbort(signal, twice);
    stopped();
    signal.abort(new Error("stop"));
    expect(calls).toEqual(["first", "twice", "twice"]);
    stopTwice(); // after the abort: nothing to remove, nothing called
    expect(calls).toEqual(["first", "twice", "twice"]);
  });

  it("a listener the signal calls after its watch stopped does nothing", () => {
    // A signal that keeps a listener it was asked to remove still reaches no callback.
    const listeners: Array<() => void> = [];
    const leaky: AbortSignalLike = {
      aborted: false,
      addEventListener: (_type, listener) => listeners.push(listener),
      removeEventListener: () => {},
    };
    let called = 0;
    watchAbort(leaky, () => called++)();
    for (const listener of listeners) listener();
    expect(called).toBe(0);
  });
});

describe("toAbortSignal", () => {
  it("gives an AbortSignal back as it is", () => {
    const signal = new AbortController().signal;
    expect(toAbortSignal(signal)).toBe(signal);
  });

  it("makes a real AbortSignal that aborts with the like's reason, then or later", () => {
    const early = new PlainAbort();
    early.abort(new Error("early"));
    const already = toAbortSignal(early);
    expect(already).toBeInstanceOf(AbortSignal);
    expect(already.aborted).toBe(true);
    expect(already.reason).toBe(early.reason);
    expect(early.listeners.size).toBe(0);

    const late = new PlainAbort();
    const signal = toAbortSignal(late);
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal.aborted).toBe(false);
    expect(late.listeners.size).toBe(1);
    // Usable where only a real one will do.
    const combined = AbortSignal.any([signal]);
    const reason = new Error("late");
    late.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    expect(combined.reason).toBe(reason);
  });
});
