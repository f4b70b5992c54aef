// Shared by the tests of this folder (and of test/httpcore).

/** The error `make` throws (or undefined). */
export function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}
