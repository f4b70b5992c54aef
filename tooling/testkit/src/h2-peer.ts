// An in-memory HTTP/2 peer for tests: a node:http2 server session on one end of a pipe, and
// the other end as a NetworkStream-shaped object (read/write/close/startTls/getExtraInfo) a
// client connection speaks over. What httpcore's tests script as raw frames (hyperframe in a
// mock stream) a test scripts here as the server's behaviour (respond, RST_STREAM, GOAWAY,
// SETTINGS, trailers), and nghttp2 writes the frames.

import {
  type IncomingHttpHeaders,
  performServerHandshake,
  type ServerHttp2Session,
  type ServerHttp2Stream,
  type Settings,
} from "node:http2";
import { Duplex } from "node:stream";

/** The NetworkStream shape (structural: testkit does not depend on @x/pool). */
export interface PeerStream {
  read(maxBytes: number, timeout?: number): Promise<Uint8Array>;
  write(data: Uint8Array, timeout?: number): Promise<void>;
  close(): Promise<void>;
  startTls(tls: unknown, serverHostname: string, timeout?: number): Promise<PeerStream>;
  getExtraInfo(key: string): unknown;
}

export interface H2PeerOptions {
  /** The server's SETTINGS. */
  readonly settings?: Settings;
  /** What `getExtraInfo("alpn_protocol")` answers (default "h2"; null: no ALPN). */
  readonly alpn?: string | null;
  /** Answers each request stream (the default answers 200 "Hello, world!"). */
  readonly onStream?: (
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    session: ServerHttp2Session,
  ) => void;
}

export interface H2Peer {
  /** The client's end. */
  readonly stream: PeerStream & {
    /** True once the client closed its end. */
    readonly closed: boolean;
    /** While true, the client's writes wait (and fail when the stream is closed). */
    stallWrites: boolean;
  };
  /** The server's session (node:http2). */
  readonly session: ServerHttp2Session;
  /** Request streams the server received, in order. */
  readonly streams: ServerHttp2Stream[];
  /**
   * Puts raw bytes in the client's way, behind what the server wrote so far: for frames
   * node:http2 will not write (see goawayFrame).
   */
  sendRaw(bytes: Uint8Array): void;
}

/**
 * A GOAWAY frame (RFC 9113 §6.8), raw: node:http2's `session.goaway()` replaces a last
 * stream id of 0 by the last stream it processed, so a GOAWAY that refuses every stream is
 * written by hand.
 */
export function goawayFrame(lastStreamId: number, errorCode = 0): Uint8Array {
  const frame = new Uint8Array(17);
  const view = new DataView(frame.buffer);
  view.setUint32(0, (8 << 8) | 0x07); // length 8, type GOAWAY
  view.setUint8(4, 0); // flags
  view.setUint32(5, 0); // stream 0
  view.setUint32(9, lastStreamId & 0x7fffffff);
  view.setUint32(13, errorCode);
  return frame;
}

/** httpcore's usual answer: 200, content-type plain/text, "Hello, world!". */
export function helloWorld(stream: ServerHttp2Stream): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond({ ":status": 200, "content-type": "plain/text" });
  stream.end("Hello, world!");
}

/** Starts an HTTP/2 server session over an in-memory pipe; its client end is `stream`. */
export function startH2Peer(options: H2PeerOptions = {}): H2Peer {
  const inbox: Uint8Array[] = [];
  let eof = false;
  let closed = false;
  let pending: { resolve: (b: Uint8Array) => void; reject: (e: Error) => void } | null = null;
  const stalled = new Set<(e: Error) => void>();
  const wake = (): void => {
    const p = pending;
    if (p === null) return;
    if (inbox.length > 0) {
      pending = null;
      p.resolve(inbox.shift()!);
    } else if (eof) {
      pending = null;
      p.resolve(new Uint8Array(0));
    }
  };
  const serverEnd = new Duplex({
    read(): void {},
    write(chunk: Buffer, _encoding, callback): void {
      if (!closed) inbox.push(new Uint8Array(chunk));
      wake();
      callback();
    },
    final(callback): void {
      eof = true;
      wake();
      callback();
    },
    destroy(error, callback): void {
      eof = true;
      wake();
      callback(error);
    },
  });
  const client = {
    closed: false,
    stallWrites: false,
    read(maxBytes: number): Promise<Uint8Array> {
      if (closed) return Promise.reject(new Error("the stream is closed"));
      const next = inbox[0];
      if (next !== undefined) {
        if (next.length > maxBytes) {
          inbox[0] = next.subarray(maxBytes);
          return Promise.resolve(next.subarray(0, maxBytes));
        }
        inbox.shift();
        return Promise.resolve(next);
      }
      if (eof) return Promise.resolve(new Uint8Array(0));
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
      });
    },
    write(data: Uint8Array): Promise<void> {
      if (closed) return Promise.reject(new Error("the stream is closed"));
      if (client.stallWrites) {
        return new Promise<void>((_resolve, reject) => void stalled.add(reject));
      }
      if (!serverEnd.destroyed) serverEnd.push(Buffer.from(data));
      return Promise.resolve();
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      client.closed = true;
      const p = pending;
      pending = null;
      p?.reject(new Error("the stream was closed"));
      for (const reject of stalled) reject(new Error("the stream was closed"));
      stalled.clear();
      if (!serverEnd.destroyed) serverEnd.push(null);
      setImmediate(() => serverEnd.destroy());
    },
    async startTls(): Promise<PeerStream> {
      if (closed) throw new Error("the stream is closed");
      return client;
    },
    getExtraInfo(key: string): unknown {
      switch (key) {
        case "alpn_protocol":
          return options.alpn === undefined ? "h2" : options.alpn;
        case "is_readable":
          return closed || eof || inbox.length > 0;
        case "server_addr":
          return ["127.0.0.1", 443];
        case "client_addr":
          return ["127.0.0.1", 54321];
        default:
          return undefined;
      }
    },
  };
  const session = performServerHandshake(serverEnd, {
    ...(options.settings === undefined ? {} : { settings: options.settings }),
  });
  session.on("error", () => {});
  const streams: ServerHttp2Stream[] = [];
  const onStream = options.onStream ?? ((stream) => helloWorld(stream));
  session.on("stream", (stream, headers) => {
    streams.push(stream);
    stream.on("error", () => {});
    onStream(stream, headers, session);
  });
  const sendRaw = (bytes: Uint8Array): void => {
    if (closed) return;
    inbox.push(bytes);
    wake();
  };
  return { stream: client, session, streams, sendRaw };
}
