// The application the testing recipes test (docs/testing.md): a greeting, a small notes API
// kept in application state, a login cookie, and a WebSocket echo.

import { WSMsgType, web } from "aiohttp-ts";

/** Where the notes live: one list per application, so each test's app starts empty. */
export const notesKey = new web.AppKey<string[]>("notes");

/** A handler that needs no application around it: the unit-test recipe calls it directly. */
export async function greet(request: web.Request<{ name: string }>): Promise<web.Response> {
  const lang = request.query.get("lang") ?? "en";
  const word = lang === "fr" ? "Bonjour" : "Hello";
  return web.jsonResponse({ greeting: `${word}, ${request.matchInfo.name}` });
}

export function createApp(): web.Application {
  const app = new web.Application();
  app.set(notesKey, []);
  app.router.addGet("/hello/{name}", greet);
  app.router.addGet("/notes", (request) => web.jsonResponse(request.app.require(notesKey)));
  app.router.addPost("/notes", async (request) => {
    const { text } = await request.json<{ text?: unknown }>();
    if (typeof text !== "string") throw new web.HTTPBadRequest({ text: "text is required" });
    request.app.require(notesKey).push(text);
    return web.jsonResponse({ text }, { status: 201 });
  });
  app.router.addPost("/login", async (request) => {
    const form = await request.post();
    const user = form.get("user");
    if (typeof user !== "string") throw new web.HTTPBadRequest({ text: "user is required" });
    const resp = new web.Response({ text: `welcome, ${user}` });
    resp.setCookie("user", user, { httpOnly: true });
    return resp;
  });
  app.router.addGet("/me", (request) => {
    const user = request.cookies.user;
    if (user === undefined) throw new web.HTTPUnauthorized();
    return web.jsonResponse({ user });
  });
  app.router.addGet("/ws", async (request) => {
    const ws = new web.WebSocketResponse();
    await ws.prepare(request);
    for await (const msg of ws) {
      if (msg.type === WSMsgType.TEXT) await ws.sendStr(`echo: ${msg.data}`);
    }
    return ws;
  });
  return app;
}
