// Request, Response and header lists without sockets: what a Request accepts and refuses
// (each refusal a TypeError with its code, or a LocalProtocolError), the body kinds it takes,
// and how a Response's body is read, iterated and closed.
import { describe, expect, it } from "vitest";
import {
  getHeader,
  LocalProtocolError,
  Request,
  Response,
  ResponseNotRead,
  StreamConsumed,
  toHeaderList,
} from "../src/index.js";
import { thrown } from "./helpers.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const URL_ = "http://a.test/";

/** Expects `make` to throw a TypeError with code ERR_INVALID_ARG_TYPE and this message. */
function expectTypeError(make: () => unknown, message: string | RegExp): void {
  const error = thrown(make);
  expect(error).toBeInstanceOf(TypeError);
  expect(error).toHaveProperty("code", "ERR_INVALID_ARG_TYPE");
  expect((error as Error).message).toMatch(message);
}

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of iterable) out.push(new TextDecoder().decode(chunk));
  return out;
}

describe("toHeaderList", () => {
  it("a record or pairs become pairs, in order; nothing is an empty list", () => {
    expect(toHeaderList({ A: "1", B: 2 })).toEqual([
      ["A", "1"],
      ["B", "2"],
    ]);
    expect(
      toHeaderList([
        ["A", "1"],
        ["A", 2],
      ]),
    ).toEqual([
      ["A", "1"],
      ["A", "2"],
    ]);
    expect(toHeaderList(undefined)).toEqual([]);
    expect(toHeaderList([])).toEqual([]);
  });

  it("a pair that is not a [name, value] array is a LocalProtocolError", () => {
    for (const pair of ["ab", ["A"], ["A", "1", "2"], { 0: "A", 1: "1", length: 2 }]) {
      const error = thrown(() => toHeaderList([["X", "1"], pair] as never));
      expect(error, JSON.stringify(pair)).toBeInstanceOf(LocalProtocolError);
      expect(error).toMatchObject({
        message: "headers must be a record or a list of [name, value] pairs",
      });
    }
  });

  it("a value that is neither a string nor a number is refused, not made a string", () => {
    for (const value of [undefined, null, true, {}, ["a"]]) {
      const error = thrown(() => toHeaderList([["X-A", value as never]]));
      expect(error, String(value)).toBeInstanceOf(LocalProtocolError);
      expect((error as Error).message).toMatch(/^Illegal header value for X-A: CR, LF, NUL/);
    }
    expect(thrown(() => toHeaderList({ "X-A": null as never }))).toBeInstanceOf(LocalProtocolError);
  });

  it("headers that are not a record or a list are a TypeError naming what they are", () => {
    const prefix = "headers must be a record or a list of [name, value] pairs, not ";
    expectTypeError(() => toHeaderList(5 as never), `${prefix}number 5`);
    expectTypeError(() => toHeaderList(null as never), `${prefix}null`);
    expectTypeError(() => toHeaderList("a: b" as never), `${prefix}string a: b`);
  });
});

describe("getHeader", () => {
  const headers: Array<[string, string]> = [
    ["Content-Type", "text/plain"],
    ["content-type", "text/html"],
    ["X-A", "1"],
  ];
  it("the first field of that name, whatever its case, or undefined", () => {
    expect(getHeader(headers, "content-type")).toBe("text/plain");
    expect(getHeader(headers, "CONTENT-TYPE")).toBe("text/plain");
    expect(getHeader(headers, "x-a")).toBe("1");
    expect(getHeader(headers, "X-B")).toBeUndefined();
  });
});

describe("Request", () => {
  it("a method that is not a token is a LocalProtocolError", () => {
    for (const method of ["GET /", "", "G\u00e9T", "GET\r\n"]) {
      const error = thrown(() => new Request(method, URL_));
      expect(error, method).toBeInstanceOf(LocalProtocolError);
      expect(error).toMatchObject({
        code: "ERR_LOCAL_PROTOCOL",
        message: `Illegal method ${JSON.stringify(method)}`,
      });
    }
    expect(new Request("M-SEARCH", URL_).method).toBe("M-SEARCH");
  });

  it("arguments of the wrong type are TypeErrors naming what they got", () => {
    expectTypeError(() => new Request(1 as never, URL_), "method must be a string, not number 1");
    expectTypeError(
      () => new Request("GET", URL_, null as never),
      "options must be an object, not null",
    );
    expectTypeError(
      () => new Request("GET", URL_, 7 as never),
      "options must be an object, not number 7",
    );
    expectTypeError(
      () => new Request("GET", URL_, { extensions: null as never }),
      "extensions must be an object, not null",
    );
    expectTypeError(
      () => new Request("GET", URL_, { extensions: "x" as never }),
      "extensions must be an object, not string x",
    );
    const content = "content must be a Uint8Array, a string, or an (async) iterable of Uint8Array";
    for (const bad of [5, null, {}, true]) {
      expectTypeError(() => new Request("POST", URL_, { content: bad as never }), content);
    }
  });

  it("a signal must be an AbortSignal (or like one)", () => {
    const listen = () => {};
    for (const [signal, named] of [
      [null, "null"],
      [{}, "an object"],
      [[], "an array"],
      ["x", "string x"],
      [{ aborted: "no", addEventListener: listen, removeEventListener: listen }, "an object"],
      [{ aborted: false, addEventListener: "no", removeEventListener: listen }, "an object"],
      [{ aborted: false }, "an object"],
      [{ aborted: false, addEventListener: listen }, "an object"],
      [{ aborted: false, addEventListener: listen, removeEventListener: "no" }, "an object"],
      [
        Object.assign(() => {}, {
          aborted: false,
          addEventListener: listen,
          removeEventListener: listen,
        }),
        "function",
      ],
    ] as const) {
      expectTypeError(
        () => new Request("GET", URL_, { signal: signal as never }),
        new RegExp(`^signal must be an AbortSignal \\(or AbortSignalLike\\), not ${named}`),
      );
    }
    const real = new AbortController().signal;
    expect(new Request("GET", URL_, { signal: real }).signal).toBe(real);
    const like = { aborted: false, addEventListener: listen, removeEventListener: listen };
    expect(new Request("GET", URL_, { signal: like }).signal).toBe(like);
    expect(new Request("GET", URL_).signal).toBeUndefined();
  });

  it("the target extension must be visible ASCII; other extensions are kept as given", () => {
    for (const target of ["", "/a b", 5, null]) {
      const error = thrown(() => new Request("GET", URL_, { extensions: { target } as never }));
      expect(error, String(target)).toBeInstanceOf(LocalProtocolError);
      expect((error as Error).message).toBe(
        `Illegal request target ${JSON.stringify(target)}: visible ASCII characters only`,
      );
    }
    const extensions = { timeout: { read: 5 }, custom: 1 };
    const request = new Request("GET", "http://a.test/p?q", { extensions });
    expect(request.extensions).toBe(extensions);
    expect(request.target).toBe("/p?q");
    expect(new Request("OPTIONS", URL_, { extensions: { target: "*" } }).target).toBe("*");
    expect(new Request("GET", URL_).extensions).toEqual({});
  });

  it("content: a string is UTF-8, bytes stay the same array, none stays undefined", () => {
    expect(new Request("POST", URL_, { content: "h\u00e9" }).content).toEqual(
      new Uint8Array([0x68, 0xc3, 0xa9]),
    );
    const body = bytes("abc");
    expect(new Request("POST", URL_, { content: body }).content).toBe(body);
    expect(new Request("GET", URL_).content).toBeUndefined();
  });

  it("replayable: no body, bytes, a string or an array of chunks; not another iterable", () => {
    async function* gen() {
      yield bytes("a");
    }
    const replayable = (content?: never) =>
      new Request("POST", URL_, content === undefined ? {} : { content }).replayable;
    expect(replayable()).toBe(true);
    expect(replayable(bytes("a") as never)).toBe(true);
    expect(replayable("a" as never)).toBe(true);
    expect(replayable([bytes("a")] as never)).toBe(true);
    expect(replayable(new Set([bytes("a")]) as never)).toBe(false);
    expect(replayable(gen() as never)).toBe(false);
  });

  it("stream(): the body's chunks, none for no body or an empty one", async () => {
    async function* gen() {
      yield bytes("a");
      yield bytes("b");
    }
    const streamed = (content?: never) =>
      collect(new Request("POST", URL_, content === undefined ? {} : { content }).stream());
    expect(await streamed()).toEqual([]);
    expect(await streamed(new Uint8Array(0) as never)).toEqual([]);
    expect(await streamed("ab" as never)).toEqual(["ab"]);
    expect(await streamed([bytes("a"), bytes("b")] as never)).toEqual(["a", "b"]);
    expect(await streamed(new Set([bytes("a")]) as never)).toEqual(["a"]);
    expect(await streamed(gen() as never)).toEqual(["a", "b"]);
  });

  it("stream(): a chunk that is not a Uint8Array is a TypeError", async () => {
    const request = new Request("POST", URL_, { content: [bytes("a"), "b"] as never });
    const error = await collect(request.stream()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({
      code: "ERR_INVALID_ARG_TYPE",
      message: "request body chunks must be Uint8Array",
    });
  });

  it("prints as <Request [METHOD]>", () => {
    expect(String(new Request("PATCH", URL_))).toBe("<Request [PATCH]>");
  });
});

describe("Response", () => {
  /** An async source with a close() that takes a turn of the event loop, counted. */
  function source(...parts: string[]) {
    const state = { closes: 0, closed: false };
    const stream = {
      async *[Symbol.asyncIterator]() {
        for (const part of parts) yield bytes(part);
      },
      close: () =>
        new Promise<void>((resolve) => {
          state.closes++;
          setTimeout(() => {
            state.closed = true;
            resolve();
          }, 5);
        }),
    };
    return { stream, state };
  }

  it("headers: pairs as given, a record's values as strings, none an empty list", () => {
    const pairs: Array<[string, string]> = [["A", "1"]];
    expect(new Response(200, { headers: pairs }).headers).toBe(pairs);
    expect(new Response(200, { headers: { A: 1, B: "x" } }).headers).toEqual([
      ["A", "1"],
      ["B", "x"],
    ]);
    expect(new Response(200).headers).toEqual([]);
    const extensions = { httpVersion: "HTTP/1.1" };
    expect(new Response(200, { extensions }).extensions).toBe(extensions);
    expect(new Response(200).extensions).toEqual({});
  });

  it("bytes: content at once, no stream, one chunk when iterated", async () => {
    const body = bytes("hi");
    const response = new Response(200, { content: body });
    expect(response.content).toBe(body);
    expect(response.stream).toBeNull();
    expect(await response.read()).toBe(body);
    const iterator = response[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ done: false, value: body });
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    // Bytes can be iterated again.
    expect(await collect(response)).toEqual(["hi"]);
    await response.close();
  });

  it("no content: an empty body, which iterates as no chunk", async () => {
    const response = new Response(204);
    expect(response.content).toEqual(new Uint8Array(0));
    expect(await response[Symbol.asyncIterator]().next()).toEqual({
      done: true,
      value: undefined,
    });
    expect(await response.text()).toBe("");
    expect(String(response)).toBe("<Response [204]>");
  });

  it("a stream: no content until read(); read() twice gives the same bytes", async () => {
    const { stream, state } = source('{"a":', "1}");
    const response = new Response(200, { content: stream });
    expect(thrown(() => response.content)).toMatchObject({
      code: "ERR_RESPONSE_NOT_READ",
      message:
        "Attempted to access 'response.content' on a streaming response. Call 'response.read()' first.",
    });
    expect(thrown(() => response.content)).toBeInstanceOf(ResponseNotRead);
    expect(response.stream).not.toBeNull();
    const read = await response.read();
    expect(new TextDecoder().decode(read)).toBe('{"a":1}');
    expect(state.closed).toBe(true);
    expect(await response.read()).toBe(read);
    expect(response.content).toBe(read);
    expect(response.stream).toBeNull();
    expect(await response.json()).toEqual({ a: 1 });
    expect(await response.text()).toBe('{"a":1}');
    expect(state.closes).toBe(1);
  });

  it("a stream read or iterated once: a second read or iteration is StreamConsumed", async () => {
    const consumed = {
      code: "ERR_STREAM_CONSUMED",
      message: "the response body was already consumed: bodies stream once",
    };
    const a = new Response(200, { content: source("x").stream });
    expect(await collect(a)).toEqual(["x"]);
    await expect(a.read()).rejects.toBeInstanceOf(StreamConsumed);
    await expect(a.read()).rejects.toMatchObject(consumed);
    expect(thrown(() => a[Symbol.asyncIterator]())).toMatchObject(consumed);

    const b = new Response(200, { content: source("x", "y").stream });
    const first = b.read();
    await expect(b.read()).rejects.toBeInstanceOf(StreamConsumed);
    expect(thrown(() => b[Symbol.asyncIterator]())).toBeInstanceOf(StreamConsumed);
    expect(new TextDecoder().decode(await first)).toBe("xy");

    const c = new Response(200, { content: source("x").stream });
    c[Symbol.asyncIterator]();
    await expect(c.read()).rejects.toBeInstanceOf(StreamConsumed);
  });

  it("close() and await using wait for the stream's close", async () => {
    const a = source("x");
    await new Response(200, { content: a.stream }).close();
    expect(a.state).toEqual({ closes: 1, closed: true });
    const c = source("x");
    {
      await using response = new Response(200, { content: c.stream });
      expect(c.state.closes).toBe(0);
      expect(response.status).toBe(200);
    }
    expect(c.state).toEqual({ closes: 1, closed: true });
  });

  it("a stream with no close(): read to the end, or closed, with nothing to wait for", async () => {
    async function* plain() {
      yield bytes("x");
      yield bytes("y");
    }
    const read = new Response(200, { content: plain() });
    expect(new TextDecoder().decode(await read.read())).toBe("xy");
    await expect(new Response(200, { content: plain() }).close()).resolves.toBeUndefined();
  });
});
