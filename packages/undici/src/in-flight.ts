// InFlight: the exchanges a dispatcher has in flight, for close() and destroy().
//
// A slot array with a free list rather than a Set. A Set rebuilds its table as entries come
// and go, and every table it leaves behind, once the collector has moved it to the old
// generation, still holds the exchanges it held then: until the next full collection they
// (and their requests, responses and handlers) stay reachable from it, and each scavenge
// copies them. With 100 requests in flight that kept ~2 MB of finished exchanges alive
// through every scavenge and made each several times slower (tooling/bench/README.md,
// "What the collector kept"). A slot is emptied when its exchange settles, and the array is
// replaced only when it grows past the most ever in flight at once.

/** What InFlight keeps: anything with a `slot` field of its own for InFlight to use. */
export interface Slotted {
  slot: number;
}

/**
 * A set of items with O(1) add and delete that leaves no table behind as items come and go.
 *
 * @example
 * const inFlight = new InFlight<Exchange>(); inFlight.add(exchange); inFlight.delete(exchange);
 */
export class InFlight<T extends Slotted> {
  readonly #slots: Array<T | null> = [];
  readonly #free: number[] = [];
  #size = 0;

  /** How many items are in it. */
  get size(): number {
    return this.#size;
  }

  /** Adds `item` (which must not be in an InFlight already). */
  add(item: T): void {
    const slot = this.#free.length > 0 ? this.#free.pop()! : this.#slots.length;
    this.#slots[slot] = item;
    item.slot = slot;
    this.#size++;
  }

  /** Removes `item`; does nothing when it is not in this one. */
  delete(item: T): void {
    const slot = item.slot;
    if (slot < 0 || this.#slots[slot] !== item) return;
    this.#slots[slot] = null;
    item.slot = -1;
    this.#free.push(slot);
    this.#size--;
  }

  /** The items in it now, as a new array (so that the caller may delete while it walks it). */
  items(): T[] {
    const out: T[] = [];
    for (const item of this.#slots) if (item !== null) out.push(item);
    return out;
  }
}
