// Middlewares: an auth middleware keeps the user on the request under a typed RequestKey for
// the handler, and an outer one times every request and adds a header to the response.
//
//   npx tsx examples/middleware/server.ts
//   curl -H "Authorization: Bearer alice-token" http://127.0.0.1:8080/me

import { web } from "aiohttp-ts";

interface User {
  readonly name: string;
  readonly admin: boolean;
}

// A real application would look tokens up in a database.
const TOKENS = new Map<string, User>([
  ["alice-token", { name: "alice", admin: true }],
  ["bob-token", { name: "bob", admin: false }],
]);

const userKey = new web.RequestKey<User>("user");
const PUBLIC_PATHS = new Set(["/"]);

/**
 * Outermost: measures the whole chain, including the other middlewares. HTTP errors travel up
 * as thrown exceptions, which carry headers too, so they get the header as well.
 */
const timing: web.Middleware = async (request, handler) => {
  const started = performance.now();
  const header = (): string => `app;dur=${(performance.now() - started).toFixed(2)}`;
  try {
    const response = await handler(request);
    // A streamed response has sent its headers already.
    if (!response.prepared) response.headers.set("Server-Timing", header());
    return response;
  } catch (err) {
    if (err instanceof web.HTTPException) err.headers.set("Server-Timing", header());
    throw err;
  }
};

/** Refuses requests without a known bearer token, except on public paths. */
const auth: web.Middleware = async (request, handler) => {
  if (PUBLIC_PATHS.has(request.path)) return handler(request);
  const header = request.headers.get("Authorization") ?? "";
  const user = header.startsWith("Bearer ") ? TOKENS.get(header.slice(7)) : undefined;
  if (user === undefined) {
    throw new web.HTTPUnauthorized({
      text: "A valid bearer token is required",
      headers: { "WWW-Authenticate": 'Bearer realm="example"' },
    });
  }
  request.set(userKey, user);
  return handler(request);
};

const app = new web.Application({ middlewares: [timing, auth] });

app.router.addGet("/", () => new web.Response({ text: "Public page. Try /me with a token." }));

app.router.addGet("/me", (request) => {
  // Set by the auth middleware; typed as User without a cast.
  const user = request.get(userKey);
  return web.jsonResponse(user);
});

app.router.addGet("/admin", (request) => {
  if (request.get(userKey)?.admin !== true) throw new web.HTTPForbidden();
  return new web.Response({ text: "Welcome to the admin area" });
});

web.runApp(app, { port: Number(process.env.PORT ?? 8080) });
