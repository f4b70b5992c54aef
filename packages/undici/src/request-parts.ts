// What an undici DispatchOptions becomes for a pool: the URL, the header pairs and the
// body, each in the form @x/pool takes. undici and fetch give headers as a record (values
// strings or arrays), a flat [name, value, name, value] array, pairs, or any iterable of
// entries; bodies as bytes, a string, a Node Readable, a web ReadableStream, a Blob or any
// (async) iterable — all streamed as they are read, never gathered first.

import type { RequestContent } from "@x/pool";

type HeaderValue = string | number | readonly (string | number)[] | null | undefined;

/**
 * The request's header pairs, in order, with one pair per value of a repeated field.
 *
 * @example
 * toHeaderPairs({ accept: "*\/*", "x-a": ["1", "2"] }) // [["accept","*\/*"],["x-a","1"],["x-a","2"]]
 */
export function toHeaderPairs(headers: unknown): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (headers === null || headers === undefined) return out;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && !Array.isArray(headers[0])) {
      // undici's flat form: name, value, name, value ...
      for (let i = 0; i + 1 < headers.length; i += 2)
        addPair(out, headers[i], headers[i + 1] as HeaderValue);
    } else {
      for (const pair of headers as Array<[unknown, HeaderValue]>) addPair(out, pair[0], pair[1]);
    }
    return out;
  }
  if (typeof headers === "object" && Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<[unknown, HeaderValue]>)
      addPair(out, name, value);
    return out;
  }
  // A record (fetch gives one per request): its own keys, read without Object.entries'
  // array of pairs.
  const record = headers as Record<string, HeaderValue>;
  for (const name in record) {
    if (Object.hasOwn(record, name)) addPair(out, name, record[name]);
  }
  return out;
}

// One pair per value (none for a null or undefined one).
function addPair(out: Array<[string, string]>, name: unknown, value: HeaderValue): void {
  if (value === null || value === undefined) return;
  const key = String(name);
  if (Array.isArray(value)) for (const v of value) out.push([key, String(v)]);
  else out.push([key, String(value)]);
}

const encoder = new TextEncoder();

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") return encoder.encode(chunk);
  if (ArrayBuffer.isView(chunk))
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError(
    `a request body chunk must be a Uint8Array, a Buffer or a string, not ${typeof chunk}`,
  );
}

async function* bytesOf(
  source: AsyncIterable<unknown> | Iterable<unknown>,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    const bytes = toBytes(chunk);
    if (bytes.length > 0) yield bytes;
  }
}

/**
 * The request body as @x/pool's content: bytes and strings as they are; streams, Blobs and
 * iterables as an async iterable read as the connection sends it.
 *
 * @example
 * toContent(fs.createReadStream("big.bin")) // streamed, chunked unless Content-Length is given
 */
export function toContent(body: unknown): RequestContent | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  if (ArrayBuffer.isView(body) || body instanceof ArrayBuffer) return toBytes(body);
  if (typeof Blob !== "undefined" && body instanceof Blob) {
    return bytesOf(body.stream() as unknown as AsyncIterable<Uint8Array>);
  }
  if (typeof body === "object" && (Symbol.asyncIterator in body || Symbol.iterator in body)) {
    return bytesOf(body as AsyncIterable<unknown>);
  }
  throw new TypeError(
    "the request body must be a string, bytes, a Readable, a ReadableStream, a Blob or an (async) iterable (FormData: let fetch() encode it)",
  );
}

/**
 * The request's absolute URL: undici's `origin` and `path`, with `query` appended.
 *
 * @example
 * requestUrl("https://example.com", "/a?b=1", { c: 2 }) // "https://example.com/a?b=1&c=2"
 */
export function requestUrl(origin: unknown, path: string, query: unknown): string {
  const given = origin instanceof URL ? origin.origin : String(origin ?? "");
  // fetch gives an origin without a trailing slash: no pattern to run for it.
  const base = given.endsWith("/") ? given.replace(/\/+$/, "") : given;
  let url = base + path;
  if (query !== null && query !== undefined && typeof query === "object") {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
      else params.append(key, String(value));
    }
    const text = params.toString();
    if (text.length > 0) url += (url.includes("?") ? "&" : "?") + text;
  }
  return url;
}
