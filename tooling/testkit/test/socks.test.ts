// The SOCKS server, spoken to byte by byte over raw sockets: SOCKS5 (no auth, username and
// password), SOCKS4 and 4a, the refusals, the misbehaviours, and the embedded HTTP proxy
// answering SOCKS on its own port.
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  expectSocketsClosed,
  openSocketHandles,
  type RawServer,
  type SocksBehaviour,
  type SocksServerOptions,
  startProxy,
  startRawServer,
  startSocksServer,
} from "../src/index.js";

/** A raw client: exact-length reads, with a deadline, and whether the server closed. */
class Client {
  readonly socket: Socket;
  #buffer = Buffer.alloc(0);
  #ended = false;
  #wake: (() => void) | null = null;

  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.on("data", (d: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, d]);
      this.#wake?.();
    });
    const end = () => {
      this.#ended = true;
      this.#wake?.();
    };
    this.socket.on("end", end);
    this.socket.on("close", end);
    this.socket.on("error", end);
  }

  send(...bytes: Array<number[] | Buffer | string>): void {
    for (const b of bytes) this.socket.write(Array.isArray(b) ? Buffer.from(b) : b);
  }

  /** Exactly `n` bytes (or fewer, if the server closed first). */
  async read(n: number, ms = 2000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (this.#buffer.length < n && !this.#ended) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} bytes`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(out.length);
    return out;
  }

  /** Resolves with what was left unread once the server has closed. */
  closed(ms = 2000): Promise<Buffer> {
    return this.read(Number.MAX_SAFE_INTEGER, ms);
  }

  close(): void {
    this.socket.destroy();
  }
}

const port16 = (port: number) => [port >> 8, port & 0xff];
const socks5Connect = (atyp: number, address: number[], port: number) => [
  0x05,
  0x01,
  0x00,
  atyp,
  ...address,
  ...port16(port),
];
const domain = (name: string) => [name.length, ...Buffer.from(name)];
const socks4 = (ip: number[], port: number, user = "") => [
  0x04,
  0x01,
  ...port16(port),
  ...ip,
  ...Buffer.from(user),
  0,
];

let echo: RawServer;
let baseline: number;
beforeAll(async () => {
  echo = await startRawServer((socket) => socket.pipe(socket));
});
afterAll(async () => {
  await echo.close();
});
beforeEach(() => {
  baseline = openSocketHandles();
});
afterEach(async () => {
  await expectSocketsClosed(baseline);
});

async function withSocks<T>(
  options: SocksServerOptions,
  body: (socks: Awaited<ReturnType<typeof startSocksServer>>) => Promise<T>,
): Promise<T> {
  const socks = await startSocksServer(options);
  try {
    return await body(socks);
  } finally {
    await socks.close();
  }
}

/** Echoes `text` through an established tunnel. */
async function expectEcho(client: Client, text = "ping"): Promise<void> {
  client.send(text);
  expect((await client.read(text.length)).toString()).toBe(text);
}

describe("SOCKS5", () => {
  it("connects without auth to an IPv4 address and relays both ways", () =>
    withSocks({}, async (socks) => {
      const client = new Client(socks.port);
      client.send([0x05, 0x02, 0x00, 0x02]);
      expect([...(await client.read(2))]).toEqual([0x05, 0x00]);
      client.send(socks5Connect(0x01, [127, 0, 0, 1], echo.port));
      const reply = await client.read(10);
      expect([...reply.subarray(0, 4)]).toEqual([0x05, 0x00, 0x00, 0x01]);
      expect([...reply.subarray(4, 8)]).toEqual([127, 0, 0, 1]);
      expect(reply.readUInt16BE(8)).toBeGreaterThan(0);
      await expectEcho(client);
      expect(socks.log).toEqual([
        {
          version: 5,
          methods: [0x00, 0x02],
          addressType: "ipv4",
          host: "127.0.0.1",
          port: echo.port,
          user: null,
          authenticated: null,
        },
      ]);
      expect(socks.connections).toBe(1);
      expect(socks.openSockets).toBe(2);
      client.close();
    }));

  it("passes half-closes through: the client's FIN, then the echo and the target's FIN", () =>
    withSocks({ hosts: { "echo.test": echo.port } }, async (socks) => {
      const client = new Client(socks.port);
      client.send([0x05, 0x01, 0x00], socks5Connect(0x03, domain("echo.test"), 7));
      expect((await client.read(12)).subarray(0, 2)).toEqual(Buffer.from([0x05, 0x00]));
      client.send("half");
      client.socket.end();
      expect((await client.closed()).toString()).toBe("half");
      expect(socks.log[0]).toMatchObject({ addressType: "domain", host: "echo.test", port: 7 });
    }));

  it("connects to an IPv6 address, and replies with the IPv6 address it is bound to", async () => {
    const server: Server = createServer((s) => s.pipe(s));
    await new Promise<void>((ok) => server.listen(0, "::1", ok));
    const { port } = server.address() as { port: number };
    try {
      await withSocks({}, async (socks) => {
        const client = new Client(socks.port);
        client.send([0x05, 0x01, 0x00]);
        await client.read(2);
        client.send(socks5Connect(0x04, [...Array(15).fill(0), 1], port));
        const reply = await client.read(22);
        expect([...reply.subarray(0, 4)]).toEqual([0x05, 0x00, 0x00, 0x04]);
        expect([...reply.subarray(4, 20)]).toEqual([...Array(15).fill(0), 1]);
        await expectEcho(client);
        expect(socks.log[0]).toMatchObject({ addressType: "ipv6", host: "::1", port });
        client.close();
      });
    } finally {
      server.close();
    }
  });

  it("checks username and password (RFC 1929) and logs the user, never the password", () =>
    withSocks({ auth: { username: "u", password: "p" }, replyAddress: "zero" }, async (socks) => {
      const good = new Client(socks.port);
      good.send([0x05, 0x02, 0x00, 0x02]);
      expect([...(await good.read(2))]).toEqual([0x05, 0x02]);
      good.send([0x01, 1, ...Buffer.from("u"), 1, ...Buffer.from("p")]);
      expect([...(await good.read(2))]).toEqual([0x01, 0x00]);
      good.send(socks5Connect(0x01, [127, 0, 0, 1], echo.port));
      expect([...(await good.read(10))]).toEqual([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
      await expectEcho(good);
      good.close();

      const bad = new Client(socks.port);
      bad.send([0x05, 0x01, 0x02], [0x01, 1, ...Buffer.from("u"), 4, ...Buffer.from("nope")]);
      expect([...(await bad.read(2))]).toEqual([0x05, 0x02]);
      expect([...(await bad.closed())]).toEqual([0x01, 0x01]);

      const none = new Client(socks.port);
      none.send([0x05, 0x01, 0x00]);
      expect([...(await none.closed())]).toEqual([0x05, 0xff]);

      expect(socks.log).toEqual([expect.objectContaining({ user: "u", authenticated: true })]);
      expect(socks.authLog).toEqual([
        { version: 5, user: "u", authenticated: true },
        { version: 5, user: "u", authenticated: false },
      ]);
      expect(JSON.stringify(socks.log)).not.toContain('"p"');
    }));

  it("answers failures with their reply codes", async () => {
    const closed = await startRawServer(() => {});
    const refusedPort = closed.port;
    await closed.close();
    await withSocks({}, async (socks) => {
      const cases: Array<[number[], number]> = [
        [socks5Connect(0x01, [127, 0, 0, 1], refusedPort), 0x05],
        [socks5Connect(0x03, domain("no-such-host.invalid"), 80), 0x04],
        [socks5Connect(0x01, [192, 0, 2, 1], 80), 0x02], // not loopback: never dialled
        [[0x05, 0x02, 0x00, 0x01, 127, 0, 0, 1, ...port16(echo.port)], 0x07], // BIND
        [[0x05, 0x01, 0x00, 0x09], 0x08],
      ];
      for (const [request, rep] of cases) {
        const client = new Client(socks.port);
        client.send([0x05, 0x01, 0x00], request);
        const answer = await client.closed();
        expect([...answer.subarray(0, 2)]).toEqual([0x05, 0x00]);
        expect(answer[3]).toBe(rep);
      }
      expect(socks.log.map((e) => e.host)).toEqual([
        "127.0.0.1",
        "no-such-host.invalid",
        "192.0.2.1",
      ]);
    });
  });
});

describe("SOCKS4", () => {
  it("connects to an IPv4 address with a user id", () =>
    withSocks({}, async (socks) => {
      const client = new Client(socks.port);
      client.send(socks4([127, 0, 0, 1], echo.port, "someone"));
      const reply = await client.read(8);
      expect([...reply.subarray(0, 2)]).toEqual([0x00, 0x5a]);
      await expectEcho(client);
      expect(socks.log).toEqual([
        {
          version: 4,
          methods: [],
          addressType: "ipv4",
          host: "127.0.0.1",
          port: echo.port,
          user: "someone",
          authenticated: null,
        },
      ]);
      client.close();
    }));

  it("4a: a domain name after the user id", () =>
    withSocks({ hosts: { "echo.test:80": echo.port } }, async (socks) => {
      const client = new Client(socks.port);
      client.send(socks4([0, 0, 0, 1], 80), [...Buffer.from("echo.test"), 0]);
      expect([...(await client.read(8)).subarray(0, 2)]).toEqual([0x00, 0x5a]);
      await expectEcho(client);
      expect(socks.log[0]).toMatchObject({ addressType: "domain", host: "echo.test", user: "" });
      client.close();
    }));

  it("rejects a user id that is not the username, and an unknown host", () =>
    withSocks({ auth: { username: "u", password: "p" } }, async (socks) => {
      const wrong = new Client(socks.port);
      wrong.send(socks4([127, 0, 0, 1], echo.port, "v"));
      expect([...(await wrong.closed()).subarray(0, 2)]).toEqual([0x00, 0x5d]);
      const unknown = new Client(socks.port);
      unknown.send(socks4([0, 0, 0, 9], 80, "u"), [...Buffer.from("no-such-host.invalid"), 0]);
      expect([...(await unknown.closed()).subarray(0, 2)]).toEqual([0x00, 0x5b]);
      expect(socks.log.map((e) => [e.user, e.authenticated])).toEqual([
        ["v", false],
        ["u", true],
      ]);
    }));

  it("closes a version it does not speak", () =>
    withSocks({ versions: [5] }, async (socks) => {
      const client = new Client(socks.port);
      client.send(socks4([127, 0, 0, 1], echo.port));
      expect((await client.closed()).length).toBe(0);
      expect(socks.log).toEqual([]);
    }));
});

describe("misbehaviours", () => {
  const greet = [0x05, 0x01, 0x00];
  const request = socks5Connect(0x01, [127, 0, 0, 1], 80);
  const cases: Array<[SocksBehaviour, number[]]> = [
    [{ refuse: 0x03 }, [5, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0]],
    ["close-after-greeting", []],
    ["no-acceptable-method", [5, 0xff]],
    ["short-reply", [5, 0, 5, 0, 0, 1, 0]],
  ];
  for (const [behaviour, expected] of cases) {
    it(`${JSON.stringify(behaviour)}: answers ${JSON.stringify(expected)} and closes`, () =>
      withSocks({ behaviour }, async (socks) => {
        const client = new Client(socks.port);
        client.send(greet, request);
        expect([...(await client.closed())]).toEqual(expected);
      }));
  }

  it("wrong-version, garbage-reply and silent keep the connection until the client goes", () =>
    withSocks({ behaviour: "wrong-version" }, async (socks) => {
      const client = new Client(socks.port);
      client.send(greet);
      expect([...(await client.read(2))]).toEqual([0x06, 0x00]);
      await withSocks({ behaviour: "garbage-reply" }, async (garbage) => {
        const g = new Client(garbage.port);
        g.send(greet, request);
        const reply = await g.read(12);
        expect([...reply.subarray(0, 2)]).toEqual([0x05, 0x00]);
        expect([reply[3], reply[4], reply[5]]).toEqual([0x00, 0xab, 0x09]);
        await withSocks({ behaviour: "silent" }, async (silent) => {
          const s = new Client(silent.port);
          s.send(greet);
          await expect(s.read(1, 200)).rejects.toThrow(/timed out/);
          s.close();
        });
        g.close();
      });
      client.close();
    }));
});

describe("the embedded HTTP proxy speaks SOCKS on its port", () => {
  it("sniffs SOCKS5 and SOCKS4a, logs them apart, and still proxies HTTP", async () => {
    const proxy = await startProxy({
      hosts: { "echo.test": echo.port },
      auth: { username: "u", password: "p" },
    });
    try {
      const five = new Client(proxy.port);
      five.send([0x05, 0x01, 0x02], [0x01, 1, ...Buffer.from("u"), 1, ...Buffer.from("p")]);
      five.send(socks5Connect(0x03, domain("echo.test"), 443));
      expect([...(await five.read(4))]).toEqual([0x05, 0x02, 0x01, 0x00]);
      expect([...(await five.read(10)).subarray(0, 2)]).toEqual([0x05, 0x00]);
      await expectEcho(five);
      five.close();

      const four = new Client(proxy.port);
      four.send(socks4([0, 0, 0, 1], 80, "u"), [...Buffer.from("echo.test"), 0]);
      expect([...(await four.read(8)).subarray(0, 2)]).toEqual([0x00, 0x5a]);
      await expectEcho(four);
      four.close();

      const http = new Client(proxy.port);
      http.send("GET http://echo.test/ HTTP/1.1\r\nHost: echo.test\r\n\r\n");
      expect((await http.read(12)).toString()).toBe("HTTP/1.1 407");
      http.close();

      expect(proxy.socksLog.map((e) => [e.version, e.host, e.user, e.authenticated])).toEqual([
        [5, "echo.test", "u", true],
        [4, "echo.test", "u", true],
      ]);
      expect(proxy.log.map((e) => e.method)).toEqual(["GET"]);
    } finally {
      await proxy.close();
    }
  });
});
