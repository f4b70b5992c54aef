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
for (let i = 0; i < 2_000_000; i++) {
  const c = new Connection("client");
  c.receiveData(SMALL);
  for (let ev = c.nextEvent(); ev !== NEED_DATA; ev = c.nextEvent())
    if (ev.type === "EndOfMessage") break;
}
