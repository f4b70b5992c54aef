// Keep-alive desync: bytes that come behind a response (a second response nobody asked for,
// junk, a body sent where none may be) must never answer the next request. Every case runs
// over real loopback sockets against a raw server that answers each request with a body
// naming its target, then sends the extra bytes: in one packet with the response, in a
// second packet, or split inside the extra; the next request goes at once or after a pause.
import {
  type Answer,
  answerEach,
  type ExtraSplit,
  okResponse,
  type RawServer,
  startRawServer,
} from "@x/testkit";
import { describe, expect, it } from "vitest";
import { ConnectionPool, RemoteProtocolError, type Response } from "../src/index.js";

const text = (r: Response): string => new TextDecoder().decode(r.content);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const EXTRAS: Record<string, string> = {
  "a second response": okResponse("evil"),
  "a second response, chunked":
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nevil\r\n0\r\n\r\n",
  junk: "xyz",
  "an empty line": "\r\n",
};
const SPLITS: ExtraSplit[] = ["one packet", "two packets", "inside the extra"];
type Ending = "request()" | "stream() read to the end" | "stream() closed unread";
const ENDINGS: Ending[] = ["request()", "stream() read to the end", "stream() closed unread"];

async function get(pool: ConnectionPool, url: string, ending: Ending): Promise<string> {
  if (ending === "request()") return text(await pool.request("GET", url));
  const r = await pool.stream("GET", url);
  if (ending === "stream() closed unread") {
    await r.close();
    return "";
  }
  return new TextDecoder().decode(await r.read());
}

// The server's first request is answered with `first`, every other one honestly.
async function serve(first: (target: string) => Answer): Promise<RawServer> {
  let requests = 0;
  return startRawServer(
    answerEach((target) =>
      requests++ === 0 ? first(target) : { response: okResponse(`answer to ${target}`) },
    ),
  );
}

// Sends /1 (answered by `first`), then /2 at once or after a pause: /2 must get its own
// answer, on a new connection.
async function checkNextRequest(
  first: (target: string) => Answer,
  options: {
    ending?: Ending;
    delay?: number;
    method?: string;
    firstBody?: string;
    /** The extra bytes came with the end of the response: its connection is gone at once. */
    readTogether?: boolean;
  } = {},
): Promise<void> {
  const server = await serve(first);
  try {
    await using pool = new ConnectionPool();
    const ending = options.ending ?? "request()";
    if (options.method === undefined) {
      const body = await get(pool, `${server.url}/1`, ending);
      if (ending !== "stream() closed unread")
        expect(body).toBe(options.firstBody ?? "answer to /1");
    } else {
      const r = await pool.request(options.method, `${server.url}/1`);
      expect(r.status).toBeGreaterThanOrEqual(200);
    }
    if (options.readTogether) expect(pool.connections).toEqual([]);
    if (options.delay !== undefined) await pause(options.delay);
    const second = await pool.request("GET", `${server.url}/2`);
    expect(second.status).toBe(200);
    expect(text(second)).toBe("answer to /2");
    // The first connection was not reused: /2 went on a new one, and only it is left.
    expect(server.connections).toBe(2);
    expect(pool.connections.map((c) => c.info())).toEqual([
      `'${server.url}', HTTP/1.1, IDLE, Request Count: 1`,
    ]);
  } finally {
    await server.close();
  }
}

describe("bytes behind a response close its connection", () => {
  for (const [name, extra] of Object.entries(EXTRAS)) {
    for (const split of SPLITS) {
      for (const [when, delay] of [
        ["at once", undefined],
        ["after 20 ms", 20],
      ] as const) {
        it(`${name}, ${split}, next request ${when}`, async () => {
          await checkNextRequest(
            (target) => ({ response: okResponse(`answer to ${target}`), extra, split }),
            { ...(delay === undefined ? {} : { delay }), readTogether: split !== "two packets" },
          );
        });
      }
    }
  }

  for (const ending of ENDINGS) {
    it(`a second response, however the first ended: ${ending}`, async () => {
      await checkNextRequest(
        (target) => ({ response: okResponse(`answer to ${target}`), extra: okResponse("evil") }),
        { ending, readTogether: true },
      );
    });
  }

  it("a response that fills the first read exactly, the extra in the next read", async () => {
    // 16 KiB is NodeBackend's first read buffer: the read that ends the response is full,
    // so the socket is read again in the same poll phase, and the extra comes in that read.
    const head = "HTTP/1.1 200 OK\r\nContent-Length: ";
    const size = 16 * 1024;
    let bodyLength = size - head.length - 4 - 5;
    bodyLength = size - head.length - 4 - String(bodyLength).length;
    const body = "b".repeat(bodyLength);
    const response = `${head}${bodyLength}\r\n\r\n${body}`;
    expect(response.length).toBe(size);
    await checkNextRequest(() => ({ response, extra: okResponse("evil") }), { firstBody: body });
  });

  it("a chunked response with the extra behind its last chunk", async () => {
    await checkNextRequest(
      () => ({
        response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n0\r\n\r\n",
        extra: okResponse("evil"),
      }),
      { firstBody: "first", readTogether: true },
    );
  });
});

describe("messages that have no body, sent with one", () => {
  const withBody = (status: string) => `HTTP/1.1 ${status}\r\nContent-Length: 4\r\n\r\n`;
  for (const split of SPLITS) {
    it(`a HEAD answered with its body (${split})`, async () => {
      await checkNextRequest(() => ({ response: withBody("200 OK"), extra: "body", split }), {
        method: "HEAD",
        readTogether: split !== "two packets",
      });
    });
    it(`204 with a body (${split})`, async () => {
      await checkNextRequest(
        () => ({ response: "HTTP/1.1 204 No Content\r\n\r\n", extra: "body", split }),
        { method: "GET", readTogether: split !== "two packets" },
      );
    });
    it(`304 with a body (${split})`, async () => {
      await checkNextRequest(
        () => ({ response: withBody("304 Not Modified"), extra: "body", split }),
        { method: "GET", readTogether: split !== "two packets" },
      );
    });
  }

  it("a 1xx followed by junk fails its request and leaves the pool", async () => {
    const server = await serve(() => ({
      response: "HTTP/1.1 100 Continue\r\n\r\n",
      extra: "junk that is no response\r\n\r\n",
    }));
    try {
      await using pool = new ConnectionPool();
      await expect(pool.request("GET", `${server.url}/1`)).rejects.toBeInstanceOf(
        RemoteProtocolError,
      );
      expect(pool.connections).toEqual([]);
      expect(text(await pool.request("GET", `${server.url}/2`))).toBe("answer to /2");
      expect(server.connections).toBe(2);
    } finally {
      await server.close();
    }
  });
});

describe("what is not a desync", () => {
  it("an honest server keeps one connection for many requests", async () => {
    const server = await startRawServer(
      answerEach((target) => ({ response: okResponse(`answer to ${target}`) })),
    );
    try {
      await using pool = new ConnectionPool();
      for (let i = 0; i < 5; i++) {
        expect(text(await pool.request("GET", `${server.url}/${i}`))).toBe(`answer to /${i}`);
      }
      expect(server.connections).toBe(1);
    } finally {
      await server.close();
    }
  });

  it("a POST (not retried) on a connection with bytes behind its response goes elsewhere", async () => {
    const server = await serve((target) => ({
      response: okResponse(`answer to ${target}`),
      extra: okResponse("evil"),
      split: "two packets",
    }));
    try {
      await using pool = new ConnectionPool();
      expect(text(await pool.request("GET", `${server.url}/1`))).toBe("answer to /1");
      const r = await pool.request("POST", `${server.url}/2`, { content: "x" });
      expect(text(r)).toBe("answer to /2");
      expect(server.connections).toBe(2);
    } finally {
      await server.close();
    }
  });
});
