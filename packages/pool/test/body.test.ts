// Body, the one response-body abstraction (HTTP/1.1's body, the pool's and the adapter for
// any AsyncIterable are Bodies), without sockets: chunks pulled at once or later, the end,
// a failure, and closing exactly once. And concat, which joins a body's chunks.
import { describe, expect, it } from "vitest";
import { Body, toBody } from "../src/body.js";
import { concat } from "../src/bytes.js";
import { Response } from "../src/index.js";
import { SETTLED } from "../src/settled.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (chunk: Uint8Array) => new TextDecoder().decode(chunk);
const DONE = { done: true, value: undefined };

type Step = string | null | Error | Promise<string | null>;

/**
 * A Body that gives `steps` in order: a string is a chunk at once, null the end, an Error a
 * read that throws, a promise a chunk (or the end) later. `finish()` is counted, and waits
 * a turn of the event loop when `slowClose`.
 */
class Steps extends Body {
  pulls = 0;
  finishes = 0;
  closed = false;
  readonly #steps: Step[];
  readonly #slowClose: boolean;

  constructor(steps: Step[], slowClose = false) {
    super();
    this.#steps = steps;
    this.#slowClose = slowClose;
  }

  protected pull(): Uint8Array | null | Promise<Uint8Array | null> {
    this.pulls++;
    if (this.#steps.length === 0) throw new Error("pulled after the end");
    const step = this.#steps.shift()!;
    if (step instanceof Error) throw step;
    if (step instanceof Promise) return step.then((s) => (s === null ? null : bytes(s)));
    return step === null ? null : bytes(step);
  }

  protected finish(): Promise<void> {
    this.finishes++;
    if (!this.#slowClose) {
      this.closed = true;
      return SETTLED;
    }
    return new Promise((resolve) =>
      setTimeout(() => {
        this.closed = true;
        resolve();
      }, 5),
    );
  }

  get isDone(): boolean {
    return this.done;
  }
}

/** A Body whose failures are reported as another error. */
class Relabelled extends Steps {
  protected override failure(error: unknown): unknown {
    return new Error(`relabelled: ${(error as Error).message}`);
  }
}

describe("Body", () => {
  it("chunks that have arrived come at once, and so does the end when closing waits for nothing", () => {
    const body = new Steps(["a", "b", null]);
    const first = body.readChunk();
    expect(first).toBeInstanceOf(Uint8Array);
    expect(text(first as Uint8Array)).toBe("a");
    expect(body.isDone).toBe(false);
    expect(text(body.readChunk() as Uint8Array)).toBe("b");
    expect(body.readChunk()).toBeNull();
    expect([body.isDone, body.closed, body.finishes]).toEqual([true, true, 1]);
    // Never pulled again after the end.
    expect(body.readChunk()).toBeNull();
    expect(body.pulls).toBe(3);
    expect(body.finishes).toBe(1);
  });

  it("the end waits for a close that takes time", async () => {
    const body = new Steps([null], true);
    const end = body.readChunk();
    expect(end).toBeInstanceOf(Promise);
    expect(body.closed).toBe(false);
    expect(await end).toBeNull();
    expect(body.closed).toBe(true);
  });

  it("next(): iterator results, at once or later", async () => {
    const body = new Steps(["a", Promise.resolve("b"), Promise.resolve(null)]);
    expect(body[Symbol.asyncIterator]()).toBe(body);
    expect(await body.next()).toEqual({ done: false, value: bytes("a") });
    expect(await body.next()).toEqual({ done: false, value: bytes("b") });
    expect(await body.next()).toEqual(DONE);
    expect(await body.next()).toEqual(DONE);
    expect(body.finishes).toBe(1);

    const ended = new Steps([null]);
    expect(await ended.next()).toEqual(DONE);
  });

  it("readRest(): the whole body, without a promise when it has all arrived", async () => {
    const now = new Steps(["a", "b", null]);
    const all = now.readRest();
    expect(Array.isArray(all)).toBe(true);
    expect((all as Uint8Array[]).map(text)).toEqual(["a", "b"]);
    expect(now.finishes).toBe(1);

    const later = new Steps(["a", Promise.resolve("b"), "c", Promise.resolve("d"), null]);
    const rest = later.readRest();
    expect(rest).toBeInstanceOf(Promise);
    expect((await rest).map(text)).toEqual(["a", "b", "c", "d"]);

    const endsLater = new Steps(["a", Promise.resolve(null)]);
    expect((await endsLater.readRest()).map(text)).toEqual(["a"]);
    expect(endsLater.finishes).toBe(1);
  });

  it("a read that throws closes the body, then rejects with what failure() makes of it", async () => {
    const body = new Steps(["a", new Error("reset")], true);
    body.readChunk();
    const failed = body.readChunk();
    expect(failed).toBeInstanceOf(Promise);
    expect(body.isDone).toBe(true);
    await expect(failed).rejects.toThrow("reset");
    expect([body.closed, body.finishes]).toEqual([true, 1]);
    expect(body.readChunk()).toBeNull();
    expect(body.pulls).toBe(2);

    const relabelled = new Relabelled([new Error("reset")]);
    await expect(relabelled.readChunk()).rejects.toThrow("relabelled: reset");
  });

  it("a read that rejects later does the same", async () => {
    const body = new Relabelled([Promise.reject(new Error("gone"))]);
    await expect(body.next()).rejects.toThrow("relabelled: gone");
    expect(body.finishes).toBe(1);
    const rest = new Steps(["a", Promise.reject(new Error("gone"))]);
    await expect(rest.readRest()).rejects.toThrow("gone");
    expect(rest.finishes).toBe(1);
  });

  it("close() finishes once, however often it is called, and no chunk is pulled after", async () => {
    const body = new Steps(["a", "b", null], true);
    const closing = body.close();
    expect(body.isDone).toBe(true);
    expect(body.close()).toBe(SETTLED);
    await closing;
    expect([body.closed, body.finishes]).toEqual([true, 1]);
    expect(body.readChunk()).toBeNull();
    expect(body.pulls).toBe(0);
    expect(await body.return()).toEqual(DONE);
    expect(body.finishes).toBe(1);
  });

  it("return() closes and ends the iteration; leaving a loop early does it", async () => {
    const body = new Steps(["a", "b", null], true);
    const result = body.return();
    expect(await result).toEqual(DONE);
    expect(body.closed).toBe(true);

    const looped = new Steps(["a", "b", null]);
    for await (const chunk of looped) {
      expect(text(chunk)).toBe("a");
      break;
    }
    expect([looped.closed, looped.pulls]).toEqual([true, 1]);
  });

  it("a Response keeps a Body it is given, and wraps any other stream", async () => {
    const body = new Steps(["a", null]);
    expect(toBody(body)).toBe(body);
    const response = new Response(200, { content: body });
    expect(response.stream).toBe(body);
    expect(text(await response.read())).toBe("a");

    async function* chunks() {
      yield bytes("a");
    }
    const other = chunks();
    const wrapped = toBody(other);
    expect(wrapped).toBeInstanceOf(Body);
    expect(wrapped).not.toBe(other);
    expect(await wrapped.next()).toEqual({ done: false, value: bytes("a") });
    expect(await wrapped.next()).toEqual(DONE);
  });
});

describe("concat", () => {
  it("one part is returned itself; none is one shared empty array", () => {
    const part = bytes("abc");
    expect(concat([part])).toBe(part);
    expect(concat([])).toHaveLength(0);
    expect(concat([])).toBe(concat([]));
  });

  it("joins the parts in order", () => {
    expect(text(concat([bytes("ab"), bytes(""), bytes("c"), bytes("de")]))).toBe("abcde");
    const large = [new Uint8Array(3000).fill(1), new Uint8Array(3000).fill(2)];
    const joined = concat(large);
    expect(joined).toHaveLength(6000);
    expect([joined[0], joined[2999], joined[3000], joined[5999]]).toEqual([1, 1, 2, 2]);
  });
});
