// Request tracing: a TraceConfig times each step of a request (the DNS lookup, a new or reused
// connection, the answer), with a per-request label from traceRequestCtx, and a
// node:diagnostics_channel subscriber sees the same events without touching the session.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/tracing.ts

import { subscribe } from "node:diagnostics_channel";
import { ClientSession, TCPConnector, TRACE_CHANNELS, TraceConfig } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";
// The same server by name, so that the connector has a host to resolve.
const BY_NAME = BASE_URL.replace("127.0.0.1", "localhost");

const trace = new TraceConfig();
const steps: string[] = [];
trace.onRequestStart.push(async (_session, ctx) => {
  ctx.start = performance.now();
  steps.length = 0;
});
trace.onDnsCacheMiss.push(async (_session, _ctx, { host }) => {
  steps.push(`dns miss ${host}`);
});
trace.onDnsCacheHit.push(async (_session, _ctx, { host }) => {
  steps.push(`dns hit ${host}`);
});
trace.onConnectionCreateEnd.push(async () => {
  steps.push("new connection");
});
trace.onConnectionReuseconn.push(async () => {
  steps.push("reused connection");
});
trace.onRequestEnd.push(async (_session, ctx, { method, url, response }) => {
  const ms = performance.now() - (ctx.start as number);
  const label = String(ctx.traceRequestCtx);
  console.log(`${label}: ${method} ${url.pathname} ${response.status} [${steps.join(", ")}]`);
  if (!(ms >= 0)) throw new Error("no timing");
});

// A tool watching the process: no code in the session for it.
subscribe(TRACE_CHANNELS.onRequestException, (message) => {
  const { url, exception } = message as { url: URL; exception: Error };
  console.log(`channel: ${url.pathname} failed with ${exception.name}`);
});

// IPv4 only: the example server listens on 127.0.0.1, and localhost may also name ::1.
await using session = new ClientSession({
  traceConfigs: [trace],
  connector: new TCPConnector({ family: 4 }),
});
for (const label of ["first", "second"]) {
  await using resp = await session.get(`${BY_NAME}/get`, { traceRequestCtx: label });
  await resp.read();
}
// A connection refused: the exception goes to the channel subscriber too.
await session.get("http://127.0.0.1:1/").catch(() => {});
