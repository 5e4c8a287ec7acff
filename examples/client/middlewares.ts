// Client middlewares and retries: a middleware adds a bearer token and refreshes it once when
// the server answers 401, another logs each attempt, and the session's `retry` option sends a
// request again when the server answers 503.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/middlewares.ts

import { type ClientMiddleware, ClientSession, RetryMiddleware } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

let token = "expired";
const bearer: ClientMiddleware = async (request, handler) => {
  request.headers.set("Authorization", `Bearer ${token}`);
  const response = await handler(request);
  if (response.status !== 401) return response;
  // Release the refused answer, get a new token and send the request again.
  await response.release();
  token = "fresh";
  request.headers.set("Authorization", `Bearer ${token}`);
  return handler(request);
};

const attempts: string[] = [];
const logAttempts: ClientMiddleware = async (request, handler) => {
  const response = await handler(request);
  attempts.push(`${request.method} ${request.url.pathname} -> ${response.status}`);
  return response;
};

{
  await using session = new ClientSession({ baseUrl: BASE_URL, middlewares: [bearer] });
  await using seen = await session.get("/headers");
  const { headers } = await seen.json<{ headers: Record<string, string> }>();
  console.log(`bearer: the server saw "${headers.Authorization}"`);
  // /status/401 refuses any token: the middleware refreshes it once, then gives the 401 back.
  await using refused = await session.get("/status/401");
  console.log(`bearer: ${refused.status} even with the token refreshed to "${token}"`);
}
{
  // The retry goes innermost, so logAttempts sees every attempt; no wait between them here.
  await using session = new ClientSession({
    baseUrl: BASE_URL,
    middlewares: [new RetryMiddleware({ attempts: 3, baseDelay: 0 }), logAttempts],
  });
  await using resp = await session.get("/status/503");
  console.log(`retry: ${resp.status} after ${attempts.length} attempts`);
  console.log(attempts.join("\n"));
}
