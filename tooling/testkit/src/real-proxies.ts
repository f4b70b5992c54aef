// Launchers for real proxies from Debian's packages: squid and tinyproxy (HTTP), dante
// and microsocks (SOCKS), each in the foreground on 127.0.0.1 and a free port, with its
// files in a temporary folder. When one cannot run here, `unavailable()` says why and the
// suites that need it skip (or, under CI, fail).

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testCA } from "./ca.js";
import { listenLoopback } from "./net.js";

export interface RealProxy {
  readonly url: string;
  readonly port: number;
  /** The proxy's own log, for failure messages. */
  log(): string;
  /**
   * squid's access log (empty for tinyproxy): a line per transaction, once it ends (a
   * tunnel's when it closes): `method URL status user "Proxy-Authorization as received"`.
   */
  accessLog(): string;
  close(): Promise<void>;
}

function which(binary: string): string | null {
  for (const dir of ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]) {
    const path = join(dir, binary);
    if (existsSync(path)) return path;
  }
  return null;
}

/** The system user dante checks SOCKS5 username/password against (made by install-proxies.sh). */
export const DANTE_USER: { readonly username: string; readonly password: string } = {
  username: "xsocks",
  password: "xsocks-pass",
};

const PACKAGES = {
  squid: "squid",
  tinyproxy: "tinyproxy",
  danted: "dante-server",
  microsocks: "microsocks",
  h2o: "h2o",
} as const;

const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0;

function systemUserExists(name: string): boolean {
  try {
    return readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .some((line) => line.startsWith(`${name}:`));
  } catch {
    return false;
  }
}

/** Why a real proxy cannot run here, or null when it can. */
export function unavailable(
  binary: "squid" | "tinyproxy" | "danted" | "microsocks" | "h2o",
): string | null {
  if (which(binary) === null)
    return `${binary} is not installed (apt-get install -y ${PACKAGES[binary]}, or run tooling/testkit/install-proxies.sh as root)`;
  if (binary === "squid" && !isRoot()) {
    return "squid tests need root (squid drops to the proxy user)";
  }
  if (binary === "danted" && !isRoot())
    return "dante tests need root (danted checks system passwords and drops to nobody)";
  if (binary === "danted" && !systemUserExists(DANTE_USER.username))
    return `the system user ${DANTE_USER.username} that dante authenticates is missing (run tooling/testkit/install-proxies.sh as root)`;
  return null;
}

async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listenLoopback(server);
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

async function waitForPort(
  port: number,
  child: ChildProcess,
  log: () => string,
  ms = 20000,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the proxy exited (${child.exitCode}) before listening:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`the proxy did not listen on ${port} within ${ms} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/**
 * Proxy authentication for squid: Basic (basic_ncsa_auth), Digest (digest_file_auth, MD5,
 * qop=auth) or both (squid offers Basic first, then Digest), for these users.
 */
export interface SquidAuth {
  readonly scheme: "basic" | "digest" | "both";
  /** username → password. */
  readonly users: Readonly<Record<string, string>>;
}

export interface SquidOptions {
  /**
   * Require proxy authentication: `{ username, password }` is Basic for that one user, or
   * a SquidAuth (Basic, Digest or both, for several users).
   */
  readonly auth?: { readonly username: string; readonly password: string } | SquidAuth;
  /** Names squid resolves to 127.0.0.1 (its hosts_file). */
  readonly names?: readonly string[];
}

/** Starts squid in the foreground (`squid -N -f conf`). Needs root. */
export async function startSquid(options: SquidOptions = {}): Promise<RealProxy> {
  const binary = which("squid");
  if (binary === null) throw new Error(unavailable("squid")!);
  const dir = mkdtempSync(join(tmpdir(), "x-http-squid-"));
  const port = await freePort();
  const names = options.names ?? [];
  writeFileSync(join(dir, "hosts"), `127.0.0.1 localhost ${names.join(" ")}\n`);
  const lines = [
    `http_port 127.0.0.1:${port}`,
    `pid_filename ${dir}/squid.pid`,
    // What arrived, including the Proxy-Authorization field as received (tests check which
    // scheme was sent).
    'logformat xhttp %rm %ru %>Hs %un "%{Proxy-Authorization}>h"',
    `access_log stdio:${dir}/access.log xhttp`,
    "buffered_logs off",
    `cache_log ${dir}/cache.log`,
    `cache_store_log none`,
    `coredump_dir ${dir}`,
    `hosts_file ${dir}/hosts`,
    "cache_effective_user proxy",
    "shutdown_lifetime 0 seconds",
    "cache deny all",
    "cache_mem 0 MB",
    "memory_cache_shared off",
    "workers 1",
    "via on",
    // Squid would keep its own connections to our origins open; they would look like leaks.
    "server_persistent_connections off",
    "dns_timeout 2 seconds",
    "acl loopback src 127.0.0.1/32",
    "acl CONNECT method CONNECT",
  ];
  if (options.auth) {
    const auth: SquidAuth =
      "users" in options.auth
        ? options.auth
        : { scheme: "basic", users: { [options.auth.username]: options.auth.password } };
    const users = Object.entries(auth.users);
    if (auth.scheme !== "digest") {
      const hashed = users.map(([user, password]) => {
        const hash = execFileSync("openssl", ["passwd", "-apr1", password], {
          encoding: "utf8",
        }).trim();
        return `${user}:${hash}\n`;
      });
      writeFileSync(join(dir, "passwd"), hashed.join(""));
      lines.push(
        `auth_param basic program /usr/lib/squid/basic_ncsa_auth ${dir}/passwd`,
        "auth_param basic realm x-http-test",
        "auth_param basic children 2",
      );
    }
    if (auth.scheme !== "basic") {
      // digest_file_auth without -c: plain `user:password` lines.
      writeFileSync(
        join(dir, "digest-passwd"),
        users.map(([user, password]) => `${user}:${password}\n`).join(""),
      );
      lines.push(
        `auth_param digest program /usr/lib/squid/digest_file_auth ${dir}/digest-passwd`,
        "auth_param digest realm x-http-test",
        "auth_param digest children 2",
        "auth_param digest nonce_garbage_interval 5 minutes",
        "auth_param digest nonce_max_duration 30 minutes",
        "auth_param digest nonce_max_count 50",
      );
    }
    lines.push("acl authed proxy_auth REQUIRED", "http_access deny !authed");
  }
  lines.push("http_access allow loopback", "http_access deny all");
  writeFileSync(join(dir, "squid.conf"), `${lines.join("\n")}\n`);
  // Squid drops to the proxy user: it must own its folder. Stale shared memory from an
  // earlier run makes it refuse to start.
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chownSync(join(dir, f), 13, 13);
  chownSync(dir, 13, 13);
  if (existsSync("/dev/shm")) {
    for (const f of readdirSync("/dev/shm"))
      if (f.startsWith("squid-")) rmSync(join("/dev/shm", f), { force: true });
  }
  return launch(binary, ["-N", "-f", join(dir, "squid.conf")], port, dir);
}

// Runs a proxy in the foreground and waits for it to listen; stops it and removes `dir` on
// close. `log` adds the proxy's own log file to what it printed.
async function launch(
  binary: string,
  args: string[],
  port: number,
  dir: string,
  scheme: "http" | "socks5" = "http",
  logFile?: string,
): Promise<RealProxy> {
  let output = "";
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const log = (): string => {
    if (logFile === undefined) return output;
    let file = "";
    try {
      file = readFileSync(logFile, "utf8");
    } catch {}
    return `${output}${file}`;
  };
  try {
    await waitForPort(port, child, log);
  } catch (error) {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    log,
    accessLog() {
      const path = join(dir, "access.log");
      return existsSync(path) ? readFileSync(path, "utf8") : "";
    },
    async close() {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts tinyproxy in the foreground (`tinyproxy -d -c conf`). */
export async function startTinyproxy(): Promise<RealProxy> {
  const binary = which("tinyproxy");
  if (binary === null) throw new Error(unavailable("tinyproxy")!);
  const dir = mkdtempSync(join(tmpdir(), "x-http-tinyproxy-"));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const conf = [
    `Port ${port}`,
    "Listen 127.0.0.1",
    "Timeout 60",
    "MaxClients 100",
    "Allow 127.0.0.1",
    "LogLevel Info",
    "DisableViaHeader No",
    ...(typeof process.getuid === "function" && process.getuid() === 0
      ? ["User nobody", "Group nogroup"]
      : []),
  ];
  writeFileSync(join(dir, "tinyproxy.conf"), `${conf.join("\n")}\n`);
  return launch(binary, ["-d", "-c", join(dir, "tinyproxy.conf")], port, dir);
}

export interface DanteOptions {
  /** Require SOCKS5 username/password: DANTE_USER, a system user (SOCKS4 is then refused). */
  readonly auth: boolean;
}

/**
 * Starts dante in the foreground (`danted -f conf -N 1`): SOCKS4 and SOCKS5 (not 4a: it
 * takes 0.0.0.x for an address), CONNECT to IPv4 and IPv6 loopback, domain names through
 * the system resolver (/etc/hosts). Needs root. The url says socks5://.
 */
export async function startDante(options: DanteOptions): Promise<RealProxy> {
  const binary = which("danted");
  const why = unavailable("danted");
  if (binary === null || why !== null) throw new Error(why ?? "danted is not installed");
  const dir = mkdtempSync(join(tmpdir(), "x-http-dante-"));
  const port = await freePort();
  const method = options.auth ? "username" : "none";
  const conf = [
    `logoutput: ${dir}/danted.log`,
    `internal: 127.0.0.1 port = ${port}`,
    // Every address of lo: 127.0.0.1 and ::1, so IPv6 targets work too.
    "external: lo",
    "clientmethod: none",
    `socksmethod: ${method}`,
    "user.privileged: root",
    "user.unprivileged: nobody",
    "client pass {",
    "  from: 127.0.0.0/8 to: 0.0.0.0/0",
    "  log: error",
    "}",
    ...["0.0.0.0/0", "::/0"].flatMap((to) => [
      "socks pass {",
      `  from: 127.0.0.0/8 to: ${to}`,
      "  command: connect",
      `  socksmethod: ${method}`,
      "  log: connect disconnect error",
      "}",
    ]),
  ];
  writeFileSync(join(dir, "danted.conf"), `${conf.join("\n")}\n`);
  // The unprivileged children write the log.
  chmodSync(dir, 0o777);
  const args = ["-f", join(dir, "danted.conf"), "-N", "1", "-p", join(dir, "danted.pid")];
  return launch(binary, args, port, dir, "socks5", join(dir, "danted.log"));
}

export interface MicrosocksOptions {
  /** Require SOCKS5 username/password with these credentials. */
  readonly auth?: { readonly username: string; readonly password: string };
}

/**
 * Starts microsocks in the foreground (`microsocks -i 127.0.0.1 -p P [-u user -P pass]`):
 * SOCKS5 only, IPv4, IPv6 and domain names (through the system resolver).
 */
export async function startMicrosocks(options: MicrosocksOptions = {}): Promise<RealProxy> {
  const binary = which("microsocks");
  if (binary === null) throw new Error(unavailable("microsocks")!);
  const dir = mkdtempSync(join(tmpdir(), "x-http-microsocks-"));
  const port = await freePort();
  const args = ["-i", "127.0.0.1", "-p", String(port)];
  if (options.auth) args.push("-u", options.auth.username, "-P", options.auth.password);
  return launch(binary, args, port, dir, "socks5");
}

/** An h2o web server (an HTTP/2 implementation of its own, for interop). */
export interface RealH2o {
  /** TLS with ALPN (h2 and http/1.1): "https://localhost:PORT". */
  readonly url: string;
  /** Cleartext (HTTP/1.1, and HTTP/2 with prior knowledge): "http://127.0.0.1:PORT". */
  readonly h2cUrl: string;
  /** The files served: path (from /) → content. */
  readonly files: Readonly<Record<string, Uint8Array>>;
  /** h2o's error log and output, for failure messages. */
  log(): string;
  close(): Promise<void>;
}

/**
 * Starts h2o in the foreground on two free ports of 127.0.0.1 (TLS with a certificate from
 * the test CA, and cleartext), serving a few static files, with its configuration, logs and
 * files in a temporary folder. As root it runs with `user: root` (it would otherwise drop to
 * nobody) and without a pid file.
 */
export async function startH2o(): Promise<RealH2o> {
  const binary = which("h2o");
  if (binary === null) throw new Error(unavailable("h2o")!);
  const dir = mkdtempSync(join(tmpdir(), "x-http-h2o-"));
  const www = join(dir, "www");
  const files: Record<string, Uint8Array> = {
    "/hello.txt": new TextEncoder().encode("hello from h2o\n"),
    "/big.bin": Uint8Array.from({ length: 1024 * 1024 }, (_, i) => (i * 31) & 0xff),
  };
  mkdirSync(www);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(www, name), content);
  const pair = testCA().issue(["localhost", "127.0.0.1"]);
  writeFileSync(join(dir, "cert.pem"), pair.cert);
  writeFileSync(join(dir, "key.pem"), pair.key);
  const tlsPort = await freePort();
  const plainPort = await freePort();
  const conf = [
    ...(isRoot() ? ["user: root"] : []),
    `error-log: ${dir}/error.log`,
    "num-threads: 1",
    "listen:",
    `  host: 127.0.0.1`,
    `  port: ${tlsPort}`,
    "  ssl:",
    `    certificate-file: ${dir}/cert.pem`,
    `    key-file: ${dir}/key.pem`,
    "listen:",
    `  host: 127.0.0.1`,
    `  port: ${plainPort}`,
    "hosts:",
    "  default:",
    "    paths:",
    "      /:",
    `        file.dir: ${www}`,
  ];
  writeFileSync(join(dir, "h2o.conf"), `${conf.join("\n")}\n`);
  const server = await launch(
    binary,
    ["-c", join(dir, "h2o.conf")],
    tlsPort,
    dir,
    "http",
    join(dir, "error.log"),
  );
  return {
    url: `https://localhost:${tlsPort}`,
    h2cUrl: `http://127.0.0.1:${plainPort}`,
    files,
    log: () => server.log(),
    close: () => server.close(),
  };
}
