// The Exchange as undici's handlers see it, through dispatch() itself: both handler APIs,
// the controller (abort, pause, resume), upgrades and CONNECT, timeouts, and pools of one's
// own (anything with stream() and close()).
import type { Socket } from "node:net";
import {
  ConnectError,
  ConnectionPool,
  ReadTimeout,
  RemoteProtocolError,
  Response,
  UnsupportedProtocol,
} from "@x/pool";
import { type Origin, onRequestHead, startOrigin, startRawServer } from "@x/testkit";
import { type Dispatcher, errors, fetch, request } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type DispatchablePool, PoolDispatcher } from "../src/index.js";

let origin: Origin;
// Gates the origin's /gated/<name> answers wait on: first "one", then the rest ("two") once
// released.
const gates = new Map<string, () => void>();
const waiting = new Map<string, Promise<void>>();
function gate(name: string): void {
  waiting.set(name, new Promise<void>((resolve) => gates.set(name, resolve)));
}
function release(name: string): void {
  gates.get(name)?.();
}

beforeAll(async () => {
  origin = await startOrigin({
    handler: async (req, res) => {
      const path = req.url ?? "/";
      if (path === "/headers") {
        res.statusMessage = "Fine";
        res.setHeader("X-Two", ["a", "b"]);
        res.setHeader("X-Case", "v");
        res.end("body");
      } else if (path.startsWith("/gated/")) {
        res.write("one");
        await waiting.get(path.slice("/gated/".length));
        res.end("two");
      } else if (path.startsWith("/gated3/")) {
        // "one", "two" once the gate opens, "three" once the second one does.
        const name = path.slice("/gated3/".length);
        res.write("one");
        await waiting.get(name);
        res.write("two");
        await waiting.get(`${name}2`);
        res.end("three");
      } else if (path.startsWith("/held/")) {
        // The head waits for the gate.
        await waiting.get(path.slice("/held/".length));
        res.end(path.slice("/held/".length));
      } else if (path === "/empty") {
        res.statusCode = 204;
        res.end();
      } else if (path === "/silent") {
        // Never answers (the origin's close() ends it).
      } else {
        res.end("ok");
      }
    },
  });
});
afterAll(async () => {
  await origin?.close();
});
beforeEach(() => {
  gates.clear();
  waiting.clear();
});
afterEach(async () => {
  for (const open of gates.values()) open();
});

async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 10));
}
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Recorded {
  events: string[];
  status?: number;
  headers?: unknown;
  statusText?: string | undefined;
  data: Buffer[];
  errors: Error[];
  trailers?: unknown;
  controller?: Dispatcher.DispatchController;
}

interface Hooks {
  onRequestStart?(c: Dispatcher.DispatchController): void;
  onResponseStart?(c: Dispatcher.DispatchController): void;
  onResponseData?(c: Dispatcher.DispatchController, chunk: Buffer): void;
}

// An undici 7 handler that records what it is told; `done` settles at its end or error.
function modern(hooks: Hooks = {}): {
  handler: Dispatcher.DispatchHandler;
  rec: Recorded;
  done: Promise<void>;
} {
  const rec: Recorded = { events: [], data: [], errors: [] };
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(c) {
      rec.controller = c;
      rec.events.push("start");
      hooks.onRequestStart?.(c);
    },
    onResponseStart(c, status, headers, statusText) {
      rec.events.push("response");
      rec.status = status;
      rec.headers = headers;
      rec.statusText = statusText;
      hooks.onResponseStart?.(c);
    },
    onResponseData(c, chunk) {
      rec.events.push("data");
      rec.data.push(chunk);
      hooks.onResponseData?.(c, chunk);
    },
    onResponseEnd(_c, trailers) {
      rec.events.push("end");
      rec.trailers = trailers;
      finish();
    },
    onResponseError(_c, error) {
      rec.events.push("error");
      rec.errors.push(error);
      finish();
    },
  };
  return { handler, rec, done };
}

function get(path: string, extra: Partial<Dispatcher.DispatchOptions> = {}) {
  return { origin: origin.url, path, method: "GET", ...extra } as Dispatcher.DispatchOptions;
}

// A pool that counts its requests and says when each one's stream() has settled.
class CountingPool implements DispatchablePool {
  readonly inner = new ConnectionPool();
  calls = 0;
  settled: Promise<unknown> = Promise.resolve();
  stream(...args: Parameters<ConnectionPool["stream"]>) {
    this.calls++;
    const p = this.inner.stream(...args);
    this.settled = p.then(
      () => "resolved",
      () => "rejected",
    );
    return p;
  }
  close() {
    return this.inner.close();
  }
}

describe("the handler APIs", () => {
  it("undici 7's: status, a header record (lower-case names, repeats as arrays), reason, body, no trailers", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const { handler, rec, done } = modern();
      expect(dispatcher.dispatch(get("/headers"), handler)).toBe(true);
      await done;
      expect(rec.events).toEqual(["start", "response", "data", "end"]);
      expect(rec.status).toBe(200);
      expect(rec.statusText).toBe("Fine");
      expect(rec.headers).toMatchObject({ "x-two": ["a", "b"], "x-case": "v" });
      expect(Buffer.concat(rec.data).toString()).toBe("body");
      expect(rec.trailers).toEqual({});
    } finally {
      await dispatcher.close();
    }
  });

  it("the older one: onConnect, onResponseStarted, onHeaders with raw names in their case, onData, onComplete", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const events: string[] = [];
      let raw: string[] = [];
      let statusText = "";
      const body: Buffer[] = [];
      await new Promise<void>((resolve, reject) =>
        dispatcher.dispatch(get("/headers"), {
          onConnect(abort: unknown) {
            events.push(`connect ${typeof abort}`);
          },
          onResponseStarted() {
            events.push("started");
          },
          onHeaders(status: number, headers: Buffer[], _resume: unknown, text: string) {
            events.push(`headers ${status}`);
            raw = headers.map(String);
            statusText = text;
            return true;
          },
          onData(chunk: Buffer) {
            body.push(chunk);
            return true;
          },
          onComplete(trailers: unknown) {
            events.push(`complete ${JSON.stringify(trailers)}`);
            resolve();
          },
          onError: reject,
        } as never),
      );
      expect(events).toEqual(["connect function", "started", "headers 200", "complete []"]);
      expect(statusText).toBe("Fine");
      expect(raw.slice(0, 6)).toEqual(["X-Two", "a", "X-Two", "b", "X-Case", "v"]);
      expect(Buffer.concat(body).toString()).toBe("body");
    } finally {
      await dispatcher.close();
    }
  });

  // A handler is undici 7's as soon as it has any one of onRequestStart, onResponseStart or
  // onResponseData.
  const partial: Array<[string, (log: string[]) => object]> = [
    ["onRequestStart", (log) => ({ onRequestStart: () => log.push("start") })],
    ["onResponseStart", (log) => ({ onResponseStart: () => log.push("response") })],
    ["onResponseData", (log) => ({ onResponseData: () => log.push("data") })],
  ];
  for (const [only, make] of partial) {
    it(`a handler with only ${only} of the three is undici 7's`, async () => {
      const dispatcher = new PoolDispatcher(new ConnectionPool());
      try {
        const log: string[] = [];
        await new Promise<void>((resolve, reject) =>
          dispatcher.dispatch(get("/headers"), {
            ...make(log),
            onResponseEnd: () => {
              log.push("end");
              resolve();
            },
            onResponseError: (_c: unknown, e: Error) => reject(e),
            // The older API's calls, which must not be made.
            onConnect: () => log.push("onConnect"),
            onHeaders: () => log.push("onHeaders"),
            onData: () => log.push("onData"),
            onComplete: () => {
              log.push("onComplete");
              resolve();
            },
          } as never),
        );
        expect(log).toEqual([
          only === "onRequestStart" ? "start" : only === "onResponseStart" ? "response" : "data",
          "end",
        ]);
      } finally {
        await dispatcher.close();
      }
    });
  }

  it("undici 7's gets a failure as onResponseError, with the pool's error", async () => {
    const server = await startRawServer((socket) => socket.destroy());
    const port = server.port;
    await server.close();
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const { handler, rec, done } = modern();
      dispatcher.dispatch(
        { origin: `http://127.0.0.1:${port}`, path: "/", method: "GET" },
        handler,
      );
      await done;
      expect(rec.events).toEqual(["start", "error"]);
      expect(rec.errors[0]).toBeInstanceOf(ConnectError);
    } finally {
      await dispatcher.close();
    }
  });

  it("a request without origin fails with the pool's UnsupportedProtocol", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const { handler, rec, done } = modern();
      dispatcher.dispatch(
        { path: "/nowhere", method: "GET" } as Dispatcher.DispatchOptions,
        handler,
      );
      await done;
      expect(rec.errors[0]).toBeInstanceOf(UnsupportedProtocol);
      expect(rec.errors[0]?.message).toBe(
        "Request URL is missing an 'http://' or 'https://' protocol.",
      );
    } finally {
      await dispatcher.close();
    }
  });

  it("request() sends headers given as a flat array and as pairs, and the query", async () => {
    const echo = await startOrigin();
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      for (const headers of [
        ["X-One", "1", "X-Two", "2"],
        [
          ["X-One", "1"],
          ["X-Two", "2"],
        ],
      ]) {
        const r = await request(`${echo.url}/echo`, {
          dispatcher,
          headers: headers as never,
          query: { a: 1, b: ["x", "y"] },
        });
        const seen = (await r.body.json()) as { url: string; headers: string[] };
        expect(seen.url).toBe("/echo?a=1&b=x&b=y");
        expect(seen.headers.join(" ")).toContain("X-One 1 X-Two 2");
      }
    } finally {
      await dispatcher.close();
      await echo.close();
    }
  });
});

describe("the controller", () => {
  it("abort() in onRequestStart: one error, with the first reason; the request is not sent", async () => {
    const pool = new CountingPool();
    const dispatcher = new PoolDispatcher(pool);
    try {
      const first = new Error("first");
      const { handler, rec, done } = modern({
        onRequestStart(c) {
          c.abort(first);
          c.abort(new Error("second"));
        },
      });
      dispatcher.dispatch(get("/"), handler);
      await done;
      await turn();
      expect(rec.events).toEqual(["start", "error"]);
      expect(rec.errors).toEqual([first]);
      expect(rec.controller?.aborted).toBe(true);
      expect(rec.controller?.reason).toBe(first);
      expect(pool.calls).toBe(0);
    } finally {
      await dispatcher.close();
    }
  });

  it("abort() without a reason fails with undici's RequestAbortedError", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const { handler, rec, done } = modern({ onRequestStart: (c) => (c.abort as () => void)() });
      dispatcher.dispatch(get("/"), handler);
      await done;
      expect(rec.errors[0]).toBeInstanceOf(errors.RequestAbortedError);
      expect(rec.controller?.reason).toBe(rec.errors[0]);
    } finally {
      await dispatcher.close();
    }
  });

  it("abort() while the pool's request is in flight: the handler hears of it once", async () => {
    const pool = new CountingPool();
    const dispatcher = new PoolDispatcher(pool);
    try {
      const { handler, rec, done } = modern();
      const before = origin.requests;
      dispatcher.dispatch(get("/silent"), handler);
      await until(() => origin.requests > before);
      const reason = new Error("stop");
      rec.controller?.abort(reason);
      await done;
      // The pool's request fails too (its signal was aborted): no second error.
      expect(await pool.settled).toBe("rejected");
      await turn();
      expect(rec.events).toEqual(["start", "error"]);
      expect(rec.errors).toEqual([reason]);
    } finally {
      await dispatcher.close();
    }
  });

  it("a response that comes after an abort is closed, and the handler hears nothing more", async () => {
    const inner = new ConnectionPool();
    let hold!: () => void;
    const held = new Promise<void>((r) => {
      hold = r;
    });
    let answered = false;
    let handedOver: Promise<unknown> = Promise.resolve();
    // A pool that does not heed the signal, and answers only when the test says so.
    const pool: DispatchablePool = {
      stream(method, url, options) {
        const { signal: _ignored, ...rest } = options ?? {};
        handedOver = inner.stream(method, url, rest).then(async (response) => {
          answered = true;
          await held;
          return response;
        });
        return handedOver as Promise<Response>;
      },
      close: () => inner.close(),
    };
    const dispatcher = new PoolDispatcher(pool);
    try {
      const { handler, rec, done } = modern();
      dispatcher.dispatch(get("/headers"), handler);
      await until(() => answered);
      const reason = new Error("gone");
      rec.controller?.abort(reason);
      await done;
      hold();
      await handedOver;
      await turn();
      expect(rec.events).toEqual(["start", "error"]);
      expect(rec.errors).toEqual([reason]);
      // The unread response was closed, and its request with it.
      await until(() => String(inner).includes("Requests: 0 active"));
    } finally {
      await dispatcher.close();
    }
  });

  it("abort() after the end changes nothing", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const { handler, rec, done } = modern();
      dispatcher.dispatch(get("/"), handler);
      await done;
      rec.controller?.abort(new Error("late"));
      expect(rec.controller?.aborted).toBe(false);
      expect(rec.controller?.reason).toBe(null);
      expect(rec.events).toEqual(["start", "response", "data", "end"]);
    } finally {
      await dispatcher.close();
    }
  });

  it("a handler that throws: in onRequestStart (nothing sent), onResponseStart or onResponseData, fails with what it threw", async () => {
    const pool = new CountingPool();
    const dispatcher = new PoolDispatcher(pool);
    try {
      const thrown = new Error("handler failed");
      const fail = (): never => {
        throw thrown;
      };
      for (const hooks of [
        { onRequestStart: fail },
        { onResponseStart: fail },
        { onResponseData: fail },
      ] as Hooks[]) {
        const { handler, rec, done } = modern(hooks);
        dispatcher.dispatch(get("/gated/none"), handler);
        await done;
        expect(rec.errors).toEqual([thrown]);
        expect(rec.events.at(-1)).toBe("error");
        expect(rec.events.filter((e) => e === "data").length).toBeLessThanOrEqual(1);
      }
      expect(pool.calls).toBe(2);
    } finally {
      await dispatcher.close();
    }
  });

  it("pause() and resume() in onRequestStart: the response still comes whole", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const { handler, rec, done } = modern({
        onRequestStart(c) {
          c.pause();
          expect(c.paused).toBe(true);
          c.resume();
          expect(c.paused).toBe(false);
        },
      });
      dispatcher.dispatch(get("/headers"), handler);
      await done;
      expect(rec.events).toEqual(["start", "response", "data", "end"]);
      expect(Buffer.concat(rec.data).toString()).toBe("body");
    } finally {
      await dispatcher.close();
    }
  });

  // /gated/<name> through an undici 7 handler that pauses at the first chunk ("one"); the
  // rest ("two") is sent once the test releases the gate.
  async function pausedAtFirstChunk(dispatcher: PoolDispatcher, name: string) {
    gate(name);
    let first!: () => void;
    const gotFirst = new Promise<void>((r) => {
      first = r;
    });
    const started = modern({
      onResponseData(c) {
        if (started.rec.data.length === 1) {
          c.pause();
          first();
        }
      },
    });
    dispatcher.dispatch(get(`/gated/${name}`), started.handler);
    await gotFirst;
    return { rec: started.rec, done: started.done, c: started.rec.controller! };
  }

  it("resume() with nothing arrived, then pause() and resume() while the read waits: the rest comes once", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const { rec, done, c } = await pausedAtFirstChunk(dispatcher, "a");
      // Resumed with nothing arrived yet: a read waits for the rest. Pausing and resuming
      // again while it waits must not start a second read.
      c.resume();
      c.pause();
      c.resume();
      c.resume(); // not paused: nothing to do
      release("a");
      await done;
      expect(rec.events).toEqual(["start", "response", "data", "data", "end"]);
      expect(Buffer.concat(rec.data).toString()).toBe("onetwo");
    } finally {
      await dispatcher.close();
    }
  });

  it("a handler that resumes, pauses and resumes again in onResponseData gets each chunk once", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      gate("c");
      gate("c2");
      const { handler, rec, done } = modern({
        onResponseData(c) {
          // As a stream whose buffer filled and emptied at once would.
          c.resume();
          c.pause();
          c.resume();
        },
      });
      dispatcher.dispatch(get("/gated3/c"), handler);
      await until(() => rec.data.length === 1);
      // "two" arrives after a wait (the read was pending); the read after it waits too, and
      // must be the only one.
      release("c");
      await until(() => rec.data.length === 2 || rec.errors.length > 0);
      release("c2");
      await done;
      expect(rec.errors).toEqual([]);
      expect(rec.data.map(String)).toEqual(["one", "two", "three"]);
      expect(rec.events.at(-1)).toBe("end");
    } finally {
      await dispatcher.close();
    }
  });

  it("a pause() in onResponseData holds back what arrives until resume()", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const { rec, done, c } = await pausedAtFirstChunk(dispatcher, "b");
      release("b");
      // The rest has been sent; give it time to arrive: it must not be delivered while paused.
      await new Promise((r) => setTimeout(r, 100));
      expect(rec.events).toEqual(["start", "response", "data"]);
      expect(c.paused).toBe(true);
      c.resume();
      await done;
      expect(Buffer.concat(rec.data).toString()).toBe("onetwo");
      expect(rec.events).toEqual(["start", "response", "data", "data", "end"]);
    } finally {
      await dispatcher.close();
    }
  });

  it("the older API: onHeaders returning false holds the body until its resume callback", async () => {
    // The whole response in one write, so that its body has arrived with its head.
    const server = await startRawServer((socket) =>
      onRequestHead(socket, () =>
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
      ),
    );
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const events: string[] = [];
      let resume!: () => void;
      let headers!: () => void;
      const gotHeaders = new Promise<void>((r) => {
        headers = r;
      });
      const complete = new Promise<void>((resolve, reject) =>
        dispatcher.dispatch({ origin: server.url, path: "/", method: "GET" }, {
          onConnect() {},
          onHeaders(_status: number, _raw: Buffer[], r: () => void) {
            resume = r;
            events.push("headers");
            headers();
            return false;
          },
          onData(chunk: Buffer) {
            events.push(`data ${chunk}`);
            return true;
          },
          onComplete() {
            events.push("complete");
            resolve();
          },
          onError: reject,
        } as never),
      );
      await gotHeaders;
      await turn();
      expect(events).toEqual(["headers"]);
      resume();
      await complete;
      expect(events).toEqual(["headers", "data hello", "complete"]);
    } finally {
      await dispatcher.close();
      await server.close();
    }
  });

  it("a body that fails mid-way: onResponseError with the pool's error, after the data", async () => {
    const server = await startRawServer((socket) =>
      onRequestHead(socket, () => {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", () =>
          setTimeout(() => socket.destroy(), 50),
        );
      }),
    );
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const { handler, rec, done } = modern();
      dispatcher.dispatch({ origin: server.url, path: "/", method: "GET" }, handler);
      await done;
      expect(rec.events).toEqual(["start", "response", "data", "error"]);
      expect(rec.errors[0]).toBeInstanceOf(RemoteProtocolError);
    } finally {
      await dispatcher.close();
      await server.close();
    }
  });
});

describe("timeouts", () => {
  for (const which of ["headersTimeout", "bodyTimeout"] as const) {
    it(`${which} alone becomes the pool's read timeout`, async () => {
      const dispatcher = new PoolDispatcher(new ConnectionPool());
      try {
        const { handler, rec, done } = modern();
        dispatcher.dispatch(get("/silent", { [which]: 200 }), handler);
        await done;
        expect(rec.errors[0]).toBeInstanceOf(ReadTimeout);
        expect(rec.errors[0]?.message).toBe("no data arrived within 200 ms");
      } finally {
        await dispatcher.close();
      }
    });
  }
});

describe("upgrades and CONNECT", () => {
  let upgrades: Origin;
  let seen: Array<{ method: string; url: string; headers: Record<string, unknown> }>;
  const serverSockets: Socket[] = [];
  beforeAll(async () => {
    upgrades = await startOrigin();
    const echo = (socket: Socket, reply: string) => {
      serverSockets.push(socket);
      socket.write(reply);
      socket.on("data", (d) => socket.write(d));
      // node:http's sockets are half-open: close when the client does.
      socket.on("end", () => socket.end());
      socket.on("error", () => {});
    };
    upgrades.server.on("upgrade", (req, socket: Socket) => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      echo(
        socket,
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\nX-Rep: 1\r\nX-Rep: 2\r\n\r\n",
      );
    });
    upgrades.server.on("connect", (req, socket: Socket) => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      echo(socket, "HTTP/1.1 200 Connection Established\r\n\r\n");
    });
  });
  afterAll(async () => {
    for (const s of serverSockets) s.destroy();
    await upgrades?.close();
  });
  beforeEach(() => {
    seen = [];
  });

  async function echoOnce(socket: NodeJS.ReadWriteStream): Promise<string> {
    const reply = new Promise<string>((r) => socket.once("data", (d: Buffer) => r(String(d))));
    socket.write("ping");
    return reply;
  }

  it("undici 7's onRequestUpgrade: 101, a header record, a socket; destroying it closes the connection", async () => {
    const pool = new ConnectionPool();
    const dispatcher = new PoolDispatcher(pool);
    try {
      const got = await new Promise<{ status: number; headers: unknown; socket: Socket }>(
        (resolve, reject) =>
          dispatcher.dispatch(
            { origin: upgrades.url, path: "/ws", method: "GET", upgrade: "echo" },
            {
              onRequestStart() {},
              onRequestUpgrade: (_c: unknown, status: number, headers: unknown, socket: Socket) =>
                resolve({ status, headers, socket }),
              onResponseError: (_c: unknown, e: Error) => reject(e),
            } as never,
          ),
      );
      expect(got.status).toBe(101);
      expect(got.headers).toEqual({ connection: "Upgrade", upgrade: "echo", "x-rep": ["1", "2"] });
      expect(seen[0]?.headers).toMatchObject({ connection: "upgrade", upgrade: "echo" });
      expect(await echoOnce(got.socket)).toBe("ping");
      expect(pool.connections.length).toBe(1);
      got.socket.destroy();
      // The response is closed with it: the pool's request ends, and the connection is gone.
      await until(
        () => pool.connections.length === 0 && String(pool).includes("Requests: 0 active"),
      );
    } finally {
      await dispatcher.close();
    }
  });

  it("the older onUpgrade: raw headers in their case", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const got = await new Promise<{ status: number; raw: Buffer[]; socket: Socket }>(
        (resolve, reject) =>
          dispatcher.dispatch(
            { origin: upgrades.url, path: "/ws", method: "GET", upgrade: "echo" },
            {
              onConnect() {},
              onUpgrade: (status: number, raw: Buffer[], socket: Socket) =>
                resolve({ status, raw, socket }),
              onError: reject,
            } as never,
          ),
      );
      expect(got.status).toBe(101);
      expect(got.raw.map(String)).toEqual([
        "Connection",
        "Upgrade",
        "Upgrade",
        "echo",
        "X-Rep",
        "1",
        "X-Rep",
        "2",
      ]);
      expect(await echoOnce(got.socket)).toBe("ping");
      got.socket.destroy();
    } finally {
      await dispatcher.close();
    }
  });

  it("a handler that throws in onRequestUpgrade: the socket is destroyed, the connection closed", async () => {
    const pool = new ConnectionPool();
    const dispatcher = new PoolDispatcher(pool);
    try {
      let socket: Socket | undefined;
      dispatcher.dispatch({ origin: upgrades.url, path: "/ws", method: "GET", upgrade: "echo" }, {
        onRequestStart() {},
        onRequestUpgrade: (_c: unknown, _s: number, _h: unknown, s: Socket) => {
          socket = s;
          s.on("error", () => {});
          throw new Error("no thanks");
        },
        onResponseError: () => {},
      } as never);
      await until(() => socket !== undefined);
      await until(
        () =>
          socket?.destroyed === true &&
          pool.connections.length === 0 &&
          String(pool).includes("Requests: 0 active"),
      );
    } finally {
      await dispatcher.close();
    }
  });

  it("undici's connect(): CONNECT with the path as its authority-form target, and a socket", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const { statusCode, socket } = await dispatcher.connect({
        origin: upgrades.url,
        path: "example.test:443",
      });
      expect(statusCode).toBe(200);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ method: "CONNECT", url: "example.test:443" });
      expect(await echoOnce(socket)).toBe("ping");
      socket.destroy();
    } finally {
      await dispatcher.close();
    }
  });

  it("a CONNECT with an upgrade protocol sends no Upgrade header", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    try {
      const socket = await new Promise<Socket>((resolve, reject) =>
        dispatcher.dispatch(
          { origin: upgrades.url, path: "example.test:443", method: "CONNECT", upgrade: "echo" },
          {
            onRequestStart() {},
            onRequestUpgrade: (_c: unknown, _s: number, _h: unknown, s: Socket) => resolve(s),
            onResponseError: (_c: unknown, e: Error) => reject(e),
          } as never,
        ),
      );
      expect(seen[0]?.method).toBe("CONNECT");
      expect(seen[0]?.url).toBe("example.test:443");
      expect(seen[0]?.headers.upgrade).toBeUndefined();
      expect(seen[0]?.headers.connection).not.toBe("upgrade");
      socket.destroy();
    } finally {
      await dispatcher.close();
    }
  });
});

describe("pools of one's own", () => {
  it("a Response without a reason phrase: fetch's statusText is empty", async () => {
    const inner = new ConnectionPool();
    const dispatcher = new PoolDispatcher({
      async stream(...args: Parameters<ConnectionPool["stream"]>) {
        const r = await inner.stream(...args);
        return new Response(r.status, {
          headers: r.headers,
          content: r.stream ?? new Uint8Array(0),
        });
      },
      close: () => inner.close(),
    });
    try {
      const res = await fetch(`${origin.url}/headers`, { dispatcher });
      expect(res.statusText).toBe("");
      expect(await res.text()).toBe("body");
    } finally {
      await dispatcher.close();
    }
  });

  it("a Response read already (request() as stream()): its content is the body", async () => {
    const inner = new ConnectionPool();
    const dispatcher = new PoolDispatcher({
      stream: (...args: Parameters<ConnectionPool["stream"]>) => inner.request(...args),
      close: () => inner.close(),
    });
    try {
      const res = await fetch(`${origin.url}/headers`, { dispatcher });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("body");
      const empty = await fetch(`${origin.url}/empty`, { dispatcher });
      expect(empty.status).toBe(204);
      expect(await empty.text()).toBe("");
    } finally {
      await dispatcher.close();
    }
  });

  // A body whose chunks the test hands out, one next() at a time.
  function handMadeBody() {
    const pending: Array<(r: IteratorResult<Uint8Array>) => void> = [];
    const content = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<Uint8Array>>((r) => pending.push(r)),
      }),
    };
    const give = (chunk: string | null) =>
      pending.shift()?.(
        chunk === null
          ? { done: true, value: undefined }
          : { done: false, value: new TextEncoder().encode(chunk) },
      );
    return { content, pending, give };
  }
  const handMadePool = (content: object): DispatchablePool => ({
    stream: async () => new Response(200, { content: content as never }),
    close: async () => {},
  });

  it("a pool whose streamTo throws: the handler gets what it threw, once", async () => {
    const broken = new Error("streamTo broke");
    const pool = {
      stream: () => Promise.reject(new Error("not used: streamTo is there")),
      streamTo: () => {
        throw broken;
      },
      close: async () => {},
    };
    const dispatcher = new PoolDispatcher(pool);
    const { handler, rec, done } = modern();
    dispatcher.dispatch(get("/"), handler);
    await done;
    expect(rec.events).toEqual(["start", "error"]);
    expect(rec.errors).toEqual([broken]);
    await dispatcher.close();
  });

  it("an empty chunk from the pool is not handed to the handler", async () => {
    const body = handMadeBody();
    const dispatcher = new PoolDispatcher(handMadePool(body.content));
    const { handler, rec, done } = modern();
    dispatcher.dispatch(get("/"), handler);
    for (const chunk of ["", "ab", "", null]) {
      await until(() => body.pending.length > 0);
      body.give(chunk);
    }
    await done;
    expect(rec.events).toEqual(["start", "response", "data", "end"]);
    expect(Buffer.concat(rec.data).toString()).toBe("ab");
    await dispatcher.close();
  });

  it("a chunk that arrives after an abort is not handed to the handler", async () => {
    const body = handMadeBody();
    const dispatcher = new PoolDispatcher(handMadePool(body.content));
    const { handler, rec, done } = modern();
    dispatcher.dispatch(get("/"), handler);
    await until(() => body.pending.length > 0);
    rec.controller?.abort(new Error("enough"));
    await done;
    body.give("late");
    await turn();
    expect(rec.events).toEqual(["start", "response", "error"]);
    await dispatcher.close();
  });
});

describe("PoolDispatcher", () => {
  it("refuses what is not a pool, with ERR_INVALID_ARG_TYPE", () => {
    const stream = () => Promise.reject(new Error("unused"));
    const close = () => Promise.resolve();
    for (const notAPool of [
      null,
      undefined,
      42,
      "pool",
      { stream },
      { close },
      { stream: 1, close },
    ]) {
      let error: unknown;
      try {
        new PoolDispatcher(notAPool as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({
        code: "ERR_INVALID_ARG_TYPE",
        message:
          "PoolDispatcher wraps a pool: a ConnectionPool, HTTPProxy, SOCKSProxy or ProxyRouter (anything with stream() and close())",
      });
    }
    expect(new PoolDispatcher({ stream, close }).closed).toBe(false);
  });

  it("close() waits for every request in flight, then closes the pool; dispatch() then returns false", async () => {
    const dispatcher = new PoolDispatcher(new ConnectionPool());
    gate("x");
    gate("y");
    const before = origin.requests;
    const x = request(`${origin.url}/held/x`, { dispatcher }).then((r) => r.body.text());
    const y = request(`${origin.url}/held/y`, { dispatcher }).then((r) => r.body.text());
    await until(() => origin.requests >= before + 2);
    let closed = false;
    const closing = dispatcher.close().then(() => {
      closed = true;
    });
    expect(dispatcher.closed).toBe(true);
    expect(dispatcher.destroyed).toBe(false);
    release("x");
    expect(await x).toBe("x");
    await turn();
    expect(closed).toBe(false);
    // y's connection is still open: the pool was not closed under it.
    release("y");
    expect(await y).toBe("y");
    await closing;
    const { handler, rec, done } = modern();
    expect(dispatcher.dispatch(get("/"), handler)).toBe(false);
    await done;
    expect(rec.errors[0]).toBeInstanceOf(errors.ClientClosedError);
  });

  it("close(callback) and destroy(callback) call back, also when the pool's close() fails", async () => {
    const failing = (): DispatchablePool => ({
      stream: () => Promise.reject(new Error("unused")),
      close: () => Promise.reject(new Error("close failed")),
    });
    await new Promise<void>((r) => new PoolDispatcher(new ConnectionPool()).close(r));
    await new Promise<void>((r) => new PoolDispatcher(new ConnectionPool()).destroy(r));
    await new Promise<void>((r) => new PoolDispatcher(new ConnectionPool()).destroy(null, r));
    await new Promise<void>((r) => new PoolDispatcher(failing()).close(r));
    await new Promise<void>((r) => new PoolDispatcher(failing()).destroy(r));
    await expect(new PoolDispatcher(failing()).close()).rejects.toThrow("close failed");
  });

  it("destroy() fails the requests in flight; later ones fail with ClientDestroyedError", async () => {
    const pool = new ConnectionPool();
    const dispatcher = new PoolDispatcher(pool);
    gate("z");
    const before = origin.requests;
    const z = request(`${origin.url}/held/z`, { dispatcher }).catch((e: unknown) => e);
    await until(() => origin.requests > before);
    await dispatcher.destroy();
    expect(await z).toBeInstanceOf(errors.ClientDestroyedError);
    expect(dispatcher.closed).toBe(true);
    expect(dispatcher.destroyed).toBe(true);
    const later = await request(`${origin.url}/`, { dispatcher }).catch((e: unknown) => e);
    expect(later).toBeInstanceOf(errors.ClientDestroyedError);
    expect(pool.connections).toEqual([]);
  });
});
