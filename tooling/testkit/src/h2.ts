// Loopback HTTP/2 origins for tests, on node:http2: TLS (ALPN h2, optionally http/1.1 too,
// with a certificate from the test CA) or h2c (prior knowledge), with a few routes and the
// hooks hostile variants need (a handler of your own, SETTINGS of your choosing). And a
// server that accepts connections and never sends SETTINGS.

import {
  createSecureServer,
  createServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
  type Settings,
} from "node:http2";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { testCA } from "./ca.js";
import { listenLoopback, OpenSockets } from "./net.js";

/** Answers one stream; `body` is the request body, read whole. */
export type H2Handler = (
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  body: Buffer,
  server: H2Origin,
) => void | Promise<void>;

export interface H2OriginOptions {
  /** Serve TLS with ALPN (default true); false serves h2c with prior knowledge. */
  readonly tls?: boolean;
  /** Also answer HTTP/1.1 (TLS only: ALPN offers http/1.1 too). Default false. */
  readonly allowHTTP1?: boolean;
  /** The server's SETTINGS (say, `{ maxConcurrentStreams: 1 }`). */
  readonly settings?: Settings;
  /** Replace the built-in routes. */
  readonly handler?: H2Handler;
  /** Who this server says it is (x-served-by). */
  readonly name?: string;
  /** Leave request bodies unread (the handler gets an empty body): uploads then stall. */
  readonly unreadBodies?: boolean;
}

export interface H2Origin {
  /** "https://localhost:PORT" or "http://127.0.0.1:PORT". */
  readonly url: string;
  readonly port: number;
  /** HTTP/2 sessions (connections) accepted so far. */
  readonly sessions: number;
  /** Streams (requests) received so far. */
  readonly streams: number;
  /** The largest number of streams open at once on one session. */
  readonly maxOpenStreams: number;
  /** Body bytes the /big route has handed to node:http2 so far (it waits for 'drain'). */
  readonly bigBytesWritten: number;
  /** Each stream's session number (1, 2 ...) by path, in arrival order. */
  readonly log: ReadonlyArray<{ readonly path: string; readonly session: number }>;
  readonly server: Http2Server;
  /** Destroys every connection's socket at once (a connection error, as the client sees it). */
  dropConnections(): void;
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(16 * 1024, 0x63);

async function readBody(stream: ServerHttp2Stream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function waitDrain(stream: ServerHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

/**
 * The built-in routes: `/` (hello), `/echo` (JSON: method, path, authority, scheme, raw
 * headers, body), `/path/...` (the path as body), `/bytes/N`, `/big/N` (N bytes written as
 * flow control lets them go, counted in bigBytesWritten), `/trailers` (a body, then trailers
 * x-checksum and x-count), `/rst/N` (N bytes, then RST_STREAM INTERNAL_ERROR), `/slow/N`
 * (answers after N ms), `/status/N`.
 */
export function h2DefaultHandler(name: string, counters: { big: number }): H2Handler {
  return async (stream, headers, body) => {
    const path = String(headers[":path"] ?? "/");
    const parts = path.split("?")[0]!.split("/").filter(Boolean);
    const n = Number(parts[1] ?? 0);
    switch (parts[0]) {
      case undefined:
        stream.respond({ ":status": 200, "content-type": "text/plain", "x-served-by": name });
        stream.end(`hello from ${name}\n`);
        return;
      case "echo": {
        stream.respond({ ":status": 200, "content-type": "application/json" });
        stream.end(
          JSON.stringify({
            method: headers[":method"],
            path,
            authority: headers[":authority"],
            scheme: headers[":scheme"],
            headers: Object.entries(headers).filter(([k]) => !k.startsWith(":")),
            body: body.toString("latin1"),
          }),
        );
        return;
      }
      case "path":
        stream.respond({ ":status": 200 });
        stream.end(path);
        return;
      case "bytes":
        stream.respond({ ":status": 200, "content-length": n });
        stream.end(Buffer.alloc(n, 0x61));
        return;
      case "big": {
        stream.respond({ ":status": 200, "content-length": n });
        let left = n;
        while (left > 0 && !stream.destroyed) {
          const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
          left -= chunk.length;
          counters.big += chunk.length;
          if (!stream.write(chunk)) await waitDrain(stream);
        }
        if (!stream.destroyed) stream.end();
        return;
      }
      case "trailers":
        stream.respond({ ":status": 200 }, { waitForTrailers: true });
        stream.on("wantTrailers", () =>
          stream.sendTrailers({ "x-checksum": "abc123", "x-count": "2" }),
        );
        stream.end("with trailers");
        return;
      case "rst":
        stream.respond({ ":status": 200 });
        stream.write(Buffer.alloc(n, 0x72));
        // destroy() with an error resets the stream (RST_STREAM INTERNAL_ERROR) without
        // ending it; close(code) would end it first.
        setTimeout(() => stream.destroy(new Error("reset by the test server")), 20);
        return;
      case "slow":
        await new Promise((r) => setTimeout(r, n));
        if (stream.destroyed) return;
        stream.respond({ ":status": 200 });
        stream.end("slow");
        return;
      case "status":
        stream.respond({ ":status": n });
        stream.end();
        return;
      default:
        stream.respond({ ":status": 404 });
        stream.end("not found");
    }
  };
}

/** Starts an HTTP/2 origin on 127.0.0.1 (a free port). */
export async function startH2Origin(options: H2OriginOptions = {}): Promise<H2Origin> {
  const tls = options.tls ?? true;
  const name = options.name ?? (tls ? "h2-origin" : "h2c-origin");
  const counters = { big: 0 };
  const handler = options.handler ?? h2DefaultHandler(name, counters);
  let server: Http2Server;
  if (tls) {
    const pair = testCA().issue(["localhost", "127.0.0.1", "::1"]);
    server = createSecureServer({
      key: pair.key,
      cert: pair.cert,
      allowHTTP1: options.allowHTTP1 ?? false,
      ...(options.settings === undefined ? {} : { settings: options.settings }),
    });
  } else {
    server = createServer(options.settings === undefined ? {} : { settings: options.settings });
  }
  const sockets = new OpenSockets();
  const sessions = new Set<Http2Session>();
  const sessionNumber = new WeakMap<Http2Session, number>();
  const openStreams = new WeakMap<Http2Session, number>();
  const log: Array<{ path: string; session: number }> = [];
  let sessionCount = 0;
  let streams = 0;
  let maxOpen = 0;
  server.on("connection", (socket: Socket) => sockets.add(socket));
  server.on("session", (session: Http2Session) => {
    sessions.add(session);
    sessionNumber.set(session, ++sessionCount);
    session.on("close", () => sessions.delete(session));
    session.on("error", () => {});
  });
  let origin: H2Origin;
  server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    streams++;
    stream.on("error", () => {});
    const session = stream.session;
    if (session !== undefined) {
      const open = (openStreams.get(session) ?? 0) + 1;
      openStreams.set(session, open);
      stream.on("close", () => openStreams.set(session, (openStreams.get(session) ?? 1) - 1));
      maxOpen = Math.max(maxOpen, open);
      log.push({ path: String(headers[":path"]), session: sessionNumber.get(session) ?? 0 });
    }
    (options.unreadBodies ? Promise.resolve(Buffer.alloc(0)) : readBody(stream))
      .then((body) => handler(stream, headers, body, origin))
      .catch((error: unknown) => {
        if (stream.destroyed) return;
        if (!stream.headersSent) stream.respond({ ":status": 500 });
        stream.end(String(error));
      });
  });
  const port = await listenLoopback(server as unknown as Server);
  origin = {
    url: tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    port,
    get sessions() {
      return sessionCount;
    },
    get streams() {
      return streams;
    },
    get maxOpenStreams() {
      return maxOpen;
    },
    get bigBytesWritten() {
      return counters.big;
    },
    log,
    server,
    dropConnections() {
      sockets.destroyAll();
    },
    async close() {
      for (const session of sessions) session.destroy();
      sockets.destroyAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return origin;
}

export interface SilentServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A server that accepts connections (and, with `tls`, completes the handshake choosing h2)
 * but never sends a byte after that: no SETTINGS.
 */
export async function startSilentH2Server(options: { tls?: boolean } = {}): Promise<SilentServer> {
  const sockets = new OpenSockets();
  let server: Server;
  if (options.tls) {
    const pair = testCA().issue(["localhost", "127.0.0.1"]);
    server = createTlsServer({ key: pair.key, cert: pair.cert, ALPNProtocols: ["h2"] }, (s) => {
      sockets.add(s);
      s.on("data", () => {});
      s.on("error", () => {});
    });
  } else {
    server = createNetServer((s) => {
      s.on("data", () => {});
      s.on("error", () => {});
    });
  }
  server.on("connection", (s: Socket) => sockets.add(s));
  const port = await listenLoopback(server);
  return {
    url: `${options.tls ? "https://localhost" : "http://127.0.0.1"}:${port}`,
    port,
    close: () => sockets.closeWith(server),
  };
}
