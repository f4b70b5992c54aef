// DigestForwardStream: the connection to an HTTP proxy that node:http forwards `http:`
// requests over, when the agent answers Digest (proxyAuthScheme "digest" or "any").
//
// node:http writes each request's head before the agent could know the proxy's challenge,
// and hands any response to its caller. So this stream sits between node:http and the proxy:
// it keeps the bytes of the request in flight (up to REPLAY_LIMIT), and when the proxy answers
// it with a 407 that the ProxyAuthenticator can answer, it reads that 407 away (node:http
// never sees it) and sends the request again with Proxy-Authorization, once per request.
// Later requests carry the answer at once (the agent sets the header), so this happens for
// the first request to a proxy and when the proxy says the nonce went stale.
//
// The request is sent again only when all of it was written before the 407 arrived and it
// is at most REPLAY_LIMIT bytes (head and body as written, chunked framing included); a 407
// whose body length is unknown (chunked, or no length on a kept-alive connection) or over
// REPLAY_LIMIT is handed back too. A 407 that closes its connection is answered on a new one.

import type { ClientRequest } from "node:http";
import type { ConnectionOptions as TlsOptions } from "node:tls";
import type { NetworkStream } from "@x/pool";
import type { ProxyAuthenticator } from "@x/proxy";

/** The most of a request kept for sending it again, and of a 407's body read away. */
const REPLAY_LIMIT = 64 * 1024;
const HEAD_LIMIT = 64 * 1024;
const READ_SIZE = 64 * 1024;
const CRLFCRLF = Buffer.from("\r\n\r\n");

interface InFlight {
  readonly request: ClientRequest;
  readonly method: string;
  /** What was written for it so far; null once over REPLAY_LIMIT. */
  written: Buffer[] | null;
  writtenBytes: number;
  retried: boolean;
}

interface ResponseHead {
  readonly status: number;
  readonly headers: Array<[string, string]>;
  readonly close: boolean;
  readonly contentLength: number | null;
  readonly chunked: boolean;
}

function parseResponseHead(head: string): ResponseHead | null {
  const lines = head.split("\r\n");
  const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? "");
  if (m === null) return null;
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const values = (name: string): string[] =>
    headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v.toLowerCase());
  const connection = values("connection").flatMap((v) => v.split(",").map((t) => t.trim()));
  const lengths = values("content-length");
  return {
    status: Number(m[2]),
    headers,
    close: connection.includes("close") || (m[1] === "0" && !connection.includes("keep-alive")),
    contentLength: lengths.length === 1 && /^\d+$/.test(lengths[0]!) ? Number(lengths[0]) : null,
    chunked: values("transfer-encoding").length > 0,
  };
}

/**
 * A NetworkStream to an HTTP proxy that answers its Digest challenges for the forwarded
 * requests written to it (see the top of this file). `begin(req)` is called for each request
 * before node:http writes it.
 */
export class DigestForwardStream implements NetworkStream {
  #inner: NetworkStream;
  readonly #reconnect: () => Promise<NetworkStream>;
  readonly #authenticator: ProxyAuthenticator;
  #current: InFlight | null = null;
  /** Waiting for the head of the response to the request in flight. */
  #awaiting = false;
  /** Bytes read from the proxy and not yet handed to node:http. */
  #ready: Buffer | null = null;

  constructor(
    inner: NetworkStream,
    authenticator: ProxyAuthenticator,
    reconnect: () => Promise<NetworkStream>,
  ) {
    this.#inner = inner;
    this.#authenticator = authenticator;
    this.#reconnect = reconnect;
  }

  /** The next bytes written are `request`'s. */
  begin(request: ClientRequest): void {
    this.#current = {
      request,
      method: request.method,
      written: [],
      writtenBytes: 0,
      retried: false,
    };
    this.#awaiting = true;
  }

  async write(data: Uint8Array, timeout?: number): Promise<void> {
    const current = this.#current;
    if (current?.written) {
      current.writtenBytes += data.length;
      if (current.writtenBytes > REPLAY_LIMIT) current.written = null;
      else current.written.push(Buffer.from(data));
    }
    await this.#inner.write(data, timeout);
  }

  async read(maxBytes: number, timeout?: number): Promise<Uint8Array> {
    for (;;) {
      if (this.#awaiting && this.#ready !== null) {
        const ready = this.#ready;
        const end = ready.indexOf(CRLFCRLF);
        if (end >= 0) {
          const head = parseResponseHead(ready.subarray(0, end).toString("latin1"));
          if (head !== null && head.status >= 100 && head.status < 200 && head.status !== 101) {
            // An interim response: handed on; the final one is still to come.
            return this.#take(Math.min(maxBytes, end + 4));
          }
          this.#awaiting = false;
          if (head?.status === 407 && (await this.#answer(head, end + 4, timeout))) {
            this.#awaiting = true;
          }
          continue;
        }
        if (ready.length > HEAD_LIMIT) this.#awaiting = false;
      }
      if (!this.#awaiting && this.#ready !== null) return this.#take(maxBytes);
      // node:http keeps a read pending on an idle kept-alive socket: whether the bytes are
      // a response head to look at is decided when they come, not when the read began.
      const chunk = await this.#inner.read(maxBytes, timeout);
      if (chunk.length === 0) {
        this.#awaiting = false;
        if (this.#ready === null) return chunk;
        continue;
      }
      if (!this.#awaiting) return chunk;
      this.#ready = this.#ready === null ? Buffer.from(chunk) : Buffer.concat([this.#ready, chunk]);
    }
  }

  // Reads the 407 away and sends the request again with the challenge answered; false (and
  // nothing read) when that cannot be done.
  async #answer(head: ResponseHead, headLength: number, timeout?: number): Promise<boolean> {
    // Learnt even when this request cannot be sent again: the next ones answer at once.
    if (!this.#authenticator.learn(head.headers)) return false;
    const current = this.#current;
    if (current === null || current.retried || current.written === null) return false;
    // All of the request was written (ClientRequest's writableFinished: ended, and nothing
    // left in node:http's buffers nor the socket's).
    if (!current.request.writableFinished) return false;
    const bodyless = current.method === "HEAD" || head.status === 304;
    const length = bodyless ? 0 : head.chunked ? null : head.contentLength;
    if (length === null && !head.close) return false;
    if (length !== null && length > REPLAY_LIMIT) return false;
    const uri = requestTarget(current.written);
    if (uri === null) return false;
    current.retried = true;
    // Read the 407's body away; what follows it stays for node:http (nothing, normally).
    let rest = this.#ready!.subarray(headLength);
    this.#ready = null;
    if (length === null) {
      // Delimited by the close: read to the end (at most REPLAY_LIMIT).
      let total = rest.length;
      for (;;) {
        const chunk = await this.#inner.read(READ_SIZE, timeout);
        total += chunk.length;
        if (chunk.length === 0 || total > REPLAY_LIMIT) break;
      }
    } else {
      while (rest.length < length) {
        const chunk = await this.#inner.read(READ_SIZE, timeout);
        if (chunk.length === 0) throw new Error("the proxy closed the connection in a 407's body");
        rest = Buffer.concat([rest, chunk]);
      }
      if (rest.length > length) this.#ready = Buffer.from(rest.subarray(length));
    }
    if (head.close) {
      const old = this.#inner;
      this.#inner = await this.#reconnect();
      await old.close();
      this.#ready = null;
    }
    const authorization = this.#authenticator.authorization(current.method, uri);
    if (authorization === undefined) return false;
    await this.#inner.write(withAuthorization(Buffer.concat(current.written), authorization));
    return true;
  }

  #take(maxBytes: number): Buffer {
    const ready = this.#ready!;
    if (ready.length <= maxBytes) {
      this.#ready = null;
      return ready;
    }
    this.#ready = ready.subarray(maxBytes);
    return ready.subarray(0, maxBytes);
  }

  close(): Promise<void> {
    this.#current = null;
    return this.#inner.close();
  }

  startTls(
    tls: TlsOptions,
    serverHostname: string,
    timeout?: number,
    signal?: AbortSignal,
  ): Promise<NetworkStream> {
    return this.#inner.startTls(tls, serverHostname, timeout, signal);
  }

  getExtraInfo(key: string): unknown {
    return this.#inner.getExtraInfo(key);
  }
}

// The request-target of the request line in `written` (its first bytes), or null.
function requestTarget(written: readonly Buffer[]): string | null {
  const first = written[0]?.subarray(0, 8192).toString("latin1") ?? "";
  const m = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ (\S+) HTTP\/1\.[01]\r\n/.exec(first);
  return m === null ? null : m[1]!;
}

// The request again, with its Proxy-Authorization fields replaced by one with `value`.
function withAuthorization(request: Buffer, value: string): Buffer {
  const end = request.indexOf(CRLFCRLF);
  const lines = request.subarray(0, end).toString("latin1").split("\r\n");
  const kept = lines.filter((l, i) => i === 0 || !/^proxy-authorization\s*:/i.test(l));
  kept.splice(1, 0, `Proxy-Authorization: ${value}`);
  return Buffer.concat([Buffer.from(kept.join("\r\n"), "latin1"), request.subarray(end)]);
}
