export type {
  AnyHandler,
  DispatchInput,
  Exchange,
  StreamingPool,
  StreamOptions,
} from "./exchange.js";
export { type DispatchablePool, PoolDispatcher } from "./pool-dispatcher.js";
