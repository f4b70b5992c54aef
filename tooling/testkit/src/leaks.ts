// Checks that a test closed every socket it opened (client and server ends alike): counts
// the process's live socket handles and waits, briefly, for them to go.

const SOCKET_HANDLES = new Set([
  "TCPSocketWrap",
  "TCPWRAP",
  "PipeWrap",
  "PIPEWRAP",
  "TLSWrap",
  "TLSWRAP",
]);

/** The number of open socket handles in this process. */
export function openSocketHandles(): number {
  return process.getActiveResourcesInfo().filter((t) => SOCKET_HANDLES.has(t)).length;
}

/**
 * Resolves once no more than `baseline` socket handles are open, or throws after
 * `waitMs` with the number still open.
 */
export async function expectSocketsClosed(baseline = 0, waitMs = 2000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const open = openSocketHandles();
    if (open <= baseline) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${open - baseline} socket(s) left open (handles: ${process.getActiveResourcesInfo().join(", ")})`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
