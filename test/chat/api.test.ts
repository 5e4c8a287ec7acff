// The chat showcase's HTTP side over real sockets: the JSON API, the nick cookie and its
// signature, input limits, error pages and security headers.

import { stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { MAX_BODY, MAX_TEXT, RATE_BURST } from "../../examples/chat/limits.js";
import { SECURITY_HEADERS } from "../../examples/chat/middlewares.js";
import { NICK_COOKIE } from "../../examples/chat/nick-cookie.js";
import { httpSend } from "../helpers.js";
import { portOf, setNick, useChat, useChatSessions, useTempDirs } from "./helpers.js";

// Registered first, so that its directories are removed after the servers have stopped.
const tempDir = useTempDirs();
const startChat = useChat();
const sessionFor = useChatSessions();

describe("rooms", () => {
  test("a new server lists the lobby, empty", async () => {
    const { baseUrl } = await startChat();
    const resp = await sessionFor(baseUrl).get("/api/rooms");
    expect(resp.status).toBe(200);
    const { rooms } = (await resp.json()) as { rooms: Array<{ name: string; messages: number }> };
    expect(rooms.map((r) => [r.name, r.messages])).toEqual([["lobby", 0]]);
  });

  test("POST /api/rooms creates a room (201), and answers 200 when it exists", async () => {
    const { baseUrl } = await startChat();
    const session = sessionFor(baseUrl);
    const first = await session.post("/api/rooms", { json: { name: "dev-talk" } });
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({ room: { name: "dev-talk", messages: 0 } });
    const again = await session.post("/api/rooms", { json: { name: "dev-talk" } });
    expect(again.status).toBe(200);
    await again.release();
    const { rooms } = (await (await session.get("/api/rooms")).json()) as {
      rooms: Array<{ name: string }>;
    };
    expect(rooms.map((r) => r.name)).toEqual(["lobby", "dev-talk"]);
  });

  test.each([
    ["upper case", "Dev"],
    ["a space", "dev talk"],
    ["a slash", "a/b"],
    ["33 characters", "a".repeat(33)],
    ["an empty name", ""],
    ["a leading dash", "-dev"],
  ])("a room name with %s is refused with a 400 JSON error", async (_why, name) => {
    const { baseUrl } = await startChat();
    const resp = await sessionFor(baseUrl).post("/api/rooms", { json: { name } });
    expect(resp.status).toBe(400);
    expect(resp.contentType).toBe("application/json");
    expect(await resp.json()).toMatchObject({ error: { status: 400, code: "bad_room" } });
  });

  test("opening rooms faster than the rate limit gets 429 after the burst", async () => {
    const { baseUrl } = await startChat();
    const session = sessionFor(baseUrl);
    const statuses: number[] = [];
    for (let i = 0; i < RATE_BURST + 6 && !statuses.includes(429); i++) {
      const resp = await session.post("/api/rooms", { json: { name: `room-${i}` } });
      statuses.push(resp.status);
      await resp.release();
    }
    expect(statuses.slice(0, RATE_BURST)).toEqual(Array(RATE_BURST).fill(201));
    expect(statuses.at(-1)).toBe(429);
  });

  test("an unknown room's history and members are 404 JSON errors", async () => {
    const { baseUrl } = await startChat();
    const session = sessionFor(baseUrl);
    for (const path of ["/api/rooms/nowhere/messages", "/api/rooms/nowhere/members"]) {
      const resp = await session.get(path);
      expect(resp.status).toBe(404);
      expect(await resp.json()).toMatchObject({ error: { code: "no_room" } });
    }
  });
});

describe("the nick cookie", () => {
  test("POST /api/nick sets an HttpOnly signed cookie that GET /api/me reads back", async () => {
    const { baseUrl } = await startChat();
    const session = sessionFor(baseUrl);
    const resp = await session.post("/api/nick", { json: { nick: "Zoë_1" } });
    expect(resp.status).toBe(200);
    const setCookie = resp.headers.get("Set-Cookie") ?? "";
    expect(setCookie).toMatch(new RegExp(`^${NICK_COOKIE}=[\\w-]+\\.[\\w-]+;`));
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Lax");
    await resp.release();
    expect(await (await session.get("/api/me")).json()).toEqual({ nick: "Zoë_1", worker: null });
  });

  test.each([
    ["a space", "a b"],
    ["markup", "<b>"],
    ["25 characters", "n".repeat(25)],
    ["nothing", ""],
  ])("a nick with %s is refused with 400", async (_why, nick) => {
    const { baseUrl } = await startChat();
    const resp = await sessionFor(baseUrl).post("/api/nick", { json: { nick } });
    expect(resp.status).toBe(400);
    expect(await resp.json()).toMatchObject({ error: { code: "bad_nick" } });
  });

  test("a tampered cookie is refused: a changed nick with the old signature counts as none", async () => {
    const { baseUrl } = await startChat();
    const alice = sessionFor(baseUrl);
    await setNick(alice, "alice");
    const cookie = alice.cookieJar.filterCookies(new URL(baseUrl))[NICK_COOKIE];
    const signature = String(cookie).split(".")[1];
    const forged = `${Buffer.from("mallory").toString("base64url")}.${signature}`;
    const port = portOf(baseUrl);
    const headers = { Cookie: `${NICK_COOKIE}=${forged}`, "Content-Type": "application/json" };

    const me = await httpSend(port, "/api/me", { headers });
    expect(JSON.parse(me.body)).toEqual({ nick: null, worker: null });
    const post = await httpSend(port, "/api/rooms/lobby/messages", {
      method: "POST",
      headers,
      body: JSON.stringify({ text: "I am alice" }),
    });
    expect(post.status).toBe(401);
    expect(JSON.parse(post.body)).toMatchObject({ error: { code: "no_nick" } });
    const ws = await httpSend(port, "/rooms/lobby/ws", {
      headers: {
        ...headers,
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    expect(ws.status).toBe(401);
  });

  test("a cookie signed with another secret is refused", async () => {
    const ours = await startChat({ secret: "ours" });
    const theirs = await startChat({ secret: "theirs" });
    const session = sessionFor(theirs.baseUrl);
    await setNick(session, "alice");
    const cookie = session.cookieJar.filterCookies(new URL(theirs.baseUrl))[NICK_COOKIE];
    const cookieHeader = { Cookie: `${NICK_COOKIE}=${cookie}` };
    const there = await httpSend(portOf(theirs.baseUrl), "/api/me", { headers: cookieHeader });
    expect(JSON.parse(there.body)).toEqual({ nick: "alice", worker: null });
    const here = await httpSend(portOf(ours.baseUrl), "/api/me", { headers: cookieHeader });
    expect(JSON.parse(here.body)).toEqual({ nick: null, worker: null });
  });
});

test("without a secret the chat keeps one in a new data directory, so cookies outlive a restart", async () => {
  const dataDir = join(await tempDir(), "not-yet-there");
  const first = await startChat({ dataDir, secret: null });
  const session = sessionFor(first.baseUrl);
  await setNick(session, "alice");
  const cookie = session.cookieJar.filterCookies(new URL(first.baseUrl))[NICK_COOKIE];
  await first.runner.cleanup();
  const second = await startChat({ dataDir, secret: null });
  const me = await httpSend(portOf(second.baseUrl), "/api/me", {
    headers: { Cookie: `${NICK_COOKIE}=${cookie}` },
  });
  expect(JSON.parse(me.body)).toEqual({ nick: "alice", worker: null });
  expect((await stat(join(dataDir, "secret"))).mode & 0o777).toBe(0o600);
});

describe("messages over HTTP", () => {
  test("posting needs a nick: 401 without the cookie", async () => {
    const { baseUrl } = await startChat();
    const resp = await sessionFor(baseUrl).post("/api/rooms/lobby/messages", {
      json: { text: "hi" },
    });
    expect(resp.status).toBe(401);
    expect(await resp.json()).toMatchObject({ error: { code: "no_nick" } });
  });

  test("a posted message is stored with the sender's nick and counted in the room", async () => {
    const { baseUrl } = await startChat();
    const session = sessionFor(baseUrl);
    await setNick(session, "alice");
    const resp = await session.post("/api/rooms/lobby/messages", { json: { text: "  hello  " } });
    expect(resp.status).toBe(201);
    const { message } = (await resp.json()) as { message: { id: number; text: string } };
    expect(message).toMatchObject({ room: "lobby", nick: "alice", text: "hello" });
    const history = await (await session.get("/api/rooms/lobby/messages")).json();
    expect(history).toEqual({ messages: [message] });
    const room = await (await session.get("/api/rooms/lobby")).json();
    expect(room).toMatchObject({ room: { name: "lobby", messages: 1 } });
  });

  test("history pages go backwards with before= and limit=, oldest first in each page", async () => {
    const { baseUrl, runner } = await startChat();
    const session = sessionFor(baseUrl);
    // Filled through the store, to stay clear of the posting rate limit.
    const { chatKey } = await import("../../examples/chat/keys.js");
    const { store } = runner.app.require(chatKey);
    for (let i = 1; i <= 7; i++) store.addMessage("lobby", "alice", `m${i}`);
    const texts = async (query: string): Promise<string[]> => {
      const resp = await session.get(`/api/rooms/lobby/messages${query}`);
      const { messages } = (await resp.json()) as { messages: Array<{ text: string; id: number }> };
      return messages.map((m) => m.text);
    };
    expect(await texts("?limit=3")).toEqual(["m5", "m6", "m7"]);
    const { messages } = (await (
      await session.get("/api/rooms/lobby/messages?limit=3")
    ).json()) as {
      messages: Array<{ id: number }>;
    };
    expect(await texts(`?limit=3&before=${messages[0]?.id}`)).toEqual(["m2", "m3", "m4"]);
    expect(await texts("?limit=3&before=2")).toEqual(["m1"]);
  });

  test.each([
    ["limit=0", "bad_limit"],
    ["limit=201", "bad_limit"],
    ["before=abc", "bad_before"],
    ["before=-1", "bad_before"],
  ])("?%s is refused with 400", async (query, code) => {
    const { baseUrl } = await startChat();
    const resp = await sessionFor(baseUrl).get(`/api/rooms/lobby/messages?${query}`);
    expect(resp.status).toBe(400);
    expect(await resp.json()).toMatchObject({ error: { code } });
  });

  test("a message over the length limit is refused with 413, one at the limit is stored", async () => {
    const { baseUrl } = await startChat();
    const session = sessionFor(baseUrl);
    await setNick(session, "alice");
    const tooLong = await session.post("/api/rooms/lobby/messages", {
      json: { text: "x".repeat(MAX_TEXT + 1) },
    });
    expect(tooLong.status).toBe(413);
    expect(await tooLong.json()).toMatchObject({ error: { code: "too_long" } });
    const atLimit = await session.post("/api/rooms/lobby/messages", {
      json: { text: "x".repeat(MAX_TEXT) },
    });
    expect(atLimit.status).toBe(201);
    await atLimit.release();
  });

  test("a body over the application's limit is refused with a 413 JSON error", async () => {
    const { baseUrl } = await startChat();
    const session = sessionFor(baseUrl);
    await setNick(session, "alice");
    const resp = await session.post("/api/rooms/lobby/messages", {
      json: { text: "x".repeat(MAX_BODY) },
    });
    expect(resp.status).toBe(413);
    expect(resp.contentType).toBe("application/json");
    expect(await resp.json()).toMatchObject({ error: { status: 413 } });
  });

  test.each([
    ["not JSON", "{nope", "bad_json"],
    ["a JSON array", "[1]", "bad_json"],
    ["text that is not a string", '{"text": 5}', "bad_text"],
    ["an empty text", '{"text": "   "}', "empty"],
  ])("a body with %s is refused with 400", async (_why, body, code) => {
    const { baseUrl } = await startChat();
    const session = sessionFor(baseUrl);
    await setNick(session, "alice");
    const resp = await session.post("/api/rooms/lobby/messages", {
      data: body,
      headers: { "Content-Type": "application/json" },
    });
    expect(resp.status).toBe(400);
    expect(await resp.json()).toMatchObject({ error: { code } });
  });

  test("a nick posting faster than the rate limit gets 429 after its burst", async () => {
    const { baseUrl } = await startChat();
    const session = sessionFor(baseUrl);
    await setNick(session, "alice");
    const statuses: number[] = [];
    // The bucket refills slowly (a few a second), so a handful over the burst must hit it.
    for (let i = 0; i < RATE_BURST + 6 && !statuses.includes(429); i++) {
      const resp = await session.post("/api/rooms/lobby/messages", { json: { text: `m${i}` } });
      statuses.push(resp.status);
      await resp.release();
    }
    expect(statuses.slice(0, RATE_BURST)).toEqual(Array(RATE_BURST).fill(201));
    expect(statuses.at(-1)).toBe(429);
  });
});

describe("pages, errors and headers", () => {
  test("the page, its assets and the API carry the security headers", async () => {
    const { baseUrl } = await startChat();
    const session = sessionFor(baseUrl);
    for (const path of ["/", "/static/app.js", "/static/style.css", "/api/rooms", "/nowhere"]) {
      const resp = await session.get(path);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
        expect(resp.headers.get(name), `${name} of ${path}`).toBe(value);
      }
      await resp.release();
    }
  });

  test("the page is HTML that loads its script and style from /static", async () => {
    const { baseUrl } = await startChat();
    const resp = await sessionFor(baseUrl).get("/");
    expect(resp.status).toBe(200);
    expect(resp.contentType).toBe("text/html");
    const html = await resp.text();
    expect(html).toContain('src="/static/app.js"');
    expect(html).toContain('href="/static/style.css"');
  });

  test("an unknown page gets an HTML 404, an unknown API path a JSON one", async () => {
    const { baseUrl } = await startChat();
    const session = sessionFor(baseUrl);
    const page = await session.get("/nowhere", { headers: { Accept: "text/html" } });
    expect(page.status).toBe(404);
    expect(page.contentType).toBe("text/html");
    expect(await page.text()).toContain("<h1>404</h1>");
    const api = await session.get("/api/nowhere");
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({
      error: { status: 404, code: "not_found", message: "Not Found" },
    });
  });

  test("a wrong method keeps its Allow header in the JSON 405", async () => {
    const { baseUrl } = await startChat();
    const resp = await sessionFor(baseUrl).delete("/api/rooms");
    expect(resp.status).toBe(405);
    expect(resp.headers.get("Allow")).toContain("GET");
    expect(await resp.json()).toMatchObject({ error: { code: "method_not_allowed" } });
  });

  test("a path outside public/ is not served", async () => {
    const { baseUrl } = await startChat();
    const resp = await httpSend(portOf(baseUrl), "/static/%2e%2e/server.ts");
    expect(resp.status).toBe(404);
  });
});
