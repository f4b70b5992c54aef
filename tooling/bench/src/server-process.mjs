// The benchmark's server (server.mjs) in a process of its own, for the scripts that time or
// count a client against it. Resolves once it listens, with its ports (and the CA).
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

export async function startServer() {
  const server = fork(fileURLToPath(new URL("./server.mjs", import.meta.url)), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ports = await new Promise((resolve) => server.once("message", resolve));
  return {
    ports,
    stop: () => {
      server.disconnect();
      server.kill();
    },
  };
}
