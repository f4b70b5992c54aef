import { brandClass } from "@x/h11";
import { type HeaderList, TransportError } from "@x/pool";

/**
 * Fields of a ProxyError.
 *
 * @example
 * new ProxyError({ status: 407, reasonPhrase: "Proxy Authentication Required", headers: [], body: new Uint8Array() })
 */
export type ProxyErrorInit =
  | {
      /** An HTTP proxy's refusal: its status line, headers and the start of its body. */
      readonly status: number;
      readonly reasonPhrase: string;
      readonly headers: HeaderList;
      readonly body: Uint8Array;
    }
  | {
      /** A SOCKS proxy's refusal, in words, and its reply code. */
      readonly message: string;
      readonly reply: number;
    };

/**
 * At most this much of a refusing proxy's body is kept on the error.
 *
 * @example
 * if (error.body.length === PROXY_ERROR_BODY_LIMIT) console.log("the refusal was longer; truncated")
 */
export const PROXY_ERROR_BODY_LIMIT: number = 64 * 1024;

/**
 * The proxy refused to open a tunnel: a non-2xx answer to CONNECT (the message is the status
 * line, e.g. "407 Proxy Authentication Required"; check `proxyAuth` for 407), or a SOCKS
 * refusal (the message names the reply, e.g. "SOCKS5 reply 0x05: connection refused", and
 * `reply` holds its code; `status` is 0).
 *
 * @example
 * try { await proxy.request("GET", "https://example.com/") }
 * catch (e) { if (e instanceof ProxyError && e.status === 407) askForCredentials() }
 */
export class ProxyError extends TransportError {
  override readonly code: string = "ERR_PROXY";
  readonly status: number;
  readonly reasonPhrase: string;
  readonly headers: HeaderList;
  /** The start of the proxy's answer body (at most 64 KiB). */
  readonly body: Uint8Array;

  /**
   * A SOCKS proxy's reply code (SOCKS5 0x01-0x08, 0xFF for no acceptable authentication
   * method, or the RFC 1929 status; SOCKS4 0x5B-0x5D), or null for an HTTP proxy's refusal.
   */
  readonly reply: number | null;

  constructor(init: ProxyErrorInit) {
    if ("message" in init) {
      super(init.message);
      this.status = 0;
      this.reasonPhrase = "";
      this.headers = [];
      this.body = new Uint8Array(0);
      this.reply = init.reply;
      return;
    }
    super(`${init.status} ${init.reasonPhrase}`.trim());
    this.status = init.status;
    this.reasonPhrase = init.reasonPhrase;
    this.headers = init.headers;
    this.body = init.body;
    this.reply = null;
  }
}
// `instanceof ProxyError` holds across two installed copies of this package.
brandClass(ProxyError, "@x/proxy.ProxyError");
