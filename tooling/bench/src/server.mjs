// The benchmark's server process: node:http with keep-alive over HTTP and HTTPS, on
// loopback. Sends its ports (and the CA) to the parent over IPC.
import { createServer } from "node:http";
import { createSecureServer as createH2Server } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import { testCA } from "@x/testkit";

const SMALL = Buffer.from(
  JSON.stringify({ id: 12345, name: "widget", tags: ["a", "b", "c"], price: 9.99, ok: true }),
);
const K64 = Buffer.alloc(64 * 1024, 0x61);
const BLOCK = Buffer.alloc(256 * 1024, 0x62);

function handler(req, res) {
  const url = req.url ?? "/";
  if (url === "/small") {
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": SMALL.length });
    res.end(SMALL);
  } else if (url === "/64k") {
    res.writeHead(200, {
      "Content-Type": "application/octet-stream",
      "Content-Length": K64.length,
    });
    res.end(K64);
  } else if (url.startsWith("/stream/")) {
    const total = Number(url.slice(8));
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": total });
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(BLOCK.length, total - sent);
        sent += n;
        if (!res.write(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n)))
          return res.once("drain", pump);
      }
      res.end();
    };
    pump();
  } else {
    res.writeHead(404, { "Content-Length": 0 });
    res.end();
  }
}

const listen = (server) =>
  new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));

const http = createServer({ keepAliveTimeout: 60_000 }, handler);
http.maxRequestsPerSocket = 0;
const pair = testCA().issue(["localhost", "127.0.0.1", "bench.test"]);
const https = createHttpsServer(
  { key: pair.key, cert: pair.cert, keepAliveTimeout: 60_000 },
  handler,
);
// HTTP/2 over TLS (ALPN h2), on node:http2's stream API.
const h2 = createH2Server({
  key: pair.key,
  cert: pair.cert,
  settings: { maxConcurrentStreams: 1000 },
});
h2.on("stream", (stream, headers) => {
  stream.on("error", () => {});
  const path = headers[":path"];
  const body = path === "/small" ? SMALL : path === "/64k" ? K64 : null;
  if (body === null) {
    stream.respond({ ":status": 404, "content-length": 0 }, { endStream: true });
    return;
  }
  stream.respond({
    ":status": 200,
    "content-type": path === "/small" ? "application/json" : "application/octet-stream",
    "content-length": body.length,
  });
  stream.end(body);
});
h2.on("sessionError", () => {});
const httpPort = await listen(http);
const httpsPort = await listen(https);
const h2Port = await listen(h2);
process.send({ httpPort, httpsPort, h2Port, ca: testCA().cert });
process.on("disconnect", () => process.exit(0));
