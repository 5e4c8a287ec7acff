// Our peer for the idle-connection memory bench (bench/idle-memory.ts): the WebSocket echo
// handler of ws-aiohttp-ts.mjs at /ws (compress keeps its default, true) and a plain text
// answer at /, on the BUILT package. Run by the bench with --expose-gc and an IPC channel: it
// answers "mem" with process.memoryUsage() taken after full collections.
// Usage: node --expose-gc idle-aiohttp-ts.mjs PORT

import { WSMsgType, web } from "aiohttp-ts";
import { answerMemoryRequests } from "./idle-memory-probe.mjs";

const port = Number(process.argv[2]);

const app = new web.Application();
app.router.addGet("/ws", async (request) => {
  const ws = new web.WebSocketResponse();
  await ws.prepare(request);
  for await (const msg of ws) {
    if (msg.type === WSMsgType.TEXT) await ws.sendStr(msg.data);
    else if (msg.type === WSMsgType.BINARY) await ws.sendBytes(msg.data);
  }
  return ws;
});
app.router.addGet("/", () => new web.Response({ text: "hello" }));

const runner = new web.AppRunner(app, { accessLog: null });
await runner.setup();
await new web.TCPSite(runner, "127.0.0.1", port).start();
answerMemoryRequests();
