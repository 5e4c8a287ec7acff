// Our peer with worker processes: the BUILT package (dist/) served by runApp({ workers }), the
// primary forking WORKERS copies of this program that share the port (node:cluster).
// Usage: node aiohttp-ts-workers.mjs PORT WORKERS

import { web } from "../../dist/index.js";

const port = Number(process.argv[2]);
const workers = Number(process.argv[3]);

const app = new web.Application();
app.router.addGet(
  "/hello/{name}",
  async (request) => new web.Response({ text: `Hello, ${request.matchInfo.name}` }),
);
app.router.addGet("/json", async () => web.jsonResponse({ message: "Hello, World!" }));

// The primary prints the banner once every worker listens: that is when the bench may load it.
// SIGTERM from the bench shuts the primary and its workers down gracefully.
await web.runApp(app, {
  host: "127.0.0.1",
  port,
  workers,
  accessLog: null,
  print: () => console.log("READY"),
});
