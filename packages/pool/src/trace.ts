import type { Request } from "./models.js";

/**
 * Runs `fn` between "<name>.started" and "<name>.complete" (or ".failed") trace events,
 * as httpcore's Trace does. Without a trace callback it only runs `fn`.
 *
 * @example
 * await traced("connection.connect_tcp", request, { host }, () => backend.connectTcp(host, port))
 */
export function traced<T>(
  name: string,
  request: Request | null,
  info: Record<string, unknown>,
  fn: () => Promise<T>,
): Promise<T> {
  const trace = request?.extensions.trace;
  // Without a trace callback this adds nothing, not even a promise.
  if (trace === undefined) return fn();
  return tracedWith(trace, name, info, fn);
}

async function tracedWith<T>(
  trace: NonNullable<Request["extensions"]["trace"]>,
  name: string,
  info: Record<string, unknown>,
  fn: () => Promise<T>,
): Promise<T> {
  await trace(`${name}.started`, info);
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    await trace(`${name}.failed`, { ...info, exception: error });
    throw error;
  }
  await trace(`${name}.complete`, { ...info, return_value: result });
  return result;
}
