// The clients under test, each behind one small interface:
//   make(target) -> { one(): Promise<bytes>, stream(path): Promise<bytes>, close() }
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { ConnectionPool } from "@x/pool";
import { HTTPProxy } from "@x/proxy";
import { Pool, ProxyAgent, request as undiciRequest } from "undici";

// HTTP/2 (target.h2): @x/pool with http2: true, undici with allowH2, and, in the raw
// socket's column, the floor for anything built on node:http2: one bare client session.
const h2Clients = {
  "@x/pool": (t) => {
    const pool = new ConnectionPool({
      http2: true,
      maxConnections: t.connections,
      tls: { ca: t.ca },
    });
    return {
      async one(path = t.path) {
        const r = await pool.request("GET", t.url + path);
        return r.content.length;
      },
      close: () => pool.close(),
    };
  },
  undici: (t) => {
    const pool = new Pool(t.url, {
      connections: t.connections,
      allowH2: true,
      pipelining: t.inFlight,
      maxConcurrentStreams: t.inFlight,
      connect: { ca: t.ca },
    });
    return {
      async one(path = t.path) {
        const { body } = await pool.request({ path, method: "GET" });
        return (await body.arrayBuffer()).byteLength;
      },
      close: () => pool.close(),
    };
  },
  "bare node:http2 session": (t) => {
    const session = http2.connect(t.url, { ca: t.ca });
    session.on("error", () => {});
    return {
      one: (path = t.path) =>
        new Promise((resolve, reject) => {
          const req = session.request({ ":path": path });
          const chunks = [];
          req.on("data", (c) => chunks.push(c));
          req.on("end", () => resolve(Buffer.concat(chunks).length));
          req.on("error", reject);
        }),
      close: () => new Promise((resolve) => session.close(resolve)),
    };
  },
};

/**
 * target: { url (origin), path, connections, ca?, proxy?: { url, mode: "forward"|"tunnel" },
 *   h2? (HTTP/2: the raw socket's column is then a bare node:http2 session) }
 */
export const clients = {
  "@x/pool": (t) => {
    if (t.h2) return h2Clients["@x/pool"](t);
    const options = { maxConnections: t.connections, tls: t.ca ? { ca: t.ca } : undefined };
    const pool = t.proxy
      ? new HTTPProxy({ ...options, proxyUrl: t.proxy.url })
      : new ConnectionPool(options);
    return {
      async one(path = t.path) {
        const r = await pool.request("GET", t.url + path);
        return r.content.length;
      },
      async stream(path) {
        const r = await pool.stream("GET", t.url + path);
        let n = 0;
        for await (const chunk of r) n += chunk.length;
        return n;
      },
      close: () => pool.close(),
    };
  },

  undici: (t) => {
    if (t.h2) return h2Clients.undici(t);
    const connect = t.ca ? { ca: t.ca } : undefined;
    if (t.proxy) {
      const agent = new ProxyAgent({
        uri: t.proxy.url,
        requestTls: connect,
        proxyTunnel: t.proxy.mode === "tunnel",
        connections: t.connections,
      });
      const get = async (path) => {
        const { body } = await undiciRequest(t.url + path, { dispatcher: agent });
        return (await body.arrayBuffer()).byteLength;
      };
      return {
        one: (path = t.path) => get(path),
        async stream(path) {
          const { body } = await undiciRequest(t.url + path, { dispatcher: agent });
          let n = 0;
          for await (const chunk of body) n += chunk.length;
          return n;
        },
        close: () => agent.close(),
      };
    }
    const pool = new Pool(t.url, { connections: t.connections, pipelining: 1, connect });
    return {
      async one(path = t.path) {
        const { body } = await pool.request({ path, method: "GET" });
        return (await body.arrayBuffer()).byteLength;
      },
      async stream(path) {
        const { body } = await pool.request({ path, method: "GET" });
        let n = 0;
        for await (const chunk of body) n += chunk.length;
        return n;
      },
      close: () => pool.close(),
    };
  },

  "node:http": (t) => {
    if (t.proxy?.mode === "tunnel" || t.h2) return null;
    const secure = t.url.startsWith("https:");
    const mod = secure ? https : http;
    const agent = new mod.Agent({ keepAlive: true, maxSockets: t.connections, ca: t.ca });
    const origin = new URL(t.url);
    const proxy = t.proxy ? new URL(t.proxy.url) : null;
    const get = (path) =>
      new Promise((resolve, reject) => {
        const options = proxy
          ? {
              agent,
              host: proxy.hostname,
              port: proxy.port,
              path: t.url + path,
              headers: { Host: origin.host },
            }
          : { agent, host: origin.hostname, port: origin.port, path };
        const req = mod.get(options, (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => resolve(Buffer.concat(chunks).length));
          res.on("error", reject);
        });
        req.on("error", reject);
      });
    return {
      one: (path = t.path) => get(path),
      stream: (path) =>
        new Promise((resolve, reject) => {
          const req = mod.get({ agent, host: origin.hostname, port: origin.port, path }, (res) => {
            let n = 0;
            res.on("data", (c) => (n += c.length));
            res.on("end", () => resolve(n));
          });
          req.on("error", reject);
        }),
      close: () => agent.destroy(),
    };
  },

  // The floor: canned request bytes on raw sockets, the response counted by its known size.
  "raw socket": (t) => {
    if (t.h2) return h2Clients["bare node:http2 session"](t);
    const origin = new URL(t.url);
    const secure = origin.protocol === "https:";
    const idle = [];
    let responseSize = null;
    const open = () =>
      new Promise((resolve, reject) => {
        if (t.proxy) {
          const p = new URL(t.proxy.url);
          const s = netConnect(Number(p.port), p.hostname);
          if (t.proxy.mode === "forward") {
            s.once("connect", () => resolve(s));
            s.once("error", reject);
            return;
          }
          s.once("error", reject);
          const authority = `${origin.hostname}:${origin.port || (secure ? 443 : 80)}`;
          s.once("connect", () =>
            s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`),
          );
          s.once("data", (head) => {
            if (!/^HTTP\/1\.1 2/.test(head.toString("latin1")))
              return reject(new Error(`CONNECT refused: ${head}`));
            const tls = tlsConnect({ socket: s, servername: origin.hostname, ca: t.ca });
            tls.once("secureConnect", () => resolve(tls));
            tls.once("error", reject);
          });
          return;
        }
        const s = secure
          ? tlsConnect({
              host: origin.hostname,
              port: Number(origin.port),
              ca: t.ca,
              servername: origin.hostname,
            })
          : netConnect(Number(origin.port), origin.hostname);
        s.setNoDelay(true);
        s.once(secure ? "secureConnect" : "connect", () => resolve(s));
        s.once("error", reject);
      });
    const requestLine = (path) =>
      Buffer.from(
        `GET ${t.proxy?.mode === "forward" ? t.url + path : path} HTTP/1.1\r\nHost: ${origin.host}\r\n\r\n`,
        "latin1",
      );
    // Learns the response size once, by reading until the head and Content-Length are known.
    const roundTrip = (socket, req, size) =>
      new Promise((resolve) => {
        let got = 0;
        let text = "";
        const onData = (chunk) => {
          got += chunk.length;
          if (size === null) {
            text += chunk.toString("latin1");
            const end = text.indexOf("\r\n\r\n");
            if (end !== -1) {
              const len = Number(/content-length: *(\d+)/i.exec(text.slice(0, end))?.[1]);
              size = end + 4 + len;
            }
          }
          if (size !== null && got >= size) {
            socket.off("data", onData);
            resolve(size);
          }
        };
        socket.on("data", onData);
        socket.write(req);
      });
    return {
      async one(path = t.path) {
        const socket = idle.pop() ?? (await open());
        responseSize = await roundTrip(socket, requestLine(path), responseSize);
        idle.push(socket);
        return responseSize;
      },
      async stream(path) {
        const socket = await open();
        const size = await roundTrip(socket, requestLine(path), null);
        socket.destroy();
        return size;
      },
      async close() {
        for (const s of idle.splice(0)) s.destroy();
      },
    };
  },
};
