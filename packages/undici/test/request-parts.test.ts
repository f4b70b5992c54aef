// What a DispatchOptions becomes for the pool: header pairs, the body, the URL. undici's
// fetch() always gives a record of headers and an async iterable body; request(), stream()
// and a direct dispatch() pass on whatever the caller gave, in any of the shapes below.
import { describe, expect, it } from "vitest";
import { requestUrl, toContent, toHeaderPairs } from "../src/request-parts.js";

async function collect(content: unknown): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of content as AsyncIterable<Uint8Array>) {
    expect(chunk).toBeInstanceOf(Uint8Array);
    out.push(new TextDecoder().decode(chunk));
  }
  return out;
}

describe("toHeaderPairs", () => {
  it("a record: its own keys, one pair per value, null and undefined values left out", () => {
    expect(
      toHeaderPairs({ accept: "*/*", "x-a": ["1", 2], n: 3, gone: undefined, no: null }),
    ).toEqual([
      ["accept", "*/*"],
      ["x-a", "1"],
      ["x-a", "2"],
      ["n", "3"],
    ]);
    // Inherited keys are not the request's headers.
    const record = Object.create({ inherited: "no" }) as Record<string, string>;
    record.own = "yes";
    expect(toHeaderPairs(record)).toEqual([["own", "yes"]]);
  });

  it("undici's flat [name, value, ...] array, an odd last name ignored", () => {
    expect(toHeaderPairs(["a", "1", "B", "2"])).toEqual([
      ["a", "1"],
      ["B", "2"],
    ]);
    expect(toHeaderPairs(["a", "1", "dangling"])).toEqual([["a", "1"]]);
    expect(toHeaderPairs(["ab", "cd"])).toEqual([["ab", "cd"]]);
  });

  it("an array of pairs, and any iterable of entries (a Map, a Headers)", () => {
    expect(
      toHeaderPairs([
        ["a", "1"],
        ["b", ["2", "3"]],
        ["c", null],
      ]),
    ).toEqual([
      ["a", "1"],
      ["b", "2"],
      ["b", "3"],
    ]);
    expect(
      toHeaderPairs(
        new Map<string, string | undefined>([
          ["x", "1"],
          ["y", undefined],
        ]),
      ),
    ).toEqual([["x", "1"]]);
    expect(toHeaderPairs(new Headers({ "X-One": "1" }))).toEqual([["x-one", "1"]]);
  });

  it("none: null, undefined, an empty array", () => {
    expect(toHeaderPairs(null)).toEqual([]);
    expect(toHeaderPairs(undefined)).toEqual([]);
    expect(toHeaderPairs([])).toEqual([]);
  });
});

describe("toContent", () => {
  it("no body: null and undefined", () => {
    expect(toContent(null)).toBeUndefined();
    expect(toContent(undefined)).toBeUndefined();
  });

  it("a string and a Uint8Array as they are; other views and an ArrayBuffer as bytes", () => {
    expect(toContent("hello")).toBe("hello");
    const bytes = new TextEncoder().encode("hello");
    expect(toContent(bytes)).toBe(bytes);
    const buffer = new ArrayBuffer(4);
    new Uint8Array(buffer).set([104, 105, 106, 107]);
    const fromBuffer = toContent(buffer) as Uint8Array;
    expect(fromBuffer).toBeInstanceOf(Uint8Array);
    expect([...fromBuffer]).toEqual([104, 105, 106, 107]);
    // A DataView over the middle two bytes: those two, not the whole buffer.
    const fromView = toContent(new DataView(buffer, 1, 2)) as Uint8Array;
    expect(fromView).toBeInstanceOf(Uint8Array);
    expect([...fromView]).toEqual([105, 106]);
  });

  it("a Blob, an iterable and an async iterable: streamed as bytes, empty chunks dropped", async () => {
    expect((await collect(toContent(new Blob(["one", "two"])))).join("")).toBe("onetwo");
    const buffer = new ArrayBuffer(2);
    new Uint8Array(buffer).set([0x68, 0x69]);
    expect(
      await collect(
        toContent([
          "a",
          "",
          new Uint8Array(0),
          Buffer.from("b"),
          buffer,
          new Uint16Array([0x6363]),
        ]),
      ),
    ).toEqual(["a", "b", "hi", "cc"]);
    async function* gen() {
      yield "x";
      yield "";
      yield new TextEncoder().encode("y");
    }
    expect(await collect(toContent(gen()))).toEqual(["x", "y"]);
  });

  it("a chunk that is not bytes or a string fails the read with a TypeError", async () => {
    const error = await collect(toContent([42])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(
      "a request body chunk must be a Uint8Array, a Buffer or a string, not number",
    );
  });

  it("a body of any other kind is refused at once, with a TypeError", () => {
    const message =
      "the request body must be a string, bytes, a Readable, a ReadableStream, a Blob or an (async) iterable (FormData: let fetch() encode it)";
    for (const body of [42, {}, { length: 1 }, true]) {
      expect(() => toContent(body)).toThrow(TypeError);
      expect(() => toContent(body)).toThrow(message);
    }
  });
});

describe("requestUrl", () => {
  it("the origin (trailing slashes dropped, or a URL's origin) and the path", () => {
    expect(requestUrl("http://a.test:8080", "/p", undefined)).toBe("http://a.test:8080/p");
    expect(requestUrl("http://a.test//", "/p", null)).toBe("http://a.test/p");
    expect(requestUrl("http://a.test/", "/p", null)).toBe("http://a.test/p");
    expect(requestUrl(new URL("https://a.test:8443/ignored?q"), "/p", null)).toBe(
      "https://a.test:8443/p",
    );
    expect(requestUrl(undefined, "/p", null)).toBe("/p");
    expect(requestUrl(null, "/p", null)).toBe("/p");
  });

  it("query: appended with ? or &, arrays repeated, undefined values left out", () => {
    expect(requestUrl("http://a.test", "/p", { a: 1, b: ["x", "y"], c: undefined })).toBe(
      "http://a.test/p?a=1&b=x&b=y",
    );
    expect(requestUrl("http://a.test", "/p?z=0", { a: "b c" })).toBe("http://a.test/p?z=0&a=b+c");
    expect(requestUrl("http://a.test", "/p", {})).toBe("http://a.test/p");
    expect(requestUrl("http://a.test", "/p", { gone: undefined })).toBe("http://a.test/p");
    // Only an object is a query; anything else is ignored.
    expect(requestUrl("http://a.test", "/p", "a=1")).toBe("http://a.test/p");
  });
});
