// The chat's one rule for a new message, shared by the WebSocket and the HTTP API: check it,
// store it once (in the process that received it), then publish it on the bus, from which
// every process (this one included) delivers it to its members.

import type { Bus } from "./bus.js";
import { ChatError } from "./errors.js";
import { isRoomName, MAX_TEXT } from "./limits.js";
import type { ChatStore } from "./store.js";
import type { ChatMessage } from "./types.js";

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
    await this.bus.publish({ type: "message", message });
    return message;
  }
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
