export { createCA, type KeyPair, type TestCA, testCA } from "./ca.js";
export { copyPackages, type PackageCopies } from "./copies.js";
export {
  type AcceptedAuth,
  type ChallengeVerdict,
  type DigestChallengerOptions,
  digestChallenger,
  type OfferedScheme,
  type ProxyChallenger,
} from "./digest-challenger.js";
export {
  type H2Handler,
  type H2Origin,
  type H2OriginOptions,
  h2DefaultHandler,
  type SilentServer,
  startH2Origin,
  startSilentH2Server,
} from "./h2.js";
export {
  goawayFrame,
  type H2Peer,
  type H2PeerOptions,
  helloWorld,
  type PeerStream,
  startH2Peer,
} from "./h2-peer.js";
export {
  type Answer,
  answerEach,
  type ExtraSplit,
  type HostileHandler,
  type HostileName,
  hostileOrigins,
  neverHandshakes,
  okResponse,
} from "./hostile.js";
export { HELLO, info, text } from "./httpcore.js";
export { expectSocketsClosed, openSocketHandles } from "./leaks.js";
export {
  defaultHandler,
  type Handler,
  type Origin,
  type OriginOptions,
  startOrigin,
} from "./origin.js";
export {
  type ConnectBehaviour,
  type EmbeddedProxy,
  type ProxyLogEntry,
  type ProxyOptions,
  startProxy,
} from "./proxy.js";
export {
  onEachRequestHead,
  onRequestHead,
  type RawServer,
  type RawServerOptions,
  startRawServer,
} from "./raw.js";
export {
  DANTE_USER,
  type DanteOptions,
  type MicrosocksOptions,
  type RealH2o,
  type RealProxy,
  type SquidAuth,
  type SquidOptions,
  startDante,
  startH2o,
  startMicrosocks,
  startSquid,
  startTinyproxy,
  unavailable,
} from "./real-proxies.js";
export { SocketReader } from "./socket-reader.js";
export {
  type EmbeddedSocks,
  type SocksAuthEntry,
  type SocksBehaviour,
  type SocksLogEntry,
  type SocksServerOptions,
  startSocksServer,
} from "./socks.js";
