// Raw TCP (or TLS) servers for misbehaving peers: the handler gets each socket and does as
// it likes.
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { testCA } from "./ca.js";
import { listenLoopback, OpenSockets } from "./net.js";

export interface RawServerOptions {
  /** Serve TLS with a certificate from the test CA for these names (default: plain TCP). */
  readonly tlsNames?: readonly string[];
}

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
  options: RawServerOptions = {},
): Promise<RawServer> {
  const sockets = new OpenSockets();
  let connections = 0;
  const accept = (socket: Socket): void => {
    sockets.add(socket);
    socket.on("error", () => {});
    onSocket(socket, connections++);
  };
  let server: Server;
  if (options.tlsNames === undefined) {
    server = createServer(accept);
  } else {
    const pair = testCA().issue(options.tlsNames);
    server = createTlsServer({ key: pair.key, cert: pair.cert }, accept);
    server.on("tlsClientError", () => {});
  }
  const port = await listenLoopback(server);
  return {
    port,
    url: `${options.tlsNames === undefined ? "http" : "https"}://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get openSockets() {
      return sockets.size;
    },
    server,
    close: () => sockets.closeWith(server),
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

/**
 * Calls `then` with each request head (up to its blank line) that arrives on `socket`, in
 * order, with its index on the socket. Request bodies are not expected.
 */
export function onEachRequestHead(
  socket: Socket,
  then: (head: string, index: number) => void,
): void {
  let buffered = "";
  let index = 0;
  socket.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("latin1");
    for (let end = buffered.indexOf("\r\n\r\n"); end !== -1; end = buffered.indexOf("\r\n\r\n")) {
      const head = buffered.slice(0, end);
      buffered = buffered.slice(end + 4);
      then(head, index++);
    }
  });
}
