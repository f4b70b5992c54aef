export type { AnyHandler, DispatchInput, Exchange, StreamingPool } from "./exchange.js";
export { type DispatchablePool, PoolDispatcher } from "./pool-dispatcher.js";
