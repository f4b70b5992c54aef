// @x/h11 against llhttp (the parser Node 20's own http client uses), in the same run:
// parsing typical responses, messages/s and MB/s, median of interleaved rounds.
import { createRequire } from "node:module";
import { Connection, NEED_DATA } from "@x/h11";
import { fmt, median, table } from "./stats.mjs";

const require = createRequire(import.meta.url);
const { HTTPParser } = require("node:_http_common");

const enc = (s) => Buffer.from(s, "latin1");
const json = JSON.stringify({
  id: 12345,
  name: "widget",
  tags: ["a", "b", "c"],
  price: 9.99,
  stock: true,
});
const SMALL = enc(
  "HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 06:00:00 GMT\r\nServer: bench\r\nContent-Type: application/json; charset=utf-8\r\n" +
    `Cache-Control: no-cache\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: ${json.length}\r\n\r\n${json}`,
);
const bigBody = Buffer.alloc(64 * 1024, 0x61);
const LARGE = Buffer.concat([
  enc(
    `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${bigBody.length}\r\n\r\n`,
  ),
  bigBody,
]);
const chunk = Buffer.alloc(4096, 0x62);
const CHUNKED = Buffer.concat([
  enc("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"),
  ...Array.from({ length: 16 }, () => Buffer.concat([enc("1000\r\n"), chunk, enc("\r\n")])),
  enc("0\r\n\r\n"),
]);

// Messages arrive as the socket would hand them over: up to 64 KiB at a time.
function split(message, size = 64 * 1024) {
  const parts = [];
  for (let i = 0; i < message.length; i += size) parts.push(message.subarray(i, i + size));
  return parts;
}

const REQUEST = { type: "Request", method: "GET", target: "/", headers: [["Host", "bench"]] };
const EOM = { type: "EndOfMessage" };

// Parsing only, as llhttp is measured: a response parsed by a client connection (a fresh one
// per response, which costs ~0.05 µs; a kept-alive one would have to send a request first).
function runH11(parts, count) {
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const conn = new Connection("client");
    for (const part of parts) {
      conn.receiveData(part);
      for (let ev = conn.nextEvent(); ev !== NEED_DATA; ev = conn.nextEvent()) {
        if (ev.type === "Data") bytes += ev.data.length;
        else if (ev.type === "EndOfMessage") break;
      }
    }
  }
  return bytes;
}

// The whole cycle a client pays on a kept-alive connection: send a GET, parse the response.
function runH11Cycle(parts, count) {
  const conn = new Connection("client");
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    conn.send(REQUEST);
    conn.send(EOM);
    for (const part of parts) {
      conn.receiveData(part);
      for (let ev = conn.nextEvent(); ev !== NEED_DATA; ev = conn.nextEvent()) {
        if (ev.type === "Data") bytes += ev.data.length;
        else if (ev.type === "EndOfMessage") break;
      }
    }
    conn.startNextCycle();
  }
  return bytes;
}

function runLlhttp(parts, count) {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.RESPONSE, {});
  let bytes = 0;
  let done = 0;
  parser[HTTPParser.kOnHeaders] = () => {};
  parser[HTTPParser.kOnHeadersComplete] = () => {};
  parser[HTTPParser.kOnBody] = (b) => {
    bytes += b.length;
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    done++;
  };
  for (let i = 0; i < count; i++) for (const part of parts) parser.execute(part);
  parser.finish();
  if (done !== count) throw new Error(`llhttp completed ${done} of ${count}`);
  return bytes;
}

const scenarios = [
  { name: "small JSON response", message: SMALL, count: 100_000 },
  { name: "small JSON, send GET + parse", message: SMALL, count: 100_000, h11: runH11Cycle },
  { name: "64 KiB Content-Length body", message: LARGE, count: 10_000 },
  { name: "chunked body (16 x 4 KiB)", message: CHUNKED, count: 10_000 },
];

export function benchH11({ rounds = 7, log = console.log } = {}) {
  const results = [];
  for (const s of scenarios) {
    const parts = split(s.message);
    const times = { h11: [], llhttp: [] };
    const h11 = s.h11 ?? runH11;
    h11(parts, s.count / 10);
    runLlhttp(parts, s.count / 10);
    for (let r = 0; r < rounds; r++) {
      for (const [name, fn] of r % 2
        ? [
            ["llhttp", runLlhttp],
            ["h11", h11],
          ]
        : [
            ["h11", h11],
            ["llhttp", runLlhttp],
          ]) {
        const t0 = process.hrtime.bigint();
        fn(parts, s.count);
        times[name].push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
    }
    const h = median(times.h11);
    const l = median(times.llhttp);
    const mb = (s.message.length * s.count) / 1e6;
    results.push({
      scenario: s.name,
      messageBytes: s.message.length,
      h11: { msgPerSec: s.count / h, mbPerSec: mb / h },
      llhttp: { msgPerSec: s.count / l, mbPerSec: mb / l },
      ratio: l / h,
    });
  }
  log(h11Table(results));
  return results;
}

/** The parser results as a Markdown table. */
export function h11Table(results) {
  return table(
    [
      "@x/h11 parsing",
      "@x/h11 msg/s",
      "llhttp msg/s",
      "@x/h11 MB/s",
      "llhttp MB/s",
      "ratio (h11/llhttp)",
    ],
    results.map((r) => [
      r.scenario,
      fmt(r.h11.msgPerSec),
      fmt(r.llhttp.msgPerSec),
      fmt(r.h11.mbPerSec, 1),
      fmt(r.llhttp.mbPerSec, 1),
      `${r.ratio.toFixed(2)}x`,
    ]),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) benchH11();
