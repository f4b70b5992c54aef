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
  // The listeners in the order added: the first in a field of its own, the others (a
  // request has one or two at once) in an array made when a second comes.
  #first: (() => void) | null = null;
  #others: Array<() => void> | null = null;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  addEventListener(_type: "abort", listener: () => void): void {
    if (this.#aborted || listener === this.#first) return;
    if (this.#first === null) this.#first = listener;
    else if (this.#others === null) this.#others = [listener];
    else if (!this.#others.includes(listener)) this.#others.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const others = this.#others;
    if (listener === this.#first) {
      // The oldest of the others takes its place (the array, once made, stays, if empty).
      this.#first = others !== null && others.length > 0 ? others.shift()! : null;
      return;
    }
    if (others === null) return;
    const at = others.indexOf(listener);
    if (at === -1) return;
    // In place (splice would make an array of the one removed).
    for (let i = at + 1; i < others.length; i++) others[i - 1] = others[i]!;
    others.length--;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const first = this.#first;
    const others = this.#others;
    this.#first = null;
    this.#others = null;
    if (first !== null) call(first);
    if (others !== null) for (const listener of others) call(listener);
  }
}

// A listener that throws is reported as an uncaught exception, without stopping the others.
function call(listener: () => void): void {
  try {
    listener();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
