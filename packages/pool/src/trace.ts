import type { Request } from "./models.js";

/**
 * Runs `fn` between "<name>.started" and "<name>.complete" (or ".failed") trace events,
 * as httpcore's Trace does. Without a trace callback it only runs `fn`.
 */
export async function traced<T>(
  name: string,
  request: Request | null,
  info: Record<string, unknown>,
  fn: () => Promise<T>,
): Promise<T> {
  const trace = request?.extensions.trace;
  if (trace === undefined) return fn();
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
