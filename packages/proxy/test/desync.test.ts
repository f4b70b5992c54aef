// Keep-alive desync through proxies: bytes behind a response never answer the next request,
// on a forwarding connection shared by two origins and inside a tunnel; and bytes a proxy
// sends after its 2xx to CONNECT are never dropped silently or taken for TLS.
import { inspect } from "node:util";
import { ConnectError, RemoteProtocolError, type Response } from "@x/pool";
import {
  answerEach,
  type EmbeddedProxy,
  type ExtraSplit,
  okResponse,
  onRequestHead,
  type RawServer,
  startProxy,
  startRawServer,
  testCA,
} from "@x/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { HTTPProxy } from "../src/index.js";

const text = (r: Response): string => new TextDecoder().decode(r.content);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SPLITS: ExtraSplit[] = ["one packet", "two packets", "inside the extra"];

// A server whose first request is answered with a second response behind it.
function poisonFirst(split: ExtraSplit): Parameters<typeof startRawServer>[0] {
  let requests = 0;
  return answerEach((target) => ({
    response: okResponse(`answer to ${target}`),
    ...(requests++ === 0 ? { extra: okResponse("evil"), split } : {}),
  }));
}

describe("a forwarding connection shared by two origins", () => {
  for (const split of SPLITS) {
    for (const delay of [0, 20]) {
      it(`bytes behind origin A's response never answer origin B (${split}, ${delay} ms)`, async () => {
        // The "proxy" is the misbehaving party here: whatever it sends is what we read.
        const proxy = await startRawServer(poisonFirst(split));
        try {
          await using p = new HTTPProxy({ proxyUrl: `${proxy.url}/` });
          expect(text(await p.request("GET", "http://a.test/1"))).toBe("answer to http://a.test/1");
          // Read together with the response, the extra bytes closed the connection at once.
          if (split !== "two packets") expect(p.connections).toEqual([]);
          if (delay > 0) await pause(delay);
          const r = await p.request("GET", "http://b.test/2");
          expect(text(r)).toBe("answer to http://b.test/2");
          expect(proxy.connections).toBe(2);
          expect(p.connections.map((c) => inspect(c))).toEqual([
            `<ForwardHTTPConnection ['${proxy.url}', HTTP/1.1, IDLE, Request Count: 1]>`,
          ]);
        } finally {
          await proxy.close();
        }
      });
    }
  }
});

describe("inside a tunnel", () => {
  let proxy: EmbeddedProxy | null = null;
  let origin: RawServer | null = null;
  afterEach(async () => {
    await proxy?.close();
    await origin?.close();
    proxy = null;
    origin = null;
  });

  for (const split of SPLITS) {
    it(`bytes behind a response close the tunnel (${split})`, async () => {
      origin = await startRawServer(poisonFirst(split), { tlsNames: ["a.test"] });
      proxy = await startProxy({ hosts: { "a.test": origin.port } });
      await using p = new HTTPProxy({ proxyUrl: `${proxy.url}/`, tls: { ca: testCA().cert } });
      expect(text(await p.request("GET", "https://a.test/1"))).toBe("answer to /1");
      if (split !== "two packets") expect(p.connections).toEqual([]);
      expect(text(await p.request("GET", "https://a.test/2"))).toBe("answer to /2");
      expect(origin.connections).toBe(2);
      expect(p.connections.map((c) => inspect(c))).toEqual([
        "<TunnelHTTPConnection ['https://a.test:443', HTTP/1.1, IDLE, Request Count: 1]>",
      ]);
    });
  }
});

describe("bytes after a 2xx to CONNECT", () => {
  for (const split of ["one packet", "two packets"] as const) {
    it(`are refused, not dropped nor taken for TLS (${split})`, async () => {
      const proxy = await startRawServer((socket) =>
        onRequestHead(socket, () => {
          const established = "HTTP/1.1 200 Connection established\r\n\r\n";
          if (split === "one packet") {
            socket.write(`${established}HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil`);
          } else {
            socket.setNoDelay(true);
            socket.write(established);
            setImmediate(() => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"));
          }
        }),
      );
      try {
        await using p = new HTTPProxy({ proxyUrl: `${proxy.url}/`, tls: { ca: testCA().cert } });
        const error = await p.request("GET", "https://a.test/").catch((e: unknown) => e);
        // In one packet, the bytes are there when the 2xx is read. In two, they may come
        // before the TLS handshake starts (refused as in one packet) or during it, when TLS
        // reads them as a broken handshake: a ConnectError, and nothing else.
        const beforeTls = {
          name: "RemoteProtocolError",
          code: "ERR_REMOTE_PROTOCOL",
          message: expect.stringMatching(/before TLS began/),
        };
        if (split === "one packet" || error instanceof RemoteProtocolError) {
          expect(error).toBeInstanceOf(RemoteProtocolError);
          expect(error).toMatchObject(beforeTls);
        } else {
          expect(error).toBeInstanceOf(ConnectError);
          expect(error).toMatchObject({ code: "ERR_CONNECT" });
        }
        expect(p.connections).toEqual([]);
      } finally {
        await proxy.close();
      }
    });
  }
});
