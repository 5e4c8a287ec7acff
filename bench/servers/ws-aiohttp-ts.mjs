// Our WebSocket peer: an echo handler on the BUILT package (dist/, imported by name), run with
// plain node so no TypeScript loader is involved.
// Usage: node ws-aiohttp-ts.mjs PORT

import { web } from "aiohttp-ts";
import { echo } from "./ws-echo-handler.mjs";

const port = Number(process.argv[2]);

const app = new web.Application();
// The bench's clients do not offer permessage-deflate.
app.router.addGet("/", echo);

const runner = new web.AppRunner(app, { accessLog: null });
await runner.setup();
await new web.TCPSite(runner, "127.0.0.1", port).start();
console.log("READY");
// An explicit exit, so that `node --cpu-prof` writes its profile when the bench stops us.
process.on("SIGTERM", () => process.exit(0));
