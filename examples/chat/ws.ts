// A room's WebSocket, `/rooms/{room}/ws`: the page's live connection. On joining, the member
// gets a `welcome` (recent history and the members), then every event of the room; it sends
// `{ "type": "say", "text": "..." }`. Refusals come back as `{ "type": "error", ... }` frames.

import { type WSMessage, WSMsgType, web } from "aiohttp-ts";
import { checkRoomName, messageKey } from "./chat.js";
import { ChatError } from "./errors.js";
import { chatKey, nickOf } from "./keys.js";
import { JOIN_HISTORY, MAX_BODY, MAX_TEXT } from "./limits.js";
import { TokenBucket } from "./rate.js";
import type { RoomEvent } from "./types.js";

/** What a member's page may send. */
function parseSay(msg: WSMessage): string {
  if (msg.type !== WSMsgType.TEXT) throw new ChatError(400, "bad_frame", "send JSON text frames");
  let data: unknown;
  try {
    data = JSON.parse(msg.data);
  } catch {
    throw new ChatError(400, "bad_json", "a frame must be JSON");
  }
  if (typeof data !== "object" || data === null || (data as { type?: unknown }).type !== "say") {
    throw new ChatError(400, "bad_frame", 'send { "type": "say", "text": "..." }');
  }
  const { text } = data as { text?: unknown };
  if (typeof text !== "string") throw new ChatError(400, "bad_text", "text must be a string");
  return text;
}

export async function roomSocket(
  request: web.Request<{ room: string }>,
): Promise<web.WebSocketResponse> {
  const { room } = request.matchInfo;
  checkRoomName(room);
  const nick = nickOf(request);
  // Refused before the upgrade, so the client gets an HTTP answer it can read.
  if (nick === null) throw new ChatError(401, "no_nick", "choose a nickname first");
  const chat = request.app.require(chatKey);
  chat.store.createRoom(room); // joining a room that does not exist yet opens it

  const ws = new web.WebSocketResponse({ heartbeat: 30_000, maxMsgSize: MAX_BODY });
  await ws.prepare(request);

  const forward = (event: RoomEvent): void => {
    // A member that is closing just misses the event.
    ws.sendJson(event).catch(() => {});
  };
  // Events that arrive before the welcome is out wait here, so that none falls between the
  // history and the live stream; the ones the history already holds are dropped.
  let early: RoomEvent[] | null = [];
  const unsubscribe = chat.bus.subscribe(room, (event) => {
    if (early === null) forward(event);
    else early.push(event);
  });
  const bucket = new TokenBucket();
  try {
    const history = chat.store.messages(room, { limit: JOIN_HISTORY });
    await chat.bus.join(room, nick);
    await chat.bus.publish({ type: "join", room, nick });
    const members = await chat.bus.members(room);
    // A member that left already fails this send; its loop below then ends at once.
    await ws
      .sendJson({
        type: "welcome",
        room,
        nick,
        messages: history,
        members,
        maxText: MAX_TEXT,
        // Which worker process holds this connection (`null` without workers).
        worker: web.workerId(),
      })
      .catch(() => {});
    const seen = new Set(history.map(messageKey));
    for (const event of early) {
      if (event.type !== "message" || !seen.has(messageKey(event.message))) forward(event);
    }
    early = null;

    for await (const msg of ws) {
      try {
        const text = parseSay(msg);
        if (!bucket.take()) {
          throw new ChatError(429, "rate_limited", "too many messages; wait a moment");
        }
        await chat.say(room, nick, text);
      } catch (err) {
        if (!(err instanceof ChatError)) throw err;
        await ws.sendJson({ type: "error", ...err.toJSON() }).catch(() => {});
      }
    }
  } finally {
    unsubscribe();
    await chat.bus.leave(room, nick);
    await chat.bus.publish({ type: "leave", room, nick });
  }
  return ws;
}
