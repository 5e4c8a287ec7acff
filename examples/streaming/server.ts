// Streaming: a StreamResponse sends its body in pieces with chunked encoding, waiting on the
// socket's backpressure, and stops early when the client goes away.
//
//   npx tsx examples/streaming/server.ts
//   curl -N http://127.0.0.1:8080/count/5
//   curl -N --compressed http://127.0.0.1:8080/log/5

import { setTimeout as sleep } from "node:timers/promises";
import { web } from "aiohttp-ts";

const app = new web.Application();

app.router.addGet("/count/{n:\\d+}", async (request) => {
  const n = Math.min(Number(request.matchInfo.n), 100);
  const response = new web.StreamResponse({
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
  await response.prepare(request);
  for (let i = 1; i <= n; i++) {
    if (request.signal.aborted) break;
    await response.write(`${i}\n`);
    await sleep(50);
  }
  await response.writeEof();
  return response;
});

// The same stream compressed (br, gzip or deflate, whichever the client accepts): each write()
// is flushed through the compressor, so the client still sees every line as it is written.
app.router.addGet("/log/{n:\\d+}", async (request) => {
  const n = Math.min(Number(request.matchInfo.n), 100);
  const response = new web.StreamResponse({
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
  response.enableCompression();
  await response.prepare(request);
  for (let i = 1; i <= n && !request.signal.aborted; i++) {
    await response.write(`${new Date().toISOString()} line ${i}\n`);
    await sleep(50);
  }
  await response.writeEof();
  return response;
});

// Server-sent events by hand: the same mechanism with the text/event-stream format
// (web.EventSourceResponse does this, with pings and reconnection: see examples/sse).
app.router.addGet("/events", async (request) => {
  const response = new web.StreamResponse({
    headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" },
  });
  await response.prepare(request);
  for (let i = 1; i <= 3 && !request.signal.aborted; i++) {
    await response.write(`id: ${i}\ndata: ${JSON.stringify({ tick: i })}\n\n`);
    await sleep(50);
  }
  await response.writeEof();
  return response;
});

web.runApp(app, { port: Number(process.env.PORT ?? 8080) });
