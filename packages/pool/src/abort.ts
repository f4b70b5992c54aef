// One 'abort' listener per AbortSignal, however many requests watch it: a signal shared by
// many concurrent requests would otherwise collect a listener for each (and Node's
// MaxListenersExceededWarning past ten). The listener goes when its last watch stops.

interface Watch {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

const watches = new WeakMap<AbortSignal, Watch>();

/**
 * Calls `onAbort` once when `signal` aborts, until the returned function is called (which
 * stops the watch; calling it again does nothing).
 */
export function watchAbort(signal: AbortSignal, onAbort: () => void): () => void {
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
    signal.addEventListener("abort", listener, { once: true });
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
