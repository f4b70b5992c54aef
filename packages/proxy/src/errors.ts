import { brandClass } from "@x/h11";
import { type HeaderList, TransportError } from "@x/pool";

/**
 * Fields of a ProxyError.
 *
 * @example
 * new ProxyError({ status: 407, reasonPhrase: "Proxy Authentication Required", headers: [], body: new Uint8Array() })
 */
export interface ProxyErrorInit {
  readonly status: number;
  readonly reasonPhrase: string;
  readonly headers: HeaderList;
  readonly body: Uint8Array;
}

/**
 * At most this much of a refusing proxy's body is kept on the error.
 *
 * @example
 * if (error.body.length === PROXY_ERROR_BODY_LIMIT) console.log("the refusal was longer; truncated")
 */
export const PROXY_ERROR_BODY_LIMIT: number = 64 * 1024;

/**
 * The proxy refused to open a tunnel (a non-2xx answer to CONNECT). The message is the
 * status line, e.g. "407 Proxy Authentication Required"; check `proxyAuth` for 407.
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

  constructor(init: ProxyErrorInit) {
    super(`${init.status} ${init.reasonPhrase}`.trim());
    this.status = init.status;
    this.reasonPhrase = init.reasonPhrase;
    this.headers = init.headers;
    this.body = init.body;
  }
}
// `instanceof ProxyError` holds across two installed copies of this package.
brandClass(ProxyError, "@x/proxy.ProxyError");
