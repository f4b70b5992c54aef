export { ProxyAgent, type ProxyAgentOptions } from "./proxy-agent.js";
