// `pnpm --filter @x/bench dispatch-ab`: the dispatcher alone, without fetch: `dispatch()`
// with the smallest handler of the older API (the one fetch, request() and stream() use),
// through @x/undici's PoolDispatcher and through undici's own Agent, 50 connections, 100
// in flight, rounds alternating in one process (the order reversed every other round).
// fetch's own work is most of a fetch's CPU time; without it, what the two dispatchers
// cost shows plainly. Prints each one's median rate, the median of its per-round ratios to
// the Agent and its client CPU time per request. AB_PATH (/small), AB_ROUNDS (12), AB_N
// (20000 requests a round).
import { dispatcherFor, keepBusy, pairedRounds } from "./fetch-load.mjs";
import { startServer } from "./server-process.mjs";

const path = process.env.AB_PATH ?? "/small";
const rounds = Number(process.env.AB_ROUNDS ?? 12);
const n = Number(process.env.AB_N ?? 20000);
const server = await startServer();
const origin = `http://127.0.0.1:${server.ports.httpPort}`;
// The fields fetch sends.
const headers = {
  accept: "*/*",
  "accept-language": "*",
  "sec-fetch-mode": "cors",
  "user-agent": "node",
  "accept-encoding": "gzip, deflate",
};

// One request; its header names and values read as strings, as fetch reads them.
function one(dispatcher) {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    dispatcher.dispatch(
      { origin, path, method: "GET", headers },
      {
        onConnect() {},
        onHeaders(_status, raw) {
          for (const field of raw) field.toString("latin1");
          return true;
        },
        onData(chunk) {
          bytes += chunk.length;
          return true;
        },
        onComplete() {
          resolve(bytes);
        },
        onError: reject,
      },
    );
  });
}

const many = (dispatcher, count) => keepBusy(count, () => one(dispatcher));

const dispatchers = {
  PoolDispatcher: dispatcherFor("pool"),
  "undici Agent": dispatcherFor("agent"),
};
for (const d of Object.values(dispatchers)) await many(d, 5000);
await pairedRounds(dispatchers, {
  rounds,
  n,
  run: many,
  reference: "undici Agent",
  label: "dispatch(): ",
  unit: "request",
});
for (const d of Object.values(dispatchers)) await d.close();
server.stop();
process.exit(0);
