// Our peer for the idle-connection memory bench (bench/idle-memory.ts): the WebSocket bench's
// echo handler (ws-echo-handler.mjs) at /ws and a plain text answer at /, on the BUILT package.
// Run by the bench with --expose-gc and an IPC channel: it answers "mem" with
// process.memoryUsage() taken after full collections.
// Usage: node --expose-gc idle-aiohttp-ts.mjs PORT

import { web } from "aiohttp-ts";
import { answerMemoryRequests } from "./idle-memory-probe.mjs";
import { echo } from "./ws-echo-handler.mjs";

const port = Number(process.argv[2]);

const app = new web.Application();
app.router.addGet("/ws", echo);
app.router.addGet("/", () => new web.Response({ text: "hello" }));

const runner = new web.AppRunner(app, { accessLog: null });
await runner.setup();
await new web.TCPSite(runner, "127.0.0.1", port).start();
answerMemoryRequests();
