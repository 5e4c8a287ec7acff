// docs/deployment.md's nginx config, run: Debian's nginx in front of one aiohttp-ts application
// on a TCP port and one on a unix socket, with TLS terminated at nginx. The client connects
// from 127.0.0.2, so that its address differs from nginx's (127.0.0.1) and the test can tell
// which one the application believes.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ClientSession, TCPConnector, WSMsgType, web } from "../../src/index.js";
import { type Deferred, deferred, selfSignedCert } from "../helpers.js";
import { hasPeer } from "../peers.js";
import { type Nginx, nginxPorts, SITE_CONF, siteConfig, startNginx } from "./nginx.js";

const CLIENT_ADDRESS = "127.0.0.2";

/** What `/whoami` answers: what the application believes about the request. */
interface Seen {
  backend: string;
  remote: string | null;
  scheme: string;
  host: string;
  secure: boolean;
}

/** Where a handler that must wait for the test waits (`current`), and says it got there. */
const gate: { current: Deferred<void>; reached: Deferred<void> } = {
  current: deferred(),
  reached: deferred(),
};

function createApp(backend: string, trustProxy: web.TrustProxy): web.Application {
  const app = new web.Application({ trustProxy });
  app.router.addGet("/whoami", (request) =>
    web.jsonResponse({
      backend,
      remote: request.remote,
      scheme: request.scheme,
      host: request.host,
      secure: request.secure,
    } satisfies Seen),
  );
  app.router.addGet("/stream/chunks", async (request) => {
    const resp = new web.StreamResponse();
    await resp.prepare(request);
    // A proxy passes on what came with the head; the chunk after it is the one a proxy that
    // buffers responses could hold back.
    await resp.write("zero\n");
    await gate.reached.promise;
    await resp.write("first\n");
    await gate.current.promise;
    await resp.write("second\n");
    await resp.writeEof();
    return resp;
  });
  app.router.addGet("/events", async (request) => {
    const sse = new web.EventSourceResponse();
    await sse.prepare(request);
    await sse.send("one");
    await gate.current.promise;
    await sse.send("two");
    return sse;
  });
  app.router.addGet("/slow", async () => {
    gate.reached.resolve();
    await gate.current.promise;
    return new web.Response({ text: "finished" });
  });
  app.router.addGet("/ws", async (request) => {
    const ws = new web.WebSocketResponse();
    await ws.prepare(request);
    for await (const msg of ws) {
      if (msg.type === WSMsgType.TEXT) await ws.sendStr(`echo: ${msg.data}`);
    }
    return ws;
  });
  return app;
}

/** nginx with the documented config in front of the two applications. */
interface Stack {
  nginx: Nginx;
  httpUrl: string;
  httpsUrl: string;
  httpsHost: string;
  /** A session that connects from CLIENT_ADDRESS and trusts nginx's certificate. */
  session: ClientSession;
  close(): Promise<void>;
}

async function startStack(trustProxy: web.TrustProxy): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-deploy-"));
  const tls = await selfSignedCert(dir);
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  await writeFile(certFile, tls.cert);
  await writeFile(keyFile, tls.key);

  const runners: web.AppRunner[] = [];
  const tcpRunner = new web.AppRunner(createApp("tcp", trustProxy), {
    accessLog: null,
    shutdownTimeout: 2_000,
  });
  runners.push(tcpRunner);
  await tcpRunner.setup();
  const tcpSite = new web.TCPSite(tcpRunner, "127.0.0.1", 0);
  await tcpSite.start();
  const unixRunner = new web.AppRunner(createApp("unix", trustProxy), {
    accessLog: null,
    shutdownTimeout: 2_000,
  });
  runners.push(unixRunner);
  await unixRunner.setup();
  const upstreamSocket = join(dir, "app.sock");
  await new web.UnixSite(unixRunner, upstreamSocket).start();

  const ports = await nginxPorts();
  const nginx = await startNginx(
    await siteConfig({
      ...ports,
      upstreamPort: tcpSite.port,
      upstreamSocket,
      certFile,
      keyFile,
    }),
  );
  const session = new ClientSession({
    connector: new TCPConnector({ localAddr: CLIENT_ADDRESS, ssl: { ca: tls.cert } }),
  });
  return {
    nginx,
    httpUrl: `http://127.0.0.1:${ports.httpPort}`,
    httpsUrl: `https://127.0.0.1:${ports.httpsPort}`,
    httpsHost: `127.0.0.1:${ports.httpsPort}`,
    session,
    async close() {
      gate.current.resolve();
      await session.close();
      await nginx.stop();
      for (const runner of runners) await runner.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** GET `/whoami` through nginx until both upstreams answered; what each one saw. */
async function whoamiFromBoth(
  stack: Stack,
  base: string,
  headers: Record<string, string> = {},
): Promise<Map<string, Seen>> {
  const seen = new Map<string, Seen>();
  // nginx's round robin alternates between the two upstream servers.
  for (let i = 0; i < 2; i++) {
    const resp = await stack.session.get(`${base}/whoami`, {
      headers,
      serverHostname: "localhost",
    });
    expect(resp.status).toBe(200);
    const body = (await resp.json()) as Seen;
    seen.set(body.backend, body);
  }
  expect([...seen.keys()].sort()).toEqual(["tcp", "unix"]);
  return seen;
}

/** Headers a client could send to pass itself off as someone else. */
const SPOOFED = {
  "X-Forwarded-For": "203.0.113.9",
  "X-Forwarded-Proto": "https",
  "X-Forwarded-Host": "evil.example",
  Forwarded: "for=198.51.100.7;proto=https;host=evil.example",
};

// Needs no nginx, so it runs everywhere.
it("docs/deployment.md shows docs/nginx/aiohttp-ts.conf as it is", async () => {
  const conf = await readFile(SITE_CONF, "utf8");
  const doc = await readFile(new URL("../../docs/deployment.md", import.meta.url), "utf8");
  expect(doc).toContain(`\`\`\`nginx\n${conf}\`\`\`\n`);
});

describe.skipIf(!hasPeer("nginx", "openssl"))("behind nginx (docs/nginx/aiohttp-ts.conf)", () => {
  describe("with trustProxy: 1", () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack(1);
    });
    afterAll(async () => {
      await stack?.close();
    });
    afterEach(() => {
      gate.current.resolve();
      gate.current = deferred();
      gate.reached = deferred();
    });

    it("passes requests to the upstream on a TCP port and to the one on a unix socket", async () => {
      await whoamiFromBoth(stack, stack.httpUrl);
    });

    it("the application sees the client's address, scheme and host from X-Forwarded-*", async () => {
      const seen = await whoamiFromBoth(stack, stack.httpsUrl);
      for (const backend of ["tcp", "unix"]) {
        expect(seen.get(backend)).toEqual({
          backend,
          remote: CLIENT_ADDRESS,
          scheme: "https",
          host: stack.httpsHost,
          secure: true,
        });
      }
    });

    it("forwarding headers the client sends itself are not believed", async () => {
      const seen = await whoamiFromBoth(stack, stack.httpUrl, SPOOFED);
      for (const s of seen.values()) {
        expect(s.remote).toBe(CLIENT_ADDRESS);
        expect(s.scheme).toBe("http");
        expect(s.host).toBe(stack.httpUrl.slice("http://".length));
      }
    });

    it("a WebSocket echoes through nginx over TLS", async () => {
      await using ws = await stack.session.wsConnect(`${stack.httpsUrl}/ws`, {
        serverHostname: "localhost",
      });
      await ws.sendStr("hello");
      expect(await ws.receiveStr(5_000)).toBe("echo: hello");
      await ws.sendStr("again");
      expect(await ws.receiveStr(5_000)).toBe("echo: again");
    });

    it("a streamed response under /stream/ reaches the client chunk by chunk", async () => {
      const resp = await stack.session.get(`${stack.httpUrl}/stream/chunks`);
      expect((await resp.content.readany()).toString()).toBe("zero\n");
      gate.reached.resolve();
      // The handler waits for the gate after this chunk: a proxy holding it back hangs here.
      expect((await resp.content.readany()).toString()).toBe("first\n");
      gate.current.resolve();
      expect(await resp.text()).toBe("second\n");
    });

    it("an event stream reaches the client event by event", async () => {
      const resp = await stack.session.get(`${stack.httpUrl}/events`);
      expect(resp.headers.get("Content-Type")).toContain("text/event-stream");
      expect((await resp.content.readline()).toString()).toBe("data: one\r\n");
      gate.current.resolve();
      expect(await resp.text()).toBe("\r\ndata: two\r\n\r\n");
    });
  });

  describe("without trustProxy", () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack(false);
    });
    afterAll(async () => {
      await stack?.close();
    });

    it("the application ignores X-Forwarded-* and sees nginx", async () => {
      const seen = await whoamiFromBoth(stack, stack.httpsUrl, SPOOFED);
      // nginx's own connection: from 127.0.0.1 over TCP, and with no address over the socket.
      expect(seen.get("tcp")?.remote).toBe("127.0.0.1");
      expect(seen.get("unix")?.remote).toBe(null);
      for (const s of seen.values()) {
        expect(s.remote).not.toBe(CLIENT_ADDRESS);
        expect(s.scheme).toBe("http");
        expect(s.secure).toBe(false);
        // nginx sends the upstream's name as Host.
        expect(s.host).toBe("aiohttp_ts");
      }
    });
  });

  describe("stopping", () => {
    let stack: Stack;
    beforeAll(async () => {
      gate.current = deferred();
      stack = await startStack(1);
    });
    afterAll(async () => {
      await stack?.close();
    });

    it("nginx's graceful stop (SIGQUIT) lets a request in flight finish, then exits 0", async () => {
      const reply = stack.session.get(`${stack.httpUrl}/slow`);
      await gate.reached.promise;
      stack.nginx.child.kill("SIGQUIT");
      gate.current.resolve();
      const resp = await reply;
      expect(resp.status).toBe(200);
      expect(await resp.text()).toBe("finished");
      expect(await stack.nginx.exited).toBe(0);
      expect(stack.nginx.log()).toMatch(/gracefully shutting down/);
      expect(stack.nginx.log()).not.toMatch(/\[(emerg|alert|crit)\]/);
    });
  });
});
