// A proxy-side authenticator for the embedded proxy (`startProxy({ challenger })`): it
// challenges with Digest (RFC 7616: MD5, MD5-sess, SHA-256, SHA-256-sess, userhash,
// opaque, qop=auth, stale=true) and/or Basic, and checks each answer independently of the
// client under test: the response hash, the nonce it issued, a nonce count never seen
// before with that nonce, the uri against the request-target, opaque and the algorithm.

import { createHash, randomBytes } from "node:crypto";
import type { Headers } from "@x/h11";

export type OfferedScheme = "MD5" | "MD5-sess" | "SHA-256" | "SHA-256-sess" | "Basic";

export interface DigestChallengerOptions {
  /** username → password. */
  readonly users: Readonly<Record<string, string>>;
  /** The challenges offered, in this order (default ["SHA-256"]). */
  readonly offer?: readonly OfferedScheme[];
  readonly realm?: string;
  /** Each Digest challenge says userhash=true, and only hashed usernames are accepted. */
  readonly userhash?: boolean;
  /** Offer qop="auth" (default true); false offers none (RFC 2069's digest). */
  readonly qop?: boolean;
  /**
   * A nonce serves this many requests; the next one that uses it, correctly answered, is
   * refused with a new nonce and stale=true (default: never stale).
   */
  readonly staleAfter?: number;
  /** Each challenge comes in a field of its own (default), or all in one field. */
  readonly oneField?: boolean;
  /** The 407 says Connection: close (and the proxy closes the connection). */
  readonly closeAfter407?: boolean;
}

/** What the embedded proxy does with a request: let it through, or refuse it with a 407. */
export type ChallengeVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly headers: Array<[string, string]>; readonly close: boolean };

export interface AcceptedAuth {
  readonly scheme: "Basic" | "Digest";
  readonly username: string;
  readonly algorithm?: string;
  readonly nc?: number;
  readonly userhash?: boolean;
  readonly nonce?: string;
}

export interface ProxyChallenger {
  check(method: string, target: string, headers: Headers): ChallengeVerdict;
  /** The answers accepted, in order. */
  readonly accepted: AcceptedAuth[];
  /** Why each refused answer was refused ("none" when there was no answer). */
  readonly refusals: string[];
  /** The 407s that said stale=true. */
  readonly staleSent: number;
}

function hex(algorithm: string, text: Buffer | string): string {
  const name = algorithm.toUpperCase().startsWith("SHA-256") ? "sha256" : "md5";
  return createHash(name).update(text).digest("hex");
}

// The auth-params of a Digest credentials value (name → unquoted value).
function parseParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z0-9*_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*(?:,|$)/gy;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "");
    params.set(m[1]!.toLowerCase(), value);
    if (re.lastIndex >= text.length) break;
  }
  return params;
}

function decodeExtValue(value: string): string | null {
  const m = /^UTF-8''(.*)$/i.exec(value);
  if (m === null) return null;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
}

/** A challenger for `startProxy({ challenger })`. */
export function digestChallenger(options: DigestChallengerOptions): ProxyChallenger {
  const offer = options.offer ?? ["SHA-256"];
  const realm = options.realm ?? "testkit-digest";
  const qop = options.qop ?? true;
  const opaque = randomBytes(12).toString("base64");
  // nonce → the counts seen with it, and how many requests it served.
  const nonces = new Map<string, { seen: Set<number>; uses: number }>();
  const accepted: AcceptedAuth[] = [];
  const refusals: string[] = [];
  let staleSent = 0;
  const utf8 = new TextDecoder("utf-8", { fatal: true });

  const challenge = (stale: boolean): Array<[string, string]> => {
    const nonce = randomBytes(18).toString("base64");
    nonces.set(nonce, { seen: new Set(), uses: 0 });
    const values = offer.map((scheme) => {
      if (scheme === "Basic") return `Basic realm="${realm}"`;
      const parts = [
        `realm="${realm}"`,
        ...(qop ? [`qop="auth"`] : []),
        `algorithm=${scheme}`,
        `nonce="${nonce}"`,
        `opaque="${opaque}"`,
        ...(options.userhash ? ["userhash=true"] : []),
        ...(stale ? ["stale=true"] : []),
      ];
      return `Digest ${parts.join(", ")}`;
    });
    const fields = options.oneField ? [values.join(", ")] : values;
    return fields.map((v): [string, string] => ["Proxy-Authenticate", v]);
  };

  const refuse = (why: string, stale = false): ChallengeVerdict => {
    refusals.push(why);
    if (stale) staleSent++;
    const headers = challenge(stale);
    if (options.closeAfter407) headers.push(["Connection", "close"]);
    return { ok: false, headers, close: options.closeAfter407 ?? false };
  };

  const checkBasic = (token: string): ChallengeVerdict => {
    if (!offer.includes("Basic")) return refuse("Basic was not offered");
    let pair: string;
    try {
      pair = utf8.decode(Buffer.from(token, "base64"));
    } catch {
      return refuse("Basic: not UTF-8");
    }
    const colon = pair.indexOf(":");
    const username = pair.slice(0, colon);
    if (colon < 0 || options.users[username] !== pair.slice(colon + 1)) {
      return refuse("Basic: wrong credentials");
    }
    accepted.push({ scheme: "Basic", username });
    return { ok: true };
  };

  const checkDigest = (method: string, target: string, text: string): ChallengeVerdict => {
    const p = parseParams(text);
    const algorithm = p.get("algorithm") ?? "MD5";
    if (!offer.some((o) => o !== "Basic" && o.toLowerCase() === algorithm.toLowerCase())) {
      return refuse(`Digest: algorithm ${algorithm} was not offered`);
    }
    if (p.get("realm") !== realm) return refuse("Digest: wrong realm");
    if (p.get("opaque") !== opaque) return refuse("Digest: opaque not echoed");
    if (p.get("uri") !== target) return refuse(`Digest: uri ${p.get("uri")} is not ${target}`);
    const nonce = p.get("nonce") ?? "";
    const state = nonces.get(nonce);
    if (state === undefined) return refuse("Digest: unknown nonce");
    const userhash = p.get("userhash") === "true";
    if (Boolean(options.userhash) !== userhash) return refuse("Digest: userhash mismatch");
    let username: string | undefined;
    if (userhash) {
      const sent = p.get("username");
      username = Object.keys(options.users).find((u) => hex(algorithm, `${u}:${realm}`) === sent);
    } else if (p.has("username*")) {
      username = decodeExtValue(p.get("username*")!) ?? undefined;
    } else {
      username = p.get("username");
    }
    const password = username === undefined ? undefined : options.users[username];
    if (username === undefined || password === undefined) return refuse("Digest: unknown user");
    const cnonce = p.get("cnonce") ?? "";
    const ncText = p.get("nc") ?? "";
    let ha1 = hex(algorithm, Buffer.from(`${username}:${realm}:${password}`, "utf8"));
    if (algorithm.toLowerCase().endsWith("-sess"))
      ha1 = hex(algorithm, `${ha1}:${nonce}:${cnonce}`);
    const ha2 = hex(algorithm, `${method}:${target}`);
    let nc: number | undefined;
    let expected: string;
    if (qop) {
      if (p.get("qop") !== "auth" || !/^[0-9a-f]{8}$/i.test(ncText) || cnonce === "") {
        return refuse("Digest: qop=auth, nc and cnonce are required");
      }
      nc = Number.parseInt(ncText, 16);
      if (state.seen.has(nc)) return refuse(`Digest: nonce count ${nc} was used before`);
      expected = hex(algorithm, `${ha1}:${nonce}:${ncText}:${cnonce}:auth:${ha2}`);
    } else {
      expected = hex(algorithm, `${ha1}:${nonce}:${ha2}`);
    }
    if (p.get("response") !== expected) return refuse("Digest: wrong response");
    if (nc !== undefined) state.seen.add(nc);
    if (options.staleAfter !== undefined && state.uses >= options.staleAfter) {
      return refuse("Digest: stale nonce", true);
    }
    state.uses++;
    accepted.push({
      scheme: "Digest",
      username,
      algorithm,
      userhash,
      nonce,
      ...(nc ? { nc } : {}),
    });
    return { ok: true };
  };

  return {
    accepted,
    refusals,
    get staleSent() {
      return staleSent;
    },
    check(method, target, headers) {
      let value: string | undefined;
      for (const [k, v] of headers) if (k.toLowerCase() === "proxy-authorization") value = v;
      if (value === undefined) return refuse("none");
      const m = /^(\S+)\s+(.*)$/.exec(value);
      const scheme = m?.[1]?.toLowerCase();
      if (scheme === "basic") return checkBasic(m![2]!.trim());
      if (scheme === "digest") return checkDigest(method, target, m![2]!);
      return refuse(`unknown scheme ${scheme}`);
    },
  };
}
