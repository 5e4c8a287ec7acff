// The two echo servers every case runs against: ours (web.WebSocketResponse in a handler) and,
// as the reference, a bare `ws` WebSocketServer with the same limits.
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll } from "vitest";
import { WebSocketServer } from "ws";
import { DEFAULT_MAX_MSG_SIZE } from "../../src/http/websocket.js";
import { WSMsgType, web } from "../../src/index.js";

export interface EchoServer {
  readonly name: string;
  readonly port: number;
  /** The path of the echo endpoint. */
  readonly path: string;
  stop(): Promise<void>;
}

const quiet: web.Logger = { error() {}, warn() {} };

/**
 * Ours, as a user writes it: defaults everywhere (4 MiB messages, permessage-deflate on,
 * autoclose) unless `options` say otherwise.
 */
export async function startOurs(
  name = "aiohttp-ts",
  options: web.WebSocketResponseOptions = {},
): Promise<EchoServer> {
  const app = new web.Application({ logger: quiet });
  app.router.addGet("/echo", async (request) => {
    const ws = new web.WebSocketResponse(options);
    await ws.prepare(request);
    for await (const msg of ws) {
      if (msg.type === WSMsgType.TEXT) await ws.sendStr(msg.data);
      else if (msg.type === WSMsgType.BINARY) await ws.sendBytes(msg.data);
    }
    return ws;
  });
  const runner = new web.AppRunner(app, { accessLog: null });
  await runner.setup();
  const site = new web.TCPSite(runner, "127.0.0.1", 0);
  await site.start();
  return {
    name,
    port: site.port,
    path: "/echo",
    async stop() {
      runner.server.closeAllConnections();
      await runner.cleanup();
    },
  };
}

/**
 * The reference: `ws` on its own, echoing from its "message" event. Its defaults differ from
 * ours in two places, set to ours so the cases compare behaviour, not configuration: its
 * maxPayload is 100 MiB (ours 4 MiB) and a server's permessage-deflate is off by default.
 */
export async function startWs(): Promise<EchoServer> {
  const server = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    path: "/echo",
    maxPayload: DEFAULT_MAX_MSG_SIZE,
    perMessageDeflate: {},
  });
  server.on("connection", (ws) => {
    ws.on("message", (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    ws.on("error", () => {});
  });
  await once(server, "listening");
  return {
    name: "ws",
    port: (server.address() as AddressInfo).port,
    path: "/echo",
    async stop() {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Ours and the reference, side by side, for the tests of one file. */
export interface EchoPair {
  ours: EchoServer;
  reference: EchoServer;
}

/**
 * Starts ours (default options) and the reference before the file's tests and stops them
 * after; the returned pair is filled in once they run.
 */
export function useEchoPair(): EchoPair {
  const pair = {} as EchoPair;
  beforeAll(async () => {
    [pair.ours, pair.reference] = await Promise.all([startOurs(), startWs()]);
  });
  afterAll(async () => {
    await Promise.all([pair.ours.stop(), pair.reference.stop()]);
  });
  return pair;
}
