// Our WebSocket peer: an echo handler on the BUILT package (dist/, imported by name), run with
// plain node so no TypeScript loader is involved.
// Usage: node ws-aiohttp-ts.mjs PORT

import { WSMsgType, web } from "aiohttp-ts";

const port = Number(process.argv[2]);

const app = new web.Application();
app.router.addGet("/", async (request) => {
  // compress keeps its default (true); the bench's clients do not offer permessage-deflate.
  const ws = new web.WebSocketResponse();
  await ws.prepare(request);
  for await (const msg of ws) {
    if (msg.type === WSMsgType.TEXT) await ws.sendStr(msg.data);
    else if (msg.type === WSMsgType.BINARY) await ws.sendBytes(msg.data);
  }
  return ws;
});

const runner = new web.AppRunner(app, { accessLog: null });
await runner.setup();
await new web.TCPSite(runner, "127.0.0.1", port).start();
console.log("READY");
// An explicit exit, so that `node --cpu-prof` writes its profile when the bench stops us.
process.on("SIGTERM", () => process.exit(0));
