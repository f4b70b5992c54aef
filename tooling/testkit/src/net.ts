// What every loopback server of the testkit does: listen on 127.0.0.1, and keep count of
// its open sockets so that tests can check they all close.
import type { Server, Socket } from "node:net";

/**
 * Listens on 127.0.0.1 (or `host`, such as ::1) on `port`, or a free one; resolves with
 * the port, rejects on error (EADDRNOTAVAIL where the machine has no IPv6 loopback).
 */
export async function listenLoopback(
  server: Server,
  port = 0,
  host = "127.0.0.1",
): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === "object" && address !== null ? address.port : 0;
}

/** The sockets of a server that are still open. */
export class OpenSockets {
  readonly #sockets = new Set<Socket>();

  get size(): number {
    return this.#sockets.size;
  }

  /** Counts `socket` until it closes; returns it. */
  add(socket: Socket): Socket {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    return socket;
  }

  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Destroys every socket, then closes `server`. */
  async closeWith(server: Server): Promise<void> {
    this.destroyAll();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
