// Ports of httpcore's tests/test_models.py (httpcore 1.0.9): URL, Request and Response.
import { describe, expect, it } from "vitest";
import {
  LocalProtocolError,
  Request,
  Response,
  ResponseNotRead,
  StreamConsumed,
  URL,
} from "../../src/index.js";
import { thrown } from "../helpers.js";
import { text } from "./helpers.js";

const bytes = (s: string) => new TextEncoder().encode(s);

// httpcore's AsyncByteIterator: the chunks as an async iterable.
async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield bytes(part);
}

describe("httpcore test_models.py: URL", () => {
  // httpcore: tests/test_models.py::test_url
  it("a URL string equals its parts", () => {
    const url = new URL("https://www.example.com/");
    expect(url).toEqual(
      new URL({ scheme: "https", host: "www.example.com", port: null, target: "/" }),
    );
    expect(String(url)).toBe("https://www.example.com/");
  });

  // httpcore: tests/test_models.py::test_url_with_port
  it("an explicit port, even the scheme's default, is kept", () => {
    const url = new URL("https://www.example.com:443/");
    expect(url).toEqual(
      new URL({ scheme: "https", host: "www.example.com", port: 443, target: "/" }),
    );
    expect(String(url)).toBe("https://www.example.com:443/");
  });

  // httpcore: tests/test_models.py::test_url_with_invalid_argument
  it("a URL that is not a string (nor URL parts) is a TypeError", () => {
    const error = thrown(() => new URL(123 as never));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toHaveProperty("code", "ERR_INVALID_ARG_TYPE");
  });

  // httpcore: tests/test_models.py::test_url_cannot_include_unicode_strings (first half)
  // httpcore refuses a URL string with characters outside ASCII (TypeError). Here, on
  // purpose (README: "Where this differs"), a URL string is read as the WHATWG parser reads
  // it, as fetch() and node:url do: "/☺" is percent-encoded, and a name in Unicode becomes
  // its punycode form. What goes on the wire is ASCII either way.
  it("a URL string with characters outside ASCII is percent-encoded, as WHATWG URLs are", () => {
    const url = new URL("https://www.example.com/☺?q=é");
    expect(url.target).toBe("/%E2%98%BA?q=%C3%A9");
    expect(new URL("https://bücher.example/").host).toBe("xn--bcher-kva.example");
  });

  // httpcore: tests/test_models.py::test_url_cannot_include_unicode_strings (second half)
  it("the explicit form states the target exactly", () => {
    // httpcore's explicit form takes the target's UTF-8 bytes as they are. Here a target is
    // visible ASCII only (README: `target`), so the same bytes are written percent-encoded,
    // exactly; raw non-ASCII is refused before any connection is used.
    const url = new URL({ scheme: "https", host: "www.example.com", target: "/%E2%98%BA" });
    expect(url.target).toBe("/%E2%98%BA");
    expect(
      thrown(() => new URL({ scheme: "https", host: "www.example.com", target: "/☺" })),
    ).toBeInstanceOf(LocalProtocolError);
  });

  // tests/test_models.py::test_url_origin_socks5 is ported in @x/proxy
  // (test/httpcore/socks-proxy.test.ts): SOCKS proxy URLs are parsed there, not by URL.
});

describe("httpcore test_models.py: Request", () => {
  // httpcore: tests/test_models.py::test_request
  it("a Request has its method, URL, no headers, no extensions, and prints as httpcore's", () => {
    const request = new Request("GET", "https://www.example.com/");
    // Strings here where httpcore has bytes: b"GET" is "GET", <Request [b'GET']> is
    // <Request [GET]>.
    expect(request.method).toBe("GET");
    expect(request.url).toEqual(new URL("https://www.example.com/"));
    expect(request.headers).toEqual([]);
    expect(request.extensions).toEqual({});
    expect(String(request)).toBe("<Request [GET]>");
    expect(request.url).toMatchObject({
      scheme: "https",
      host: "www.example.com",
      port: null,
      target: "/",
    });
    // httpcore: repr(request.stream) == "<ByteStream [0 bytes]>": no body.
    expect(request.content).toBeUndefined();
  });

  // httpcore: tests/test_models.py::test_request_with_target_extension
  it("the target extension is the request target", () => {
    // httpcore rewrites request.url.target; here the URL stays as given and
    // `request.target` (what goes on the request line) is the extension's.
    let request = new Request("GET", "https://www.example.com/path", {
      extensions: { target: "/another_path" },
    });
    expect(request.target).toBe("/another_path");
    request = new Request("GET", "https://www.example.com/path", {
      extensions: { target: "/unescaped|path" },
    });
    expect(request.target).toBe("/unescaped|path");
    expect(request.url.target).toBe("/path");
  });

  // httpcore: tests/test_models.py::test_request_with_invalid_method
  it("a method that is not a string is a TypeError", () => {
    const error = thrown(() => new Request(123 as never, "https://www.example.com/"));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe("method must be a string, not number 123");
  });

  // httpcore: tests/test_models.py::test_request_with_invalid_url
  it("a URL that is not a string or URL is a TypeError", () => {
    const error = thrown(() => new Request("GET", 123 as never));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toHaveProperty("code", "ERR_INVALID_ARG_TYPE");
  });

  // httpcore: tests/test_models.py::test_request_with_invalid_headers
  it("headers that are not a record or pairs are a TypeError", () => {
    const error = thrown(
      () => new Request("GET", "https://www.example.com/", { headers: 123 as never }),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(
      "headers must be a record or a list of [name, value] pairs, not number 123",
    );
  });
});

describe("httpcore test_models.py: Response", () => {
  // httpcore: tests/test_models.py::test_response
  it("a Response has its status, no headers, no extensions, an empty body", () => {
    const response = new Response(200);
    expect(response.status).toBe(200);
    expect(response.headers).toEqual([]);
    expect(response.extensions).toEqual({});
    expect(String(response)).toBe("<Response [200]>");
    // httpcore: repr(response.stream) == "<ByteStream [0 bytes]>".
    expect(response.content).toHaveLength(0);
  });

  // httpcore: tests/test_models.py::test_response_async_read
  it("read() joins an async body, and content is it afterwards", async () => {
    const response = new Response(200, { content: chunks("Hello, ", "world!") });
    expect(text(await response.read())).toBe("Hello, world!");
    expect(text(response.content)).toBe("Hello, world!");
  });

  // httpcore: tests/test_models.py::test_response_async_streaming
  it("a body streamed is not content, and streams once", async () => {
    const response = new Response(200, { content: chunks("Hello, ", "world!") });
    const parts: string[] = [];
    for await (const chunk of response) parts.push(text(chunk));
    expect(parts.join("")).toBe("Hello, world!");
    // httpcore raises RuntimeError for both; here each has its own class.
    expect(thrown(() => response.content)).toBeInstanceOf(ResponseNotRead);
    expect(thrown(() => response[Symbol.asyncIterator]())).toBeInstanceOf(StreamConsumed);
  });
});
