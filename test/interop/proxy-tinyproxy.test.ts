// The client's `proxy` options through a real forward proxy, Debian's tinyproxy: plain HTTP as
// absolute-form requests, HTTPS through CONNECT tunnels, with and without proxy credentials.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BasicAuth,
  ClientConnectorCertificateError,
  ClientHttpProxyError,
  ClientProxyConnectionError,
  ClientSession,
  type ClientSessionOptions,
  Fingerprint,
  TCPConnector,
  web,
} from "../../src/index.js";
import { freePort, rejection, selfSignedCert } from "../helpers.js";
import { hasPeer } from "../peers.js";
import { startTinyproxy, type Tinyproxy } from "./tinyproxy.js";

const peersMissing = !hasPeer("tinyproxy", "openssl");

describe.skipIf(peersMissing)("proxies through tinyproxy", () => {
  let dir: string;
  let tls: { key: string; cert: string };
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-proxy-tls-"));
    tls = await selfSignedCert(dir);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A target that echoes what reached it: the `Via` header a proxy adds, and its scheme. */
  async function target(ssl: boolean): Promise<number> {
    const app = new web.Application();
    app.router.addGet("/", (request) =>
      web.jsonResponse({ via: request.headers.get("Via") ?? null, secure: request.secure }),
    );
    const runner = new web.AppRunner(app, { accessLog: null });
    await runner.setup();
    cleanups.push(() => runner.cleanup());
    const site = new web.TCPSite(runner, "127.0.0.1", 0, ssl ? { ssl: tls } : {});
    await site.start();
    return site.port;
  }

  async function proxy(auth?: { user: string; password: string }): Promise<Tinyproxy> {
    const p = await startTinyproxy(auth === undefined ? {} : { auth });
    cleanups.push(() => p.close());
    return p;
  }

  function session(options: ClientSessionOptions = {}): ClientSession {
    const s = new ClientSession({
      connector: new TCPConnector({ ssl: { ca: tls.cert } }),
      ...options,
    });
    cleanups.push(() => s.close());
    return s;
  }

  it("sends an http:// request to the proxy in absolute form", async () => {
    const port = await target(false);
    const p = await proxy();
    const resp = await session({ proxy: p.url }).get(`http://127.0.0.1:${port}/`);
    const seen = (await resp.json()) as { via: string | null };
    expect(seen.via).toContain("tinyproxy");
    expect(p.requests()).toEqual([`GET http://127.0.0.1:${port}/`]);
  });

  it("opens a CONNECT tunnel for an https:// request", async () => {
    const port = await target(true);
    const p = await proxy();
    const resp = await session().get(`https://localhost:${port}/`, { proxy: new URL(p.url) });
    // Inside the tunnel the proxy sees only TLS: it adds no Via header.
    expect(await resp.json()).toEqual({ via: null, secure: true });
    expect(p.requests()).toEqual([`CONNECT localhost:${port}`]);
  });

  it("tunnels a request with its own ssl (a CA the connector lacks) through CONNECT", async () => {
    const port = await target(true);
    const p = await proxy();
    // The connector verifies against Node's roots only: the request's own CA is what passes.
    const s = session({ connector: new TCPConnector(), proxy: p.url });
    const resp = await s.get(`https://localhost:${port}/`, { ssl: { ca: tls.cert } });
    expect(await resp.json()).toEqual({ via: null, secure: true });
    expect(p.requests()).toEqual([`CONNECT localhost:${port}`]);
  });

  it("a Fingerprint through a proxy is not a way around verification: the chain is checked", async () => {
    const port = await target(true);
    const p = await proxy();
    const s = session({ connector: new TCPConnector(), proxy: p.url });
    // undici opens the tunnelled TLS connection itself, so the pin cannot be checked there;
    // verification stays on, and our self-signed certificate fails it.
    const err = await rejection(
      s.get(`https://localhost:${port}/`, { ssl: new Fingerprint(Buffer.alloc(32, 1)) }),
    );
    expect(err).toBeInstanceOf(ClientConnectorCertificateError);
    expect(p.requests()).toEqual([`CONNECT localhost:${port}`]);
  });

  it("sends the credentials of the proxy URL, for http:// and https:// targets", async () => {
    const plain = await target(false);
    const secure = await target(true);
    const p = await proxy({ user: "puser", password: "p.ss" });
    const s = session({ proxy: `http://puser:p.ss@127.0.0.1:${p.port}` });
    expect((await s.get(`http://127.0.0.1:${plain}/`)).status).toBe(200);
    expect((await s.get(`https://localhost:${secure}/`)).status).toBe(200);
    expect(p.requests()).toEqual([`GET http://127.0.0.1:${plain}/`, `CONNECT localhost:${secure}`]);
  });

  it("sends proxyAuth, the request's over the session's", async () => {
    const secure = await target(true);
    const p = await proxy({ user: "u", password: "right" });
    const s = session({ proxy: p.url, proxyAuth: new BasicAuth("u", "wrong") });
    const err = await rejection(s.get(`https://localhost:${secure}/`));
    expect(err).toBeInstanceOf(ClientHttpProxyError);
    const resp = await s.get(`https://localhost:${secure}/`, {
      proxyAuth: new BasicAuth("u", "right"),
    });
    expect(resp.status).toBe(200);
  });

  it("a CONNECT the proxy refuses for want of credentials is ClientHttpProxyError 407", async () => {
    const secure = await target(true);
    const p = await proxy({ user: "u", password: "p" });
    const err = await rejection(session({ proxy: p.url }).get(`https://localhost:${secure}/`));
    expect(err).toBeInstanceOf(ClientHttpProxyError);
    expect(err).toMatchObject({ status: 407, code: "AIOHTTP_HTTP_PROXY_ERROR" });
  });

  it("a plain request without the proxy's credentials is refused with 407", async () => {
    const plain = await target(false);
    const p = await proxy({ user: "u", password: "p" });
    const err = await rejection(session({ proxy: p.url }).get(`http://127.0.0.1:${plain}/`));
    expect(err).toBeInstanceOf(ClientHttpProxyError);
    expect(err).toMatchObject({ status: 407 });
  });

  it("proxy: null on a request goes direct, on a pool of its own", async () => {
    const plain = await target(false);
    const p = await proxy();
    const s = session({ proxy: p.url });
    const first = (await (await s.get(`http://127.0.0.1:${plain}/`)).json()) as { via: unknown };
    const direct = (await (await s.get(`http://127.0.0.1:${plain}/`, { proxy: null })).json()) as {
      via: unknown;
    };
    const again = (await (await s.get(`http://127.0.0.1:${plain}/`)).json()) as { via: unknown };
    expect(first.via).toContain("tinyproxy");
    expect(direct.via).toBeNull();
    expect(again.via).toContain("tinyproxy");
    expect(p.requests()).toHaveLength(2);
  });

  it("a proxy that refuses the connection is ClientProxyConnectionError", async () => {
    const plain = await target(false);
    const closed = await freePort();
    const err = await rejection(
      session().get(`http://127.0.0.1:${plain}/`, { proxy: `http://127.0.0.1:${closed}` }),
    );
    expect(err).toBeInstanceOf(ClientProxyConnectionError);
    expect(err).toMatchObject({ host: "127.0.0.1", port: closed });
  });
});
