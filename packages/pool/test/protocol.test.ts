import { onEachRequestHead, onRequestHead, startRawServer } from "@x/testkit";
import { describe, expect, it } from "vitest";
import { ConnectionPool, Request } from "../src/index.js";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("HTTP/1.1 details through the pool", () => {
  it("an IPv6 literal: brackets in Host, ::1 on the wire", async (ctx) => {
    const { createServer } = await import("node:http");
    const server = createServer((req, res) =>
      res.end(`${req.headers.host} ${req.socket.remoteAddress}`),
    );
    const ok = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(0, "::1", () => resolve(true));
    });
    if (!ok) {
      console.warn("no IPv6 loopback here: this test is skipped");
      ctx.skip();
    }
    try {
      const port = (server.address() as { port: number }).port;
      await using pool = new ConnectionPool();
      const r = await pool.request("GET", `http://[::1]:${port}/`);
      expect(text(r.content)).toBe(`[::1]:${port} ::1`);
      expect(String(pool.connections[0])).toContain(`'http://[::1]:${port}'`);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("a head h11 refuses fails before any byte, and the kept-alive connection survives", async () => {
    const raw = await startRawServer((socket) => {
      socket.on("data", () => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    });
    try {
      await using pool = new ConnectionPool();
      await pool.request("GET", `${raw.url}/`);
      const twoHosts = new Request("GET", `${raw.url}/`, {
        headers: [
          ["Host", "a"],
          ["Host", "b"],
        ],
      });
      await expect(pool.handleRequest(twoHosts)).rejects.toMatchObject({
        code: "ERR_LOCAL_PROTOCOL",
      });
      expect(pool.connections.map((c) => c.info())).toEqual([
        expect.stringMatching(/IDLE, Request Count: 1$/),
      ]);
      expect(text((await pool.request("GET", `${raw.url}/`)).content)).toBe("ok");
      expect(raw.connections).toBe(1);
    } finally {
      await raw.close();
    }
  });

  it("101 Switching Protocols hands over the raw stream, early bytes first", async () => {
    const raw = await startRawServer((socket) =>
      onRequestHead(socket, () => {
        socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\nhello:",
        );
        socket.on("data", (chunk) => socket.write(chunk.toString().toUpperCase()));
      }),
    );
    try {
      await using pool = new ConnectionPool();
      const request = new Request("GET", `${raw.url}/`, {
        headers: { Host: "x", Upgrade: "echo", Connection: "upgrade" },
      });
      const response = await pool.handleRequest(request);
      expect(response.status).toBe(101);
      const stream = response.extensions.networkStream!;
      expect(text(await stream.read(1024))).toBe("hello:");
      await stream.write(new TextEncoder().encode("shout"));
      expect(text(await stream.read(1024))).toBe("SHOUT");
      await stream.close();
      await response.close();
    } finally {
      await raw.close();
    }
  });

  it("HEAD: Content-Length but no body, and the connection is kept", async () => {
    const raw = await startRawServer((socket) => {
      let buffered = "";
      socket.on("data", (chunk) => {
        buffered += chunk.toString();
        while (buffered.includes("\r\n\r\n")) {
          buffered = buffered.slice(buffered.indexOf("\r\n\r\n") + 4);
          socket.write("HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n");
        }
      });
    });
    try {
      await using pool = new ConnectionPool();
      const first = await pool.request("HEAD", `${raw.url}/`);
      expect(first.content.length).toBe(0);
      const second = await pool.request("HEAD", `${raw.url}/`);
      expect(second.status).toBe(200);
      expect(raw.connections).toBe(1);
    } finally {
      await raw.close();
    }
  });

  it("a body delimited by close is read to the end, then the connection is gone", async () => {
    const raw = await startRawServer((socket) =>
      onRequestHead(socket, () => socket.end("HTTP/1.1 200 OK\r\n\r\nuntil the very end")),
    );
    try {
      await using pool = new ConnectionPool();
      const r = await pool.request("GET", `${raw.url}/`);
      expect(text(r.content)).toBe("until the very end");
      expect(pool.connections).toHaveLength(0);
    } finally {
      await raw.close();
    }
  });

  it("100 Continue before the final response is skipped", async () => {
    const raw = await startRawServer((socket) =>
      onRequestHead(socket, () =>
        socket.write(
          "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone",
        ),
      ),
    );
    try {
      await using pool = new ConnectionPool();
      const r = await pool.request("POST", `${raw.url}/`, {
        content: "body",
        headers: { Expect: "100-continue" },
      });
      expect(r.status).toBe(201);
      expect(text(r.content)).toBe("done");
    } finally {
      await raw.close();
    }
  });
});

describe("HTTP/1.1 trailers", () => {
  it("a chunked body's trailers are in response.extensions.trailers once it is read", async () => {
    const raw = await startRawServer((socket) => {
      onEachRequestHead(socket, () => {
        socket.write(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n" +
            "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n",
        );
      });
    });
    try {
      await using pool = new ConnectionPool();
      const r = await pool.request("GET", `${raw.url}/`);
      expect(text(r.content)).toBe("hello");
      expect(r.extensions.trailers).toEqual([
        ["X-Checksum", "abc"],
        ["X-Other", "1"],
      ]);
      await using streamed = await pool.stream("GET", `${raw.url}/`);
      expect(streamed.extensions.trailers).toBeUndefined();
      await streamed.read();
      expect(streamed.extensions.trailers).toHaveLength(2);
    } finally {
      await raw.close();
    }
  });
});
