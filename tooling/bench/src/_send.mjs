import { Connection } from "@x/h11";

const REQ = {
  type: "Request",
  method: "GET",
  target: "/small",
  headers: [["Host", "127.0.0.1:40000"]],
};
const EOM = { type: "EndOfMessage" };
const N = 3_000_000;
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  const c = new Connection("client");
  c.send(REQ);
  c.send(EOM);
}
console.log(
  (((performance.now() - t0) / N) * 1000).toFixed(3),
  "us per send pair (+ new Connection)",
);
