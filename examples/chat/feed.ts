// A room's read-only feed, `/rooms/{room}/events`, as Server-Sent Events: each message is a
// `message` event (its id is the message id, so a reconnecting EventSource resumes after the
// last one it got, from this server's history), joins and leaves are `presence` events.

import { web } from "aiohttp-ts";
import { checkRoomName, messageKey } from "./chat.js";
import { ChatError } from "./errors.js";
import { chatKey } from "./keys.js";
import { JOIN_HISTORY, MAX_PAGE } from "./limits.js";
import type { ChatMessage, RoomEvent } from "./types.js";

export async function roomFeed(
  request: web.Request<{ room: string }>,
): Promise<web.EventSourceResponse> {
  const { room } = request.matchInfo;
  checkRoomName(room);
  const chat = request.app.require(chatKey);
  if (chat.store.room(room) === undefined) {
    throw new ChatError(404, "no_room", `there is no room '${room}'`);
  }
  const sse = new web.EventSourceResponse({ ping: 15_000 });
  await sse.prepare(request);

  const sendMessage = (message: ChatMessage): void => {
    void sse.send(JSON.stringify(message), { event: "message", id: message.id });
  };
  // Subscribing and reading the history happen in one synchronous step (better-sqlite3 does
  // not yield), so no message of this process falls between them; one from another process
  // may come both ways, and is sent once.
  let replayed: Set<string> | null = null;
  const unsubscribe = chat.bus.subscribe(room, (event: RoomEvent) => {
    if (event.type === "message") {
      if (replayed?.has(messageKey(event.message))) return;
      sendMessage(event.message);
    } else {
      void sse.send(JSON.stringify({ type: event.type, nick: event.nick }), { event: "presence" });
    }
  });
  try {
    const after = Number.parseInt(sse.lastEventId ?? "", 10);
    const history = Number.isSafeInteger(after)
      ? chat.store.messagesAfter(room, after, MAX_PAGE)
      : chat.store.messages(room, { limit: JOIN_HISTORY });
    replayed = new Set(history.map(messageKey));
    for (const message of history) sendMessage(message);
    // Until the reader leaves or the server shuts down.
    await sse.wait();
  } finally {
    unsubscribe();
  }
  return sse;
}
