// A bot that sits in a room and answers commands: it joins through `session.wsConnect` as any
// member does, and calls the JSON API with the same ClientSession (so with its nick cookie).
//
//   npx tsx examples/chat/bot.ts                  (the chat running on http://localhost:8080)
//   BASE_URL=http://127.0.0.1:9000 ROOM=dev NICK=helper npx tsx examples/chat/bot.ts
//
// In the room, type /help.

import { pathToFileURL } from "node:url";
import { ClientSession, CookieJar, WSMsgType } from "aiohttp-ts";
import type { ChatMessage, RoomEvent, RoomInfo } from "./types.js";

export interface BotOptions {
  /** The chat's URL. @default "http://localhost:8080" */
  baseUrl?: string;
  /** @default "lobby" */
  room?: string;
  /** @default "bot" */
  nick?: string;
  /** Ends the bot: it leaves the room and closes its session. */
  signal?: AbortSignal;
  /** Called once the bot is in the room (its welcome arrived). */
  onReady?: () => void;
}

const HELP = "commands: /help, /time, /count (messages in this room), /members";

/** What the bot answers to `text`, or `null` when it is not a command for it. */
async function answer(session: ClientSession, room: string, text: string): Promise<string | null> {
  const command = text.trim().split(/\s+/, 1)[0]?.toLowerCase();
  switch (command) {
    case "/help":
      return HELP;
    case "/time":
      return `it is ${new Date().toISOString()} here`;
    case "/count": {
      await using resp = await session.get(`/api/rooms/${room}`, { raiseForStatus: true });
      const { room: info } = (await resp.json()) as { room: RoomInfo };
      return `#${room} holds ${info.messages} messages`;
    }
    case "/members": {
      await using resp = await session.get(`/api/rooms/${room}/members`, { raiseForStatus: true });
      const { members } = (await resp.json()) as { members: string[] };
      return `in #${room}: ${members.join(", ")}`;
    }
    default:
      return command?.startsWith("/") ? `unknown command ${command}; ${HELP}` : null;
  }
}

/** Runs the bot until `signal` aborts or the server closes the connection. */
export async function runBot(options: BotOptions = {}): Promise<void> {
  const { baseUrl = "http://localhost:8080", room = "lobby", nick = "bot", signal } = options;
  // unsafe: keep the nick cookie also when the chat is addressed by IP (127.0.0.1).
  await using session = new ClientSession({ baseUrl, cookieJar: new CookieJar({ unsafe: true }) });
  await (await session.post("/api/nick", { json: { nick }, raiseForStatus: true })).release();
  await using ws = await session.wsConnect(`/rooms/${room}/ws`, { heartbeat: 30_000 });
  const stop = (): void => void ws.close({ message: "bot leaving" });
  signal?.addEventListener("abort", stop, { once: true });
  try {
    for await (const msg of ws) {
      if (msg.type !== WSMsgType.TEXT) continue;
      const event = JSON.parse(msg.data) as
        | RoomEvent
        | { type: "welcome"; messages: ChatMessage[] };
      if (event.type === "welcome") options.onReady?.();
      if (event.type !== "message" || event.message.nick === nick) continue;
      try {
        const reply = await answer(session, room, event.message.text);
        if (reply === null) continue;
        // Replies go through the API, as any program could post them.
        const url = `/api/rooms/${room}/messages`;
        await (await session.post(url, { json: { text: reply }, raiseForStatus: true })).release();
      } catch (err) {
        console.error(`bot: could not answer ${JSON.stringify(event.message.text)}:`, err);
      }
    }
  } finally {
    signal?.removeEventListener("abort", stop);
  }
}

// Run as a program (not imported by a test).
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  process.once("SIGTERM", () => controller.abort());
  const room = process.env.ROOM ?? "lobby";
  const baseUrl = process.env.BASE_URL ?? "http://localhost:8080";
  console.log(`bot: joining #${room} on ${baseUrl}`);
  await runBot({
    baseUrl,
    room,
    nick: process.env.NICK ?? "bot",
    signal: controller.signal,
    onReady: () => console.log("bot: in the room; type /help there"),
  });
}
