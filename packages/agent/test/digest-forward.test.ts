// Forwarding with Digest (DigestForwardStream) against a scripted proxy on loopback: which
// 407s are read away and answered, which are handed to node:http, and the bytes around them.
import { once } from "node:events";
import { request as httpRequest, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { type NetworkSocket, NodeBackend } from "@x/pool";
import { ProxyAuthenticator } from "@x/proxy";
import { type RawServer, startRawServer, testCA } from "@x/testkit";
import { describe, expect, it } from "vitest";
import { DigestForwardStream } from "../src/digest-forward.js";
import { ProxyAgent } from "../src/index.js";

const CHALLENGE = 'Proxy-Authenticate: Digest realm="r", nonce="n0", qop="auth", algorithm=MD5';
const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

interface Received {
  readonly head: string;
  readonly body: string;
  /** Which connection (0, 1 ...) and which request on it. */
  readonly connection: number;
  readonly index: number;
  /** Its Proxy-Authorization fields. */
  readonly auth: string[];
}

type Script = (request: Received, socket: Socket) => void;

/** A proxy that reads each request (head and Content-Length body) and lets `script` answer. */
async function scripted(script: Script): Promise<RawServer & { readonly log: Received[] }> {
  const log: Received[] = [];
  const server = await startRawServer((socket, connection) => {
    let buffered = Buffer.alloc(0);
    let index = 0;
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString("latin1");
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const body = buffered.subarray(end + 4, end + 4 + length).toString("latin1");
        buffered = buffered.subarray(end + 4 + length);
        const auth = head
          .split("\r\n")
          .filter((l) => /^proxy-authorization:/i.test(l))
          .map((l) => l.slice(l.indexOf(":") + 1).trim());
        const received = { head, body, connection, index: index++, auth };
        log.push(received);
        script(received, socket);
      }
    });
  });
  return Object.assign(server, { log });
}

/** 407 with a Digest challenge until the request carries Digest credentials, then `ok`. */
const challengeWith =
  (refusal: string, ok = OK): Script =>
  (request, socket) => {
    if (request.auth.some((a) => a.startsWith("Digest "))) socket.write(ok);
    else socket.write(refusal);
  };

function digestAgent(proxy: RawServer, password = "pw"): ProxyAgent {
  return new ProxyAgent({
    proxyUrl: proxy.url,
    proxyAuth: ["alice", password],
    proxyAuthScheme: "digest",
  });
}

interface Result {
  readonly status: number;
  readonly body: string;
  readonly informational: number[];
  readonly socket: unknown;
}

function send(
  agent: ProxyAgent,
  options: { method?: string; path?: string; headers?: Record<string, string> } = {},
  content?: string,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const informational: number[] = [];
    const req = httpRequest(`http://example.com${options.path ?? "/x"}`, {
      agent,
      method: options.method ?? "GET",
      headers: options.headers ?? {},
    });
    req.on("information", (info) => informational.push(info.statusCode));
    req.on("error", reject);
    req.on("response", (res: IncomingMessage) => {
      const socket = res.socket;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("latin1"),
          informational,
          socket,
        }),
      );
    });
    req.end(content);
  });
}

async function withProxy<T>(
  script: Script,
  run: (proxy: RawServer & { readonly log: Received[] }, agent: ProxyAgent) => Promise<T>,
  password?: string,
): Promise<T> {
  const proxy = await scripted(script);
  const agent = digestAgent(proxy, password);
  try {
    return await run(proxy, agent);
  } finally {
    agent.destroy();
    await proxy.close();
  }
}

describe("a 407 read away and answered", () => {
  it("with a Content-Length body that comes in pieces, on the same connection", async () => {
    await withProxy(
      (request, socket) => {
        if (request.auth.length > 0) return void socket.write(OK);
        socket.write(`HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 10\r\n\r\n01234`);
        setImmediate(() => socket.write("56789"));
      },
      async (proxy, agent) => {
        const result = await send(agent);
        expect([result.status, result.body]).toEqual([200, "ok"]);
        expect(proxy.log.map((r) => [r.connection, r.index])).toEqual([
          [0, 0],
          [0, 1],
        ]);
        expect(proxy.log[0]!.auth).toEqual([]);
        expect(proxy.log[1]!.auth).toEqual([expect.stringMatching(/^Digest username="alice", /)]);
        expect(proxy.log[1]!.head.split("\r\n")[0]).toBe("GET http://example.com/x HTTP/1.1");
        // The stream keeps the proxy's socket for node:http's socket settings.
        const stream = (result.socket as NetworkSocket).stream;
        expect(stream).toBeInstanceOf(DigestForwardStream);
        expect((stream.getExtraInfo("socket") as Socket).remotePort).toBe(proxy.port);
      },
    );
  });

  it("without a length, delimited by the close (Connection: close, or HTTP/1.0): on a new connection", async () => {
    const big = `HTTP/1.1 407\r\n${CHALLENGE}\r\nconnection: close\r\n\r\n${"x".repeat(70 * 1024)}`;
    for (const refusal of [
      `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nConnection: Keep-Alive, Close\r\n\r\ndenied`,
      `HTTP/1.0 407 Auth\r\n${CHALLENGE}\r\n\r\ndenied`,
      // With a length and a close: what follows the body is dropped with the connection.
      `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nConnection: close\r\nContent-Length: 6\r\n\r\ndeniedHTTP/1.1 500 No\r\n\r\n`,
      // Over 64 KiB: read no further (this proxy never closes it; the agent does).
      big,
    ]) {
      await withProxy(
        (request, socket) => {
          if (request.auth.length > 0) return void socket.write(OK);
          if (refusal === big) socket.write(refusal);
          else socket.end(refusal);
        },
        async (proxy, agent) => {
          const result = await send(agent, { method: "POST" }, "hello");
          expect([result.status, result.body], refusal).toEqual([200, "ok"]);
          expect(proxy.log.map((r) => [r.connection, r.index, r.body])).toEqual([
            [0, 0, "hello"],
            [1, 0, "hello"],
          ]);
        },
      );
    }
  });

  it("with a body of 64 KiB exactly", async () => {
    const body = "z".repeat(64 * 1024);
    await withProxy(
      challengeWith(
        `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
      async (proxy, agent) => {
        expect((await send(agent)).status).toBe(200);
        expect(proxy.log.map((r) => r.connection)).toEqual([0, 0]);
      },
    );
  });

  it("a request of 64 KiB exactly, as written, is sent again; one a byte longer is not", async () => {
    // The head node:http writes for a POST with a five-digit length, seen by a proxy.
    const headLength = await withProxy(
      (_request, socket) => socket.write(OK),
      async (proxy, agent) => {
        await send(agent, { method: "POST" }, "x".repeat(10_000));
        return proxy.log[0]!.head.length + 4;
      },
    );
    for (const [extra, sent] of [
      [0, [200, 2]],
      [1, [407, 1]],
    ] as const) {
      await withProxy(
        challengeWith(`HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 6\r\n\r\ndenied`),
        async (proxy, agent) => {
          const content = "x".repeat(64 * 1024 - headLength + extra);
          const result = await send(agent, { method: "POST" }, content);
          expect([result.status, proxy.log.length], `${extra}`).toEqual(sent);
          expect(proxy.log[0]!.head.length + 4 + content.length).toBe(64 * 1024 + extra);
        },
      );
    }
  });

  it("delimited by the close: read to its end before the request goes again", async () => {
    // The rest of the body comes later, and the close later still; and a body of 64 KiB
    // exactly, then the close.
    for (const [first, later] of [
      ["denied", ["more", ""]],
      ["d".repeat(64 * 1024), [""]],
    ] as const) {
      // Whether this proxy had closed the first connection when the second one's came.
      let closed = false;
      let closedFirst: boolean | undefined;
      await withProxy(
        (request, socket) => {
          if (request.connection > 0) {
            closedFirst ??= closed;
            return void socket.write(OK);
          }
          socket.write(`HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nConnection: close\r\n\r\n${first}`);
          for (const [i, part] of later.entries()) {
            setTimeout(
              () => {
                if (part !== "") return void socket.write(part);
                closed = true;
                socket.end();
              },
              100 * (i + 1),
            );
          }
        },
        async (proxy, agent) => {
          const result = await send(agent);
          expect([result.status, result.body], first.slice(0, 6)).toEqual([200, "ok"]);
          expect(proxy.log.map((r) => r.connection)).toEqual([0, 1]);
          expect(closedFirst, first.slice(0, 6)).toBe(true);
        },
      );
    }
  });

  it("its head in pieces; field names trimmed; a line without a colon names no field", async () => {
    for (const refusal of [
      [`HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\n`, "Content-Length: 6\r\n\r\ndenied"],
      [`HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length : 6\r\n\r\ndenied`],
      [
        `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nTransfer-Encodings\r\nContent-Length: 6\r\n\r\ndenied`,
      ],
    ]) {
      await withProxy(
        (request, socket) => {
          if (request.auth.length > 0) return void socket.write(OK);
          socket.write(refusal[0]!);
          if (refusal[1] !== undefined) setTimeout(() => socket.write(refusal[1]!), 100);
        },
        async (proxy, agent) => {
          const result = await send(agent);
          expect([result.status, result.body], refusal.join("")).toEqual([200, "ok"]);
          expect(proxy.log.map((r) => [r.connection, r.auth.length])).toEqual([
            [0, 0],
            [0, 1],
          ]);
        },
      );
    }
  });

  it("HTTP/1.0 with keep-alive and a length: on the same connection", async () => {
    await withProxy(
      challengeWith(
        `HTTP/1.0 407 Auth\r\n${CHALLENGE}\r\nConnection: keep-alive\r\nContent-Length: 6\r\n\r\ndenied`,
      ),
      async (proxy, agent) => {
        expect((await send(agent)).status).toBe(200);
        expect(proxy.log.map((r) => r.connection)).toEqual([0, 0]);
      },
    );
  });

  it("to HEAD, without reading the body its Content-Length names", async () => {
    await withProxy(
      challengeWith(
        `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 10\r\n\r\n`,
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
      ),
      async (proxy, agent) => {
        const result = await send(agent, { method: "HEAD" });
        expect([result.status, result.body]).toEqual([200, ""]);
        expect(proxy.log.map((r) => [r.connection, r.head.split(" ")[0]])).toEqual([
          [0, "HEAD"],
          [0, "HEAD"],
        ]);
      },
    );
  });

  it("what follows the 407's body is the next response's", async () => {
    await withProxy(
      (request, socket) => {
        if (request.index === 0)
          socket.write(`HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 6\r\n\r\ndenied${OK}`);
      },
      async (proxy, agent) => {
        const result = await send(agent);
        expect([result.status, result.body]).toEqual([200, "ok"]);
        await new Promise<void>((resolve) => {
          const check = (): void => {
            if (proxy.log.length === 2) resolve();
            else setImmediate(check);
          };
          check();
        });
        expect(proxy.log[1]!.auth).toHaveLength(1);
      },
    );
  });

  it("with interim responses handed on before it", async () => {
    await withProxy(
      (request, socket) => {
        if (request.auth.length > 0) return void socket.write(`HTTP/1.1 199 Misc\r\n\r\n${OK}`);
        socket.write(
          `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 0\r\n\r\n`,
        );
      },
      async (proxy, agent) => {
        const result = await send(agent);
        expect([result.status, result.body]).toEqual([200, "ok"]);
        expect(result.informational).toEqual([100, 103, 199]);
        expect(proxy.log).toHaveLength(2);
      },
    );
  });

  it("its own Proxy-Authorization replaced by the Digest answer", async () => {
    await withProxy(
      challengeWith(`HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 0\r\n\r\n`),
      async (proxy, agent) => {
        const result = await send(agent, {
          headers: {
            "X-Before": "1",
            "proxy-Authorization": "Bearer t",
            "Proxy-Authorization-Hint": "kept",
            "X-After": "see proxy-authorization: kept",
          },
        });
        expect(result.status).toBe(200);
        expect(proxy.log[0]!.auth).toEqual(["Bearer t"]);
        expect(proxy.log[1]!.auth).toEqual([expect.stringMatching(/^Digest /)]);
        const lines = proxy.log[1]!.head.split("\r\n");
        expect(lines[0]).toBe("GET http://example.com/x HTTP/1.1");
        expect(lines[1]).toMatch(/^Proxy-Authorization: Digest /);
        expect(lines.slice(2).join("\n")).toMatch(
          /X-Before: 1\nProxy-Authorization-Hint: kept\nX-After: see proxy-authorization: kept\n/,
        );
      },
    );
  });
});

describe("a 407 handed to node:http", () => {
  const handedBack = async (
    refusal: string,
    options: Parameters<typeof send>[1] = {},
    password?: string,
  ): Promise<[Result, number]> =>
    withProxy(
      challengeWith(refusal),
      async (proxy, agent) => [await send(agent, options), proxy.log.length],
      password,
    );

  it("chunked, or with a body over 64 KiB, on a kept-alive connection", async () => {
    const chunked = `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nTransfer-Encoding: chunked\r\n\r\n6\r\ndenied\r\n0\r\n\r\n`;
    const [a, na] = await handedBack(chunked);
    expect([a.status, a.body, na]).toEqual([407, "denied", 1]);
    const large = "y".repeat(64 * 1024 + 1);
    const [b, nb] = await handedBack(
      `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: ${large.length}\r\n\r\n${large}`,
    );
    expect([b.status, b.body.length, nb]).toEqual([407, large.length, 1]);
  });

  it("chunked with a Content-Length beside it: the chunked body's length is not known", async () => {
    const body = "6\r\ndenied\r\n0\r\n\r\n";
    const refusal = `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nTransfer-Encoding: chunked\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    await withProxy(challengeWith(refusal), async (proxy, agent) => {
      const error = (await send(agent).then(
        () => null,
        (e: unknown) => e,
      )) as NodeJS.ErrnoException;
      expect(error.code).toBe("HPE_INVALID_CONTENT_LENGTH");
      expect(proxy.log).toHaveLength(1);
    });
  });

  it("after a status below 100, a final one for node:http: its body, though it reads as a 407", async () => {
    const inner = `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 0\r\n\r\n`;
    await withProxy(
      (request, socket) => {
        if (request.auth.length > 0) return void socket.write(OK);
        socket.write(`HTTP/1.1 099 Odd\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`);
      },
      async (proxy, agent) => {
        const result = await send(agent);
        expect([result.status, result.body, result.informational]).toEqual([99, inner, []]);
        expect(proxy.log).toHaveLength(1);
      },
    );
  });

  it("with two Content-Length fields (node:http refuses it)", async () => {
    await withProxy(
      challengeWith(
        `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 6\r\nContent-Length: 6\r\n\r\ndenied`,
      ),
      async (proxy, agent) => {
        const error = (await send(agent).then(
          () => null,
          (e: unknown) => e,
        )) as NodeJS.ErrnoException;
        expect(error.code).toBe("HPE_UNEXPECTED_CONTENT_LENGTH");
        expect(proxy.log).toHaveLength(1);
      },
    );
  });

  it("when it is not a response node:http reads (node:http refuses it)", async () => {
    for (const refusal of [
      `XHTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 6\r\n\r\ndenied`,
      `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 6x\r\n\r\ndenied`,
      `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: x6\r\n\r\ndenied`,
    ]) {
      await withProxy(challengeWith(refusal), async (proxy, agent) => {
        const error = (await send(agent).then(
          () => null,
          (e: unknown) => e,
        )) as NodeJS.ErrnoException;
        expect(error.code, refusal).toMatch(/^HPE_/);
        expect(proxy.log).toHaveLength(1);
      });
    }
  });

  it("with a challenge it cannot answer (Basic only)", async () => {
    const [result, n] = await handedBack(
      'HTTP/1.1 407 Auth\r\nProxy-Authenticate: Basic realm="r"\r\nContent-Length: 6\r\n\r\ndenied',
    );
    expect([result.status, result.body, n]).toEqual([407, "denied", 1]);
  });

  it("once answered: the second 407 to the same request", async () => {
    const proxy = await scripted((_request, socket) =>
      socket.write(`HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 6\r\n\r\ndenied`),
    );
    const agent = digestAgent(proxy, "wrong");
    try {
      const result = await send(agent);
      expect([result.status, result.body]).toEqual([407, "denied"]);
      expect(proxy.log.map((r) => r.auth.length)).toEqual([0, 1]);
    } finally {
      agent.destroy();
      await proxy.close();
    }
  });

  it("when the request line is not in its first 8 KiB", async () => {
    const path = `/${"a".repeat(9000)}`;
    const [result, n] = await handedBack(
      `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 6\r\n\r\ndenied`,
      { path },
    );
    expect([result.status, n]).toEqual([407, 1]);
  });

  it("when the request was not all written yet", async () => {
    await withProxy(
      challengeWith(`HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 6\r\n\r\ndenied`),
      async (proxy, agent) => {
        const req = httpRequest("http://example.com/x", {
          agent,
          method: "POST",
          headers: { "Content-Length": "0" },
        });
        // The head alone: node:http has not finished the request when the 407 comes.
        req.flushHeaders();
        const [res] = (await once(req, "response")) as [IncomingMessage];
        expect(res.statusCode).toBe(407);
        res.resume();
        req.end();
        await once(res, "end");
        expect(proxy.log).toHaveLength(1);
      },
    );
  });
});

describe("the proxy's connection", () => {
  it("closed in a 407's body: the request fails, saying so", async () => {
    await withProxy(
      (_request, socket) =>
        socket.end(`HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nContent-Length: 100\r\n\r\nshort`),
      async (_proxy, agent) => {
        const error = await send(agent).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).message).toBe("the proxy closed the connection in a 407's body");
      },
    );
  });

  it("closed before any response, or in its head: the request fails", async () => {
    for (const answer of ["", "HTTP/1.1 200 OK\r\nContent-Le"]) {
      await withProxy(
        (_request, socket) => socket.end(answer),
        async (_proxy, agent) => {
          const error = (await send(agent).then(
            () => null,
            (e: unknown) => e,
          )) as NodeJS.ErrnoException;
          expect(error.code, answer).toBe("ECONNRESET");
          expect(error.message).toBe("socket hang up");
        },
      );
    }
  });

  it("bytes that never make a head, then the close: handed on (node:http refuses them)", async () => {
    await withProxy(
      (_request, socket) => socket.end("no head here"),
      async (_proxy, agent) => {
        const error = (await send(agent).then(
          () => null,
          (e: unknown) => e,
        )) as NodeJS.ErrnoException;
        expect(error.code).toBe("HPE_INVALID_CONSTANT");
        expect(error.message).toBe("Parse Error: Expected HTTP/, RTSP/ or ICE/");
      },
    );
  });

  it("a 407 head whose first 64 KiB exactly come without its end is still read as a head", async () => {
    const start = `HTTP/1.1 407 Auth\r\n${CHALLENGE}\r\nX-Pad: `;
    const first = start.padEnd(64 * 1024, "p");
    await withProxy(
      (request, socket) => {
        if (request.auth.length > 0) return void socket.write(OK);
        socket.write(first);
        setTimeout(() => socket.write("\r\nContent-Length: 0\r\n\r\n"), 100);
      },
      async (proxy, agent) => {
        expect((await send(agent)).status).toBe(200);
        expect(proxy.log.map((r) => [r.connection, r.auth.length])).toEqual([
          [0, 0],
          [0, 1],
        ]);
      },
    );
  });

  it("empty lines before a response: handed on with it at once (node:http skips them)", async () => {
    await withProxy(
      (_request, socket) => socket.write(`\r\n\r\n${OK}`),
      async (proxy, agent) => {
        const result = await send(agent);
        expect([result.status, result.body]).toEqual([200, "ok"]);
        expect(proxy.log).toHaveLength(1);
      },
    );
  });

  it("a response head over 64 KiB is handed on as it comes (node:http refuses it)", async () => {
    await withProxy(
      (_request, socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${"z".repeat(70 * 1024)}`),
      async (_proxy, agent) => {
        const error = (await send(agent).then(
          () => null,
          (e: unknown) => e,
        )) as NodeJS.ErrnoException;
        expect(error.code).toBe("HPE_HEADER_OVERFLOW");
      },
    );
  });

  it("a response larger than a read arrives whole", async () => {
    const large = "L".repeat(100 * 1024);
    await withProxy(
      (_request, socket) =>
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${large.length}\r\n\r\n${large}`),
      async (_proxy, agent) => {
        const result = await send(agent);
        expect([result.status, result.body.length]).toEqual([200, large.length]);
      },
    );
  });

  it("after a 101, the bytes go to node:http as they come", async () => {
    await withProxy(
      (_request, socket) =>
        socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\nhi",
        ),
      async (_proxy, agent) => {
        const req = httpRequest("http://example.com/", {
          agent,
          headers: { Connection: "Upgrade", Upgrade: "x" },
        });
        req.end();
        const [res, socket, head] = (await once(req, "upgrade")) as [
          IncomingMessage,
          Socket,
          Buffer,
        ];
        expect(res.statusCode).toBe(101);
        const bytes = head.length > 0 ? head : ((await once(socket, "data")) as [Buffer])[0];
        expect(bytes.toString()).toBe("hi");
        socket.destroy();
      },
    );
  });

  it("TLS over the stream goes to the connection under it", async () => {
    const origin = await startRawServer(
      (socket) => {
        socket.end("hello");
      },
      { tlsNames: ["localhost"] },
    );
    const backend = new NodeBackend();
    const inner = await backend.connectTcp("127.0.0.1", origin.port, {});
    const authenticator = new ProxyAuthenticator({
      username: "a",
      password: "b",
      scheme: "digest",
    });
    const stream = new DigestForwardStream(inner, authenticator, () => Promise.reject(new Error()));
    try {
      const tls = await stream.startTls({ ca: testCA().cert }, "localhost");
      expect(Buffer.from(await tls.read(64)).toString()).toBe("hello");
      await tls.close();
    } finally {
      await stream.close();
      await origin.close();
    }
  });
});
