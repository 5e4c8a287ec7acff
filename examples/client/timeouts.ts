// Timeouts (aiohttp client quickstart, "Timeouts"): ClientTimeout fields in milliseconds, for
// the session and per request, and the errors each one raises.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/timeouts.ts

import {
  ClientSession,
  type ClientTimeout,
  ServerTimeoutError,
  SocketTimeoutError,
} from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

// The default is { total: 300_000, sockConnect: 30_000 }: five minutes for the whole request
// (connecting, redirects and reading the body) and 30 s to open a socket.
const timeout: ClientTimeout = { total: 60_000 };
await using session = new ClientSession({ baseUrl: BASE_URL, timeout });
console.log("session timeouts:", JSON.stringify(session.timeout));

// Per request, field by field over the session's: /delay/2 answers after two seconds.
try {
  await session.get("/delay/2", { timeout: { total: 500 } });
} catch (err) {
  if (!(err instanceof ServerTimeoutError)) throw err;
  console.log(`total: ${err.name}: ${err.message}`);
}

// sockRead bounds the wait for the response head and the gap between two body chunks.
try {
  await session.get("/delay/2", { timeout: { sockRead: 500 } });
} catch (err) {
  if (!(err instanceof SocketTimeoutError)) throw err;
  console.log(`sockRead: ${err.name} (a ServerTimeoutError: ${err instanceof ServerTimeoutError})`);
}

// Fast enough: no error. null (or 0) turns a timeout off.
{
  await using resp = await session.get("/delay/0.1", { timeout: { total: 5_000, sockRead: null } });
  console.log("in time:", resp.status);
}

// An AbortSignal cancels a request too (and the body read).
try {
  await session.get("/delay/2", { signal: AbortSignal.timeout(300) });
} catch (err) {
  console.log("signal:", (err as Error).name);
}
