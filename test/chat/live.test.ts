// The chat showcase's live side over real sockets: the room WebSocket (broadcast, welcome,
// refusals), the read-only SSE feed, graceful shutdown, and the bot.

import { describe, expect, test } from "vitest";
import { runBot } from "../../examples/chat/bot.js";
import { MAX_TEXT } from "../../examples/chat/limits.js";
import type { ChatMessage } from "../../examples/chat/types.js";
import {
  type ClientSession,
  type ClientWebSocketResponse,
  WSCloseCode,
  WSMsgType,
  WSServerHandshakeError,
} from "../../src/index.js";
import { rejection } from "../helpers.js";
import { setNick, useChat, useChatSessions } from "./helpers.js";

const startChat = useChat();
const sessionFor = useChatSessions();

/** How long one expected event may take on a busy machine. */
const EVENT_TIMEOUT_MS = 5_000;

interface Event {
  type: string;
  [key: string]: unknown;
}

/** The next event of `type` (and `nick`, if given) on `ws`, skipping others. */
async function next(ws: ClientWebSocketResponse, type: string, nick?: string): Promise<Event> {
  for (;;) {
    const event = await ws.receiveJson<Event>({ timeout: EVENT_TIMEOUT_MS });
    if (event.type === type && (nick === undefined || event.nick === nick)) return event;
  }
}

/** The next message event's message. */
async function nextMessage(ws: ClientWebSocketResponse): Promise<ChatMessage> {
  return (await next(ws, "message")).message as ChatMessage;
}

/** A session with `nick`, joined to `room`; resolves with the socket and its welcome. */
async function join(
  baseUrl: string,
  nick: string,
  room = "lobby",
): Promise<{ session: ClientSession; ws: ClientWebSocketResponse; welcome: Event }> {
  const session = sessionFor(baseUrl);
  await setNick(session, nick);
  const ws = await session.wsConnect(`/rooms/${room}/ws`);
  const welcome = await next(ws, "welcome");
  return { session, ws, welcome };
}

function say(ws: ClientWebSocketResponse, text: string): Promise<void> {
  return ws.sendJson({ type: "say", text });
}

describe("the room WebSocket", () => {
  test("a message goes to every member of the room, the sender included, and is stored", async () => {
    const { baseUrl } = await startChat();
    const alice = await join(baseUrl, "alice");
    const bob = await join(baseUrl, "bob");
    await say(alice.ws, "hello bob");
    const [toAlice, toBob] = await Promise.all([nextMessage(alice.ws), nextMessage(bob.ws)]);
    expect(toBob).toMatchObject({ room: "lobby", nick: "alice", text: "hello bob" });
    expect(toAlice).toEqual(toBob);
    const history = await (await bob.session.get("/api/rooms/lobby/messages")).json();
    expect(history).toEqual({ messages: [toBob] });
  });

  test("a message stays in its room", async () => {
    const { baseUrl } = await startChat();
    const alice = await join(baseUrl, "alice", "dev");
    const bob = await join(baseUrl, "bob", "lobby");
    await say(alice.ws, "only for dev");
    await nextMessage(alice.ws);
    // Bob's next message is his own, not Alice's.
    await say(bob.ws, "lobby here");
    expect(await nextMessage(bob.ws)).toMatchObject({ nick: "bob", text: "lobby here" });
  });

  test("joining opens the room and welcomes with its history and members", async () => {
    const { baseUrl } = await startChat();
    const alice = await join(baseUrl, "alice", "new-room");
    // `worker` is null: this server runs without runApp's workers.
    expect(alice.welcome).toMatchObject({
      room: "new-room",
      nick: "alice",
      messages: [],
      worker: null,
    });
    await say(alice.ws, "first");
    await nextMessage(alice.ws);
    const bob = await join(baseUrl, "bob", "new-room");
    expect(bob.welcome.messages).toMatchObject([{ nick: "alice", text: "first" }]);
    expect(bob.welcome.members).toEqual(["alice", "bob"]);
    expect(bob.welcome.maxText).toBe(MAX_TEXT);
    const rooms = await (await bob.session.get("/api/rooms")).json();
    expect(rooms).toMatchObject({ rooms: [{ name: "lobby" }, { name: "new-room", messages: 1 }] });
  });

  test("members see joins and leaves, and the members API follows", async () => {
    const { baseUrl } = await startChat();
    const alice = await join(baseUrl, "alice");
    const bob = await join(baseUrl, "bob");
    // Alice hears her own join first; then Bob's.
    expect(await next(alice.ws, "join")).toMatchObject({ nick: "alice" });
    expect(await next(alice.ws, "join")).toMatchObject({ nick: "bob" });
    const members = async (): Promise<unknown> =>
      (await alice.session.get("/api/rooms/lobby/members")).json();
    expect(await members()).toEqual({ members: ["alice", "bob"] });
    await bob.ws.close();
    expect(await next(alice.ws, "leave")).toMatchObject({ nick: "bob" });
    expect(await members()).toEqual({ members: ["alice"] });
  });

  test("bad frames get an error frame and the connection stays open", async () => {
    const { baseUrl } = await startChat();
    const { ws } = await join(baseUrl, "alice");
    await ws.sendStr("not json");
    expect(await next(ws, "error")).toMatchObject({ code: "bad_json", status: 400 });
    await ws.sendJson({ type: "shout", text: "hi" });
    expect(await next(ws, "error")).toMatchObject({ code: "bad_frame" });
    await say(ws, "x".repeat(MAX_TEXT + 1));
    expect(await next(ws, "error")).toMatchObject({ code: "too_long", status: 413 });
    await say(ws, "still here");
    expect(await nextMessage(ws)).toMatchObject({ text: "still here" });
  });

  test("a connection that sends faster than its rate limit gets rate_limited errors", async () => {
    const { baseUrl } = await startChat();
    const { ws } = await join(baseUrl, "alice");
    for (let i = 0; i < 30; i++) await say(ws, `m${i}`);
    expect(await next(ws, "error")).toMatchObject({ code: "rate_limited", status: 429 });
  });

  test("a handshake without a nick is refused with 401", async () => {
    const { baseUrl } = await startChat();
    const err = await rejection(sessionFor(baseUrl).wsConnect("/rooms/lobby/ws"));
    expect(err).toBeInstanceOf(WSServerHandshakeError);
    expect((err as WSServerHandshakeError).status).toBe(401);
  });

  test("a handshake to a badly named room is refused with 400", async () => {
    const { baseUrl } = await startChat();
    const session = sessionFor(baseUrl);
    await setNick(session, "alice");
    const err = await rejection(session.wsConnect("/rooms/Bad!/ws"));
    expect((err as WSServerHandshakeError).status).toBe(400);
  });

  test("a message posted over HTTP reaches the room's WebSockets", async () => {
    const { baseUrl } = await startChat();
    const alice = await join(baseUrl, "alice");
    const poster = sessionFor(baseUrl);
    await setNick(poster, "curl");
    const resp = await poster.post("/api/rooms/lobby/messages", { json: { text: "from http" } });
    expect(resp.status).toBe(201);
    expect(await nextMessage(alice.ws)).toMatchObject({ nick: "curl", text: "from http" });
  });

  test("graceful shutdown closes the room's WebSockets with 1001", async () => {
    const { baseUrl, runner } = await startChat();
    const { ws } = await join(baseUrl, "alice");
    const cleanup = runner.cleanup();
    let msg = await ws.receive(EVENT_TIMEOUT_MS);
    while (msg.type === WSMsgType.TEXT) msg = await ws.receive(EVENT_TIMEOUT_MS); // her own join
    expect(msg.type).toBe(WSMsgType.CLOSE);
    expect(ws.closeCode).toBe(WSCloseCode.GOING_AWAY);
    await cleanup;
  });
});

/** Reads `text/event-stream` events from a response until `count` of `event` have come. */
async function readEvents(
  lines: AsyncIterable<Buffer>,
  event: string,
  count: number,
): Promise<Array<{ id: string | undefined; data: string }>> {
  const found: Array<{ id: string | undefined; data: string }> = [];
  let current: { event?: string; id?: string; data: string[] } = { data: [] };
  for await (const raw of lines) {
    const line = raw.toString().replace(/\r?\n$/, "");
    if (line === "") {
      if (current.event === event) found.push({ id: current.id, data: current.data.join("\n") });
      if (found.length === count) return found;
      current = { data: [] };
    } else if (line.startsWith("event: ")) current.event = line.slice(7);
    else if (line.startsWith("id: ")) current.id = line.slice(4);
    else if (line.startsWith("data: ")) current.data.push(line.slice(6));
  }
  throw new Error(`the stream ended after ${found.length} ${event} events`);
}

describe("the read-only SSE feed", () => {
  test("a reader gets the recent history, then new messages and presence, as events", async () => {
    const { baseUrl } = await startChat();
    const alice = await join(baseUrl, "alice");
    await say(alice.ws, "before the feed");
    await nextMessage(alice.ws);
    const reader = sessionFor(baseUrl);
    const feed = await reader.get("/rooms/lobby/events", {
      timeout: { sockRead: EVENT_TIMEOUT_MS },
    });
    expect(feed.status).toBe(200);
    expect(feed.contentType).toBe("text/event-stream");
    const [old] = await readEvents(feed.content, "message", 1);
    expect(JSON.parse(old?.data ?? "")).toMatchObject({ nick: "alice", text: "before the feed" });
    await say(alice.ws, "live");
    const [live] = await readEvents(feed.content, "message", 1);
    const message = JSON.parse(live?.data ?? "") as ChatMessage;
    expect(message).toMatchObject({ nick: "alice", text: "live" });
    expect(live?.id).toBe(String(message.id));
    await join(baseUrl, "bob");
    const [presence] = await readEvents(feed.content, "presence", 1);
    expect(JSON.parse(presence?.data ?? "")).toEqual({ type: "join", nick: "bob" });
    feed.close();
  });

  test("a reconnecting reader resumes after Last-Event-ID", async () => {
    const { baseUrl } = await startChat();
    const alice = await join(baseUrl, "alice");
    const sent: ChatMessage[] = [];
    for (const text of ["one", "two", "three"]) {
      await say(alice.ws, text);
      sent.push(await nextMessage(alice.ws));
    }
    const feed = await sessionFor(baseUrl).get("/rooms/lobby/events", {
      headers: { "Last-Event-ID": String(sent[0]?.id) },
      timeout: { sockRead: EVENT_TIMEOUT_MS },
    });
    const events = await readEvents(feed.content, "message", 2);
    expect(events.map((e) => (JSON.parse(e.data) as ChatMessage).text)).toEqual(["two", "three"]);
    feed.close();
  });

  test("the feed of an unknown room is a 404", async () => {
    const { baseUrl } = await startChat();
    const resp = await sessionFor(baseUrl).get("/rooms/nowhere/events", {
      headers: { Accept: "text/html" },
    });
    expect(resp.status).toBe(404);
    await resp.release();
  });
});

describe("the bot", () => {
  test("answers /help, /time, /count and /members in its room", async () => {
    const { baseUrl } = await startChat();
    const stop = new AbortController();
    let ready = (): void => {};
    const inRoom = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const bot = runBot({
      baseUrl,
      room: "lobby",
      nick: "robot",
      signal: stop.signal,
      onReady: ready,
    });
    await inRoom;
    const alice = await join(baseUrl, "alice");
    const ask = async (question: string): Promise<string> => {
      await say(alice.ws, question);
      for (;;) {
        const message = await nextMessage(alice.ws);
        if (message.nick === "robot") return message.text;
      }
    };
    expect(await ask("/help")).toContain("/count");
    expect(await ask("/time")).toMatch(/^it is \d{4}-\d\d-\d\dT/);
    // Messages so far: /help, its answer, /time, its answer, and this /count.
    expect(await ask("/count")).toBe("#lobby holds 5 messages");
    expect(await ask("/members")).toBe("in #lobby: alice, robot");
    expect(await ask("/dance")).toMatch(/^unknown command \/dance/);
    stop.abort();
    await bot;
  });
});
