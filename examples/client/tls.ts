// TLS on the client (aiohttp's `ssl=` and `server_hostname=`): verification by default, a
// private CA, pinning a certificate with Fingerprint, and serverHostname. The example makes
// its own CA and server certificate with openssl and serves HTTPS itself, so it needs no
// BASE_URL.
//
//   npx tsx examples/client/tls.ts

import { execFile } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  ClientConnectorCertificateError,
  ClientSession,
  Fingerprint,
  ServerFingerprintMismatch,
  web,
} from "aiohttp-ts";

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-example-tls-"));
const at = (name: string): string => join(dir, name);
const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

// A CA, and a certificate it signs for the name "api.example.test" (not for 127.0.0.1).
await run("openssl", [
  "req",
  "-x509",
  ...ec,
  "-subj",
  "/CN=Example CA",
  "-days",
  "1",
  "-keyout",
  at("ca.key"),
  "-out",
  at("ca.pem"),
]);
await run("openssl", [
  "req",
  "-x509",
  ...ec,
  "-CA",
  at("ca.pem"),
  "-CAkey",
  at("ca.key"),
  "-subj",
  "/CN=api.example.test",
  "-addext",
  "subjectAltName=DNS:api.example.test",
  "-days",
  "1",
  "-keyout",
  at("server.key"),
  "-out",
  at("server.pem"),
]);

const ca = await readFile(at("ca.pem"), "utf8");
const cert = await readFile(at("server.pem"), "utf8");
const key = await readFile(at("server.key"), "utf8");

// Our own HTTPS server.
const app = new web.Application();
app.router.addGet("/", () => new web.Response({ text: "hello over TLS" }));
const runner = new web.AppRunner(app, { accessLog: null });
await runner.setup();
const site = new web.TCPSite(runner, "127.0.0.1", 0, { ssl: { key, cert } });
await site.start();
const url = `https://127.0.0.1:${site.port}/`;

await using session = new ClientSession();

// 1. Verified by default: Node's roots do not know our CA.
try {
  await session.get(url);
} catch (err) {
  if (err instanceof ClientConnectorCertificateError) console.log("default:", err.reason);
}

// 2. Trust the CA; the certificate names api.example.test, so say that is who we talk to.
{
  await using resp = await session.get(url, {
    ssl: { ca },
    serverHostname: "api.example.test",
  });
  console.log("with ca and serverHostname:", resp.status, await resp.text());
}

// 3. Pin the certificate by the SHA-256 digest of its DER bytes (no CA needed).
const digest = createHash("sha256").update(new X509Certificate(cert).raw).digest();
{
  await using resp = await session.get(url, { ssl: new Fingerprint(digest) });
  console.log("pinned:", resp.status);
}
try {
  await session.get(url, { ssl: new Fingerprint(Buffer.alloc(32)) });
} catch (err) {
  if (err instanceof ServerFingerprintMismatch) console.log("other pin:", err.code);
}

await session.close();
await runner.cleanup();
await rm(dir, { recursive: true, force: true });
