// @x/h11 without Node's Buffer: the portable latin1 paths must give the same results.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("parses and sends the same with globalThis.Buffer removed", () => {
  const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
  const script = `
    delete globalThis.Buffer;
    const { Connection, NEED_DATA } = await import(${JSON.stringify(dist)});
    const c = new Connection("client");
    const head = c.send({ type: "Request", method: "GET", target: "/caf\\u00e9".replace("\\u00e9", "e"), headers: [["Host", "a"], ["X-Latin1", "caf\\u00e9"]] });
    const wire = "HTTP/1.1 200 Ok\\u00e9\\r\\nX-Bytes: \\u00ff\\u0080\\r\\nX-Big: " + "b".repeat(9000) + "\\r\\nContent-Length: 3\\r\\n\\r\\nabc";
    c.receiveData(Uint8Array.from(wire, (ch) => ch.charCodeAt(0)));
    const out = [];
    for (let ev = c.nextEvent(); ev !== NEED_DATA && ev.type !== "PAUSED"; ev = c.nextEvent()) {
      out.push(ev.type === "Data" ? { type: "Data", data: Array.from(ev.data) } : ev);
      if (ev.type === "EndOfMessage") break;
    }
    console.log(JSON.stringify({ head: Array.from(head), buffer: typeof globalThis.Buffer, out }));
  `;
  const result = JSON.parse(
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }),
  );
  expect(result.buffer).toBe("undefined");
  expect(String.fromCharCode(...result.head)).toBe(
    "GET /cafe HTTP/1.1\r\nHost: a\r\nX-Latin1: caf\u00e9\r\n\r\n",
  );
  expect(result.out[0]).toMatchObject({
    type: "Response",
    reason: "Ok\u00e9",
    headers: [
      ["X-Bytes", "\u00ff\u0080"],
      ["X-Big", "b".repeat(9000)],
      ["Content-Length", "3"],
    ],
  });
  expect(result.out[1]).toEqual({ type: "Data", data: [97, 98, 99] });
  expect(result.out[2]).toMatchObject({ type: "EndOfMessage" });
});
