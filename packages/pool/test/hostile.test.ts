// Hostile origins (tooling/testkit's hostileOrigins): each gives a typed error within the
// timeouts set, leaves no connection ACTIVE and no socket open at either end, and the
// next request on the same pool succeeds.
import {
  type HostileName,
  hostileOrigins,
  neverHandshakes,
  type Origin,
  type RawServer,
  startOrigin,
  startRawServer,
} from "@x/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectionPool,
  ConnectTimeout,
  ReadError,
  ReadTimeout,
  RemoteProtocolError,
  type RequestCallOptions,
  TransportError,
} from "../src/index.js";

let good: Origin;
beforeAll(async () => {
  good = await startOrigin({ name: "good" });
});
afterAll(async () => {
  await good.close();
});

const READ = {
  extensions: { timeout: { read: 1000, connect: 1000 } },
} satisfies RequestCallOptions;

const CASES: Array<[HostileName, new (...args: never[]) => Error, RequestCallOptions]> = [
  ["garbageStatusLine", RemoteProtocolError, READ],
  ["notHttpAtAll", RemoteProtocolError, READ],
  ["endlessHeaderBlock", RemoteProtocolError, READ],
  ["headerOverLimit", RemoteProtocolError, READ],
  ["chunkSizeOverflow", RemoteProtocolError, READ],
  ["contentLengthWithChunked", RemoteProtocolError, READ],
  ["conflictingContentLength", RemoteProtocolError, READ],
  ["closeMidBody", RemoteProtocolError, READ],
  ["resetAfterHead", ReadError, READ],
  ["silentAfterRequest", ReadTimeout, { extensions: { timeout: { read: 100 } } }],
];

// The code each class carries: an error of the class with another code is a wrong answer.
const CODES = new Map<new (...args: never[]) => Error, string>([
  [RemoteProtocolError, "ERR_REMOTE_PROTOCOL"],
  [ReadError, "ERR_READ"],
  [ReadTimeout, "ERR_READ_TIMEOUT"],
]);

async function expectCleanAfter(pool: ConnectionPool, server: RawServer): Promise<void> {
  expect(pool.connections.filter((c) => !c.isIdle())).toEqual([]);
  const deadline = Date.now() + 2000;
  while (server.openSockets > 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  expect(server.openSockets).toBe(0);
  const next = await pool.request("GET", `${good.url}/whoami`);
  expect(new TextDecoder().decode(next.content)).toBe("good");
}

describe("hostile origins", () => {
  for (const [name, errorClass, options] of CASES) {
    it(`${name}: ${errorClass.name}`, async () => {
      const server = await startRawServer(hostileOrigins[name]);
      try {
        await using pool = new ConnectionPool();
        const started = Date.now();
        const error = await pool.request("GET", `${server.url}/`, options).catch((e) => e);
        expect(error).toBeInstanceOf(errorClass);
        expect(error).toBeInstanceOf(TransportError);
        expect(error.code).toBe(CODES.get(errorClass));
        expect(Date.now() - started).toBeLessThan(5000);
        await expectCleanAfter(pool, server);
      } finally {
        await server.close();
      }
    });
  }

  // The same failures in the body, met while iterating a streamed response (the chunk path
  // is not the read-all path).
  for (const [name, errorClass] of [
    ["closeMidBody", RemoteProtocolError],
    ["resetAfterHead", ReadError],
  ] as const) {
    it(`${name}, streamed: ${errorClass.name} from the iteration`, async () => {
      const server = await startRawServer(hostileOrigins[name]);
      try {
        await using pool = new ConnectionPool();
        const response = await pool.stream("GET", `${server.url}/`, READ);
        expect(response.status).toBe(200);
        let seen = 0;
        const error = await (async () => {
          for await (const chunk of response) seen += chunk.length;
        })().catch((e) => e);
        expect(error).toBeInstanceOf(errorClass);
        expect(error.code).toBe(CODES.get(errorClass));
        expect(seen).toBeLessThan(1000);
        await expectCleanAfter(pool, server);
      } finally {
        await server.close();
      }
    });
  }

  it("a head dripped one byte at a time is stopped only by an overall deadline (signal)", async () => {
    const server = await startRawServer(hostileOrigins.headDrippedByteByByte);
    try {
      await using pool = new ConnectionPool();
      const signal = AbortSignal.timeout(150);
      const error = await pool
        .request("GET", `${server.url}/`, { extensions: { timeout: { read: 100 } }, signal })
        .catch((e) => e);
      expect(error).toBe(signal.reason);
      expect(error.name).toBe("TimeoutError");
      await expectCleanAfter(pool, server);
    } finally {
      await server.close();
    }
  });

  it("an endless body read in part and then closed frees everything", async () => {
    const server = await startRawServer(hostileOrigins.endlessBody);
    try {
      await using pool = new ConnectionPool();
      const response = await pool.stream("GET", `${server.url}/`);
      let seen = 0;
      for await (const chunk of response) {
        seen += chunk.length;
        if (seen > 1024 * 1024) break;
      }
      expect(seen).toBeGreaterThan(1024 * 1024);
      await expectCleanAfter(pool, server);
    } finally {
      await server.close();
    }
  });

  it("a TLS port that never handshakes: ConnectTimeout", async () => {
    const server = await startRawServer(neverHandshakes);
    try {
      await using pool = new ConnectionPool();
      const error = await pool
        .request("GET", `https://127.0.0.1:${server.port}/`, {
          extensions: { timeout: { connect: 100 } },
        })
        .catch((e) => e);
      expect(error).toBeInstanceOf(ConnectTimeout);
      expect(error.code).toBe("ERR_CONNECT_TIMEOUT");
      await expectCleanAfter(pool, server);
    } finally {
      await server.close();
    }
  });

  it("abort during the TLS handshake", async () => {
    const server = await startRawServer(neverHandshakes);
    try {
      await using pool = new ConnectionPool();
      const controller = new AbortController();
      const pending = pool.request("GET", `https://127.0.0.1:${server.port}/`, {
        signal: controller.signal,
      });
      const reason = new Error("stop the handshake");
      setTimeout(() => controller.abort(reason), 50);
      await expect(pending).rejects.toBe(reason);
      await expectCleanAfter(pool, server);
    } finally {
      await server.close();
    }
  });
});
