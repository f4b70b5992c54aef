// Ports of httpcore's tests/test_cancellations.py (httpcore 1.0.9). httpcore cancels with
// `anyio.move_on_after(0.01)`; here the request's AbortSignal does it
// (`AbortSignal.timeout(10)`), which the connection honours (README, "Cancellation").
import { describe, expect, it } from "vitest";
import { ConnectionPool, HTTP11Connection, Origin, Request } from "../../src/index.js";
import { backendOf, host, ScriptedStream } from "./helpers.js";

const ORIGIN = new Origin("http", "example.com", 80);

// httpcore's SlowReadStream script: a head, then 16 of the 1000 bytes promised.
const SLOW_BODY = [
  "HTTP/1.1 200 OK\r\n",
  "Content-Type: plain/text\r\n",
  "Content-Length: 1000\r\n",
  "\r\n",
  "Hello, world!...",
];

/** Rejects with the signal's reason: the request was cancelled, not answered. */
async function expectCancelled(pending: Promise<unknown>): Promise<void> {
  const error = await pending.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DOMException);
  expect((error as DOMException).name).toBe("TimeoutError");
}

describe("httpcore test_cancellations.py", () => {
  // httpcore: tests/test_cancellations.py::test_connection_pool_timeout_during_request
  it("cancelled while writing the request: the connection closes and leaves the pool", async () => {
    const stream = new ScriptedStream([], { stallWrites: true });
    await using pool = new ConnectionPool({ networkBackend: backendOf(() => stream) });
    await expectCancelled(
      pool.request("GET", "http://example.com", { signal: AbortSignal.timeout(10) }),
    );
    expect(pool.connections).toEqual([]);
    expect(stream.closed).toBe(true);
  });

  // httpcore: tests/test_cancellations.py::test_connection_pool_timeout_during_response
  it("cancelled while reading the response: the connection closes and leaves the pool", async () => {
    const stream = new ScriptedStream(SLOW_BODY);
    await using pool = new ConnectionPool({ networkBackend: backendOf(() => stream) });
    await expectCancelled(
      pool.request("GET", "http://example.com", { signal: AbortSignal.timeout(10) }),
    );
    expect(pool.connections).toEqual([]);
    expect(stream.closed).toBe(true);
  });

  // httpcore: tests/test_cancellations.py::test_h11_timeout_during_request
  it("a bare HTTP/1.1 connection cancelled while writing is closed", async () => {
    await using conn = new HTTP11Connection(ORIGIN, new ScriptedStream([], { stallWrites: true }));
    const request = new Request("GET", "http://example.com", {
      headers: host(),
      signal: AbortSignal.timeout(10),
    });
    await expectCancelled(conn.handleRequest(request));
    expect(conn.isClosed()).toBe(true);
  });

  // httpcore: tests/test_cancellations.py::test_h11_timeout_during_request, with httpcore's
  // stream as it is: its write ignores close() (anyio cancels the task instead). The
  // NetworkStream contract promises only that pending reads fail on close(), so such a
  // stream is allowed: the abort settles the request at once all the same, and closes the
  // connection.
  it("a bare HTTP/1.1 connection cancelled in a write that ignores close() settles", async () => {
    const stream = new ScriptedStream([], { stallWrites: true, writesIgnoreClose: true });
    await using conn = new HTTP11Connection(ORIGIN, stream);
    const request = new Request("GET", "http://example.com", {
      headers: host(),
      signal: AbortSignal.timeout(10),
    });
    const outcome = await Promise.race([
      conn.handleRequest(request).then(
        () => "answered",
        () => "cancelled",
      ),
      new Promise((resolve) => setTimeout(() => resolve("still pending"), 500)),
    ]);
    expect(conn.isClosed()).toBe(true);
    expect(outcome).toBe("cancelled");
  });

  // httpcore: tests/test_cancellations.py::test_h11_timeout_during_response
  it("a bare HTTP/1.1 connection cancelled while reading the body is closed", async () => {
    await using conn = new HTTP11Connection(ORIGIN, new ScriptedStream(SLOW_BODY));
    const request = new Request("GET", "http://example.com", {
      headers: host(),
      signal: AbortSignal.timeout(10),
    });
    // httpcore's conn.request() reads the body: the head arrives, the body stalls.
    await expectCancelled(conn.handleRequest(request).then((response) => response.read()));
    expect(conn.isClosed()).toBe(true);
  });
});
