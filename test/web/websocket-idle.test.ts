// What an open WebSocket session keeps of its handshake: the HTTP response and node's request
// are let go after the 101 and made again only when asked for, and the request's public fields
// keep working.

import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { setImmediate as tick } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { web } from "../../src/index.js";
import { deferred, quiet, useRunners } from "../helpers.js";

// A full collection on demand, to see what a session lets go (the runner has no --expose-gc).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const start = useRunners();
const clients: WebSocket[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.terminate();
});

async function connect(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: true });
  clients.push(ws);
  await once(ws, "open");
  return ws;
}

/**
 * Serves `app` with a /ws handler that calls `first` with the request, opens the session and
 * idles until the client leaves; resolves once a client's session is open.
 */
async function openIdleSession(
  app: web.Application,
  first: (request: web.Request) => void = () => {},
): Promise<void> {
  const idle = deferred();
  app.router.addGet("/ws", async (request) => {
    first(request);
    const ws = new web.WebSocketResponse();
    await ws.prepare(request);
    idle.resolve();
    for await (const _ of ws) {
      // idle until the client leaves
    }
    return ws;
  });
  const { port } = await start(app, { accessLog: null });
  await connect(port);
  await idle.promise;
}

/** Whether `ref`'s target is gone after full collections (WeakRefs hold until the next job). */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    await tick();
    gc();
  }
  return ref.deref() === undefined;
}

describe("an open WebSocket session", () => {
  it("lets the handshake's ServerResponse go once the 101 is out", async () => {
    const app = new web.Application({ logger: quiet });
    let handshake: WeakRef<ServerResponse> | undefined;
    app.onResponsePrepare.push((request) => {
      handshake = new WeakRef(request.rawResponse);
    });
    await openIdleSession(app);
    expect(handshake).toBeDefined();
    expect(await collected(handshake as WeakRef<ServerResponse>)).toBe(true);
  });

  it("request.rawResponse read mid-session is on the connection and sees it close", async () => {
    const app = new web.Application({ logger: quiet });
    const read = deferred<ServerResponse>();
    app.router.addGet("/ws", async (request) => {
      const ws = new web.WebSocketResponse();
      await ws.prepare(request);
      read.resolve(request.rawResponse);
      for await (const _ of ws) {
        // idle until the client leaves
      }
      return ws;
    });
    const { port } = await start(app, { accessLog: null });
    const client = await connect(port);
    const res = await read.promise;
    expect(res.socket).not.toBeNull();
    expect(res.destroyed).toBe(false);
    expect(res.shouldKeepAlive).toBe(false);
    const closed = once(res, "close");
    client.close();
    await closed;
    expect(res.destroyed).toBe(true);
  });

  it("request.rawResponse first read after the session ended is destroyed, and the request completes", async () => {
    const app = new web.Application({ logger: quiet });
    const after = deferred<boolean>();
    app.router.addGet("/ws", async (request) => {
      const ws = new web.WebSocketResponse();
      await ws.prepare(request);
      for await (const _ of ws) {
        // until the client leaves
      }
      // The connection is gone: the response made now must not wait for a close it missed.
      if (!request.raw.socket.destroyed) await once(request.raw.socket, "close");
      const res = request.rawResponse;
      after.resolve(res.destroyed);
      return ws;
    });
    const { port, runner } = await start(app, { accessLog: null });
    const client = await connect(port);
    client.terminate();
    expect(await after.promise).toBe(true);
    // The server counts the request done (graceful shutdown would otherwise wait for it).
    while (runner.server.inFlight > 0) await tick();
    expect(runner.server.inFlight).toBe(0);
  });

  it("request headers still read as node gives them (node builds req.headers on demand)", async () => {
    const app = new web.Application({ logger: quiet });
    const seen = deferred<{ upgrade: string | undefined; key: string | undefined }>();
    app.router.addGet("/ws", async (request) => {
      const ws = new web.WebSocketResponse();
      await ws.prepare(request);
      seen.resolve({
        upgrade: request.raw.headers.upgrade,
        key: request.headers.get("Sec-WebSocket-Key"),
      });
      for await (const _ of ws) {
        // idle until the client leaves
      }
      return ws;
    });
    const { port } = await start(app, { accessLog: null });
    await connect(port);
    const { upgrade, key } = await seen.promise;
    expect(upgrade).toBe("websocket");
    expect(key).toMatch(/^[+/0-9A-Za-z]{22}==$/);
  });

  it("lets node's IncomingMessage go once the 101 is out", async () => {
    const app = new web.Application({ logger: quiet });
    let handshake: WeakRef<IncomingMessage> | undefined;
    await openIdleSession(app, (request) => {
      handshake = new WeakRef(request.raw);
    });
    expect(handshake).toBeDefined();
    expect(await collected(handshake as WeakRef<IncomingMessage>)).toBe(true);
  });

  it("request.raw read mid-session has node's request line, headers and socket", async () => {
    const app = new web.Application({ logger: quiet });
    interface Seen {
      before: {
        method: string | undefined;
        url: string | undefined;
        version: string;
        rawHeaders: string[];
      };
      after: IncomingMessage;
      socket: unknown;
      again: boolean;
    }
    const seen = deferred<Seen>();
    app.router.addGet("/ws", async (request) => {
      const { method, url, httpVersion, rawHeaders } = request.raw;
      const socket = request.raw.socket;
      const ws = new web.WebSocketResponse();
      await ws.prepare(request);
      const after = request.raw;
      seen.resolve({
        before: { method, url, version: httpVersion, rawHeaders: [...rawHeaders] },
        after,
        socket,
        again: request.raw === after,
      });
      for await (const _ of ws) {
        // idle until the client leaves
      }
      return ws;
    });
    const { port } = await start(app, { accessLog: null });
    const client = new WebSocket(`ws://127.0.0.1:${port}/ws?room=1`, {
      perMessageDeflate: true,
      headers: { "X-Empty": "", Cookie: "a=1; b=2" },
    });
    clients.push(client);
    await once(client, "open");
    const { before, after, socket, again } = await seen.promise;
    expect(after.method).toBe(before.method);
    expect(after.url).toBe("/ws?room=1");
    expect(after.url).toBe(before.url);
    expect(after.httpVersion).toBe(before.version);
    expect(after.httpVersionMajor).toBe(1);
    expect(after.httpVersionMinor).toBe(1);
    expect(after.rawHeaders).toEqual(before.rawHeaders);
    expect(after.headers["x-empty"]).toBe("");
    expect(after.headers.cookie).toBe("a=1; b=2");
    expect(after.socket).toBe(socket);
    expect(after.complete).toBe(true);
    expect(again).toBe(true);
  });
});
