// A throwaway certificate authority, made with openssl at test time: nothing secret is
// committed, and every run trusts only its own CA.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

export interface TestCA {
  /** The CA certificate (PEM): pass it as `ca` to trust servers it signed. */
  readonly cert: string;
  /** Issues a server certificate for these DNS names and IP addresses. */
  issue(names: readonly string[]): KeyPair;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

let shared: TestCA | null = null;

/** The process-wide test CA (made on first use). */
export function testCA(): TestCA {
  shared ??= createCA();
  return shared;
}

/** Makes a new CA in a temporary folder (removed at once; keys stay in memory). */
export function createCA(commonName = "x-http test CA"): TestCA {
  const dir = mkdtempSync(join(tmpdir(), "x-http-ca-"));
  try {
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], dir);
    openssl(
      [
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-sha256",
        "-days",
        "2",
        "-subj",
        `/CN=${commonName}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        "ca.crt",
      ],
      dir,
    );
    const caKey = readFileSync(join(dir, "ca.key"), "utf8");
    const caCert = readFileSync(join(dir, "ca.crt"), "utf8");
    return { cert: caCert, issue: (names) => issue(caKey, caCert, names) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let serial = 1;

function issue(caKey: string, caCert: string, names: readonly string[]): KeyPair {
  const dir = mkdtempSync(join(tmpdir(), "x-http-cert-"));
  try {
    writeFileSync(join(dir, "ca.key"), caKey);
    writeFileSync(join(dir, "ca.crt"), caCert);
    const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
    writeFileSync(
      join(dir, "ext.cnf"),
      `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
    );
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key"], dir);
    openssl(
      [
        "req",
        "-new",
        "-key",
        "server.key",
        "-subj",
        `/CN=${names[0] ?? "localhost"}`,
        "-out",
        "server.csr",
      ],
      dir,
    );
    openssl(
      [
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-set_serial",
        String(Date.now() * 100 + serial++),
        "-days",
        "2",
        "-sha256",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.crt",
      ],
      dir,
    );
    return {
      key: readFileSync(join(dir, "server.key"), "utf8"),
      cert: readFileSync(join(dir, "server.crt"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
