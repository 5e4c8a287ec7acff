// Certificates made at test time with Debian's openssl (Node's crypto cannot sign X.509): a CA,
// server certificates it signed (good, expired, for another name), a self-signed one and a
// client certificate, in a temporary directory made once per test file run.

import { execFile } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A key and the certificate for it, PEM. */
export interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

export interface TlsMaterial {
  /** The test CA's certificate (trust it with `ssl: { ca }`). */
  readonly ca: string;
  /** Signed by the CA for `localhost` and 127.0.0.1. */
  readonly server: KeyPair;
  /** Signed by the CA for `localhost` and 127.0.0.1, expired in 2020. */
  readonly expired: KeyPair;
  /** Signed by the CA for `other.test` only. */
  readonly otherHost: KeyPair;
  /** Self-signed, for `localhost` and 127.0.0.1. */
  readonly selfSigned: KeyPair;
  /** A client certificate signed by the CA. */
  readonly client: KeyPair;
  /** The SHA-256 digest of `server.cert`'s DER bytes. */
  readonly serverDigest: Buffer;
  /** Removes the directory. */
  remove(): Promise<void>;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const LOCAL = "subjectAltName=DNS:localhost,IP:127.0.0.1";

let made: Promise<TlsMaterial> | undefined;

/** The material, made on first use and shared by the file's tests. */
export function tlsMaterial(): Promise<TlsMaterial> {
  made ??= make();
  return made;
}

async function make(): Promise<TlsMaterial> {
  const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-tls-"));
  const at = (name: string): string => join(dir, name);
  await writeFile(at("index.txt"), "");
  await writeFile(at("serial"), "1000\n");
  // `openssl ca` is the way OpenSSL 3.0 sets a start date in the past (x509 -not_before came in 3.4).
  await writeFile(
    at("ca.cnf"),
    [
      "[ca]",
      "default_ca = test_ca",
      "[test_ca]",
      `database = ${at("index.txt")}`,
      `new_certs_dir = ${dir}`,
      `serial = ${at("serial")}`,
      "default_md = sha256",
      "policy = any",
      "copy_extensions = copy",
      "unique_subject = no",
      "[any]",
      "commonName = supplied",
      "",
    ].join("\n"),
  );
  await run("openssl", [
    "req",
    "-x509",
    ...EC,
    "-subj",
    "/CN=aiohttp-ts test CA",
    "-days",
    "2",
    "-keyout",
    at("ca.key"),
    "-out",
    at("ca.pem"),
  ]);
  const signed = async (
    name: string,
    subject: string,
    san: string | null,
    dates: readonly string[],
  ): Promise<KeyPair> => {
    await run("openssl", [
      "req",
      "-new",
      ...EC,
      "-subj",
      subject,
      ...(san === null ? [] : ["-addext", san]),
      "-keyout",
      at(`${name}.key`),
      "-out",
      at(`${name}.csr`),
    ]);
    await run("openssl", [
      "ca",
      "-batch",
      "-notext",
      "-config",
      at("ca.cnf"),
      "-cert",
      at("ca.pem"),
      "-keyfile",
      at("ca.key"),
      "-in",
      at(`${name}.csr`),
      "-out",
      at(`${name}.pem`),
      ...dates,
    ]);
    return read(name);
  };
  const read = async (name: string): Promise<KeyPair> => ({
    key: await readFile(at(`${name}.key`), "utf8"),
    cert: await readFile(at(`${name}.pem`), "utf8"),
  });
  const day = ["-days", "1"];
  const server = await signed("server", "/CN=localhost", LOCAL, day);
  const expired = await signed("expired", "/CN=localhost", LOCAL, [
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200102000000Z",
  ]);
  const otherHost = await signed("other", "/CN=other.test", "subjectAltName=DNS:other.test", day);
  const client = await signed("client", "/CN=test client", null, day);
  await run("openssl", [
    "req",
    "-x509",
    ...EC,
    "-subj",
    "/CN=localhost",
    "-addext",
    LOCAL,
    "-days",
    "1",
    "-keyout",
    at("self.key"),
    "-out",
    at("self.pem"),
  ]);
  const selfSigned = await read("self");
  const ca = await readFile(at("ca.pem"), "utf8");
  const serverDigest = createHash("sha256").update(new X509Certificate(server.cert).raw).digest();
  return {
    ca,
    server,
    expired,
    otherHost,
    selfSigned,
    client,
    serverDigest,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
