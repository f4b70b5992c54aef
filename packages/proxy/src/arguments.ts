// Checks on the arguments of this package's constructors, shared by the proxies.

/** A TypeError with Node's `code` for a bad argument value. */
export function argumentError(message: string): TypeError & { code: string } {
  return Object.assign(new TypeError(message), { code: "ERR_INVALID_ARG_VALUE" });
}

/** Percent-decodes a proxy URL's username or password (`what` names it in the error). */
export function decodeUserinfo(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw argumentError(`the proxy URL's ${what} is not valid percent-encoding`);
  }
}
