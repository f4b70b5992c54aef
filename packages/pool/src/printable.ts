import { inspect } from "node:util";

/**
 * Makes `console.log` and `util.inspect` print instances of `cls` as their `toString()`, as
 * the pool's connections print (for connection classes of your own).
 *
 * @example
 * class MyConnection { toString() { return "<MyConnection [IDLE]>" } }
 * printable(MyConnection);
 */
export function printable(cls: { prototype: object }): void {
  Object.defineProperty(cls.prototype, inspect.custom, {
    value(this: object): string {
      return this.toString();
    },
    configurable: true,
    writable: true,
  });
}
