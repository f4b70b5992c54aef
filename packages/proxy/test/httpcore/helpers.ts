// Shared by the ports of httpcore's proxy tests.

import { HELLO, info, text } from "@x/testkit";

export { HELLO, info, text };

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
