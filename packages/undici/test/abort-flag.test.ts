// The AbortSignalLike an Exchange hands the pool: it keeps the promises an AbortSignal
// keeps for 'abort' listeners, which is all @x/pool relies on.
import { toAbortSignal } from "@x/pool";
import { describe, expect, it, vi } from "vitest";
import { AbortFlag } from "../src/abort-flag.js";

describe("AbortFlag", () => {
  it("starts not aborted, without a reason", () => {
    const flag = new AbortFlag();
    expect(flag.aborted).toBe(false);
    expect(flag.reason).toBeUndefined();
  });

  it("abort() calls each listener once, in the order added, and keeps the first reason", () => {
    const flag = new AbortFlag();
    const calls: string[] = [];
    const a = () => calls.push(`a ${flag.aborted} ${String(flag.reason)}`);
    const b = () => calls.push("b");
    flag.addEventListener("abort", a);
    flag.addEventListener("abort", b);
    flag.addEventListener("abort", a); // the same listener twice counts once
    flag.abort("first");
    flag.abort("second");
    expect(calls).toEqual(["a true first", "b"]);
    expect(flag.aborted).toBe(true);
    expect(flag.reason).toBe("first");
  });

  it("a listener removed is not called; removing one never added does nothing", () => {
    const flag = new AbortFlag();
    const calls: string[] = [];
    const a = () => calls.push("a");
    const b = () => calls.push("b");
    const c = () => calls.push("c");
    flag.addEventListener("abort", a);
    flag.addEventListener("abort", b);
    flag.addEventListener("abort", c);
    flag.removeEventListener("abort", b);
    flag.removeEventListener("abort", () => {});
    flag.abort(new Error("x"));
    expect(calls).toEqual(["a", "c"]);
  });

  it("keeps the order added through removals of the first, a middle and the last listener", () => {
    const flag = new AbortFlag();
    const calls: string[] = [];
    const make = (name: string) => () => calls.push(name);
    const [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map(make) as Array<() => number>;
    flag.addEventListener("abort", a!);
    flag.addEventListener("abort", b!);
    flag.addEventListener("abort", c!);
    flag.addEventListener("abort", d!);
    flag.removeEventListener("abort", a!); // the first: b takes its place
    flag.removeEventListener("abort", c!); // one in the middle
    flag.removeEventListener("abort", d!); // the last
    flag.addEventListener("abort", b!); // b is there already: still once
    flag.addEventListener("abort", e!);
    flag.addEventListener("abort", a!); // added again: now after e
    flag.abort(new Error("x"));
    expect(calls).toEqual(["b", "e", "a"]);
  });

  it("a listener removed when it was the only one, then added again, is called once", () => {
    const flag = new AbortFlag();
    const a = vi.fn();
    const b = vi.fn();
    flag.addEventListener("abort", a);
    flag.removeEventListener("abort", a);
    flag.removeEventListener("abort", a);
    flag.addEventListener("abort", b);
    flag.addEventListener("abort", a);
    flag.addEventListener("abort", a);
    const order: string[] = [];
    b.mockImplementation(() => order.push("b"));
    a.mockImplementation(() => order.push("a"));
    flag.abort(new Error("x"));
    expect(order).toEqual(["b", "a"]);
  });

  it("removing the one after another listener keeps that other one", () => {
    const flag = new AbortFlag();
    const calls: string[] = [];
    flag.addEventListener("abort", () => calls.push("a"));
    flag.addEventListener("abort", () => calls.push("b"));
    const c = () => calls.push("c");
    flag.addEventListener("abort", c);
    flag.removeEventListener("abort", c);
    flag.abort(new Error("x"));
    expect(calls).toEqual(["a", "b"]);
  });

  it("with every listener removed, the abort calls nothing and reports nothing", () => {
    const flag = new AbortFlag();
    const a = vi.fn();
    const b = vi.fn();
    flag.addEventListener("abort", a);
    flag.addEventListener("abort", b);
    flag.removeEventListener("abort", b);
    flag.removeEventListener("abort", a);
    const spy = vi.spyOn(globalThis, "queueMicrotask");
    try {
      flag.abort(new Error("x"));
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    expect(a).not.toHaveBeenCalled();
    expect(b).not.toHaveBeenCalled();
  });

  it("a listener added after the abort is never called, as with an AbortSignal", () => {
    const flag = new AbortFlag();
    flag.abort(new Error("x"));
    const late = vi.fn();
    flag.addEventListener("abort", late);
    flag.abort(new Error("y"));
    expect(late).not.toHaveBeenCalled();
  });

  it("a listener that throws does not stop the others; its error is rethrown on its own", () => {
    const flag = new AbortFlag();
    const boom = new Error("listener failed");
    const after = vi.fn();
    flag.addEventListener("abort", () => {
      throw boom;
    });
    flag.addEventListener("abort", after);
    const queued: Array<() => void> = [];
    const spy = vi.spyOn(globalThis, "queueMicrotask").mockImplementation((task) => {
      queued.push(task);
    });
    try {
      expect(() => flag.abort(new Error("x"))).not.toThrow();
    } finally {
      spy.mockRestore();
    }
    expect(after).toHaveBeenCalledTimes(1);
    expect(queued).toHaveLength(1);
    expect(() => queued[0]!()).toThrow(boom);
  });

  it("toAbortSignal() makes a real AbortSignal of it", () => {
    const flag = new AbortFlag();
    const signal = toAbortSignal(flag);
    expect(signal).toBeInstanceOf(AbortSignal);
    const reason = new Error("stop");
    flag.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
  });
});
