// NetworkSocket (a NetworkStream as a Node Duplex) and NodeStream.detach(): the two ways a
// pool's stream is handed to an API that wants a socket.
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { startOrigin, testCA } from "@x/testkit";
import { expect, it } from "vitest";
import { MockBackend, NetworkSocket, NodeBackend, type NodeStream } from "../src/index.js";

async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as { port: number }).port };
}

it("a NetworkSocket reads and writes its stream; destroying it closes the stream", async () => {
  const { server, port } = await echoServer();
  const stream = await new NodeBackend().connectTcp("127.0.0.1", port);
  let closed = 0;
  const socket = new NetworkSocket(stream, { onClose: () => closed++ });
  socket.write("ping");
  const [chunk] = await once(socket, "data");
  expect(Buffer.from(chunk).toString()).toBe("ping");
  expect(socket.stream).toBe(stream);
  socket.setNoDelay(true).setKeepAlive(true, 1000).unref().ref();
  socket.destroy();
  await once(socket, "close");
  expect(closed).toBe(1);
  await new Promise<void>((r) => server.close(() => r()));
});

it("a NetworkSocket ends at the stream's EOF, and times out when idle", async () => {
  const backend = new MockBackend(["HTTP/1.1 200 OK\r\n", "\r\n"]);
  const stream = await backend.connectTcp("example.com", 80);
  const socket = new NetworkSocket(stream);
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  await once(socket, "end");
  expect(Buffer.concat(chunks).toString()).toBe("HTTP/1.1 200 OK\r\n\r\n");
  const idle = new NetworkSocket(await backend.connectTcp("example.com", 80));
  idle.pause();
  let fired = false;
  idle.setTimeout(20, () => {
    fired = true;
  });
  expect(idle.timeout).toBe(20);
  await new Promise((r) => setTimeout(r, 60));
  expect(fired).toBe(true);
  idle.destroy();
});

it("detach() hands over a TLS socket with its state; null for an onread socket", async () => {
  const origin = await startOrigin({ tls: true });
  const raw = (await new NodeBackend().connectTcp("127.0.0.1", origin.port)) as NodeStream;
  const tls = (await raw.startTls({ ca: testCA().cert }, "localhost")) as NodeStream;
  expect(raw.detach()).toBeNull(); // TLS owns it now (and it reads through onread)
  const socket = tls.detach()!;
  expect(socket.constructor.name).toBe("TLSSocket");
  expect(tls.detach()).toBeNull();
  await expect(tls.read(10)).rejects.toThrow(/closed/);
  socket.write("GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  await once(socket, "end");
  expect(Buffer.concat(chunks).toString()).toMatch(/^HTTP\/1.1 200 OK[\s\S]*https-origin$/);
  socket.destroy();
  await origin.close();
});
