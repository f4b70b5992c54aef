import { h11Demo } from "./h11-demo.mjs";

console.log("== @x/h11: a request to a loopback server, event by event");
await h11Demo();
