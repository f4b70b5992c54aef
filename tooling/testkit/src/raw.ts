// Raw TCP servers for misbehaving peers: the handler gets each socket and does as it likes.
import { createServer, type Server, type Socket } from "node:net";
import { listenLoopback, OpenSockets } from "./net.js";

export interface RawServer {
  readonly port: number;
  readonly url: string;
  /** Sockets accepted so far. */
  readonly connections: number;
  /** Server-side sockets still open. */
  readonly openSockets: number;
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts a TCP server on 127.0.0.1; `onSocket` runs for each connection. */
export async function startRawServer(
  onSocket: (socket: Socket, index: number) => void,
): Promise<RawServer> {
  const sockets = new OpenSockets();
  let connections = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    onSocket(socket, connections++);
  });
  const port = await listenLoopback(server);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get openSockets() {
      return sockets.size;
    },
    server,
    async close() {
      sockets.destroyAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Reads one request head (up to the blank line) from `socket`, then calls `then` with it.
 * Bodies are not read.
 */
export function onRequestHead(socket: Socket, then: (head: string) => void): void {
  let buffered = "";
  const onData = (chunk: Buffer): void => {
    buffered += chunk.toString("latin1");
    const end = buffered.indexOf("\r\n\r\n");
    if (end === -1) return;
    socket.off("data", onData);
    then(buffered.slice(0, end));
  };
  socket.on("data", onData);
}
