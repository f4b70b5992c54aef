import { Connection, NEED_DATA } from "@x/h11";

const json = JSON.stringify({
  id: 12345,
  name: "widget",
  tags: ["a", "b", "c"],
  price: 9.99,
  stock: true,
});
const SMALL = Buffer.from(
  "HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 06:00:00 GMT\r\nServer: bench\r\nContent-Type: application/json; charset=utf-8\r\n" +
    `Cache-Control: no-cache\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: ${json.length}\r\n\r\n${json}`,
  "latin1",
);
const REQUEST = { type: "Request", method: "GET", target: "/", headers: [["Host", "bench"]] };
const EOM = { type: "EndOfMessage" };
const N = 1_000_000;
function time(name, f) {
  f(N / 10);
  const t = performance.now();
  f(N);
  console.log(name.padEnd(28), (((performance.now() - t) / N) * 1e3).toFixed(3), "us");
}
time("new Connection", (n) => {
  for (let i = 0; i < n; i++) new Connection("client");
});
time("send req+eom (fresh conn)", (n) => {
  for (let i = 0; i < n; i++) {
    const c = new Connection("client");
    c.send(REQUEST);
    c.send(EOM);
  }
});
time("parse only (fresh conn)", (n) => {
  for (let i = 0; i < n; i++) {
    const c = new Connection("client");
    c.receiveData(SMALL);
    for (let ev = c.nextEvent(); ev !== NEED_DATA; ev = c.nextEvent())
      if (ev.type === "EndOfMessage") break;
  }
});
time("full cycle (reused conn)", (n) => {
  const c = new Connection("client");
  for (let i = 0; i < n; i++) {
    c.send(REQUEST);
    c.send(EOM);
    c.receiveData(SMALL);
    for (let ev = c.nextEvent(); ev !== NEED_DATA; ev = c.nextEvent())
      if (ev.type === "EndOfMessage") break;
    c.startNextCycle();
  }
});
