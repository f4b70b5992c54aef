import type { HeaderList } from "@x/pool";

/**
 * `defaults` followed by `overrides`, leaving out each default whose name (compared
 * case-insensitively) the overrides also set: the override wins.
 *
 * @example
 * mergeHeaders([["Accept", "application/json"]], [["accept", "text/html"]]) // [["accept", "text/html"]]
 */
export function mergeHeaders(defaults: HeaderList, overrides: HeaderList): HeaderList {
  if (defaults.length === 0) return overrides;
  const overridden = new Set(overrides.map(([name]) => name.toLowerCase()));
  const out: HeaderList = [];
  for (const pair of defaults) if (!overridden.has(pair[0].toLowerCase())) out.push(pair);
  for (const pair of overrides) out.push(pair);
  return out;
}

/**
 * "Basic " + base64("user:pass"), the value of a Proxy-Authorization header.
 *
 * @example
 * basicAuth("user", "pass") // "Basic dXNlcjpwYXNz"
 */
export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}
