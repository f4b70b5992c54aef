// @x/h11 driving a real request over a loopback socket, printing every event.
import { createServer } from "node:http";
import { connect } from "node:net";
import { Connection, NEED_DATA } from "@x/h11";

export async function h11Demo(log = console.log) {
  const server = createServer((req, res) => {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ hello: "world", path: req.url }));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  const socket = connect(port, "127.0.0.1");
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));

  const conn = new Connection("client");
  socket.write(
    conn.send({
      type: "Request",
      method: "GET",
      target: "/demo",
      headers: [["Host", `127.0.0.1:${port}`]],
    }),
  );
  socket.write(conn.send({ type: "EndOfMessage" }));
  log(`-> GET /demo (ourState ${conn.ourState})`);

  const chunks = socket[Symbol.asyncIterator]();
  for (;;) {
    const ev = conn.nextEvent();
    if (ev === NEED_DATA) {
      const { value, done } = await chunks.next();
      conn.receiveData(done ? new Uint8Array(0) : value);
      continue;
    }
    if (ev.type === "Data") log(`<- Data ${JSON.stringify(new TextDecoder().decode(ev.data))}`);
    else if (ev.type === "Response")
      log(`<- Response ${ev.status} ${ev.reason} [${ev.headers.map(([k]) => k).join(", ")}]`);
    else log(`<- ${ev.type}`);
    if (ev.type === "EndOfMessage") break;
  }
  log(`states: ours ${conn.ourState}, theirs ${conn.theirState}`);
  socket.destroy();
  await new Promise((resolve) => server.close(resolve));
}
