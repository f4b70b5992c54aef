/**
 * @internal A promise already resolved, shared. Functions that had nothing to wait for (a
 * close of a finished body, a write the socket took at once) return it, and callers that
 * get it go on at once instead of waiting a turn of the microtask queue.
 */
export const SETTLED: Promise<void> = Promise.resolve();

/**
 * @internal `value` once `pending` is done: at once (no promise) when `pending` is SETTLED,
 * else a promise of it.
 */
export function afterSettled<T>(pending: Promise<void>, value: T): T | Promise<T> {
  return pending === SETTLED ? value : pending.then(() => value);
}
