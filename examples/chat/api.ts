// The JSON API: rooms, history, members, posting a message (for the bot and curl), and
// choosing a nickname. Errors are ChatErrors, which the error middleware answers as JSON.

import { web } from "aiohttp-ts";
import { checkRoomName } from "./chat.js";
import { ChatError } from "./errors.js";
import { chatKey, nickOf, postRateKey, signerKey } from "./keys.js";
import { isNick, JOIN_HISTORY, MAX_PAGE } from "./limits.js";
import { NICK_COOKIE } from "./nick-cookie.js";

/** The request's JSON body as an object; 400 when it is not one (413 comes from clientMaxSize). */
async function jsonBody(request: web.Request): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch (err) {
    // request.json() answers a body that is too big with 413 and bad JSON with 400.
    if (err instanceof web.HTTPException && !(err instanceof web.HTTPBadRequest)) throw err;
    throw new ChatError(400, "bad_json", "the body must be JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ChatError(400, "bad_json", "the body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/** A query parameter that must be a positive integer when present. */
function positiveInt(request: web.Request, name: string): number | undefined {
  const raw = request.query.get(name);
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(raw)) {
    throw new ChatError(400, `bad_${name}`, `${name} must be a positive integer`);
  }
  return Number(raw);
}

/** The room named in the path, which must exist. */
function existingRoom(request: web.Request<{ room: string }>): string {
  const { room } = request.matchInfo;
  checkRoomName(room);
  if (request.app.require(chatKey).store.room(room) === undefined) {
    throw new ChatError(404, "no_room", `there is no room '${room}'`);
  }
  return room;
}

function requireNick(request: web.Request): string {
  const nick = nickOf(request);
  if (nick === null) {
    throw new ChatError(401, "no_nick", "choose a nickname first (POST /api/nick)");
  }
  return nick;
}

export function addApiRoutes({ router }: web.Application): void {
  // `worker`: which worker process answered (`null` without workers), for the page's footer.
  router.addGet("/api/me", (request) =>
    web.jsonResponse({ nick: nickOf(request), worker: web.workerId() }),
  );

  router.addPost("/api/nick", async (request) => {
    const { nick } = await jsonBody(request);
    if (typeof nick !== "string" || !isNick(nick)) {
      throw new ChatError(400, "bad_nick", "a nickname is 1-24 letters, digits, '_', '-' or '.'");
    }
    const response = web.jsonResponse({ nick });
    response.setCookie(NICK_COOKIE, request.app.require(signerKey).sign(nick), {
      httpOnly: true,
      sameSite: "Lax",
      secure: request.secure,
      maxAge: 30 * 24 * 3600,
    });
    return response;
  });

  router.addGet("/api/rooms", (request) =>
    web.jsonResponse({ rooms: request.app.require(chatKey).store.rooms() }),
  );

  router.addPost("/api/rooms", async (request) => {
    const { name } = await jsonBody(request);
    if (typeof name !== "string") throw new ChatError(400, "bad_room", "name must be a string");
    checkRoomName(name);
    // Rooms stay in the history for good: opening them is rate-limited like messages.
    if (!request.app.require(postRateKey).take(`rooms from ${request.remote}`)) {
      throw new ChatError(429, "rate_limited", "too many new rooms; wait a moment");
    }
    const { store } = request.app.require(chatKey);
    const created = store.createRoom(name);
    return web.jsonResponse({ room: store.room(name) }, { status: created ? 201 : 200 });
  });

  router.addGet("/api/rooms/{room}", (request) => {
    const room = existingRoom(request);
    return web.jsonResponse({ room: request.app.require(chatKey).store.room(room) });
  });

  router.addGet("/api/rooms/{room}/messages", (request) => {
    const room = existingRoom(request);
    const before = positiveInt(request, "before");
    const limit = positiveInt(request, "limit") ?? JOIN_HISTORY;
    if (limit > MAX_PAGE) {
      throw new ChatError(400, "bad_limit", `limit must be at most ${MAX_PAGE}`);
    }
    const messages = request.app
      .require(chatKey)
      .store.messages(room, before === undefined ? { limit } : { before, limit });
    return web.jsonResponse({ messages });
  });

  router.addGet("/api/rooms/{room}/members", async (request) => {
    const room = existingRoom(request);
    return web.jsonResponse({ members: await request.app.require(chatKey).bus.members(room) });
  });

  router.addPost("/api/rooms/{room}/messages", async (request) => {
    const nick = requireNick(request);
    const room = existingRoom(request);
    const { text } = await jsonBody(request);
    if (!request.app.require(postRateKey).take(nick)) {
      throw new ChatError(429, "rate_limited", "too many messages; wait a moment");
    }
    const message = await request.app.require(chatKey).say(room, nick, text);
    return web.jsonResponse({ message }, { status: 201 });
  });
}
