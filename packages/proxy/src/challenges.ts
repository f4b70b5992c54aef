// Parsing Proxy-Authenticate (RFC 9110 §11.6.1 and §11.7.1): one field, or several, each a
// comma-separated list of challenges, each a scheme followed by either a token68 or a list
// of auth-params whose values are tokens or quoted-strings (with backslash escapes).
//
//   Proxy-Authenticate: Basic realm="proxy", Digest realm="proxy", nonce="a\"b", qop="auth"
//
// A challenge that cannot be read (a stray character) ends the parse of its field: the
// challenges read before it are kept, and later fields are parsed on their own.

/**
 * One authentication challenge: the scheme in lower case, and either its auth-params (names
 * in lower case, values unquoted; the first of a repeated name wins) or its token68.
 *
 * @example
 * parseChallenges(['Digest realm="p", nonce="n"'])[0] // { scheme: "digest", params: Map { realm → p, nonce → n } }
 */
export interface Challenge {
  readonly scheme: string;
  readonly params: ReadonlyMap<string, string>;
  readonly token68?: string;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const TOKEN68 = /[A-Za-z0-9._~+/-]+=*/y;
const OWS = /[ \t]*/y;

class Scanner {
  readonly #text: string;
  position = 0;

  constructor(text: string) {
    this.#text = text;
  }

  get done(): boolean {
    return this.position >= this.#text.length;
  }

  peek(): string {
    return this.#text[this.position] ?? "";
  }

  match(pattern: RegExp): string | null {
    pattern.lastIndex = this.position;
    const m = pattern.exec(this.#text);
    if (m === null) return null;
    this.position = pattern.lastIndex;
    return m[0];
  }

  skipSpace(): void {
    this.match(OWS);
  }

  // Commas and spaces between list elements (empty elements are allowed).
  skipSeparators(): boolean {
    let comma = false;
    for (;;) {
      this.skipSpace();
      if (this.peek() !== ",") return comma;
      comma = true;
      this.position++;
    }
  }

  quotedString(): string | null {
    if (this.peek() !== '"') return null;
    let out = "";
    for (let i = this.position + 1; i < this.#text.length; i++) {
      const c = this.#text[i]!;
      if (c === '"') {
        this.position = i + 1;
        return out;
      }
      if (c === "\\") {
        i++;
        if (i >= this.#text.length) return null;
        out += this.#text[i];
      } else {
        out += c;
      }
    }
    return null; // unterminated
  }

  // `name = value` at the current position, or null (and the position unchanged).
  param(): [string, string] | null {
    const start = this.position;
    const name = this.match(TOKEN);
    if (name !== null) {
      this.skipSpace();
      if (this.peek() === "=") {
        this.position++;
        this.skipSpace();
        const value = this.peek() === '"' ? this.quotedString() : this.match(TOKEN);
        if (value !== null) return [name.toLowerCase(), value];
      }
    }
    this.position = start;
    return null;
  }

  // A token68 that is the whole of its list element, or null (and the position unchanged).
  token68(): string | null {
    const start = this.position;
    const value = this.match(TOKEN68);
    if (value !== null) {
      this.skipSpace();
      if (this.done || this.peek() === ",") return value;
    }
    this.position = start;
    return null;
  }
}

function parseField(text: string, out: Challenge[]): void {
  const s = new Scanner(text);
  s.skipSeparators();
  while (!s.done) {
    const scheme = s.match(TOKEN);
    if (scheme === null) return; // unreadable: keep what was read
    const params = new Map<string, string>();
    let token68: string | undefined;
    const spaced = s.match(OWS) !== "";
    if (spaced && !s.done && s.peek() !== ",") {
      const first = s.param();
      if (first === null) {
        const t = s.token68();
        if (t === null) {
          // Not a param, not a token68: a malformed challenge. Keep it, without params.
          out.push({ scheme: scheme.toLowerCase(), params });
          return;
        }
        token68 = t;
      } else {
        params.set(first[0], first[1]);
      }
    }
    // More params, each after a comma; a token not followed by "=" starts the next challenge.
    for (;;) {
      if (!s.skipSeparators()) break;
      if (token68 !== undefined) break;
      const next = s.param();
      if (next === null) break;
      if (!params.has(next[0])) params.set(next[0], next[1]);
    }
    out.push({
      scheme: scheme.toLowerCase(),
      params,
      ...(token68 === undefined ? {} : { token68 }),
    });
    s.skipSeparators();
  }
}

/**
 * The challenges in the values of one or more Proxy-Authenticate (or WWW-Authenticate)
 * fields, in the order they were offered.
 *
 * @example
 * parseChallenges(['Basic realm="x", Digest realm="x", nonce="abc", algorithm=SHA-256'])
 *   .map((c) => c.scheme) // ["basic", "digest"]
 */
export function parseChallenges(values: readonly string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const value of values) parseField(value, out);
  return out;
}
