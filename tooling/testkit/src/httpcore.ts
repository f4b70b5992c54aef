// What the ports of httpcore's own tests (packages/*/test/httpcore) share.
import { inspect } from "node:util";

/** httpcore's usual scripted response: 200, plain/text, "Hello, world!". */
export const HELLO = [
  "HTTP/1.1 200 OK\r\n",
  "Content-Type: plain/text\r\n",
  "Content-Length: 13\r\n",
  "\r\n",
  "Hello, world!",
] as const;

/** A body as text (UTF-8). */
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** What httpcore's `[repr(c) for c in pool.connections]` is here. */
export const info = (pool: { connections: readonly unknown[] }): string[] =>
  pool.connections.map((c) => inspect(c));
