// SOCKS proxies: SOCKS4 (RFC-less, the 1992 protocol), its 4a extension, and SOCKS5 (RFC 1928)
// with username/password authentication (RFC 1929). A SOCKSDialer opens a TCP connection to
// the proxy and runs the handshake over the NetworkStream seam; the tunnel it returns is a
// plain stream to the origin, on which HTTPConnection starts TLS for https: origins.
//
// Name resolution follows curl and socks-proxy-agent: socks4: and socks5: resolve the
// origin's name here (NetworkBackend.resolve) and send an address; socks4a: and socks5h:
// send the name and let the proxy resolve it.

import { isIP } from "node:net";
import {
  ConnectError,
  type Dialer,
  DirectDialer,
  type DirectDialerOptions,
  HTTPConnection,
  type HTTPConnectionOptions,
  type NetworkBackend,
  type NetworkStream,
  NodeBackend,
  Origin,
  PrefixedStream,
  RemoteProtocolError,
  type Request,
  traced,
} from "@x/pool";
import { argumentError } from "./arguments.js";
import { ProxyError } from "./errors.js";

/** The SOCKS versions a proxy URL can name. */
export type SOCKSVersion = "socks4" | "socks4a" | "socks5" | "socks5h";

/** The proxy URL schemes SOCKSProxy takes, for messages. */
export const SOCKS_SCHEMES: readonly string[] = ["socks4:", "socks4a:", "socks5:", "socks5h:"];

const READ_SIZE = 64 * 1024;
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

// SOCKS5 reply codes (RFC 1928 §6) and SOCKS4's, in words.
const SOCKS5_REPLIES: Readonly<Record<number, string>> = {
  1: "general SOCKS server failure",
  2: "connection not allowed by ruleset",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired",
  7: "command not supported",
  8: "address type not supported",
};
const SOCKS4_REPLIES: Readonly<Record<number, string>> = {
  91: "request rejected or failed",
  92: "request rejected: the proxy cannot reach the client's identd",
  93: "request rejected: the client's identd reports another user id",
};

const hex = (n: number): string => `0x${n.toString(16).padStart(2, "0")}`;

/**
 * The credentials' bytes, checked: at most 255 bytes of UTF-8 each, no NUL. Throws a
 * TypeError (ERR_INVALID_ARG_VALUE) that never shows them.
 */
export function socksCredentials(
  username: unknown,
  password: unknown,
): { user: Uint8Array; pass: Uint8Array } {
  if (typeof username !== "string" || typeof password !== "string") {
    throw argumentError("proxyAuth must be [username, password] strings");
  }
  const user = encoder.encode(username);
  const pass = encoder.encode(password);
  if (user.length > 255 || pass.length > 255) {
    throw argumentError("SOCKS credentials are at most 255 bytes each (as UTF-8)");
  }
  if (user.includes(0) || pass.includes(0)) {
    throw argumentError("SOCKS credentials must not contain NUL");
  }
  return { user, pass };
}

/**
 * Options of a SOCKSDialer: where the proxy is, which SOCKS, the credentials, and how to
 * connect to the proxy (DirectDialer's options).
 *
 * @example
 * new SOCKSDialer({ proxyHost: "127.0.0.1", proxyPort: 1080, version: "socks5h" })
 */
export interface SOCKSDialerOptions extends DirectDialerOptions {
  readonly proxyHost: string;
  readonly proxyPort: number;
  readonly version: SOCKSVersion;
  /** SOCKS5: username and password (RFC 1929). SOCKS4/4a: the username is the user id. */
  readonly proxyAuth?: readonly [username: string, password: string] | undefined;
}

/** Reads a handshake's replies: exactly the bytes asked for, keeping what follows. */
class ReplyReader {
  readonly #stream: NetworkStream;
  readonly #timeout: number | undefined;
  #buffered: Uint8Array = EMPTY;

  constructor(stream: NetworkStream, timeout: number | undefined) {
    this.#stream = stream;
    this.#timeout = timeout;
  }

  async take(count: number): Promise<Uint8Array> {
    while (this.#buffered.length < count) {
      const chunk = await this.#stream.read(READ_SIZE, this.#timeout);
      if (chunk.length === 0) {
        throw new RemoteProtocolError(
          "the SOCKS proxy closed the connection in the middle of the handshake",
        );
      }
      const joined = new Uint8Array(this.#buffered.length + chunk.length);
      joined.set(this.#buffered);
      joined.set(chunk, this.#buffered.length);
      this.#buffered = joined;
    }
    const out = this.#buffered.subarray(0, count);
    this.#buffered = this.#buffered.subarray(count);
    return out;
  }

  /** What came after the last reply (the origin's first bytes, if any). */
  rest(): Uint8Array {
    return this.#buffered;
  }
}

// The address bytes of an IPv4 or IPv6 address in text.
function ipv4Bytes(address: string): number[] {
  return address.split(".").map(Number);
}

function ipv6Bytes(address: string): number[] {
  const [head = "", tail] = address.split("::") as [string, string | undefined];
  const groups = (part: string): string[] => (part === "" ? [] : part.split(":"));
  let left = groups(head);
  let right = tail === undefined ? [] : groups(tail);
  // An embedded IPv4 address at the end (::ffff:1.2.3.4) is two groups.
  const last = (tail === undefined ? left : right).at(-1);
  if (last?.includes(".")) {
    const [a, b, c, d] = ipv4Bytes(last) as [number, number, number, number];
    const tailGroups = [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    if (tail === undefined) left = [...left.slice(0, -1), ...tailGroups];
    else right = [...right.slice(0, -1), ...tailGroups];
  }
  // Without "::" (right is empty) the address has its eight groups already: no zeros.
  const zeros = 8 - left.length - right.length;
  const all = [...left, ...Array<string>(zeros).fill("0"), ...right];
  return all.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/**
 * Dials through a SOCKS proxy: TCP to the proxy (DirectDialer, with its retries, traced as
 * `socks.connect_tcp` as httpcore does), then the SOCKS handshake (traced as
 * `socks.setup_socks5_connection` or `socks.setup_socks4_connection`), under the request's
 * read and write timeouts; the stream returned is the tunnel to the origin.
 *
 * @example
 * new HTTPConnection(origin, { dialer: new SOCKSDialer({ proxyHost: "127.0.0.1", proxyPort: 1080, version: "socks5h" }) })
 */
export class SOCKSDialer implements Dialer {
  /** httpcore's name for TLS to the origin inside the tunnel. */
  readonly tlsTraceName = "socks.start_tls";
  readonly #options: SOCKSDialerOptions;
  readonly #direct: DirectDialer;
  readonly #resolver: NetworkBackend;
  readonly #user: Uint8Array | null;
  readonly #pass: Uint8Array | null;

  constructor(options: SOCKSDialerOptions) {
    this.#options = options;
    this.#direct = new DirectDialer({ ...options, tracePrefix: "socks" });
    this.#resolver = options.networkBackend ?? new NodeBackend();
    if (options.proxyAuth === undefined) {
      this.#user = null;
      this.#pass = null;
    } else {
      const { user, pass } = socksCredentials(options.proxyAuth[0], options.proxyAuth[1]);
      this.#user = user;
      this.#pass = pass;
    }
  }

  async dial(origin: Origin, request: Request, signal: AbortSignal): Promise<NetworkStream> {
    const { proxyHost, proxyPort, version } = this.#options;
    // The proxy's address as an origin for DirectDialer (its scheme does not matter there).
    const proxy = new Origin("http", proxyHost, proxyPort);
    const stream = await this.#direct.dial(proxy, request, signal);
    const onAbort = (): void => void stream.close();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const five = version === "socks5" || version === "socks5h";
      const name = five ? "socks.setup_socks5_connection" : "socks.setup_socks4_connection";
      const info = { proxyHost, proxyPort, version, host: origin.host, port: origin.port };
      const rest = await traced(name, request, info, () =>
        five ? this.#socks5(stream, origin, request) : this.#socks4(stream, origin, request),
      );
      return rest.length === 0 ? stream : new PrefixedStream(stream, rest);
    } catch (error) {
      await stream.close();
      throw error;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  // The address to send: the name (socks4a, socks5h), or an address resolved here.
  async #target(
    origin: Origin,
    family: 4 | undefined,
  ): Promise<{ ip: string | null; name: string | null }> {
    const host = origin.host;
    if (isIP(host) !== 0) return { ip: host, name: null };
    const version = this.#options.version;
    if (version === "socks4a" || version === "socks5h") return { ip: null, name: host };
    const resolver = this.#resolver;
    if (resolver.resolve === undefined) {
      throw new ConnectError(
        `${version}: names are resolved on this side, but the NetworkBackend has no resolve()`,
      );
    }
    const ip = await resolver.resolve(host, family === undefined ? {} : { family });
    return { ip, name: null };
  }

  async #socks5(stream: NetworkStream, origin: Origin, request: Request): Promise<Uint8Array> {
    const timeouts = request.extensions.timeout ?? {};
    const reader = new ReplyReader(stream, timeouts.read);
    const write = (bytes: number[] | Uint8Array): Promise<void> =>
      stream.write(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes), timeouts.write);
    const user = this.#user;
    const pass = this.#pass;

    // Greeting: no authentication, and username/password when credentials are given.
    const methods = user === null ? [0x00] : [0x00, 0x02];
    await write([0x05, methods.length, ...methods]);
    const [version, method] = await reader.take(2);
    if (version !== 0x05) {
      throw new RemoteProtocolError(
        `the SOCKS5 proxy answered the greeting with version ${hex(version!)}, not 0x05`,
      );
    }
    if (method === 0xff) {
      throw new ProxyError({
        message: `the SOCKS5 proxy accepts none of the authentication methods offered (${methods.map(hex).join(", ")})${user === null ? ": it may want a username and password" : ""}`,
        reply: 0xff,
      });
    }
    if (!methods.includes(method!)) {
      throw new RemoteProtocolError(
        `the SOCKS5 proxy chose authentication method ${hex(method!)}, which was not offered`,
      );
    }
    if (method === 0x02) {
      const auth = new Uint8Array(3 + user!.length + pass!.length);
      auth[0] = 0x01;
      auth[1] = user!.length;
      auth.set(user!, 2);
      auth[2 + user!.length] = pass!.length;
      auth.set(pass!, 3 + user!.length);
      await write(auth);
      const [, status] = await reader.take(2);
      if (status !== 0x00) {
        throw new ProxyError({
          message: `the SOCKS5 proxy refused the username and password (status ${hex(status!)})`,
          reply: status!,
        });
      }
    }

    // CONNECT to the origin.
    const { ip, name } = await this.#target(origin, undefined);
    let address: number[];
    if (name !== null) {
      const bytes = encoder.encode(name);
      if (bytes.length > 255) {
        throw new ConnectError(`the host name is too long for SOCKS5 (${bytes.length} bytes)`);
      }
      address = [0x03, bytes.length, ...bytes];
    } else if (isIP(ip!) === 4) {
      address = [0x01, ...ipv4Bytes(ip!)];
    } else {
      address = [0x04, ...ipv6Bytes(ip!)];
    }
    await write([0x05, 0x01, 0x00, ...address, origin.port >> 8, origin.port & 0xff]);
    const [replyVersion, reply, , type] = await reader.take(4);
    if (replyVersion !== 0x05) {
      throw new RemoteProtocolError(
        `the SOCKS5 proxy answered CONNECT with version ${hex(replyVersion!)}, not 0x05`,
      );
    }
    if (reply !== 0x00) {
      const words = SOCKS5_REPLIES[reply!] ?? "unknown reply";
      throw new ProxyError({ message: `SOCKS5 reply ${hex(reply!)}: ${words}`, reply: reply! });
    }
    // The bound address (skipped), then the port.
    if (type === 0x01) await reader.take(4);
    else if (type === 0x04) await reader.take(16);
    else if (type === 0x03) await reader.take((await reader.take(1))[0]!);
    else {
      throw new RemoteProtocolError(
        `the SOCKS5 proxy's reply has an unknown address type ${hex(type!)}`,
      );
    }
    await reader.take(2);
    return reader.rest();
  }

  async #socks4(stream: NetworkStream, origin: Origin, request: Request): Promise<Uint8Array> {
    const timeouts = request.extensions.timeout ?? {};
    const reader = new ReplyReader(stream, timeouts.read);
    const version = this.#options.version;
    if (isIP(origin.host) === 6) {
      throw new ConnectError(`${version} reaches IPv4 addresses only, not ${origin.host}`);
    }
    const { ip, name } = await this.#target(origin, 4);
    const userId = this.#user ?? EMPTY;
    const nameBytes = name === null ? EMPTY : encoder.encode(name);
    if (nameBytes.includes(0)) throw new ConnectError("the host name contains NUL");
    // SOCKS4a: the address 0.0.0.1 says "the name follows".
    const address = name === null ? ipv4Bytes(ip!) : [0, 0, 0, 1];
    const head = [0x04, 0x01, origin.port >> 8, origin.port & 0xff, ...address];
    const message = new Uint8Array(
      head.length + userId.length + 1 + (name === null ? 0 : nameBytes.length + 1),
    );
    message.set(head);
    message.set(userId, head.length);
    // SOCKS4 sends no name: nameBytes is then empty, and setting it at the end adds nothing.
    message.set(nameBytes, head.length + userId.length + 1);
    await stream.write(message, timeouts.write);
    const [replyVersion, reply] = await reader.take(8);
    if (replyVersion !== 0x00) {
      throw new RemoteProtocolError(
        `the SOCKS4 proxy's reply has version ${hex(replyVersion!)}, not 0x00`,
      );
    }
    if (reply !== 0x5a) {
      const words = SOCKS4_REPLIES[reply!];
      if (words === undefined) {
        throw new RemoteProtocolError(
          `the SOCKS4 proxy's reply has an unknown code ${hex(reply!)}`,
        );
      }
      throw new ProxyError({ message: `SOCKS4 reply ${hex(reply!)}: ${words}`, reply: reply! });
    }
    return reader.rest();
  }
}

/**
 * Options of a SOCKSConnection.
 *
 * @example
 * new SOCKSConnection({ remoteOrigin, proxyHost: "127.0.0.1", proxyPort: 1080, version: "socks5h" })
 */
export interface SOCKSConnectionOptions extends HTTPConnectionOptions, SOCKSDialerOptions {
  readonly remoteOrigin: Origin;
}

/**
 * One tunnel through a SOCKS proxy to one origin, speaking HTTP/1.1 inside it (over TLS for
 * https: origins): an HTTPConnection whose dialer is a SOCKSDialer. Prints with the origin,
 * or `<SOCKSConnection [CONNECTING]>` before the tunnel opens.
 *
 * @example
 * const conn = new SOCKSConnection({ remoteOrigin, proxyHost: "127.0.0.1", proxyPort: 1080, version: "socks5" });
 */
export class SOCKSConnection extends HTTPConnection {
  constructor(options: SOCKSConnectionOptions) {
    super(options.remoteOrigin, { ...options, dialer: new SOCKSDialer(options) });
  }
}
