import type { AbortSignalLike } from "@x/pool";

/**
 * The abort the pool watches for one exchange: an AbortSignalLike, which is all a pool of
 * this project reads of a signal. On Node 20 a real AbortSignal costs about as much as the
 * rest of a small request's bookkeeping (building one, then adding and removing its
 * listener); this costs an object and an array.
 *
 * As an AbortSignal does, it calls each listener once, in the order added, when it aborts,
 * and a listener that throws is reported as an uncaught exception without stopping the
 * others.
 */
export class AbortFlag implements AbortSignalLike {
  #aborted = false;
  #reason: unknown;
  #listeners: Array<() => void> = [];

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  addEventListener(_type: "abort", listener: () => void): void {
    if (!this.#aborted && !this.#listeners.includes(listener)) this.#listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const at = this.#listeners.indexOf(listener);
    if (at !== -1) this.#listeners.splice(at, 1);
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
