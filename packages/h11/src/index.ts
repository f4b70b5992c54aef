export { brandClass } from "./brand.js";
export {
  Connection,
  type ConnectionOptions,
  DEFAULT_MAX_INCOMPLETE_EVENT_SIZE,
  type LenientOptions,
} from "./connection.js";
export { LocalProtocolError, ProtocolError, RemoteProtocolError } from "./errors.js";
export {
  type ConnectionClosed,
  type Data,
  type EndOfMessage,
  type Event,
  type Headers,
  type InformationalResponse,
  NEED_DATA,
  type NeedData,
  PAUSED,
  type Paused,
  type Request,
  type Response,
} from "./events.js";
export { isValidHeaderName, isValidHeaderValue } from "./headers.js";
export {
  CLIENT,
  CLOSED,
  DONE,
  ERROR,
  IDLE,
  MIGHT_SWITCH_PROTOCOL,
  MUST_CLOSE,
  type Role,
  SEND_BODY,
  SEND_RESPONSE,
  SERVER,
  type State,
  SWITCHED_PROTOCOL,
} from "./state.js";
