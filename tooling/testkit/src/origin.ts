// Loopback origin servers for tests: HTTP, HTTPS (with the test CA) and Unix sockets, built
// on node:http with keep-alive, answering a small set of routes.

import { mkdtempSync, rmSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testCA } from "./ca.js";
import { listenLoopback, OpenSockets } from "./net.js";

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
) => void | Promise<void>;

export interface OriginOptions {
  /** Serve TLS with a certificate from the test CA for these names (default: plain HTTP). */
  readonly tls?: boolean;
  /** Names on the certificate (default localhost, 127.0.0.1, ::1). */
  readonly names?: readonly string[];
  /** Listen on a Unix socket instead of TCP. */
  readonly unix?: boolean;
  /** Who this server says it is, in the X-Served-By header and /whoami. */
  readonly name?: string;
  /** Replace the built-in routes. */
  readonly handler?: Handler;
  /** node:http's keepAliveTimeout (ms, default 5000). */
  readonly keepAliveTimeout?: number;
  /** Listen on this port (default: a free one). */
  readonly port?: number;
  /** Listen on the IPv6 loopback instead of 127.0.0.1 (starting fails where there is none). */
  readonly ipv6?: boolean;
}

export interface Origin {
  /**
   * "http://127.0.0.1:PORT" or "https://localhost:PORT", "http(s)://[::1]:PORT" with `ipv6`
   * (or http://localhost for Unix sockets).
   */
  readonly url: string;
  readonly port: number;
  /** The Unix socket path, when `unix` was set. */
  readonly path: string | undefined;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Requests answered so far. */
  readonly requests: number;
  /** Server-side sockets still open. */
  readonly openSockets: number;
  readonly server: Server;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The built-in routes. */
export function defaultHandler(name: string): Handler {
  return async (req, res, body) => {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    res.setHeader("X-Served-By", name);
    const parts = path.split("/").filter(Boolean);
    const n = Number(parts[1] ?? 0);
    switch (parts[0]) {
      case undefined:
        res.setHeader("Content-Type", "text/plain");
        res.end(`hello from ${name}\n`);
        return;
      case "whoami":
        res.end(name);
        return;
      case "json":
        res.setHeader("Content-Type", "application/json");
        res.end(JSON.stringify({ slideshow: { title: "Sample Slide Show", author: name } }));
        return;
      case "echo":
        res.setHeader("Content-Type", "application/json");
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            headers: req.rawHeaders,
            body: body.toString("latin1"),
          }),
        );
        return;
      case "bytes":
        res.setHeader("Content-Length", n);
        res.end(Buffer.alloc(n, 0x61));
        return;
      case "stream": {
        // n chunks of 1 KiB, chunked.
        for (let i = 0; i < n; i++) res.write(Buffer.alloc(1024, 0x62));
        res.end();
        return;
      }
      case "slow":
        await new Promise((r) => setTimeout(r, n));
        res.end("slow");
        return;
      case "close":
        res.setHeader("Connection", "close");
        res.end("closing");
        return;
      case "status":
        res.statusCode = n;
        res.end();
        return;
      case "keepalive":
        res.shouldKeepAlive = true;
        res.setHeader("Keep-Alive", `timeout=${n}`);
        res.end("ok");
        return;
      default:
        res.statusCode = 404;
        res.end("not found");
    }
  };
}

/** Starts an origin server on 127.0.0.1 or ::1 (a free port), or a Unix socket. */
export async function startOrigin(options: OriginOptions = {}): Promise<Origin> {
  const name = options.name ?? (options.tls ? "https-origin" : "http-origin");
  const handler = options.handler ?? defaultHandler(name);
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    readBody(req)
      .then((body) => handler(req, res, body))
      .catch((error: unknown) => {
        if (!res.headersSent) res.statusCode = 500;
        res.end(String(error));
      });
  };
  let server: Server;
  if (options.tls) {
    const pair = testCA().issue(options.names ?? ["localhost", "127.0.0.1", "::1"]);
    server = createHttpsServer({ key: pair.key, cert: pair.cert }, listener);
  } else {
    server = createHttpServer(listener);
  }
  server.keepAliveTimeout = options.keepAliveTimeout ?? 5000;
  const sockets = new OpenSockets();
  let connections = 0;
  let requests = 0;
  server.on(options.tls ? "secureConnection" : "connection", (socket: Socket) => {
    connections++;
    sockets.add(socket);
  });
  if (options.tls) {
    // Count raw sockets too, so that a failed handshake is still seen closing.
    server.on("connection", (socket: Socket) => sockets.add(socket));
  }
  server.on("request", () => requests++);
  let dir: string | undefined;
  let path: string | undefined;
  if (options.unix) {
    dir = mkdtempSync(join(tmpdir(), "x-http-uds-"));
    path = join(dir, "origin.sock");
    await new Promise<void>((resolve) => server.listen(path, resolve));
  }
  const port = options.unix
    ? 0
    : await listenLoopback(server, options.port, options.ipv6 ? "::1" : "127.0.0.1");
  const host = options.ipv6 ? "[::1]" : options.tls ? "localhost" : "127.0.0.1";
  return {
    url: options.unix ? "http://localhost" : `${options.tls ? "https" : "http"}://${host}:${port}`,
    port,
    path,
    get connections() {
      return connections;
    },
    get requests() {
      return requests;
    },
    get openSockets() {
      return sockets.size;
    },
    server,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        sockets.destroyAll();
      });
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
