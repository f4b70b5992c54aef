// A vitest setup file (each package's vitest.config.ts lists it in `setupFiles`): after
// every test, the sockets it opened must all be closed, client and server ends alike.
// Sockets open before the test (a server's, a pool's kept across tests) do not count.
// Its hooks run before each file's own beforeEach and after each file's own afterEach
// (vitest runs after-hooks in reverse order), so a file's afterEach that closes its servers
// runs before the check.

import { afterEach, beforeEach } from "vitest";
import { expectSocketsClosed, openSocketHandles } from "./leaks.js";

let baseline = 0;

beforeEach(() => {
  baseline = openSocketHandles();
});

afterEach(async () => {
  await expectSocketsClosed(baseline, 5000);
});
