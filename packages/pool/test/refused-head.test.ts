// A request @x/h11 refuses to send (two Host fields, say) fails before any byte is written:
// its connection, opened for it, must stay usable — reused by the next request, or closed in
// favour of another origin when the pool is full — never stuck as an unused NEW connection
// that holds the pool's only place.
import { startOrigin } from "@x/testkit";
import { expect, it } from "vitest";
import { ConnectionPool, LocalProtocolError } from "../src/index.js";

const TWO_HOSTS: [string, string][] = [
  ["Host", "a.example"],
  ["Host", "b.example"],
];

it("the next request to the same origin reuses the connection opened for a refused head", async () => {
  const origin = await startOrigin({ name: "refused-a" });
  const pool = new ConnectionPool({ maxConnections: 1 });
  try {
    const refused = pool.request("GET", origin.url, { headers: TWO_HOSTS });
    await expect(refused).rejects.toBeInstanceOf(LocalProtocolError);
    await expect(refused).rejects.toHaveProperty("code", "ERR_LOCAL_PROTOCOL");
    expect(pool.connections.map(String)).toEqual([
      `<HTTPConnection ['${origin.url.replace(/\/$/, "")}', HTTP/1.1, IDLE, Request Count: 0]>`,
    ]);
    const response = await pool.request("GET", origin.url);
    expect(response.status).toBe(200);
    expect(pool.connections.map(String)).toEqual([
      `<HTTPConnection ['${origin.url.replace(/\/$/, "")}', HTTP/1.1, IDLE, Request Count: 1]>`,
    ]);
    expect(origin.connections).toBe(1);
  } finally {
    await pool.close();
    await origin.close();
  }
});

it("a full pool closes that connection in favour of a request to another origin", async () => {
  const a = await startOrigin({ name: "refused-a" });
  const b = await startOrigin({ name: "refused-b" });
  const pool = new ConnectionPool({ maxConnections: 1 });
  try {
    await expect(pool.request("GET", a.url, { headers: TWO_HOSTS })).rejects.toBeInstanceOf(
      LocalProtocolError,
    );
    const response = await pool.request("GET", b.url);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("refused-b");
    expect(pool.connections).toHaveLength(1);
    expect(String(pool.connections[0])).toContain(b.url.replace(/\/$/, ""));
  } finally {
    await pool.close();
    await a.close();
    await b.close();
  }
});
