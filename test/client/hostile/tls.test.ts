// Hostile servers, TLS: a self-signed certificate, an expired one, one for another name, one
// from a CA nobody trusts. The handshake fails with ClientConnectorCertificateError (its
// reason says which), not one request byte reaches the server, the raw connection is closed,
// a second try fails the same (nothing bad is pooled), and the session's next request works.

import type { Socket } from "node:net";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { ClientConnectorCertificateError, ClientSSLError } from "../../../src/index.js";
import { useSessions } from "../../helpers.js";
import { hasPeer } from "../../peers.js";
import { type KeyPair, type TlsMaterial, tlsMaterial } from "../../tls-material.js";
import { expectCleanAndUsable, useHostileServers } from "./hostile-server.js";

// The certificates are made with openssl.
const withOpenssl = describe.skipIf(!hasPeer("openssl"));

let m: TlsMaterial;
beforeAll(async () => {
  if (hasPeer("openssl")) m = await tlsMaterial();
});
afterAll(async () => {
  if (hasPeer("openssl")) await m.remove();
});

const hostile = useHostileServers();
const session = useSessions();

/** A TLS server with `pair`, answering any request; records raw sockets and decrypted bytes. */
interface BadTlsServer {
  url: string;
  sockets: Socket[];
  /** Bytes received after a handshake, were one ever to complete. */
  received: number;
}

const servers: TlsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function badTls(pair: KeyPair): Promise<BadTlsServer> {
  const seen: BadTlsServer = { url: "", sockets: [], received: 0 };
  const server = createTlsServer({ key: pair.key, cert: pair.cert }, (tls) => {
    tls.on("data", (d: Buffer) => {
      seen.received += d.length;
    });
    tls.end("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  });
  server.on("connection", (socket: Socket) => seen.sockets.push(socket));
  server.on("tlsClientError", () => {});
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  seen.url = `https://127.0.0.1:${(server.address() as { port: number }).port}/`;
  return seen;
}

const allClosed = (sockets: Socket[]): Promise<unknown> =>
  Promise.all(sockets.map((s) => (s.destroyed ? null : new Promise((r) => s.once("close", r)))));

withOpenssl("certificates the client must refuse", () => {
  const cases: Array<[string, () => KeyPair, boolean, string]> = [
    ["self-signed", () => m.selfSigned, false, "DEPTH_ZERO_SELF_SIGNED_CERT"],
    ["expired", () => m.expired, true, "CERT_HAS_EXPIRED"],
    ["for another host name", () => m.otherHost, true, "ERR_TLS_CERT_ALTNAME_INVALID"],
    ["from an untrusted CA", () => m.server, false, "UNABLE_TO_VERIFY_LEAF_SIGNATURE"],
  ];
  for (const [name, pair, trustCa, reason] of cases) {
    test(`${name}: ClientConnectorCertificateError (${reason}), nothing sent`, async () => {
      const server = await badTls(pair());
      const ok = await hostile({});
      const s = session(trustCa ? { ssl: { ca: m.ca } } : {});
      for (let attempt = 0; attempt < 2; attempt++) {
        const err = await s.get(server.url).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ClientConnectorCertificateError);
        expect(err).toBeInstanceOf(ClientSSLError);
        expect((err as ClientConnectorCertificateError).reason).toBe(reason);
        expect((err as ClientConnectorCertificateError).host).toBe("127.0.0.1");
      }
      expect(server.sockets).toHaveLength(2);
      await allClosed(server.sockets);
      expect(server.received).toBe(0);
      await expectCleanAndUsable(s, ok);
    });
  }

  test("the same server is reached once its CA is trusted, as the control", async () => {
    const server = await badTls(m.server);
    const s = session({ ssl: { ca: m.ca } });
    await using resp = await s.get(server.url);
    expect(resp.status).toBe(200);
    expect(server.received).toBeGreaterThan(0);
  });

  test("ssl: false reaches a self-signed server (verification off is the caller's choice)", async () => {
    const server = await badTls(m.selfSigned);
    const s = session({ ssl: false });
    await using resp = await s.get(server.url);
    expect(resp.status).toBe(200);
  });
});
