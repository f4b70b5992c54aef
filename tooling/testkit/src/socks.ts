// The testkit's SOCKS server: SOCKS4 and 4a (a user id, a domain name after it) and SOCKS5
// (RFC 1928, with RFC 1929's username/password), CONNECT only, then bytes relayed both
// ways. Targets are names mapped to loopback ports, IP addresses or names dns.lookup knows,
// and only loopback addresses are ever dialled. Misbehaviours for the hostile tests.
// `serveSocks` is also what the embedded HTTP proxy runs for a connection that starts
// with 0x04 or 0x05.

import { lookup } from "node:dns/promises";
import { createServer, isIP, connect as netConnect, type Socket } from "node:net";
import { listenLoopback, OpenSockets } from "./net.js";
import { SocketReader } from "./socket-reader.js";

/** How the server misbehaves (for the hostile tests). */
export type SocksBehaviour =
  | "normal"
  /**
   * Answers CONNECT with this reply code. SOCKS5 sends it as given; SOCKS4 sends it when
   * it is 0x5B-0x5D or above, and 0x5B for a SOCKS5 code (1-0x5A).
   */
  | { readonly refuse: number }
  /** Reads the greeting (SOCKS4: the request), then closes. */
  | "close-after-greeting"
  /** Answers the greeting (SOCKS4: the request) with version 0x06. */
  | "wrong-version"
  /** Answers CONNECT with bytes of a reply's length that are no reply. */
  | "garbage-reply"
  /** Sends half a CONNECT reply, then closes. */
  | "short-reply"
  /** Reads and never answers. */
  | "silent"
  /** Answers the greeting with 0xFF (SOCKS4: the request with 0x5B). */
  | "no-acceptable-method";

export interface SocksServerOptions {
  /** Require username/password (SOCKS5 method 0x02); for SOCKS4 the user id must equal username. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Versions accepted (default both). A connection in another version is closed unanswered. */
  readonly versions?: ReadonlyArray<4 | 5>;
  /**
   * "name" or "name:port" → a port on 127.0.0.1 (as the embedded HTTP proxy's `hosts`);
   * other names are resolved with dns.lookup; IP addresses are connected to as they are
   * (IPv6 too). Only loopback addresses are dialled: others get "not allowed" (SOCKS5
   * 0x02, SOCKS4 0x5B).
   */
  readonly hosts?: Readonly<Record<string, number>>;
  /** Misbehaviour for the hostile tests (default "normal"). */
  readonly behaviour?: SocksBehaviour;
  /**
   * BND.ADDR/BND.PORT of a successful reply: the server's local address of the target
   * connection ("local", the default; SOCKS4 sends 0.0.0.0:0 when that is IPv6), 0.0.0.0:0
   * ("zero"), or the domain name "localhost" with the local port ("domain", SOCKS5 only).
   */
  readonly replyAddress?: "local" | "zero" | "domain";
}

export interface SocksLogEntry {
  readonly version: 4 | 5;
  /** SOCKS5: the methods the client offered, in order (SOCKS4: none). */
  readonly methods: readonly number[];
  /** The address type the client actually sent (SOCKS4: "ipv4"; SOCKS4a: "domain"). */
  readonly addressType: "ipv4" | "ipv6" | "domain";
  /** The host as sent: dotted IPv4, IPv6 text without brackets (as net gives it), or the domain name. */
  readonly host: string;
  readonly port: number;
  /** SOCKS4 user id (possibly ""), or SOCKS5 username (never the password); null when none was sent. */
  readonly user: string | null;
  /** Whether authentication succeeded (null when none was asked). */
  readonly authenticated: boolean | null;
}

/** One authentication attempt (SOCKS5 sub-negotiation, or a SOCKS4 user id checked). */
export interface SocksAuthEntry {
  readonly version: 4 | 5;
  readonly user: string;
  readonly authenticated: boolean;
}

export interface EmbeddedSocks {
  /** "socks5://127.0.0.1:PORT" (the scheme is only a convenience; the server speaks every enabled version). */
  readonly url: string;
  readonly port: number;
  /** Client connections accepted. */
  readonly connections: number;
  /** One entry per CONNECT request received (appended as soon as the request is parsed). */
  readonly log: SocksLogEntry[];
  /**
   * Every authentication attempt, failed ones too (a SOCKS5 client whose password is wrong
   * never gets to send CONNECT, so `log` does not see it).
   */
  readonly authLog: SocksAuthEntry[];
  /** Sockets still open (client and target sides). */
  readonly openSockets: number;
  /** Destroys every socket, closes the server. */
  close(): Promise<void>;
}

/** What one SOCKS conversation needs from the server that accepted it. */
export interface SocksHost {
  readonly options: SocksServerOptions;
  readonly log: SocksLogEntry[];
  readonly authLog: SocksAuthEntry[];
  /** Counts a socket among the server's open ones (and swallows its errors). */
  track(socket: Socket): Socket;
}

// SOCKS5 reply codes (RFC 1928 §6).
const REP_SUCCEEDED = 0x00;
const REP_GENERAL_FAILURE = 0x01;
const REP_NOT_ALLOWED = 0x02;
const REP_NETWORK_UNREACHABLE = 0x03;
const REP_HOST_UNREACHABLE = 0x04;
const REP_CONNECTION_REFUSED = 0x05;
const REP_COMMAND_NOT_SUPPORTED = 0x07;
const REP_ADDRESS_TYPE_NOT_SUPPORTED = 0x08;
// SOCKS4 reply codes.
const CD_GRANTED = 0x5a;
const CD_REJECTED = 0x5b;
const CD_USER_MISMATCH = 0x5d;

const MAX_NUL_STRING = 1024;

class ClosedEarly extends Error {}

/** Exact-length reads over a SocketReader, starting with bytes already read. */
class Bytes {
  readonly #reader: SocketReader;
  #buffer: Buffer;

  constructor(reader: SocketReader, first: Uint8Array) {
    this.#reader = reader;
    this.#buffer = Buffer.from(first);
  }

  async #more(): Promise<void> {
    const chunk = await this.#reader.read();
    if (chunk.length === 0) throw new ClosedEarly("the client closed mid-negotiation");
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
  }

  async take(n: number): Promise<Buffer> {
    while (this.#buffer.length < n) await this.#more();
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }

  async byte(): Promise<number> {
    return (await this.take(1))[0]!;
  }

  /** A NUL-terminated string (the NUL is consumed, not returned). */
  async nulTerminated(): Promise<string> {
    for (;;) {
      const end = this.#buffer.indexOf(0);
      if (end >= 0) {
        const text = this.#buffer.subarray(0, end).toString("latin1");
        this.#buffer = this.#buffer.subarray(end + 1);
        return text;
      }
      if (this.#buffer.length > MAX_NUL_STRING) throw new ClosedEarly("string too long");
      await this.#more();
    }
  }

  /** Reads (and drops) everything until the client closes. */
  async drain(): Promise<void> {
    this.#buffer = Buffer.alloc(0);
    while ((await this.#reader.read()).length > 0) {}
  }

  /** Stops reading; returns what was read and not consumed. */
  detach(): Buffer[] {
    return [this.#buffer, ...this.#reader.detach()];
  }
}

/** Why a target could not be reached, as a SOCKS5 reply code. */
class DialError extends Error {
  readonly rep: number;
  constructor(rep: number, message: string) {
    super(message);
    this.rep = rep;
  }
}

function isLoopback(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith("127.");
  const lower = address.toLowerCase();
  return lower === "::1" || lower.startsWith("::ffff:127.");
}

function connectOnce(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: address, port, allowHalfOpen: true });
    const onError = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      socket.off("error", onError);
      resolve(socket);
    });
  });
}

/** Connects to the target: a mapped name, an IP address, or a name dns.lookup knows. */
async function dial(
  host: string,
  port: number,
  hosts: Readonly<Record<string, number>> | undefined,
): Promise<Socket> {
  const mapped = hosts?.[`${host}:${port}`] ?? hosts?.[host];
  if (mapped !== undefined) return dialAddresses(["127.0.0.1"], mapped);
  if (isIP(host) !== 0) return dialAddresses([host], port);
  let addresses: string[];
  try {
    addresses = (await lookup(host, { all: true })).map((a) => a.address);
  } catch (error) {
    throw new DialError(REP_HOST_UNREACHABLE, `cannot resolve ${host}: ${String(error)}`);
  }
  return dialAddresses(addresses, port);
}

async function dialAddresses(addresses: string[], port: number): Promise<Socket> {
  const allowed = addresses.filter(isLoopback);
  if (allowed.length === 0)
    throw new DialError(REP_NOT_ALLOWED, `${addresses.join(", ")}: not a loopback address`);
  let last: unknown;
  for (const address of allowed) {
    try {
      return await connectOnce(address, port);
    } catch (error) {
      last = error;
    }
  }
  const code = (last as NodeJS.ErrnoException).code;
  const rep =
    code === "ECONNREFUSED"
      ? REP_CONNECTION_REFUSED
      : code === "ENETUNREACH"
        ? REP_NETWORK_UNREACHABLE
        : code === "EHOSTUNREACH" || code === "ETIMEDOUT"
          ? REP_HOST_UNREACHABLE
          : REP_GENERAL_FAILURE;
  throw new DialError(rep, String(last));
}

/** A SOCKS5 address (ATYP, address, port) for a reply. */
function socks5Address(atyp: number, address: Buffer, port: number): Buffer {
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port);
  const head = atyp === 0x03 ? [atyp, address.length] : [atyp];
  return Buffer.concat([Buffer.from(head), address, portBytes]);
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split(".").map(Number));
}

/** IPv6 text in its canonical form (RFC 5952, as WHATWG URLs write it). */
function canonicalIPv6(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

function ipv6Bytes(address: string): Buffer {
  // The canonical form has no dotted tail: hex groups, at most one "::".
  const [left, right] = canonicalIPv6(address).split("::") as [string, string | undefined];
  const head = left === "" ? [] : left.split(":");
  const tail = right === undefined || right === "" ? [] : right.split(":");
  const zeros = Array<string>(8 - head.length - tail.length).fill("0");
  const out = Buffer.alloc(16);
  for (const [i, g] of [...head, ...zeros, ...tail].entries())
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}

function ipv6Text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return canonicalIPv6(groups.join(":"));
}

/** The reply code SOCKS4 sends for a `refuse` behaviour. */
function socks4Refusal(code: number): number {
  return code > CD_GRANTED ? code : CD_REJECTED;
}

/** The SOCKS5 reply for a successful CONNECT, with BND.ADDR as `replyAddress` asks. */
function socks5Success(upstream: Socket, mode: SocksServerOptions["replyAddress"]): Buffer {
  const local = upstream.localAddress ?? "0.0.0.0";
  const port = upstream.localPort ?? 0;
  let address: Buffer;
  let atyp: number;
  if (mode === "zero") {
    [atyp, address] = [0x01, Buffer.alloc(4)];
  } else if (mode === "domain") {
    [atyp, address] = [0x03, Buffer.from("localhost")];
  } else if (isIP(local) === 6) {
    [atyp, address] = [0x04, ipv6Bytes(local)];
  } else {
    [atyp, address] = [0x01, ipv4Bytes(local)];
  }
  const bound = socks5Address(atyp, address, mode === "zero" ? 0 : port);
  return Buffer.concat([Buffer.from([0x05, REP_SUCCEEDED, 0x00]), bound]);
}

function socks5Reply(rep: number): Buffer {
  return Buffer.from([0x05, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
}

function socks4Reply(cd: number, port = 0, address: Buffer = Buffer.alloc(4)): Buffer {
  const out = Buffer.alloc(8);
  out[1] = cd;
  out.writeUInt16BE(port, 2);
  address.copy(out, 4);
  return out;
}

/** Relays bytes both ways (half-closes included) until either side closes. */
function relay(client: Socket, bytes: Bytes, upstream: Socket): void {
  for (const chunk of bytes.detach()) if (chunk.length) upstream.write(chunk);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
  upstream.on("close", () => client.destroy());
  client.on("close", () => upstream.destroy());
}

/** Reads (and drops) everything until the client closes, then closes. */
async function drainThenClose(socket: Socket, bytes: Bytes): Promise<void> {
  await bytes.drain();
  socket.destroy();
}

/** Writes `bytes`, then closes once they are sent. */
function answerAndClose(socket: Socket, bytes: Buffer): void {
  socket.end(bytes);
  socket.once("finish", () => socket.destroy());
}

/** How one version words its CONNECT replies. */
interface Replies {
  /** The reply for a `refuse` behaviour's code. */
  refusal(code: number): Buffer;
  /** Bytes of a reply's length that are no reply. */
  readonly garbage: Buffer;
  /** The reply for a target that could not be reached (`rep`: the SOCKS5 code). */
  failure(rep: number): Buffer;
  /** The reply for a CONNECT made (`upstream` undefined: a placeholder of the same length). */
  success(upstream?: Socket): Buffer;
}

/** Answers a parsed CONNECT as the behaviour says: refuses it, or dials and relays. */
async function answerConnect(
  socket: Socket,
  bytes: Bytes,
  host: SocksHost,
  target: string,
  port: number,
  replies: Replies,
): Promise<void> {
  const behaviour = host.options.behaviour ?? "normal";
  if (typeof behaviour === "object")
    return answerAndClose(socket, replies.refusal(behaviour.refuse));
  if (behaviour === "garbage-reply") {
    socket.write(replies.garbage);
    return drainThenClose(socket, bytes);
  }
  if (behaviour === "short-reply") {
    const whole = replies.success();
    return answerAndClose(socket, whole.subarray(0, whole.length / 2));
  }
  let upstream: Socket;
  try {
    upstream = host.track(await dial(target, port, host.options.hosts));
  } catch (error) {
    const rep = error instanceof DialError ? error.rep : REP_GENERAL_FAILURE;
    return answerAndClose(socket, replies.failure(rep));
  }
  socket.write(replies.success(upstream));
  relay(socket, bytes, upstream);
}

async function serveSocks4(socket: Socket, bytes: Bytes, host: SocksHost): Promise<void> {
  const { options } = host;
  const behaviour = options.behaviour ?? "normal";
  const head = await bytes.take(8);
  const command = head[1]!;
  const port = head.readUInt16BE(2);
  const ip = head.subarray(4, 8);
  const user = await bytes.nulTerminated();
  // SOCKS4a: 0.0.0.x (x != 0) means "the name follows the user id".
  const is4a = ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0;
  const target = is4a ? await bytes.nulTerminated() : [...ip].join(".");
  const authenticated = options.auth === undefined ? null : user === options.auth.username;
  if (authenticated !== null) host.authLog.push({ version: 4, user, authenticated });
  if (command !== 0x01) return answerAndClose(socket, socks4Reply(CD_REJECTED));
  const addressType = is4a ? "domain" : "ipv4";
  host.log.push({ version: 4, methods: [], addressType, host: target, port, user, authenticated });
  if (behaviour === "close-after-greeting") return void socket.destroy();
  if (behaviour === "silent") return drainThenClose(socket, bytes);
  if (behaviour === "no-acceptable-method") return answerAndClose(socket, socks4Reply(CD_REJECTED));
  if (behaviour === "wrong-version") {
    socket.write(Buffer.concat([Buffer.from([0x06, CD_GRANTED]), head.subarray(2, 8)]));
    return drainThenClose(socket, bytes);
  }
  if (authenticated === false) return answerAndClose(socket, socks4Reply(CD_USER_MISMATCH));
  return answerConnect(socket, bytes, host, target, port, {
    refusal: (code) => socks4Reply(socks4Refusal(code)),
    // Neither version 0 nor a reply code.
    garbage: Buffer.from([0x47, 0x11, 0xde, 0xad, 0xbe, 0xef, 0x13, 0x37]),
    failure: () => socks4Reply(CD_REJECTED),
    success(upstream) {
      const local = upstream?.localAddress ?? "";
      return options.replyAddress !== "zero" && isIP(local) === 4
        ? socks4Reply(CD_GRANTED, upstream?.localPort ?? 0, ipv4Bytes(local))
        : socks4Reply(CD_GRANTED);
    },
  });
}

async function serveSocks5(socket: Socket, bytes: Bytes, host: SocksHost): Promise<void> {
  const { options } = host;
  const behaviour = options.behaviour ?? "normal";
  await bytes.byte(); // VER
  const methods = [...(await bytes.take(await bytes.byte()))];
  if (behaviour === "close-after-greeting") return void socket.destroy();
  if (behaviour === "silent") return drainThenClose(socket, bytes);
  if (behaviour === "wrong-version") {
    socket.write(Buffer.from([0x06, options.auth ? 0x02 : 0x00]));
    return drainThenClose(socket, bytes);
  }
  const wanted = options.auth === undefined ? 0x00 : 0x02;
  if (behaviour === "no-acceptable-method" || !methods.includes(wanted))
    return answerAndClose(socket, Buffer.from([0x05, 0xff]));
  socket.write(Buffer.from([0x05, wanted]));

  let user: string | null = null;
  let authenticated: boolean | null = null;
  if (options.auth !== undefined) {
    // RFC 1929: VER 0x01, ULEN, UNAME, PLEN, PASSWD; answered VER 0x01, STATUS.
    const version = await bytes.byte();
    if (version !== 0x01) return void socket.destroy();
    user = (await bytes.take(await bytes.byte())).toString("utf8");
    const password = (await bytes.take(await bytes.byte())).toString("utf8");
    authenticated = user === options.auth.username && password === options.auth.password;
    host.authLog.push({ version: 5, user, authenticated });
    if (!authenticated) return answerAndClose(socket, Buffer.from([0x01, 0x01]));
    socket.write(Buffer.from([0x01, 0x00]));
  }

  const [version, command, , atyp] = await bytes.take(4);
  if (version !== 0x05) return void socket.destroy();
  let addressType: SocksLogEntry["addressType"];
  let target: string;
  if (atyp === 0x01) {
    addressType = "ipv4";
    target = [...(await bytes.take(4))].join(".");
  } else if (atyp === 0x04) {
    addressType = "ipv6";
    target = ipv6Text(await bytes.take(16));
  } else if (atyp === 0x03) {
    addressType = "domain";
    target = (await bytes.take(await bytes.byte())).toString("latin1");
  } else {
    return answerAndClose(socket, socks5Reply(REP_ADDRESS_TYPE_NOT_SUPPORTED));
  }
  const port = (await bytes.take(2)).readUInt16BE(0);
  if (command !== 0x01) return answerAndClose(socket, socks5Reply(REP_COMMAND_NOT_SUPPORTED));
  host.log.push({ version: 5, methods, addressType, host: target, port, user, authenticated });

  return answerConnect(socket, bytes, host, target, port, {
    refusal: socks5Reply,
    // Version 5 and "succeeded", then a reserved byte that is not 0 and an address type
    // that does not exist.
    garbage: Buffer.from([0x05, 0x00, 0xab, 0x09, 0xde, 0xad, 0xbe, 0xef, 0x13, 0x37]),
    failure: socks5Reply,
    success: (upstream) =>
      upstream === undefined
        ? socks5Reply(REP_SUCCEEDED)
        : socks5Success(upstream, options.replyAddress),
  });
}

/**
 * Serves one SOCKS connection whose first bytes (`first`, at least the version byte) were
 * already read through `reader`. Closes the socket when the conversation fails.
 */
export async function serveSocks(
  socket: Socket,
  reader: SocketReader,
  first: Uint8Array,
  host: SocksHost,
): Promise<void> {
  // Half-closes pass through the relay: the client's FIN ends the target's side only.
  socket.allowHalfOpen = true;
  const bytes = new Bytes(reader, first);
  const version = first[0];
  const versions = host.options.versions ?? [4, 5];
  try {
    if (version === 0x04 && versions.includes(4)) await serveSocks4(socket, bytes, host);
    else if (version === 0x05 && versions.includes(5)) await serveSocks5(socket, bytes, host);
    else socket.destroy();
  } catch (error) {
    if (process.env.TESTKIT_DEBUG) console.error("socks:", error);
    socket.destroy();
  }
}

/** Starts a SOCKS4/4a/5 server on 127.0.0.1 (a free port). */
export async function startSocksServer(options: SocksServerOptions = {}): Promise<EmbeddedSocks> {
  const sockets = new OpenSockets();
  const log: SocksLogEntry[] = [];
  const authLog: SocksAuthEntry[] = [];
  let connections = 0;
  const track = (socket: Socket): Socket => {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    return sockets.add(socket);
  };
  const host: SocksHost = { options, log, authLog, track };
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    connections++;
    track(socket);
    const reader = new SocketReader(socket);
    void reader.read().then((first) => {
      if (first.length === 0) socket.destroy();
      else void serveSocks(socket, reader, first, host);
    });
  });
  const port = await listenLoopback(server);
  return {
    url: `socks5://127.0.0.1:${port}`,
    port,
    log,
    authLog,
    get connections() {
      return connections;
    },
    get openSockets() {
      return sockets.size;
    },
    close: () => sockets.closeWith(server),
  };
}
