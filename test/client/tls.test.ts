// TLS on the client: verification by default, `ssl` per connector, session and request (with
// pools of their own), serverHostname, certificate pinning with Fingerprint, client
// certificates against our own server, wss://, and the errors each failure raises.

import { once } from "node:events";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import type { TLSSocket } from "node:tls";
import { createSecureContext } from "node:tls";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ClientConnectorCertificateError,
  ClientConnectorSSLError,
  ClientSSLError,
  Fingerprint,
  ServerConnectionError,
  ServerFingerprintMismatch,
  TCPConnector,
  WSMsgType,
  web,
} from "../../src/index.js";
import { type ConnectProxy, rejection, startConnectProxy, useSessions } from "../helpers.js";
import { hasPeer } from "../peers.js";
import { type TlsMaterial, tlsMaterial } from "../tls-material.js";

// Every test here needs certificates that openssl makes.
const withOpenssl = describe.skipIf(!hasPeer("openssl"));

let m: TlsMaterial;
beforeAll(async () => {
  if (hasPeer("openssl")) m = await tlsMaterial();
});
afterAll(async () => {
  if (hasPeer("openssl")) await m.remove();
});

const session = useSessions();
/** Requests that reached a handler of `httpsServer`. */
let hits = 0;
/** The server side of each request's connection. */
const sockets: TLSSocket[] = [];
const runners: web.AppRunner[] = [];
afterEach(async () => {
  for (const runner of runners.splice(0)) {
    runner.server.closeAllConnections();
    await runner.cleanup();
  }
});

/** What the server saw of a request's connection. */
interface Seen {
  client: string | null;
  servername: string | null;
  port: number;
}

/** An HTTPS server on 127.0.0.1 answering `/` with `Seen` and `/ws` with an echo WebSocket. */
async function httpsServer(ssl: HttpsServerOptions): Promise<number> {
  const app = new web.Application();
  app.router.addRoute("*", "/", (request) => {
    hits++;
    const socket = request.getExtraInfo("socket") as TLSSocket;
    sockets.push(socket);
    const peer = socket.getPeerCertificate();
    const seen: Seen = {
      client: peer?.subject?.CN === undefined ? null : String(peer.subject.CN),
      servername: typeof socket.servername === "string" ? socket.servername : null,
      port: socket.remotePort ?? 0,
    };
    return web.jsonResponse(seen);
  });
  app.router.addGet("/ws", async (request) => {
    const ws = new web.WebSocketResponse();
    await ws.prepare(request);
    for await (const msg of ws) {
      if (msg.type === WSMsgType.TEXT) await ws.sendStr(`echo ${msg.data}`);
    }
    return ws;
  });
  const runner = new web.AppRunner(app, { accessLog: null });
  await runner.setup();
  runners.push(runner);
  const site = new web.TCPSite(runner, "127.0.0.1", 0, { ssl });
  await site.start();
  return site.port;
}

async function seen(promise: Promise<{ json(): Promise<unknown> }>): Promise<Seen> {
  return (await (await promise).json()) as Seen;
}

withOpenssl("verification", () => {
  it("refuses a self-signed certificate by default, naming the reason", async () => {
    const port = await httpsServer(m.selfSigned);
    const err = await rejection(session().get(`https://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(ClientConnectorCertificateError);
    expect(err).toMatchObject({
      code: "AIOHTTP_CERTIFICATE_ERROR",
      reason: "DEPTH_ZERO_SELF_SIGNED_CERT",
      host: "127.0.0.1",
      port,
      ssl: true,
    });
    expect((err as ClientConnectorCertificateError).certificateError).toBe(err.cause);
  });

  it("ssl: false accepts the self-signed certificate", async () => {
    const port = await httpsServer(m.selfSigned);
    const s = session({ ssl: false });
    expect((await seen(s.get(`https://127.0.0.1:${port}/`))).client).toBeNull();
  });

  it("refuses a certificate of an unknown CA", async () => {
    const port = await httpsServer(m.server);
    const err = await rejection(session().get(`https://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(ClientConnectorCertificateError);
    expect(err).toMatchObject({ reason: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
  });

  it("trusts the CA given as ssl: { ca } on the connector", async () => {
    const port = await httpsServer(m.server);
    const s = session({ connector: new TCPConnector({ ssl: { ca: m.ca } }) });
    const got = await seen(s.get(`https://localhost:${port}/`));
    expect(got.servername).toBe("localhost");
  });

  it("trusts the CA given on the session, and a SecureContext on the request", async () => {
    const port = await httpsServer(m.server);
    const s = session({ ssl: { ca: m.ca } });
    expect((await s.get(`https://127.0.0.1:${port}/`)).status).toBe(200);
    const other = session();
    const ctx = createSecureContext({ ca: m.ca });
    expect((await other.get(`https://127.0.0.1:${port}/`, { ssl: ctx })).status).toBe(200);
  });

  it("refuses an expired certificate even from the trusted CA", async () => {
    const port = await httpsServer(m.expired);
    const err = await rejection(session({ ssl: { ca: m.ca } }).get(`https://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(ClientConnectorCertificateError);
    expect(err).toMatchObject({ reason: "CERT_HAS_EXPIRED" });
  });

  it("refuses a certificate for another name; serverHostname naming it passes", async () => {
    const port = await httpsServer(m.otherHost);
    const s = session({ ssl: { ca: m.ca } });
    const err = await rejection(s.get(`https://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(ClientConnectorCertificateError);
    expect(err).toMatchObject({ reason: "ERR_TLS_CERT_ALTNAME_INVALID" });
    const got = await seen(s.get(`https://127.0.0.1:${port}/`, { serverHostname: "other.test" }));
    expect(got.servername).toBe("other.test");
  });

  it("a TLS version both sides do not share is a ClientConnectorSSLError", async () => {
    const port = await httpsServer({ ...m.server, maxVersion: "TLSv1.2" });
    const s = session({ ssl: { ca: m.ca, minVersion: "TLSv1.3" } });
    const err = await rejection(s.get(`https://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(ClientConnectorSSLError);
    expect(err).toBeInstanceOf(ClientSSLError);
    expect(err).not.toBeInstanceOf(ClientConnectorCertificateError);
    expect(err).toMatchObject({ code: "AIOHTTP_CONNECTOR_SSL_ERROR" });
  });
});

withOpenssl("the ssl option", () => {
  it("refuses a value of another kind before connecting", async () => {
    const s = session();
    const bad = { ssl: "yes" } as unknown as { ssl: boolean };
    const err = await rejection(s.get("https://127.0.0.1:9/", bad));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain("ssl must be");
  });

  it("the connector's settings apply when a request names only serverHostname", async () => {
    const port = await httpsServer(m.otherHost);
    const s = session({ connector: new TCPConnector({ ssl: { ca: m.ca } }) });
    const got = await seen(s.get(`https://127.0.0.1:${port}/`, { serverHostname: "other.test" }));
    expect(got.servername).toBe("other.test");
  });
});

withOpenssl("client certificates", () => {
  const mutual = (): Promise<number> =>
    httpsServer({ ...m.server, ca: m.ca, requestCert: true, rejectUnauthorized: true });

  it("sends the client certificate given in ssl", async () => {
    const port = await mutual();
    const s = session({ ssl: { ca: m.ca, cert: m.client.cert, key: m.client.key } });
    expect((await seen(s.get(`https://127.0.0.1:${port}/`))).client).toBe("test client");
  });

  it("fails without one against a server that requires it", async () => {
    const port = await mutual();
    const err = await rejection(session({ ssl: { ca: m.ca } }).get(`https://127.0.0.1:${port}/`));
    // TLS 1.3: the server refuses after the client finished its handshake, so the alert may
    // arrive as an SSL error or as the connection closing.
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toMatch(/SSLError|ServerDisconnectedError|ClientOSError/);
  });

  it("a request's own ssl gets connections of its own: no mixing with the session's", async () => {
    // Asks for a client certificate and tells whether one came, refusing nobody.
    const port = await httpsServer({
      ...m.server,
      ca: m.ca,
      requestCert: true,
      rejectUnauthorized: false,
    });
    const s = session({ ssl: { ca: m.ca } });
    const url = `https://127.0.0.1:${port}/`;
    const withCert = { ssl: { ca: m.ca, cert: m.client.cert, key: m.client.key } };
    const a = await seen(s.get(url));
    const b = await seen(s.get(url, withCert));
    // Written inline again: equal settings share the pool.
    const c = await seen(s.get(url, { ssl: { ca: m.ca, cert: m.client.cert, key: m.client.key } }));
    const d = await seen(s.get(url));
    expect([a.client, b.client, c.client, d.client]).toEqual([
      null,
      "test client",
      "test client",
      null,
    ]);
    expect(b.port).not.toBe(a.port);
    expect(c.port).toBe(b.port);
    expect(d.port).toBe(a.port);
  });
});

withOpenssl("Fingerprint", () => {
  it("accepts only SHA-256 digests", () => {
    expect(() => new Fingerprint(Buffer.alloc(16))).toThrow(/md5 and sha1 are insecure/);
    expect(() => new Fingerprint(Buffer.alloc(20))).toThrow(TypeError);
    expect(() => new Fingerprint(Buffer.alloc(31))).toThrow(/invalid length/);
    expect(new Fingerprint(Buffer.alloc(32, 7)).fingerprint).toEqual(Buffer.alloc(32, 7));
  });

  it("a pinned certificate is accepted without its CA", async () => {
    const port = await httpsServer(m.server);
    const s = session();
    const resp = await s.get(`https://127.0.0.1:${port}/`, {
      ssl: new Fingerprint(m.serverDigest),
    });
    expect(resp.status).toBe(200);
  });

  it("another certificate raises ServerFingerprintMismatch", async () => {
    const port = await httpsServer(m.server);
    const pin = new Fingerprint(Buffer.alloc(32, 1));
    const err = await rejection(session({ ssl: pin }).get(`https://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(ServerFingerprintMismatch);
    expect(err).toBeInstanceOf(ServerConnectionError);
    expect(err).toMatchObject({
      code: "AIOHTTP_FINGERPRINT_MISMATCH",
      host: "127.0.0.1",
      port,
    });
    const mismatch = err as ServerFingerprintMismatch;
    expect(Buffer.from(mismatch.expected)).toEqual(Buffer.alloc(32, 1));
    expect(Buffer.from(mismatch.got)).toEqual(m.serverDigest);
  });
});

withOpenssl("pinning and pools", () => {
  it("expect100 checks the pin before sending anything", async () => {
    const port = await httpsServer(m.server);
    const url = `https://127.0.0.1:${port}/`;
    const s = session();
    const ok = await s.post(url, {
      data: "x",
      expect100: true,
      ssl: new Fingerprint(m.serverDigest),
    });
    expect(ok.status).toBe(200);
    const before = hits;
    const err = await rejection(
      s.post(url, { data: "x", expect100: true, ssl: new Fingerprint(Buffer.alloc(32)) }),
    );
    expect(err).toBeInstanceOf(ServerFingerprintMismatch);
    expect(hits).toBe(before);
  });

  it("closing the session closes the pools of requests' own ssl", async () => {
    const port = await httpsServer(m.server);
    const connector = new TCPConnector();
    const s = session({ connector, connectorOwner: false });
    const resp = await s.get(`https://127.0.0.1:${port}/`, { ssl: { ca: m.ca } });
    await resp.text();
    const socket = sockets.at(-1) as TLSSocket;
    expect(socket.destroyed).toBe(false);
    const closed = once(socket, "close");
    await s.close();
    await closed;
    expect(connector.closed).toBe(false);
    await connector.close();
  });
});

withOpenssl("through an environment proxy (trustEnv)", () => {
  const names = ["HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"];
  const saved = new Map<string, string | undefined>();
  let proxy: ConnectProxy;
  beforeEach(async () => {
    for (const name of names) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
    proxy = await startConnectProxy();
    process.env.HTTPS_PROXY = proxy.url;
  });
  afterEach(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await proxy.close();
  });

  it("the tunnelled connection takes the ssl settings", async () => {
    const port = await httpsServer(m.server);
    const s = session({ trustEnv: true, ssl: { ca: m.ca } });
    expect((await s.get(`https://127.0.0.1:${port}/`)).status).toBe(200);
    expect(proxy.targets).toEqual([`127.0.0.1:${port}`]);
  });

  it("a pin, not checked there, does not turn verification off", async () => {
    const port = await httpsServer(m.server);
    const s = session({ trustEnv: true, ssl: new Fingerprint(m.serverDigest) });
    const err = await rejection(s.get(`https://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(ClientConnectorCertificateError);
    expect(proxy.targets).toEqual([`127.0.0.1:${port}`]);
  });
});

withOpenssl("wss://", () => {
  it("connects with the CA and client certificate of the session's ssl", async () => {
    const port = await httpsServer({
      ...m.server,
      ca: m.ca,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const s = session({ ssl: { ca: m.ca, cert: m.client.cert, key: m.client.key } });
    const ws = await s.wsConnect(`wss://127.0.0.1:${port}/ws`);
    await ws.sendStr("hi");
    expect((await ws.receive()).data).toBe("echo hi");
    await ws.close();
  });

  it("honours serverHostname and refuses a wrong name", async () => {
    const port = await httpsServer(m.otherHost);
    const s = session({ ssl: { ca: m.ca } });
    const err = await rejection(s.wsConnect(`wss://127.0.0.1:${port}/ws`));
    expect(err).toBeInstanceOf(ClientConnectorCertificateError);
    const ws = await s.wsConnect(`wss://127.0.0.1:${port}/ws`, { serverHostname: "other.test" });
    await ws.close();
  });

  it("checks a Fingerprint", async () => {
    const port = await httpsServer(m.server);
    const s = session();
    const url = `wss://127.0.0.1:${port}/ws`;
    const ws = await s.wsConnect(url, { ssl: new Fingerprint(m.serverDigest) });
    await ws.close();
    const err = await rejection(s.wsConnect(url, { ssl: new Fingerprint(Buffer.alloc(32)) }));
    expect(err).toBeInstanceOf(ServerFingerprintMismatch);
  });
});
