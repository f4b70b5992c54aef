// The clients under test, each behind one small interface:
//   make(target) -> { one(): Promise<bytes>, stream(path): Promise<bytes>, close() }
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { ConnectionPool } from "@x/pool";
import { HTTPProxy, SOCKSProxy } from "@x/proxy";
import { SocksProxyAgent } from "socks-proxy-agent";
import * as undici from "undici";

const { Pool, ProxyAgent, request: undiciRequest } = undici;
/** undici's SOCKS5 dispatcher (experimental, undici 7.11+), or undefined in an undici without it. */
export const Socks5ProxyAgent = undici.Socks5ProxyAgent;

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
 * target: { url (origin), path, connections, ca?, proxy?: { url, mode: "forward"|"tunnel"|"socks5" },
 *   h2? (HTTP/2: the raw socket's column is then a bare node:http2 session) }
 * (mode "socks5": url is socks5h://host:port, and every request goes through a SOCKS5 tunnel)
 */
export const clients = {
  "@x/pool": (t) => {
    if (t.h2) return h2Clients["@x/pool"](t);
    const options = { maxConnections: t.connections, tls: t.ca ? { ca: t.ca } : undefined };
    const pool = !t.proxy
      ? new ConnectionPool(options)
      : t.proxy.mode === "socks5"
        ? new SOCKSProxy({ ...options, proxyUrl: t.proxy.url })
        : new HTTPProxy({ ...options, proxyUrl: t.proxy.url });
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
    if (t.proxy?.mode === "socks5") {
      if (Socks5ProxyAgent === undefined) return null;
      // It takes socks5: (or socks:), and resolves names at the proxy either way.
      const agent = new Socks5ProxyAgent(t.proxy.url.replace(/^socks5h:/, "socks5:"), {
        requestTls: connect,
      });
      // Its per-origin Pool takes `connections` from the request's options.
      const options = { dispatcher: agent, connections: t.connections };
      return {
        async one(path = t.path) {
          const { body } = await undiciRequest(t.url + path, options);
          return (await body.arrayBuffer()).byteLength;
        },
        async stream(path) {
          const { body } = await undiciRequest(t.url + path, options);
          let n = 0;
          for await (const chunk of body) n += chunk.length;
          return n;
        },
        close: () => agent.close(),
      };
    }
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
    const agentOptions = { keepAlive: true, maxSockets: t.connections, ca: t.ca };
    // Through SOCKS: socks-proxy-agent, an http.Agent that opens each socket through a tunnel.
    const socks = t.proxy?.mode === "socks5";
    const agent = socks
      ? new SocksProxyAgent(t.proxy.url, agentOptions)
      : new mod.Agent(agentOptions);
    const origin = new URL(t.url);
    const proxy = t.proxy && !socks ? new URL(t.proxy.url) : null;
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
  // Over plain TCP (to the origin, or to a forwarding proxy) the socket reads with `onread`
  // into one reused buffer: no stream, no allocation, no parsing, the least work any JS
  // client can do for the exchange. TLS sockets cannot take `onread`; theirs is the 'data'
  // event, counted and dropped.
  "raw socket": (t) => {
    if (t.h2) return h2Clients["bare node:http2 session"](t);
    const origin = new URL(t.url);
    const secure = origin.protocol === "https:";
    if (!secure && (t.proxy === undefined || t.proxy.mode === "forward")) {
      return onreadFloor(t, origin);
    }
    const idle = [];
    let responseSize = null;
    const open = () =>
      new Promise((resolve, reject) => {
        if (t.proxy?.mode === "socks5") {
          socks5Tunnel(new URL(t.proxy.url), origin.hostname, Number(origin.port)).then((s) => {
            if (!secure) return resolve(s);
            const tls = tlsConnect({ socket: s, servername: origin.hostname, ca: t.ca });
            tls.once("secureConnect", () => resolve(tls));
            tls.once("error", reject);
          }, reject);
          return;
        }
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

// The plain-TCP floor: each socket reads into one buffer of its own through `onread`, and a
// response is done when its known size has arrived (learnt once, from the first head).
function onreadFloor(t, origin) {
  const idle = [];
  const target = t.proxy ? new URL(t.proxy.url) : origin;
  let responseSize = null;
  const open = () =>
    new Promise((resolve, reject) => {
      const state = { got: 0, size: null, head: "", done: null };
      const buffer = Buffer.allocUnsafe(128 * 1024);
      const s = netConnect({
        host: target.hostname,
        port: Number(target.port),
        onread: {
          buffer,
          callback(nread, buf) {
            state.got += nread;
            if (state.size === null) {
              state.head += buf.latin1Slice(0, nread);
              const end = state.head.indexOf("\r\n\r\n");
              if (end !== -1) {
                const length = Number(
                  /content-length: *(\d+)/i.exec(state.head.slice(0, end))?.[1],
                );
                state.size = end + 4 + length;
                state.head = "";
              }
            }
            if (state.size !== null && state.got >= state.size) {
              const done = state.done;
              state.done = null;
              state.got = 0;
              done?.(state.size);
            }
          },
        },
      });
      s.setNoDelay(true);
      s.once("connect", () => resolve({ socket: s, state }));
      s.once("error", reject);
    });
  const requests = new Map();
  const requestBytes = (path) => {
    let bytes = requests.get(path);
    if (bytes === undefined) {
      const target = t.proxy?.mode === "forward" ? t.url + path : path;
      bytes = Buffer.from(`GET ${target} HTTP/1.1\r\nHost: ${origin.host}\r\n\r\n`, "latin1");
      requests.set(path, bytes);
    }
    return bytes;
  };
  const roundTrip = (conn, bytes, size) =>
    new Promise((resolve) => {
      if (size !== null) conn.state.size = size;
      conn.state.done = resolve;
      conn.socket.write(bytes);
    });
  return {
    async one(path = t.path) {
      const conn = idle.pop() ?? (await open());
      responseSize = await roundTrip(conn, requestBytes(path), responseSize);
      idle.push(conn);
      return responseSize;
    },
    async stream(path) {
      const conn = await open();
      const size = await roundTrip(conn, requestBytes(path), null);
      conn.socket.destroy();
      return size;
    },
    async close() {
      for (const c of idle.splice(0)) c.socket.destroy();
    },
  };
}

/**
 * The raw floor's SOCKS5 handshake, done as a client does it: the greeting (no
 * authentication), then CONNECT to an IPv4 address, each answer awaited; resolves with the
 * socket once the reply (whatever its bound address) has been read.
 */
function socks5Tunnel(proxy, ipv4, port) {
  return new Promise((resolve, reject) => {
    const s = netConnect(Number(proxy.port), proxy.hostname);
    s.setNoDelay(true);
    s.once("error", reject);
    let got = Buffer.alloc(0);
    let step = "greeting";
    const onData = (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (step === "greeting" && got.length >= 2) {
        if (got[0] !== 5 || got[1] !== 0)
          return reject(new Error(`SOCKS5 greeting: ${got.toString("hex")}`));
        got = got.subarray(2);
        step = "connect";
        const address = ipv4.split(".").map(Number);
        s.write(Buffer.from([5, 1, 0, 1, ...address, port >> 8, port & 0xff]));
      }
      if (step === "connect" && got.length >= 5) {
        if (got[1] !== 0) return reject(new Error(`SOCKS5 reply ${got[1]}`));
        const length = got[3] === 1 ? 10 : got[3] === 4 ? 22 : 7 + got[4];
        if (got.length < length) return;
        s.off("data", onData);
        s.off("error", reject);
        if (got.length > length) s.unshift(got.subarray(length));
        resolve(s);
      }
    };
    s.on("data", onData);
    s.once("connect", () => s.write(Buffer.from([5, 1, 0])));
  });
}
