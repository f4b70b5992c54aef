// The project's embedded HTTP proxy for tests and the demo: forwarding (absolute-form
// requests) and CONNECT tunnels, optional Basic auth, an optional TLS listener, names
// mapped to loopback ports, and hostile CONNECT behaviours. Built on @x/h11's server role.
// It also speaks SOCKS4/4a/5 on the same port (as the guide's proxy, "serving by
// http,socks4,socks5"): a connection whose first byte is 0x04 or 0x05 goes to socks.ts.

import {
  createServer,
  isIPv6,
  type Server as NetServer,
  connect as netConnect,
  type Socket,
} from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { Connection, type Event, type Headers, type Paused, ProtocolError } from "@x/h11";
import { testCA } from "./ca.js";
import type { ProxyChallenger } from "./digest-challenger.js";
import { listenLoopback, OpenSockets } from "./net.js";
import { SocketReader } from "./socket-reader.js";
import {
  type SocksAuthEntry,
  type SocksBehaviour,
  type SocksHost,
  type SocksLogEntry,
  serveSocks,
} from "./socks.js";

/** How the proxy answers CONNECT. */
export type ConnectBehaviour =
  | "normal"
  /** Closes the connection as soon as CONNECT arrives. */
  | "close"
  /** Answers CONNECT with bytes that are not HTTP. */
  | "garbage"
  /** Answers 200, then drops the tunnel. */
  | "drop-after-200"
  /** Never answers. */
  | "silent";

export interface ProxyOptions {
  /** Require `Proxy-Authorization: Basic` with these credentials, encoded as UTF-8. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Listen with TLS (a certificate from the test CA for localhost and 127.0.0.1). */
  readonly tls?: boolean;
  /** "name" or "name:port" → a port on 127.0.0.1. */
  readonly hosts?: Readonly<Record<string, number>>;
  readonly connectBehaviour?: ConnectBehaviour;
  /** Listen on this port (default: a free one). */
  readonly port?: number;
  /** How the SOCKS side misbehaves (default "normal"); `auth` and `hosts` apply to it too. */
  readonly socksBehaviour?: SocksBehaviour;
  /** Decides Proxy-Authorization in place of `auth`: see `digestChallenger()`. */
  readonly challenger?: ProxyChallenger;
}

export interface ProxyLogEntry {
  readonly method: string;
  readonly target: string;
  readonly headers: Headers;
}

export interface EmbeddedProxy {
  readonly url: string;
  readonly port: number;
  /** Client connections accepted. */
  readonly connections: number;
  /** Every request head received (CONNECT and forwarded alike). */
  readonly log: ProxyLogEntry[];
  /** One entry per SOCKS CONNECT request received on the same port. */
  readonly socksLog: SocksLogEntry[];
  /** Every SOCKS authentication attempt, failed ones too. */
  readonly socksAuthLog: SocksAuthEntry[];
  /** Sockets still open (client and upstream sides). */
  readonly openSockets: number;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function endToEnd(headers: Headers): Array<[string, string]> {
  const named = new Set<string>();
  for (const [k, v] of headers) {
    if (k.toLowerCase() === "connection")
      for (const t of v.split(",")) named.add(t.trim().toLowerCase());
  }
  return headers
    .filter(([k]) => !HOP_BY_HOP.has(k.toLowerCase()) && !named.has(k.toLowerCase()))
    .map(([k, v]) => [k, v]);
}

function header(headers: Headers, name: string): string | undefined {
  for (const [k, v] of headers) if (k.toLowerCase() === name) return v;
  return undefined;
}

const encoder = new TextEncoder();

/**
 * A CONNECT target in authority-form (RFC 9112 §3.2.3), `host:port`, with an IPv6 address
 * in brackets (RFC 3986 §3.2.2); null for anything else, such as `::1:443`.
 */
function parseAuthority(target: string): { host: string; port: number } | null {
  const match = /^(?:\[([^\]]+)\]|([^[\]:@/?#]+)):(\d{1,5})$/.exec(target);
  if (match === null) return null;
  const port = Number(match[3]);
  if (port === 0 || port > 65535) return null;
  if (match[1] !== undefined) return isIPv6(match[1]) ? { host: match[1], port } : null;
  return { host: match[2]!, port };
}

/** One side of an h11 conversation over a socket. */
class Peer {
  readonly h11: Connection;
  readonly reader: SocketReader;
  readonly socket: Socket;

  constructor(socket: Socket, role: "client" | "server", reader = new SocketReader(socket)) {
    this.socket = socket;
    this.h11 = new Connection(role);
    this.reader = reader;
  }

  async next(): Promise<Event | Paused> {
    for (;;) {
      const ev = this.h11.nextEvent();
      if (ev.type !== "NEED_DATA") return ev;
      this.h11.receiveData(await this.reader.read());
    }
  }

  // Writes made in one pass of the event loop (a head, its body, its end) leave in one
  // syscall: the socket is corked at the first and uncorked once the pass's ticks are done.
  #corked = false;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.socket.uncork();
  };

  send(event: Event): void {
    const bytes = this.h11.send(event);
    if (bytes === undefined || bytes.length === 0 || this.socket.destroyed) return;
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      process.nextTick(this.#uncork);
    }
    this.socket.write(bytes);
  }

  respond(status: number, reason: string, body: string, extra: Array<[string, string]> = []): void {
    const data = encoder.encode(body);
    this.send({
      type: "Response",
      status,
      reason,
      headers: [["Content-Length", String(data.length)], ...extra],
    });
    if (data.length) this.send({ type: "Data", data });
    this.send({ type: "EndOfMessage" });
  }
}

/** Starts the embedded proxy on 127.0.0.1 (a free port). */
export async function startProxy(options: ProxyOptions = {}): Promise<EmbeddedProxy> {
  const sockets = new OpenSockets();
  const log: ProxyLogEntry[] = [];
  let connections = 0;
  const track = (socket: Socket): Socket => {
    // Heads and bodies go out in separate writes: without this, Nagle's algorithm and
    // delayed ACKs add ~40 ms to each forwarded exchange.
    socket.setNoDelay(true);
    socket.on("error", () => {});
    return sockets.add(socket);
  };
  // The Basic token is decoded as UTF-8 (RFC 7617's charset="UTF-8", what clients send):
  // credentials encoded otherwise (latin1, say) are refused, so non-ASCII ones are a test.
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const authorized = (value: string | undefined): boolean => {
    if (options.auth === undefined) return true;
    const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/.exec(value ?? "");
    if (match === null) return false;
    let userPass: string;
    try {
      userPass = utf8.decode(Buffer.from(match[1]!, "base64"));
    } catch {
      return false;
    }
    return userPass === `${options.auth.username}:${options.auth.password}`;
  };

  const resolve = (host: string, port: number): { host: string; port: number } => {
    const mapped = options.hosts?.[`${host}:${port}`] ?? options.hosts?.[host];
    if (mapped !== undefined) return { host: "127.0.0.1", port: mapped };
    return { host, port };
  };

  const dial = (host: string, port: number): Promise<Socket> =>
    new Promise((ok, fail) => {
      const target = resolve(host, port);
      if (target.host !== "127.0.0.1" && target.host !== "localhost" && target.host !== "::1") {
        fail(new Error(`${host} is not a loopback name this proxy knows`));
        return;
      }
      const upstream = track(netConnect(target.port, target.host));
      upstream.once("connect", () => ok(upstream));
      upstream.once("error", fail);
    });

  async function tunnel(client: Peer, target: string): Promise<void> {
    const behaviour = options.connectBehaviour ?? "normal";
    if (behaviour === "close") return void client.socket.destroy();
    if (behaviour === "silent")
      return new Promise((done) => client.socket.once("close", () => done()));
    if (behaviour === "garbage") return void client.socket.end("this is not HTTP at all\r\n\r\n");
    const authority = parseAuthority(target);
    if (authority === null) return client.respond(400, "Bad Request", "bad CONNECT target\n");
    let upstream: Socket;
    try {
      upstream = await dial(authority.host, authority.port);
    } catch (error) {
      return client.respond(502, "Bad Gateway", `${String(error)}\n`);
    }
    client.send({ type: "Response", status: 200, reason: "Connection established", headers: [] });
    if (behaviour === "drop-after-200") {
      upstream.destroy();
      setTimeout(() => client.socket.destroy(), 5);
      return;
    }
    const early = client.h11.trailingData.data;
    for (const chunk of [early, ...client.reader.detach()]) if (chunk.length) upstream.write(chunk);
    client.socket.pipe(upstream);
    upstream.pipe(client.socket);
    client.socket.resume();
    upstream.on("close", () => client.socket.destroy());
    client.socket.on("close", () => upstream.destroy());
  }

  async function forward(
    client: Peer,
    request: Event & { type: "Request" },
    upstreams: Map<string, Peer>,
  ): Promise<void> {
    let url: URL;
    try {
      url = new URL(request.target);
    } catch {
      return client.respond(400, "Bad Request", "forward requests must be in absolute form\n");
    }
    if (url.protocol !== "http:")
      return client.respond(400, "Bad Request", "only http: is forwarded\n");
    const port = Number(url.port || 80);
    const key = `${url.hostname}:${port}`;
    let upstream = upstreams.get(key);
    if (
      upstream !== undefined &&
      upstream.h11.ourState === "DONE" &&
      upstream.h11.theirState === "DONE"
    ) {
      upstream.h11.startNextCycle();
    } else {
      upstream?.socket.destroy();
      try {
        upstream = new Peer(await dial(url.hostname, port), "client");
      } catch (error) {
        // Drain the request body before answering.
        for (
          let ev = await client.next();
          ev.type !== "PAUSED" && ev.type !== "EndOfMessage";
          ev = await client.next()
        ) {}
        return client.respond(502, "Bad Gateway", `${String(error)}\n`);
      }
      upstreams.set(key, upstream);
    }
    // Content-Length passes through; a chunked body is chunked again on the way out.
    const headers = endToEnd(request.headers);
    if (header(request.headers, "transfer-encoding") !== undefined)
      headers.push(["Transfer-Encoding", "chunked"]);
    upstream.send({
      type: "Request",
      method: request.method,
      target: `${url.pathname}${url.search}`,
      headers,
    });
    for (;;) {
      const ev = await client.next();
      if (ev.type === "PAUSED" || ev.type === "ConnectionClosed")
        throw new Error("client went away mid-request");
      if (ev.type === "Data") upstream.send(ev);
      if (ev.type === "EndOfMessage") {
        upstream.send({ type: "EndOfMessage" });
        break;
      }
    }
    for (;;) {
      const ev = await upstream.next();
      if (ev.type === "PAUSED") break;
      if (ev.type === "InformationalResponse") continue;
      if (ev.type === "Response") {
        client.send({
          type: "Response",
          status: ev.status,
          reason: ev.reason ?? "",
          headers: endToEnd(ev.headers),
        });
      } else if (ev.type === "Data") {
        client.send({ type: "Data", data: ev.data });
      } else if (ev.type === "EndOfMessage") {
        client.send({ type: "EndOfMessage" });
        break;
      } else if (ev.type === "ConnectionClosed") {
        throw new Error("upstream closed mid-response");
      }
    }
    if (upstream.h11.ourState !== "DONE" || upstream.h11.theirState !== "DONE") {
      upstream.socket.destroy();
      upstreams.delete(key);
    }
  }

  async function serve(socket: Socket): Promise<void> {
    connections++;
    track(socket);
    // The first byte says which protocol: SOCKS versions are 0x04 and 0x05, HTTP starts
    // with a method's letter.
    const reader = new SocketReader(socket);
    const first = await reader.read();
    if (first[0] === 0x04 || first[0] === 0x05) return serveSocks(socket, reader, first, socks);
    const client = new Peer(socket, "server", reader);
    client.h11.receiveData(first);
    const upstreams = new Map<string, Peer>();
    try {
      for (;;) {
        const ev = await client.next();
        if (ev.type === "PAUSED") {
          if (client.h11.theirState === "SWITCHED_PROTOCOL") return;
          break;
        }
        if (ev.type === "ConnectionClosed") break;
        if (ev.type !== "Request") continue;
        log.push({ method: ev.method, target: ev.target, headers: ev.headers });
        const verdict = options.challenger?.check(ev.method, ev.target, ev.headers);
        if (
          verdict === undefined
            ? !authorized(header(ev.headers, "proxy-authorization"))
            : !verdict.ok
        ) {
          // Read (and drop) any body, then refuse.
          for (
            let e = await client.next();
            e.type !== "PAUSED" && e.type !== "EndOfMessage";
            e = await client.next()
          ) {}
          client.respond(
            407,
            "Proxy Authentication Required",
            "proxy authentication required\n",
            verdict?.ok === false
              ? verdict.headers
              : [["Proxy-Authenticate", 'Basic realm="testkit"']],
          );
        } else if (ev.method === "CONNECT") {
          await client.next(); // EndOfMessage
          await tunnel(client, ev.target);
          if (client.h11.theirState === "SWITCHED_PROTOCOL" || socket.destroyed) return;
        } else {
          await forward(client, ev, upstreams);
        }
        if (client.h11.ourState === "MUST_CLOSE" || client.h11.theirState === "MUST_CLOSE") break;
        if (client.h11.ourState === "DONE" && client.h11.theirState === "DONE")
          client.h11.startNextCycle();
        else break;
      }
    } catch (error) {
      if (process.env.TESTKIT_DEBUG) console.error("proxy:", error);
      if (!(error instanceof ProtocolError) && !(error instanceof Error)) throw error;
    }
    socket.end();
    for (const up of upstreams.values()) up.socket.destroy();
  }

  const socks: SocksHost = {
    options: {
      ...(options.auth === undefined ? {} : { auth: options.auth }),
      ...(options.hosts === undefined ? {} : { hosts: options.hosts }),
      ...(options.socksBehaviour === undefined ? {} : { behaviour: options.socksBehaviour }),
    },
    log: [],
    authLog: [],
    track,
  };

  let server: NetServer;
  if (options.tls) {
    const pair = testCA().issue(["localhost", "127.0.0.1"]);
    server = createTlsServer({ key: pair.key, cert: pair.cert }, (s) => void serve(s));
    server.on("connection", (raw: Socket) => track(raw));
  } else {
    server = createServer((s) => void serve(s));
  }
  const port = await listenLoopback(server, options.port);
  return {
    url: `${options.tls ? "https" : "http"}://${options.tls ? "localhost" : "127.0.0.1"}:${port}`,
    port,
    log,
    socksLog: socks.log,
    socksAuthLog: socks.authLog,
    get connections() {
      return connections;
    },
    get openSockets() {
      return sockets.size;
    },
    close: () => sockets.closeWith(server),
  };
}
