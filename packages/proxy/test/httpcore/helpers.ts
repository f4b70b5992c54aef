// Shared by the ports of httpcore's proxy tests.
import { inspect } from "node:util";

/** httpcore's usual scripted response: 200, plain/text, "Hello, world!". */
export const HELLO = [
  "HTTP/1.1 200 OK\r\n",
  "Content-Type: plain/text\r\n",
  "Content-Length: 13\r\n",
  "\r\n",
  "Hello, world!",
] as const;

export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** What httpcore's `[repr(c) for c in proxy.connections]` is here. */
export const info = (pool: { connections: readonly unknown[] }): string[] =>
  pool.connections.map((c) => inspect(c));

/** httpcore's four state checks on a connection kept IDLE for reuse. */
export function reusable(conn: {
  isIdle(): boolean;
  isAvailable(): boolean;
  isClosed(): boolean;
}): boolean {
  return conn.isIdle() && conn.isAvailable() && !conn.isClosed();
}

/** Streams one GET, reads it whole, and returns what the pool printed meanwhile. */
export async function streamed(
  pool: {
    connections: readonly unknown[];
    stream(
      method: string,
      url: string,
    ): Promise<{
      status: number;
      read(): Promise<Uint8Array>;
      close(): Promise<void>;
    }>;
  },
  url: string,
): Promise<{ during: string[]; status: number; body: string }> {
  const response = await pool.stream("GET", url);
  const during = info(pool);
  const body = text(await response.read());
  await response.close();
  return { during, status: response.status, body };
}
