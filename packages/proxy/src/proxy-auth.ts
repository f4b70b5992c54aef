// Answering a proxy's 407 challenges (proxyAuthScheme "digest" or "any"): nothing is sent
// until the proxy challenges, then the strongest challenge offered is answered, and kept, so
// that later requests and tunnels to the same proxy authenticate at once.
//
// One ProxyAuthenticator serves one HTTPProxy, shared by its forwarding connections and its
// tunnels. Its Digest state is the last challenge answered: realm, nonce, opaque, algorithm,
// a client nonce of its own, and the nonce count, which grows with every header built from
// it (requests in flight at once each get their own count). A challenge with the same nonce
// as the one kept keeps its count going (a count is never sent twice with a nonce).

import { randomBytes } from "node:crypto";
import {
  type HeaderList,
  LocalProtocolError,
  printable,
  type Request,
  type Response,
} from "@x/pool";
import { parseChallenges } from "./challenges.js";
import { type DigestAlgorithm, digestAlgorithm, digestAuthorization } from "./digest.js";
import { basicAuth } from "./headers.js";

/**
 * How an HTTPProxy authenticates to the proxy with its credentials:
 * - `"basic"` (default, as httpcore): `Proxy-Authorization: Basic …` with every request;
 * - `"digest"`: nothing until the proxy answers 407, then Digest (RFC 7616) only;
 * - `"any"`: nothing until challenged, then the strongest scheme offered: Digest SHA-256,
 *   then Digest MD5, then Basic. The password never crosses the wire in clear when the
 *   proxy offers Digest.
 *
 * @example
 * new HTTPProxy({ proxyUrl, proxyAuth: ["user", "pass"], proxyAuthScheme: "any" })
 */
export type ProxyAuthScheme = "basic" | "digest" | "any";

/**
 * Options of a ProxyAuthenticator.
 *
 * @example
 * new ProxyAuthenticator({ username: "user", password: "pass", scheme: "digest" })
 */
export interface ProxyAuthenticatorOptions {
  readonly username: string;
  readonly password: string;
  /** "digest" or "any" (see ProxyAuthScheme). */
  readonly scheme: "digest" | "any";
}

type Answer =
  | { readonly kind: "basic"; readonly value: string }
  | {
      readonly kind: "digest";
      readonly algorithm: DigestAlgorithm;
      readonly realm: string;
      readonly nonce: string;
      readonly opaque: string | undefined;
      readonly qop: "auth" | null;
      readonly userhash: boolean;
      readonly cnonce: string;
      nc: number;
    };

// Digest SHA-256 > Digest MD5 > Basic (the -sess variants rank with their hash).
function rank(answer: Answer): number {
  if (answer.kind === "basic") return 1;
  return answer.algorithm.startsWith("SHA-256") ? 3 : 2;
}

const UNSAFE = /[\0\r\n]/;

/**
 * True when `value` cannot go in a header field: it holds CR, LF or NUL.
 *
 * @example
 * unsafeHeaderValue("a\r\nX-Evil: 1") // true
 */
export function unsafeHeaderValue(value: string): boolean {
  return UNSAFE.test(value);
}

function credentialsError(message: string): TypeError & { code: string } {
  return Object.assign(new TypeError(message), { code: "ERR_INVALID_ARG_VALUE" });
}

/**
 * Answers a proxy's `407 Proxy Authentication Required` challenges with Digest (RFC 7616:
 * MD5, MD5-sess, SHA-256, SHA-256-sess, qop=auth, userhash, opaque) or, with scheme "any",
 * Basic when that is all the proxy offers. It keeps the last challenge it answered, so
 * later requests and tunnels send Proxy-Authorization at once, with a growing nonce count.
 * HTTPProxy makes one for `proxyAuthScheme: "digest"` or `"any"`; give one to a
 * ForwardHTTPConnection or a ConnectDialer of your own as `proxyAuthenticator`.
 *
 * The credentials are held privately: an authenticator prints as
 * `<ProxyAuthenticator [digest]>` and no message it makes contains them.
 *
 * @example
 * const auth = new ProxyAuthenticator({ username: "user", password: "pass", scheme: "digest" });
 * new ConnectDialer({ proxyOrigin, proxyAuthenticator: auth });
 */
export class ProxyAuthenticator {
  readonly scheme: "digest" | "any";
  readonly #username: string;
  readonly #password: string;
  #answer: Answer | null = null;
  // Requests (as the pool hands them out) that have had their one challenge answered.
  readonly #answered = new WeakSet<Request>();

  constructor(options: ProxyAuthenticatorOptions) {
    const { username, password, scheme } = options;
    if (typeof username !== "string" || typeof password !== "string") {
      throw credentialsError("the proxy credentials must be [username, password] strings");
    }
    if (unsafeHeaderValue(username) || unsafeHeaderValue(password) || username.includes(":")) {
      throw credentialsError(
        "proxy credentials must not contain CR, LF or NUL, nor a colon in the username",
      );
    }
    if (scheme !== "digest" && scheme !== "any") {
      throw credentialsError(`a ProxyAuthenticator's scheme is "digest" or "any"`);
    }
    this.scheme = scheme;
    this.#username = username;
    this.#password = password;
  }

  /**
   * Learns from a 407's headers: picks the strongest Proxy-Authenticate challenge this
   * authenticator may answer and keeps it for the requests that follow. True when there was
   * one; false (and nothing kept) when there was none — a Basic-only challenge with scheme
   * "digest", say, or Digest with an algorithm or qop this package does not answer.
   */
  learn(headers: HeaderList): boolean {
    const values: string[] = [];
    for (const [name, value] of headers) {
      if (name.toLowerCase() === "proxy-authenticate") values.push(value);
    }
    let best: Answer | null = null;
    for (const challenge of parseChallenges(values)) {
      let answer: Answer | null = null;
      if (challenge.scheme === "basic" && this.scheme === "any") {
        answer = { kind: "basic", value: basicAuth(this.#username, this.#password) };
      } else if (challenge.scheme === "digest") {
        const p = challenge.params;
        const algorithm = digestAlgorithm(p.get("algorithm"));
        const realm = p.get("realm");
        const nonce = p.get("nonce");
        const qops = p
          .get("qop")
          ?.split(",")
          .map((q) => q.trim().toLowerCase());
        if (algorithm === null || realm === undefined || nonce === undefined) continue;
        if (qops !== undefined && !qops.includes("auth")) continue; // auth-int only
        const kept = this.#answer;
        if (
          kept?.kind === "digest" &&
          kept.nonce === nonce &&
          kept.realm === realm &&
          kept.algorithm === algorithm
        ) {
          answer = kept; // the same nonce: its count goes on
        } else {
          answer = {
            kind: "digest",
            algorithm,
            realm,
            nonce,
            opaque: p.get("opaque"),
            qop: qops === undefined ? null : "auth",
            userhash: p.get("userhash")?.toLowerCase() === "true",
            cnonce: randomBytes(16).toString("hex"),
            nc: 0,
          };
        }
      }
      if (answer !== null && (best === null || rank(answer) > rank(best))) best = answer;
    }
    this.#answer = best;
    return best !== null;
  }

  /**
   * The Proxy-Authorization value for a request now (`method` and the request-target as
   * sent: an absolute URL when forwarding, `host:port` for CONNECT), built from the last
   * challenge learnt; undefined before any. Each Digest value takes the next nonce count.
   * A value holding CR, LF or NUL is refused with LocalProtocolError before it is sent.
   */
  authorization(method: string, uri: string): string | undefined {
    const answer = this.#answer;
    if (answer === null) return undefined;
    let value: string;
    if (answer.kind === "basic") {
      value = answer.value;
    } else {
      answer.nc++;
      value = digestAuthorization({
        algorithm: answer.algorithm,
        username: this.#username,
        password: this.#password,
        realm: answer.realm,
        nonce: answer.nonce,
        method,
        uri,
        qop: answer.qop,
        nc: answer.nc,
        cnonce: answer.cnonce,
        opaque: answer.opaque,
        userhash: answer.userhash,
      });
    }
    if (unsafeHeaderValue(value)) {
      throw new LocalProtocolError(
        "the Proxy-Authorization value built for the proxy's challenge holds CR, LF or NUL; it was not sent",
      );
    }
    return value;
  }

  /**
   * Claims `request`'s one answered challenge: true the first time for a request, false
   * after (its second 407 is the answer, never another try).
   */
  claimRetry(request: Request): boolean {
    if (this.#answered.has(request)) return false;
    this.#answered.add(request);
    return true;
  }

  toString(): string {
    return `<ProxyAuthenticator [${this.scheme}]>`;
  }

  toJSON(): { scheme: string } {
    return { scheme: this.scheme };
  }
}

printable(ProxyAuthenticator);

/** The most of a 407's body read to keep its connection for the retry. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * Reads a 407's body to its end (at most 64 KiB, else gives up) and closes it. True when it
 * was read to the end: its connection is then idle again, if the proxy keeps it alive.
 */
export async function drainChallenge(response: Response): Promise<boolean> {
  let length = 0;
  let ended = false;
  try {
    for await (const chunk of response) {
      length += chunk.length;
      if (length > DRAIN_LIMIT) break;
    }
    ended = length <= DRAIN_LIMIT;
  } catch {
    // A broken body: its connection is closed, and the retry takes another.
  }
  await response.close();
  return ended;
}
