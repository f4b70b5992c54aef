export { PROXY_ERROR_BODY_LIMIT, ProxyError, type ProxyErrorInit } from "./errors.js";
export { ForwardHTTPConnection, type ForwardHTTPConnectionOptions } from "./forward.js";
export { basicAuth, mergeHeaders } from "./headers.js";
export { HTTPProxy, type HTTPProxyOptions } from "./http-proxy.js";
export {
  type NoProxy,
  type NoProxyDescription,
  type NoProxyEntry,
  type NoProxySkipped,
  parseNoProxy,
} from "./no-proxy.js";
export {
  ProxyAuthenticator,
  type ProxyAuthenticatorOptions,
  type ProxyAuthScheme,
} from "./proxy-auth.js";
export { ProxyRouter, type ProxyRouterOptions, type ProxyRoutes } from "./router.js";
export {
  SOCKS_SCHEMES,
  SOCKSConnection,
  type SOCKSConnectionOptions,
  SOCKSDialer,
  type SOCKSDialerOptions,
  type SOCKSVersion,
} from "./socks.js";
export { SOCKSProxy, type SOCKSProxyOptions } from "./socks-proxy.js";
export {
  ConnectDialer,
  type ConnectDialerOptions,
  TunnelHTTPConnection,
  type TunnelHTTPConnectionOptions,
} from "./tunnel.js";
