// session.wsConnect(): URL forms, what the opening handshake carries, how the client judges the
// server's answer, handshake timeouts, proxies and the lifetime of a client WebSocket. Our own
// server is the peer for the happy paths; node:http 'upgrade' handlers, node:net and `ws`
// servers play the misbehaving ones.

import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import {
  BasicAuth,
  ClientClosedError,
  ClientConnectorCertificateError,
  ClientConnectorError,
  ClientError,
  ClientHttpProxyError,
  ClientProxyConnectionError,
  ClientSession,
  type ClientSessionOptions,
  CookieJar,
  InvalidUrlClientError,
  NonHttpUrlClientError,
  ServerTimeoutError,
  TCPConnector,
  TooManyRedirects,
  UnixConnector,
  WSMsgType,
  WSServerHandshakeError,
  web,
} from "../../src/index.js";
import {
  type ConnectProxy,
  freePort,
  quiet,
  rejection,
  selfSignedCert,
  startConnectProxy,
  warmUpClient,
} from "../helpers.js";
import { hasPeer } from "../peers.js";

// The handshake-timeout tests time a wsConnect, which sends its request through undici.
beforeAll(warmUpClient);

// ---------------------------------------------------------------------------------------------
// Peers, all closed after each test

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sessions: ClientSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});
function session(options: ClientSessionOptions = {}): ClientSession {
  const s = new ClientSession(options);
  sessions.push(s);
  return s;
}

/** What the server saw of the handshake request. */
interface Seen {
  method: string;
  path: string;
  headers: web.Request["headers"];
  cookies: Readonly<Record<string, string>>;
  query: Record<string, string[]>;
}

/** Runs `app` on a fresh runner; the runner is cleaned up after the test. */
async function runApp(app: web.Application): Promise<web.AppRunner> {
  const runner = new web.AppRunner(app, { accessLog: null, logger: quiet });
  await runner.setup();
  cleanups.push(async () => {
    runner.server.closeAllConnections();
    await runner.cleanup();
  });
  return runner;
}

/** Options of `wsApp`. */
interface WsAppOptions {
  ws?: web.WebSocketResponseOptions;
  /** Runs before `prepare()`: set cookies or headers of the 101 here. */
  beforePrepare?: (ws: web.WebSocketResponse) => void;
  site?: web.SiteOptions;
}

/**
 * An application whose `/ws` route echoes text and binary messages, served on a loopback port,
 * with routes that answer the handshake otherwise: `/old` and `/login` (with a cookie) redirect
 * to `/ws`, `/loop` to itself, `/forbidden` is a 403, `/plain` a 200. `seen` collects the
 * handshake requests `/ws` got and `closes` the close frames it received.
 */
async function wsApp(options: WsAppOptions = {}): Promise<{
  port: number;
  url: string;
  seen: Seen[];
  closes: Array<{ code: number; reason: string }>;
}> {
  const seen: Seen[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  const app = new web.Application({ logger: quiet });
  app.router.addGet("/ws", async (request) => {
    const query: Record<string, string[]> = {};
    for (const key of new Set(request.query.keys())) query[key] = request.query.getAll(key);
    seen.push({
      method: request.method,
      path: request.path,
      headers: request.headers,
      cookies: request.cookies,
      query,
    });
    const ws = new web.WebSocketResponse(options.ws);
    options.beforePrepare?.(ws);
    await ws.prepare(request);
    await echo(ws, closes);
    return ws;
  });
  app.router.addGet("/old", () => {
    throw new web.HTTPFound("/ws");
  });
  app.router.addGet("/login", () => {
    throw new web.HTTPFound("/ws", { headers: { "Set-Cookie": "hop=1; Path=/" } });
  });
  app.router.addGet("/loop", () => {
    throw new web.HTTPFound("/loop");
  });
  app.router.addGet("/forbidden", () => {
    throw new web.HTTPForbidden({ headers: { "X-Reason": "no entry" } });
  });
  app.router.addGet("/plain", () => new web.Response({ text: "not a websocket" }));
  const runner = await runApp(app);
  const site = new web.TCPSite(runner, "127.0.0.1", 0, options.site);
  await site.start();
  const scheme = options.site?.ssl === undefined ? "ws" : "wss";
  return { port: site.port, url: `${scheme}://127.0.0.1:${site.port}/ws`, seen, closes };
}

/** Echoes messages until the client closes. */
async function echo(
  ws: web.WebSocketResponse,
  closes: Array<{ code: number; reason: string }>,
): Promise<void> {
  for (;;) {
    const msg = await ws.receive();
    if (msg.type === WSMsgType.TEXT) {
      await ws.sendStr(msg.data);
    } else if (msg.type === WSMsgType.BINARY) {
      await ws.sendBytes(msg.data);
    } else {
      if (msg.type === WSMsgType.CLOSE) closes.push({ code: msg.data, reason: msg.extra });
      return;
    }
  }
}

/** A TCP server on a loopback port whose connections are destroyed after the test. */
async function listen(server: Server): Promise<number> {
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return address.port;
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** RFC 6455 4.2.2: the Sec-WebSocket-Accept value for a key. */
function acceptFor(key: string): string {
  return createHash("sha1").update(`${key}${GUID}`).digest("base64");
}

/** A node:http server whose upgrade requests go to `onUpgrade`; resolves with its port. */
function upgradeServer(onUpgrade: (req: IncomingMessage, socket: Socket) => void): Promise<number> {
  const server = createHttpServer((_req, res) => res.writeHead(500).end());
  server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
    socket.on("error", () => socket.destroy());
    onUpgrade(req, socket);
  });
  return listen(server);
}

/** Writes a 101 answer for `req`; `extra` are further header lines. */
function answer101(req: IncomingMessage, socket: Socket, extra: string[] = []): void {
  const accept = acceptFor(String(req.headers["sec-websocket-key"]));
  socket.write(
    [
      "HTTP/1.1 101 Switching Protocols",
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Accept: ${accept}`,
      ...extra,
      "",
      "",
    ].join("\r\n"),
  );
}

/** A `ws` server on a loopback port; `connections` receives each accepted socket's request. */
async function wsServer(
  options: ConstructorParameters<typeof WebSocketServer>[0] = {},
): Promise<{ port: number; requests: IncomingMessage[] }> {
  const server = new WebSocketServer({ ...options, port: 0, host: "127.0.0.1" });
  const requests: IncomingMessage[] = [];
  server.on("connection", (socket, req) => {
    requests.push(req);
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  await once(server, "listening");
  cleanups.push(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return { port: address.port, requests };
}

/** Sends `text` and returns the echo. */
async function roundTrip(
  ws: { sendStr(s: string): Promise<void>; receiveStr(t?: number): Promise<string> },
  text = "ping?",
): Promise<string> {
  await ws.sendStr(text);
  return ws.receiveStr(2000);
}

let tls: { key: string; cert: string };
let certDir: string;
// The wss:// tests need a certificate that openssl makes.
const withOpenssl = it.runIf(hasPeer("openssl"));
beforeAll(async () => {
  certDir = await mkdtemp(join(tmpdir(), "aiohttp-ts-ws-"));
  if (hasPeer("openssl")) tls = await selfSignedCert(certDir);
});
afterAll(async () => {
  await rm(certDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------

describe("URL forms", () => {
  it("connects to a ws:// URL and exchanges messages", async () => {
    const { url, port } = await wsApp();
    const ws = await session().wsConnect(url);
    expect(await roundTrip(ws, "hello")).toBe("hello");
    expect(ws.url.href).toBe(`http://127.0.0.1:${port}/ws`);
    expect(ws.status).toBe(101);
    await ws.close();
  });

  it("connects to an http:// URL as to ws://", async () => {
    const { port, seen } = await wsApp();
    const ws = await session().wsConnect(`http://127.0.0.1:${port}/ws`);
    expect(await roundTrip(ws)).toBe("ping?");
    expect(seen[0]?.headers.get("Upgrade")?.toLowerCase()).toBe("websocket");
    await ws.close();
  });

  withOpenssl("refuses a self-signed certificate on wss:// by default", async () => {
    const { url } = await wsApp({ site: { ssl: tls } });
    const err = await rejection(session().wsConnect(url));
    expect(err).toBeInstanceOf(ClientConnectorCertificateError);
  });

  withOpenssl("connects to wss:// with ssl: false", async () => {
    const { url, seen } = await wsApp({ site: { ssl: tls } });
    const ws = await session().wsConnect(url, { ssl: false });
    expect(await roundTrip(ws)).toBe("ping?");
    expect(seen).toHaveLength(1);
    await ws.close();
  });

  withOpenssl("connects to https:// with ssl: false", async () => {
    const { port } = await wsApp({ site: { ssl: tls } });
    const ws = await session().wsConnect(`https://127.0.0.1:${port}/ws`, { ssl: false });
    expect(await roundTrip(ws)).toBe("ping?");
    expect(ws.url.protocol).toBe("https:");
    await ws.close();
  });

  withOpenssl("verifies the server with the CA given in ssl", async () => {
    const { port } = await wsApp({ site: { ssl: tls } });
    const ws = await session().wsConnect(`wss://localhost:${port}/ws`, { ssl: { ca: tls.cert } });
    expect(await roundTrip(ws)).toBe("ping?");
    await ws.close();
  });

  withOpenssl("takes the TLS setting of the session's connector", async () => {
    const { url } = await wsApp({ site: { ssl: tls } });
    const connector = new TCPConnector({ ssl: false });
    const ws = await session({ connector }).wsConnect(url);
    expect(await roundTrip(ws)).toBe("ping?");
    await ws.close();
  });

  it("adds params to the URL's query", async () => {
    const { url, seen } = await wsApp();
    const ws = await session().wsConnect(`${url}?a=1`, { params: { b: "2", c: ["3", "4"] } });
    expect(seen[0]?.query).toEqual({ a: ["1"], b: ["2"], c: ["3", "4"] });
    expect(ws.url.search).toBe("?a=1&b=2&c=3&c=4");
    await ws.close();
  });

  it("resolves a relative URL against the session's baseUrl", async () => {
    const { port, seen } = await wsApp();
    const ws = await session({ baseUrl: `http://127.0.0.1:${port}` }).wsConnect("/ws");
    expect(await roundTrip(ws)).toBe("ping?");
    expect(seen[0]?.path).toBe("/ws");
    await ws.close();
  });

  it("rejects an invalid URL with InvalidUrlClientError", async () => {
    const err = await rejection(session().wsConnect("not a url"));
    expect(err).toBeInstanceOf(InvalidUrlClientError);
  });

  it("rejects an ftp:// URL with NonHttpUrlClientError", async () => {
    const err = await rejection(session().wsConnect("ftp://127.0.0.1/ws"));
    expect(err).toBeInstanceOf(NonHttpUrlClientError);
  });

  it("connects over a unix socket with a UnixConnector", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-ws-unix-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, "ws.sock");
    const seen: string[] = [];
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/ws", async (request) => {
      seen.push(request.path);
      const ws = new web.WebSocketResponse();
      await ws.prepare(request);
      await ws.sendStr("over unix");
      await ws.receive();
      return ws;
    });
    const runner = await runApp(app);
    await new web.UnixSite(runner, path).start();
    const connector = new UnixConnector({ path });
    const ws = await session({ connector }).wsConnect("http://unix.invalid/ws");
    expect(await ws.receiveStr(2000)).toBe("over unix");
    expect(seen).toEqual(["/ws"]);
    await ws.close();
  });
});

describe("the handshake request", () => {
  it("carries the session's default headers", async () => {
    const { url, seen } = await wsApp();
    const ws = await session({ headers: { "X-Session": "s1" } }).wsConnect(url);
    expect(seen[0]?.headers.get("X-Session")).toBe("s1");
    await ws.close();
  });

  it("lets per-call headers win over the session's", async () => {
    const { url, seen } = await wsApp();
    const s = session({ headers: { "X-Token": "session", "X-Kept": "k" } });
    const ws = await s.wsConnect(url, { headers: { "X-Token": "call" } });
    expect(seen[0]?.headers.getAll("X-Token")).toEqual(["call"]);
    expect(seen[0]?.headers.get("X-Kept")).toBe("k");
    await ws.close();
  });

  it("sends the session's cookies", async () => {
    const { url, seen } = await wsApp();
    const ws = await session({ cookies: { flavour: "oat" } }).wsConnect(url);
    expect(seen[0]?.cookies).toEqual({ flavour: "oat" });
    await ws.close();
  });

  it("sends only the jar's cookies that match the URL", async () => {
    const { url, port, seen } = await wsApp();
    const cookieJar = new CookieJar({ unsafe: true });
    cookieJar.updateCookies({ mine: "1" }, new URL(`http://127.0.0.1:${port}/`));
    cookieJar.updateCookies({ theirs: "2" }, new URL("http://example.com/"));
    cookieJar.updateCookies(["scoped=3; Path=/elsewhere"], new URL(`http://127.0.0.1:${port}/`));
    const ws = await session({ cookieJar }).wsConnect(url);
    expect(seen[0]?.cookies).toEqual({ mine: "1" });
    await ws.close();
  });

  it("stores the cookies set by the 101 answer in the jar", async () => {
    const { url, port } = await wsApp({ beforePrepare: (ws) => ws.setCookie("sid", "abc123") });
    const cookieJar = new CookieJar({ unsafe: true });
    const ws = await session({ cookieJar }).wsConnect(url);
    expect(cookieJar.filterCookies(new URL(`http://127.0.0.1:${port}/`))).toEqual({
      sid: "abc123",
    });
    expect(ws.headers.get("Set-Cookie")).toMatch(/^sid=abc123/);
    await ws.close();
  });

  it("sends Basic credentials from the auth option", async () => {
    const { url, seen } = await wsApp();
    const ws = await session().wsConnect(url, { auth: new BasicAuth("user", "pass") });
    expect(seen[0]?.headers.get("Authorization")).toBe(
      `Basic ${Buffer.from("user:pass").toString("base64")}`,
    );
    await ws.close();
  });

  it("sends Basic credentials from user:pass@ in the URL", async () => {
    const { port, seen } = await wsApp();
    const ws = await session().wsConnect(`ws://alice:s3cret@127.0.0.1:${port}/ws`);
    expect(seen[0]?.headers.get("Authorization")).toBe(
      `Basic ${Buffer.from("alice:s3cret").toString("base64")}`,
    );
    expect(ws.url.username).toBe("");
    await ws.close();
  });

  it("rejects auth given both as an option and in the URL", async () => {
    const { port, seen } = await wsApp();
    const err = await rejection(
      session().wsConnect(`ws://alice:pw@127.0.0.1:${port}/ws`, {
        auth: new BasicAuth("bob", "pw"),
      }),
    );
    expect(err).toBeInstanceOf(TypeError);
    expect(seen).toEqual([]);
  });

  it("sends the session's auth", async () => {
    const { url, seen } = await wsApp();
    const ws = await session({ auth: new BasicAuth("sess", "pw") }).wsConnect(url);
    expect(seen[0]?.headers.get("Authorization")).toBe(
      `Basic ${Buffer.from("sess:pw").toString("base64")}`,
    );
    await ws.close();
  });

  it("sends the origin option as the Origin header", async () => {
    const { url, seen } = await wsApp();
    const ws = await session().wsConnect(url, { origin: "https://app.example" });
    expect(seen[0]?.headers.get("Origin")).toBe("https://app.example");
    await ws.close();
  });

  it("sends no Origin header without the option", async () => {
    const { url, seen } = await wsApp();
    const ws = await session().wsConnect(url);
    expect(seen[0]?.headers.has("Origin")).toBe(false);
    await ws.close();
  });

  it("uses the method option for the handshake request", async () => {
    const methods: string[] = [];
    const port = await upgradeServer((req, socket) => {
      methods.push(req.method ?? "");
      answer101(req, socket);
    });
    const ws = await session().wsConnect(`ws://127.0.0.1:${port}/`, { method: "post" });
    expect(methods).toEqual(["POST"]);
    expect(ws.closed).toBe(false);
    ws.terminate();
  });

  it("offers the protocols in Sec-WebSocket-Protocol, in order", async () => {
    const { url, seen } = await wsApp();
    const ws = await session().wsConnect(url, { protocols: ["chat.v2", "chat.v1"] });
    expect(seen[0]?.headers.get("Sec-WebSocket-Protocol")).toBe("chat.v2, chat.v1");
    await ws.close();
  });

  it("sends Sec-WebSocket-Version 13 and a fresh 16-byte key", async () => {
    const { url, seen } = await wsApp();
    const s = session();
    await (await s.wsConnect(url)).close();
    await (await s.wsConnect(url)).close();
    const keys = seen.map((r) => r.headers.get("Sec-WebSocket-Key") ?? "");
    expect(seen[0]?.headers.get("Sec-WebSocket-Version")).toBe("13");
    expect(Buffer.from(keys[0] ?? "", "base64")).toHaveLength(16);
    expect(keys[0]).not.toBe(keys[1]);
  });
});

describe("the handshake answer", () => {
  it("exposes the protocol the server picked", async () => {
    const { url } = await wsApp({ ws: { protocols: ["chat.v1"] } });
    const ws = await session().wsConnect(url, { protocols: ["chat.v2", "chat.v1"] });
    expect(ws.protocol).toBe("chat.v1");
    await ws.close();
  });

  it("accepts a server that picks none of the offered protocols, with protocol null", async () => {
    const { url } = await wsApp({ ws: { protocols: ["other"] } });
    const ws = await session().wsConnect(url, { protocols: ["chat.v1"] });
    expect(ws.protocol).toBeNull();
    expect(ws.headers.has("Sec-WebSocket-Protocol")).toBe(false);
    expect(await roundTrip(ws)).toBe("ping?");
    await ws.close();
  });

  it("fails with status 101 when the server answers a protocol that was not offered", async () => {
    const { port } = await wsServer({ handleProtocols: () => "evil" });
    const err = await rejection(
      session().wsConnect(`ws://127.0.0.1:${port}/`, { protocols: ["chat.v1"] }),
    );
    expect(err).toBeInstanceOf(WSServerHandshakeError);
    expect((err as WSServerHandshakeError).status).toBe(101);
    expect(err.message).toContain("evil");
  });

  it("fails with status 101 on a wrong Sec-WebSocket-Accept", async () => {
    const port = await upgradeServer((_req, socket) => {
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${acceptFor("not the key")}\r\n\r\n`,
      );
    });
    const err = await rejection(session().wsConnect(`ws://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(WSServerHandshakeError);
    expect((err as WSServerHandshakeError).status).toBe(101);
  });

  it("fails cleanly on a 101 whose head never ends (headers past the size limit)", async () => {
    let server: Socket | undefined;
    const port = await upgradeServer((_req, socket) => {
      server = socket;
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n");
      // 256 KiB of header lines and no blank line: over any head limit.
      socket.write(`X-Pad: ${"a".repeat(1000)}\r\n`.repeat(256));
    });
    const err = await rejection(session().wsConnect(`ws://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(ClientError);
    expect(err.message).toMatch(/header/i);
    await expect.poll(() => server?.destroyed || server?.readableEnded).toBe(true);
  });

  it("fails with the status and headers of a 403 answer", async () => {
    const { port } = await wsApp();
    const err = await rejection(session().wsConnect(`ws://127.0.0.1:${port}/forbidden`));
    expect(err).toBeInstanceOf(WSServerHandshakeError);
    const handshake = err as WSServerHandshakeError;
    expect(handshake.status).toBe(403);
    expect(handshake.headers?.get("X-Reason")).toBe("no entry");
    expect(handshake.requestInfo.url.pathname).toBe("/forbidden");
  });

  it("fails with status 200 when the server answers a plain response", async () => {
    const { port } = await wsApp();
    const err = await rejection(session().wsConnect(`ws://127.0.0.1:${port}/plain`));
    expect(err).toBeInstanceOf(WSServerHandshakeError);
    expect((err as WSServerHandshakeError).status).toBe(200);
  });

  it("a 200 answer says that 101 was expected (it used to read '200, message=\"OK\"')", async () => {
    const { port } = await wsApp();
    const url = `ws://127.0.0.1:${port}/plain`;
    const err = (await rejection(session().wsConnect(url))) as WSServerHandshakeError;
    expect(err.message).toBe(
      `Invalid response status: expected 101 Switching Protocols, got 200 OK, url=http://127.0.0.1:${port}/plain`,
    );
    expect(err.reason).toBe(
      "Invalid response status: expected 101 Switching Protocols, got 200 OK",
    );
    expect(err.status).toBe(200);
    expect(err.headers?.get("Content-Type")).toMatch(/^text\/plain/);
  });

  it("fails with status 405 when our server gets another method than GET", async () => {
    const { url } = await wsApp();
    const err = await rejection(session().wsConnect(url, { method: "POST" }));
    expect(err).toBeInstanceOf(WSServerHandshakeError);
    expect((err as WSServerHandshakeError).status).toBe(405);
  });

  it("fails with ClientConnectorError when the connection is refused", async () => {
    const port = await freePort();
    const err = await rejection(session().wsConnect(`ws://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(ClientConnectorError);
  });

  it("follows a 302 to the WebSocket route", async () => {
    const { port, seen } = await wsApp();
    const ws = await session().wsConnect(`ws://127.0.0.1:${port}/old`);
    expect(ws.url.pathname).toBe("/ws");
    expect(seen.map((r) => r.path)).toEqual(["/ws"]);
    expect(await roundTrip(ws)).toBe("ping?");
    await ws.close();
  });

  // Regression: `ws` followed redirects itself and never showed us the 3xx answer, so its
  // Set-Cookie was lost and the target got the first hop's Cookie header; aiohttp's
  // ws_connect goes through request(), which stores each hop's cookies.
  it("stores the cookies of a redirect and sends them to the target", async () => {
    const { port, seen } = await wsApp();
    const cookieJar = new CookieJar({ unsafe: true });
    const ws = await session({ cookieJar }).wsConnect(`ws://127.0.0.1:${port}/login`);
    await ws.close();
    expect(cookieJar.filterCookies(new URL(`http://127.0.0.1:${port}/`))).toEqual({ hop: "1" });
    expect(seen[0]?.cookies).toEqual({ hop: "1" });
  });

  it("fails with TooManyRedirects past maxRedirects", async () => {
    const { port } = await wsApp();
    const err = await rejection(
      session().wsConnect(`ws://127.0.0.1:${port}/loop`, { maxRedirects: 2 }),
    );
    expect(err).toBeInstanceOf(TooManyRedirects);
  });

  it("does not follow a redirect with maxRedirects 0: TooManyRedirects, as request() does", async () => {
    const { port, seen } = await wsApp();
    const err = await rejection(
      session().wsConnect(`ws://127.0.0.1:${port}/old`, { maxRedirects: 0 }),
    );
    expect(err).toBeInstanceOf(TooManyRedirects);
    expect(seen).toEqual([]);
  });
});

describe("handshake timeout", () => {
  it("fails with ServerTimeoutError when the server never answers", async () => {
    const port = await listen(createNetServer(() => {}));
    const t0 = performance.now();
    const err = await rejection(
      session({ timeout: { total: 200 } }).wsConnect(`ws://127.0.0.1:${port}/`),
    );
    const elapsed = performance.now() - t0;
    expect(err).toBeInstanceOf(ServerTimeoutError);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1000);
  });

  it("is bounded by the session's connect timeout too", async () => {
    const port = await listen(createNetServer(() => {}));
    const err = await rejection(
      session({ timeout: { connect: 150 } }).wsConnect(`ws://127.0.0.1:${port}/`),
    );
    expect(err).toBeInstanceOf(ServerTimeoutError);
  });
});

// ---------------------------------------------------------------------------------------------

/** A CONNECT proxy on loopback, closed after the test. */
async function startProxy(options: { refuse?: number } = {}): Promise<ConnectProxy> {
  const proxy = await startConnectProxy(options);
  cleanups.push(() => proxy.close());
  return proxy;
}

describe("proxies", () => {
  const PROXY_VARS = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "WS_PROXY",
    "ws_proxy",
    "WSS_PROXY",
    "wss_proxy",
  ];
  const NO_PROXY_VARS = ["NO_PROXY", "no_proxy"];
  const saved = new Map<string, string | undefined>();
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    saved.clear();
  });
  /** Clears the proxy variables for this test and sets `vars`; restored after the test. */
  function setEnv(vars: Record<string, string>): void {
    for (const name of [...PROXY_VARS, ...NO_PROXY_VARS]) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
    Object.assign(process.env, vars);
  }

  it("tunnels through the proxy option with CONNECT", async () => {
    const { url, port, seen } = await wsApp();
    const proxy = await startProxy();
    const ws = await session().wsConnect(url, { proxy: proxy.url });
    expect(await roundTrip(ws)).toBe("ping?");
    expect(proxy.requests.map((r) => r.target)).toEqual([`127.0.0.1:${port}`]);
    expect(seen).toHaveLength(1);
    await ws.close();
  });

  it("sends the proxy URL's credentials as Proxy-Authorization, to the proxy only", async () => {
    const { url, seen } = await wsApp();
    const proxy = await startProxy();
    const ws = await session().wsConnect(url, {
      proxy: `http://puser:ppass@127.0.0.1:${proxy.port}`,
    });
    expect(proxy.requests[0]?.headers["proxy-authorization"]).toBe(
      `Basic ${Buffer.from("puser:ppass").toString("base64")}`,
    );
    expect(seen[0]?.headers.has("Proxy-Authorization")).toBe(false);
    await ws.close();
  });

  it("sends proxyAuth as Proxy-Authorization", async () => {
    const { url } = await wsApp();
    const proxy = await startProxy();
    const ws = await session().wsConnect(url, {
      proxy: proxy.url,
      proxyAuth: new BasicAuth("u2", "p2"),
    });
    expect(proxy.requests[0]?.headers["proxy-authorization"]).toBe(
      `Basic ${Buffer.from("u2:p2").toString("base64")}`,
    );
    await ws.close();
  });

  it("fails with ClientHttpProxyError when the proxy answers 407", async () => {
    const { url } = await wsApp();
    const proxy = await startProxy({ refuse: 407 });
    const err = await rejection(session().wsConnect(url, { proxy: proxy.url }));
    expect(err).toBeInstanceOf(ClientHttpProxyError);
    expect((err as ClientHttpProxyError).status).toBe(407);
  });

  it("fails with ClientProxyConnectionError when the proxy is unreachable", async () => {
    const { url } = await wsApp();
    const port = await freePort();
    const err = await rejection(session().wsConnect(url, { proxy: `http://127.0.0.1:${port}` }));
    expect(err).toBeInstanceOf(ClientProxyConnectionError);
  });

  it("rejects an invalid proxy URL with InvalidUrlClientError", async () => {
    const { url } = await wsApp();
    const err = await rejection(session().wsConnect(url, { proxy: "not a url" }));
    expect(err).toBeInstanceOf(InvalidUrlClientError);
  });

  it("goes through HTTP_PROXY when the session trusts the environment", async () => {
    const { url, port } = await wsApp();
    const proxy = await startProxy();
    setEnv({ HTTP_PROXY: proxy.url });
    const ws = await session({ trustEnv: true }).wsConnect(url);
    expect(await roundTrip(ws)).toBe("ping?");
    expect(proxy.requests.map((r) => r.target)).toEqual([`127.0.0.1:${port}`]);
    await ws.close();
  });

  it("goes through the session's proxy, with its auth and headers", async () => {
    const { url, port } = await wsApp();
    const proxy = await startProxy();
    const s = session({
      proxy: proxy.url,
      proxyAuth: new BasicAuth("su", "sp"),
      proxyHeaders: { "X-Proxy-Tag": "ws" },
    });
    const ws = await s.wsConnect(url);
    expect(await roundTrip(ws)).toBe("ping?");
    expect(proxy.requests[0]).toMatchObject({
      target: `127.0.0.1:${port}`,
      headers: { "proxy-authorization": new BasicAuth("su", "sp").encode(), "x-proxy-tag": "ws" },
    });
    await ws.close();
  });

  it("proxy: null on the handshake goes direct past the session's proxy", async () => {
    const { url } = await wsApp();
    const proxy = await startProxy();
    const ws = await session({ proxy: proxy.url }).wsConnect(url, { proxy: null });
    expect(await roundTrip(ws)).toBe("ping?");
    expect(proxy.requests).toEqual([]);
    await ws.close();
  });

  it("takes WS_PROXY over HTTP_PROXY for ws:// with trustEnv", async () => {
    const { url, port } = await wsApp();
    const wsProxy = await startProxy();
    const httpProxy = await startProxy();
    setEnv({ HTTP_PROXY: httpProxy.url, WS_PROXY: wsProxy.url });
    const ws = await session({ trustEnv: true }).wsConnect(url);
    expect(await roundTrip(ws)).toBe("ping?");
    expect(wsProxy.targets).toEqual([`127.0.0.1:${port}`]);
    expect(httpProxy.targets).toEqual([]);
    await ws.close();
  });

  withOpenssl("takes WSS_PROXY for wss:// with trustEnv", async () => {
    const { url, port } = await wsApp({ site: { ssl: tls } });
    const wssProxy = await startProxy();
    setEnv({ WSS_PROXY: wssProxy.url });
    const ws = await session({ trustEnv: true }).wsConnect(url, { ssl: false });
    expect(await roundTrip(ws)).toBe("ping?");
    expect(wssProxy.targets).toEqual([`127.0.0.1:${port}`]);
    await ws.close();
  });

  it("ignores HTTP_PROXY without trustEnv", async () => {
    const { url } = await wsApp();
    const proxy = await startProxy();
    setEnv({ HTTP_PROXY: proxy.url });
    const ws = await session().wsConnect(url);
    expect(await roundTrip(ws)).toBe("ping?");
    expect(proxy.requests).toEqual([]);
    await ws.close();
  });

  it("goes direct to a host listed in NO_PROXY", async () => {
    const { url } = await wsApp();
    const proxy = await startProxy();
    setEnv({ HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" });
    const ws = await session({ trustEnv: true }).wsConnect(url);
    expect(await roundTrip(ws)).toBe("ping?");
    expect(proxy.requests).toEqual([]);
    await ws.close();
  });

  withOpenssl("runs TLS inside the tunnel for wss://", async () => {
    const { url, port } = await wsApp({ site: { ssl: tls } });
    const proxy = await startProxy();
    const ws = await session().wsConnect(url, { proxy: proxy.url, ssl: false });
    expect(await roundTrip(ws)).toBe("ping?");
    expect(proxy.requests.map((r) => r.target)).toEqual([`127.0.0.1:${port}`]);
    await ws.close();
  });

  withOpenssl("verifies the certificate inside the tunnel", async () => {
    const { port } = await wsApp({ site: { ssl: tls } });
    const proxy = await startProxy();
    const ws = await session().wsConnect(`wss://localhost:${port}/ws`, {
      proxy: proxy.url,
      ssl: { ca: tls.cert },
    });
    expect(await roundTrip(ws)).toBe("ping?");
    expect(proxy.requests.map((r) => r.target)).toEqual([`localhost:${port}`]);
    await ws.close();
  });

  withOpenssl(
    "goes through HTTPS_PROXY for wss:// when the session trusts the environment",
    async () => {
      const { url, port } = await wsApp({ site: { ssl: tls } });
      const proxy = await startProxy();
      setEnv({ HTTPS_PROXY: proxy.url });
      const ws = await session({ trustEnv: true }).wsConnect(url, { ssl: false });
      expect(await roundTrip(ws)).toBe("ping?");
      expect(proxy.requests.map((r) => r.target)).toEqual([`127.0.0.1:${port}`]);
      await ws.close();
    },
  );
});

describe("lifetime", () => {
  it("closes with 1000 at the end of an await using block", async () => {
    const { url, closes } = await wsApp();
    let inside: boolean | undefined;
    {
      await using ws = await session().wsConnect(url);
      inside = ws.closed;
      expect(await roundTrip(ws)).toBe("ping?");
    }
    expect(inside).toBe(false);
    await expect.poll(() => closes).toEqual([{ code: 1000, reason: "" }]);
  });

  it("rejects wsConnect on a closed session with ClientClosedError", async () => {
    const { url, seen } = await wsApp();
    const s = session();
    await s.close();
    const err = await rejection(s.wsConnect(url));
    expect(err).toBeInstanceOf(ClientClosedError);
    expect(seen).toEqual([]);
  });

  // Documented behaviour: a WebSocket does not belong to the connector's pool, so closing the
  // session leaves it open; the caller closes it.
  it("closes its open WebSockets with 1001 on session.close(), as aiohttp's session does", async () => {
    const { url, closes } = await wsApp();
    const s = session();
    const ws = await s.wsConnect(url);
    await s.close();
    expect(ws.closed).toBe(true);
    expect(ws.closeCode).toBe(1001);
    await expect.poll(() => closes).toEqual([{ code: 1001, reason: "Session closed" }]);
    expect(await ws.close()).toBe(false);
  });
});
