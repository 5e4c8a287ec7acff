// Our peer: the BUILT package (dist/), run with plain node so no TypeScript loader is involved.
// Usage: node aiohttp-ts.mjs PORT

import { web } from "../../dist/index.js";

const port = Number(process.argv[2]);

const app = new web.Application();
app.router.addGet(
  "/hello/{name}",
  async (request) => new web.Response({ text: `Hello, ${request.matchInfo.name}` }),
);
app.router.addGet("/json", async () => web.jsonResponse({ message: "Hello, World!" }));

const runner = new web.AppRunner(app, { accessLog: null });
await runner.setup();
await new web.TCPSite(runner, "127.0.0.1", port).start();
console.log("READY");
// An explicit exit, so that `node --cpu-prof` writes its profile when the bench stops us.
process.on("SIGTERM", () => process.exit(0));
