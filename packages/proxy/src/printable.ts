import { inspect } from "node:util";

/** Makes `console.log` and `util.inspect` print instances of `cls` as their `toString()`. */
export function printable(cls: { prototype: object }): void {
  Object.defineProperty(cls.prototype, inspect.custom, {
    value(this: object): string {
      return this.toString();
    },
    configurable: true,
    writable: true,
  });
}
