// The chat's one rule for a new message, shared by the WebSocket and the HTTP API: check it,
// store it (in the process that received it), then publish it on the bus, from which every
// process (this one included) delivers it to its members.
//
// Each database holds each message once. The receiving process writes it to its own; a
// process whose database is another one (another host's) keeps a copy as the event comes by,
// and its members get that copy, with its id there, so that ids, history pages and the SSE
// feed's Last-Event-ID always refer to the database the member's server reads.

import type { Bus } from "./bus.js";
import { ChatError } from "./errors.js";
import { isRoomName, MAX_TEXT } from "./limits.js";
import type { ChatStore } from "./store.js";
import type { ChatMessage, RoomEvent } from "./types.js";

export class Chat {
  constructor(
    readonly store: ChatStore,
    readonly bus: Bus,
  ) {}

  async say(room: string, nick: string, text: unknown): Promise<ChatMessage> {
    checkRoomName(room);
    if (typeof text !== "string") throw new ChatError(400, "bad_text", "text must be a string");
    const trimmed = text.trim();
    if (trimmed === "") throw new ChatError(400, "empty", "the message is empty");
    if (trimmed.length > MAX_TEXT) {
      throw new ChatError(413, "too_long", `a message has at most ${MAX_TEXT} characters`);
    }
    const message = this.store.addMessage(room, nick, trimmed);
    await this.bus.publish({ type: "message", message, origin: this.store.id });
    return message;
  }
}

/** The event as this process's members get it: another database's message as our copy. */
export function localEvent(store: ChatStore, event: RoomEvent): RoomEvent {
  if (event.type !== "message" || event.origin === store.id) return event;
  return { ...event, message: store.importMessage(event.origin, event.message) };
}

export function checkRoomName(room: string): void {
  if (!isRoomName(room)) {
    throw new ChatError(
      400,
      "bad_room",
      "a room name is 1-32 of a-z, 0-9, '-' and '_', starting with a letter or digit",
    );
  }
}

/** Tells a message apart from another whatever store numbered it (for de-duplication). */
export function messageKey(message: ChatMessage): string {
  return `${message.id}:${message.ts}:${message.nick}`;
}
