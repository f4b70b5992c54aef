// Proxy settings from the environment, read as curl reads them.

/** The environment to read: `process.env` or any record of strings. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Where a route from the environment came from: the variable's name and its value. */
export interface EnvSetting {
  readonly variable: string;
  readonly value: string;
}

/** The proxy settings of an environment, variable by variable (unset ones absent). */
export interface EnvProxies {
  /** `http_proxy` (lower case only). */
  readonly http?: EnvSetting;
  /** `https_proxy`, else `HTTPS_PROXY`. */
  readonly https?: EnvSetting;
  /** `all_proxy`, else `ALL_PROXY`: for schemes without a proxy of their own. */
  readonly all?: EnvSetting;
  /** `no_proxy`, else `NO_PROXY`. */
  readonly noProxy?: EnvSetting;
}

// The first of the names that is set and not empty (curl treats an empty one as unset).
function first(env: Environment, ...names: string[]): EnvSetting | undefined {
  for (const variable of names) {
    const value = env[variable];
    if (typeof value === "string" && value !== "") return { variable, value };
  }
  return undefined;
}

/**
 * Reads the proxy variables as curl does: `http_proxy` in lower case only (the upper-case
 * `HTTP_PROXY` is ignored: a CGI program gets it from a request's `Proxy:` header, the
 * "httpoxy" attack), `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` in either case with the
 * lower-case one winning, and an empty variable counting as unset.
 */
export function readEnvProxies(env: Environment): EnvProxies {
  const http = first(env, "http_proxy");
  const https = first(env, "https_proxy", "HTTPS_PROXY");
  const all = first(env, "all_proxy", "ALL_PROXY");
  const noProxy = first(env, "no_proxy", "NO_PROXY");
  return {
    ...(http && { http }),
    ...(https && { https }),
    ...(all && { all }),
    ...(noProxy && { noProxy }),
  };
}

/** A proxy variable's value as a URL: one without a scheme means `http://`. */
export function proxyUrlFromEnv(value: string): string {
  return value.includes("://") ? value : `http://${value}`;
}
