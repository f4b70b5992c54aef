// Misbehaving origin servers, one behaviour each, for the reliability tests. Each is a
// handler for startRawServer: it gets the socket and answers (or not) as it likes.
import type { Socket } from "node:net";
import { onEachRequestHead, onRequestHead } from "./raw.js";

export type HostileHandler = (socket: Socket, index: number) => void;

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/** Answers every request head with `text`, then does `after` to the socket. */
function answer(text: string | Buffer, after?: (s: Socket) => void): HostileHandler {
  return (socket) =>
    onRequestHead(socket, () => {
      socket.write(text);
      after?.(socket);
    });
}

/** Writes `text` one byte every `ms` milliseconds. */
function drip(socket: Socket, text: string, ms: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer);
    socket.write(text[i++]!);
  }, ms);
  socket.on("close", () => clearInterval(timer));
}

/** The names of the hostile origins. */
export type HostileName =
  | "garbageStatusLine"
  | "notHttpAtAll"
  | "endlessHeaderBlock"
  | "headerOverLimit"
  | "chunkSizeOverflow"
  | "contentLengthWithChunked"
  | "conflictingContentLength"
  | "closeMidBody"
  | "resetAfterHead"
  | "silentAfterRequest"
  | "headDrippedByteByByte"
  | "endlessBody";

export const hostileOrigins: Record<HostileName, HostileHandler> = {
  garbageStatusLine: answer("HTTP/1.1 2OO NOT OK AT ALL\r\n\r\n"),
  notHttpAtAll: answer("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 binary junk\r\n\r\n"),
  endlessHeaderBlock: ((socket) =>
    onRequestHead(socket, () => {
      socket.write("HTTP/1.1 200 OK\r\n");
      const line = `X-Filler: ${"f".repeat(1000)}\r\n`;
      const pump = (): void => {
        while (!socket.destroyed) if (!socket.write(line)) return void socket.once("drain", pump);
      };
      pump();
    })) as HostileHandler,
  headerOverLimit: answer(
    `HTTP/1.1 200 OK\r\nX-Huge: ${"h".repeat(200 * 1024)}\r\nContent-Length: 0\r\n\r\n`,
  ),
  chunkSizeOverflow: answer(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nabc",
  ),
  contentLengthWithChunked: answer(
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
  ),
  conflictingContentLength: answer(
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
  ),
  closeMidBody: answer("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this much", (s) =>
    s.end(),
  ),
  resetAfterHead: answer("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", (s) =>
    setTimeout(() => s.resetAndDestroy(), 5),
  ),
  silentAfterRequest: ((socket) => onRequestHead(socket, () => {})) as HostileHandler,
  headDrippedByteByByte: ((socket) =>
    onRequestHead(socket, () =>
      drip(socket, `${OK.slice(0, -2)}${"X-Slow: 1\r\n".repeat(50)}`, 5),
    )) as HostileHandler,
  endlessBody: ((socket) =>
    onRequestHead(socket, () => {
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      const chunk = `4000\r\n${"e".repeat(0x4000)}\r\n`;
      const pump = (): void => {
        while (!socket.destroyed) if (!socket.write(chunk)) return void socket.once("drain", pump);
      };
      pump();
    })) as HostileHandler,
};

/**
 * A TCP port that accepts connections and never says a word: a TLS handshake never ends.
 * It reads (and drops) what arrives, so that it notices when the client goes away.
 */
export const neverHandshakes: HostileHandler = (socket) => {
  socket.resume();
};

/** How `answerEach` writes a response and the bytes after it. */
export type ExtraSplit = "one packet" | "two packets" | "inside the extra";

export interface Answer {
  /** The response, as bytes on the wire (latin1). */
  readonly response: string;
  /** Bytes sent right behind it that nobody asked for. */
  readonly extra?: string;
  /** How the two are written (default "one packet"). */
  readonly split?: ExtraSplit;
}

/** `HTTP/1.1 200 OK` with `body` and its Content-Length. */
export function okResponse(body: string): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

/**
 * Answers each request head on a connection with what `answer` says for it (given its
 * target and its index on the connection). "two packets" writes the extra bytes in a second
 * write one check phase later; "inside the extra" sends the extra's first byte with the
 * response and the rest likewise. Nagle is off, so each write leaves as its own segment.
 */
export function answerEach(answer: (target: string, index: number) => Answer): HostileHandler {
  return (socket) => {
    socket.setNoDelay(true);
    onEachRequestHead(socket, (head, index) => {
      const target = head.slice(head.indexOf(" ") + 1, head.indexOf(" HTTP/"));
      const { response, extra = "", split = "one packet" } = answer(target, index);
      const cut =
        split === "one packet"
          ? extra.length
          : split === "two packets"
            ? 0
            : Math.min(1, extra.length);
      socket.write(Buffer.from(response + extra.slice(0, cut), "latin1"));
      if (cut < extra.length) {
        setImmediate(() => {
          if (!socket.destroyed) socket.write(Buffer.from(extra.slice(cut), "latin1"));
        });
      }
    });
  };
}
