// The server of the soak run (bench/soak.ts): the BUILT package (dist/), run with plain
// `node --expose-gc` and an IPC channel. Usage: node --expose-gc soak-aiohttp-ts.mjs
//   GET /small   "ok"
//   GET /json    a small JSON object
//   POST /echo   the request body back
//   GET /ws      a WebSocket echoing text messages
// It says {type: "ready", port} over IPC once it listens, and answers {type: "sample"} with
// {type: "sample", ...} after a full garbage collection: memory, open WebSockets, requests in
// flight, and what went wrong so far (unhandled rejections, uncaught exceptions, errors the
// application logged), counted rather than fatal so that the run reports them.
import { WSMsgType, web } from "../../dist/index.js";

if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc");
const gc = globalThis.gc;

const faults = { unhandledRejections: 0, uncaughtExceptions: 0, loggedErrors: 0 };
/** The first few problems, for the report: counts alone do not say what broke. */
const firstProblems = [];
function note(kind, detail) {
  if (firstProblems.length < 5) firstProblems.push(`${kind}: ${String(detail?.stack ?? detail)}`);
}
process.on("unhandledRejection", (reason) => {
  faults.unhandledRejections += 1;
  note("unhandledRejection", reason);
});
process.on("uncaughtException", (err) => {
  faults.uncaughtExceptions += 1;
  note("uncaughtException", err);
});

const app = new web.Application({
  logger: {
    error: (message, err) => {
      faults.loggedErrors += 1;
      note("logged error", `${message} ${err?.stack ?? ""}`);
    },
    warn: (message) => note("logged warning", message),
  },
});
app.router.addGet("/small", () => new web.Response({ text: "ok" }));
app.router.addGet("/json", () =>
  web.jsonResponse({ id: 42, name: "soak", tags: ["a", "b", "c"], nested: { ok: true } }),
);
app.router.addPost("/echo", async (request) => new web.Response({ body: await request.read() }));
app.router.addGet("/ws", async (request) => {
  const ws = new web.WebSocketResponse();
  await ws.prepare(request);
  for await (const msg of ws) {
    if (msg.type === WSMsgType.TEXT) await ws.sendStr(msg.data);
  }
  return ws;
});

const runner = new web.AppRunner(app, { accessLog: null });
await runner.setup();
const site = new web.TCPSite(runner, "127.0.0.1", 0);
await site.start();

process.on("message", (message) => {
  if (message?.type !== "sample") return;
  // Twice: the first collection can leave garbage that finalizers only released then.
  gc();
  gc();
  const memory = process.memoryUsage();
  process.send({
    type: "sample",
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
    webSockets: runner.server.webSocketCount,
    inFlight: runner.server.inFlight,
    requests: runner.server.requestCount,
    ...faults,
    firstProblems,
  });
});
// The IPC channel closing (the soak run ended or died) ends the server: graceful shutdown,
// then the process exits once nothing is left open.
process.on("disconnect", () => {
  void runner.cleanup();
});
process.send({ type: "ready", port: site.port });
