// `instanceof` across copies of a package. Installed twice (two versions, or one bundled and
// one not), a package has two copies of each class, and an error made by one copy is not
// `instanceof` the other's class. A brand fixes that: a symbol from the global registry,
// `Symbol.for(key)`, the same in every copy, marks the class's prototype (so every instance
// of it and of its subclasses carries it), and the class's `Symbol.hasInstance` looks for
// the mark instead of for the prototype.

const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];

/**
 * Makes `instanceof cls` true for instances of every copy of `cls` branded with the same
 * `key` (a name unique to the class, e.g. "@my/lib.ParseError"), and of their subclasses,
 * for when a package is installed more than once. A class that extends `cls` and is not
 * branded itself keeps the ordinary `instanceof` (its instances still carry `cls`'s brand).
 * Call it once per class, right after the class (not in a `static {}` block: a class that
 * names itself inside its body may be renamed by bundlers, `_ParseError`, and its `name`
 * with it). It costs nothing per instance, and an `instanceof cls` one property lookup.
 *
 * @example
 * export class ParseError extends Error {}
 * brandClass(ParseError, "@my/lib.ParseError");
 * // otherCopy.parse("<") throws another copy's ParseError: `e instanceof ParseError` is true
 */
export function brandClass(cls: abstract new (...args: never[]) => object, key: string): void {
  const brand = Symbol.for(key);
  Object.defineProperty(cls.prototype, brand, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value: function hasInstance(this: unknown, value: unknown): boolean {
      // Inherited by a subclass that has no brand of its own: the ordinary check for it.
      if (this !== cls) return ordinaryHasInstance.call(this, value);
      return (
        typeof value === "object" &&
        value !== null &&
        (value as { [brand]?: unknown })[brand] === true
      );
    },
  });
}
