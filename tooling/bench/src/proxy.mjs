// The benchmark's proxy process: the embedded proxy, in a process of its own so that the
// proxy scenarios do not share one event loop with the origin server. The parent sends the
// origin's ports over IPC and gets the proxy's port back.
import { startProxy } from "@x/testkit";

const { httpPort, httpsPort } = await new Promise((resolve) => process.once("message", resolve));
const proxy = await startProxy({
  hosts: { "bench.test:80": httpPort, "bench.test:443": httpsPort },
});
process.send({ proxyPort: proxy.port });
process.on("disconnect", () => process.exit(0));
