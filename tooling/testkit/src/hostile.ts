// Misbehaving origin servers, one behaviour each, for the reliability tests. Each is a
// handler for startRawServer: it gets the socket and answers (or not) as it likes.
import type { Socket } from "node:net";
import { onRequestHead } from "./raw.js";

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
