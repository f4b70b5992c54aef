// One 'abort' listener per AbortSignal, however many requests watch it: a signal shared by
// many concurrent requests would otherwise collect a listener for each (and Node's
// MaxListenersExceededWarning past ten). The listener goes when its last watch stops.
// Any other AbortSignalLike (no EventTarget behind it, so no such warning) gets a listener
// per watch, without the bookkeeping: the cheap case of a signal made for one request.

/**
 * What the pool reads of an AbortSignal, and all it reads: `aborted`, `reason`, and
 * 'abort' listeners, added and removed (at most two at once for one request). Every
 * AbortSignal is one; so is any object that keeps these promises (calls each listener once,
 * when it aborts, and never after). Cheaper to make than a real AbortSignal, which an
 * adapter making one per request feels.
 *
 * @example
 * await pool.request("GET", url, { signal: AbortSignal.timeout(5000) })
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

interface Watch {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

const watches = new WeakMap<AbortSignalLike, Watch>();
const ONCE = { once: true } as const;

/**
 * Calls `onAbort` once when `signal` aborts, until the returned function is called (which
 * stops the watch; calling it again does nothing).
 */
export function watchAbort(signal: AbortSignalLike, onAbort: () => void): () => void {
  if (!(signal instanceof EventTarget)) return watchDirectly(signal, onAbort);
  let watch = watches.get(signal);
  if (watch === undefined) {
    const callbacks = new Set<() => void>();
    const listener = (): void => {
      watches.delete(signal);
      for (const callback of callbacks) callback();
      callbacks.clear();
    };
    watch = { callbacks, listener };
    watches.set(signal, watch);
    signal.addEventListener("abort", listener, ONCE);
  }
  const { callbacks, listener } = watch;
  // A function of its own per watch, so that one callback can watch twice and stop once.
  const entry = (): void => onAbort();
  callbacks.add(entry);
  return () => {
    if (!callbacks.delete(entry) || callbacks.size > 0) return;
    if (watches.get(signal)?.callbacks === callbacks) {
      watches.delete(signal);
      signal.removeEventListener("abort", listener);
    }
  };
}

// watchAbort for a signal that is not an EventTarget: a listener of its own for each watch
// (a function of its own, so that one callback can watch twice and stop once).
function watchDirectly(signal: AbortSignalLike, onAbort: () => void): () => void {
  let stopped = false;
  const listener = (): void => {
    if (!stopped) onAbort();
  };
  signal.addEventListener("abort", listener);
  return () => {
    stopped = true;
    signal.removeEventListener("abort", listener);
  };
}

/**
 * A real AbortSignal that aborts with `like`, for code that needs one (`fetch`, node:net,
 * `AbortSignal.any()`); an AbortSignal is returned as it is.
 *
 * @example
 * await fetch(url, { signal: toAbortSignal(request.signal) })
 */
export function toAbortSignal(like: AbortSignalLike): AbortSignal {
  if (like instanceof AbortSignal) return like;
  const controller = new AbortController();
  if (like.aborted) controller.abort(like.reason);
  else like.addEventListener("abort", () => controller.abort(like.reason), { once: true });
  return controller.signal;
}
