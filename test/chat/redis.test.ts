// The chat across processes and hosts: three server programs (examples/chat/server.ts, each in
// its own process, as `npm start` runs it) share one redis-server. Two of them share a data
// directory, like workers on one machine; the third has its own, like another machine. People
// on different servers see each other's messages and presence, every server's history gets
// every message, and SIGTERM closes each server's WebSockets with 1001.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ChatMessage } from "../../examples/chat/types.js";
import { type ClientWebSocketResponse, WSCloseCode, WSMsgType } from "../../src/index.js";
import { type ServerProcess, startServerProcess } from "../helpers.js";
import { launchChromium } from "../interop/chromium.js";
import { hasPeer } from "../peers.js";
import { connected, messagesOn, openChat, screenshot, seen, send } from "./chat-page.js";
import { setNick, useChatSessions } from "./helpers.js";
import { type RedisServer, startRedis } from "./redis-server.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const EVENT_TIMEOUT_MS = 5_000;

interface Event {
  type: string;
  [key: string]: unknown;
}

/** The next message event's message on `ws`, skipping other events. */
async function nextMessage(ws: ClientWebSocketResponse): Promise<ChatMessage> {
  for (;;) {
    const event = await ws.receiveJson<Event>({ timeout: EVENT_TIMEOUT_MS });
    if (event.type === "message") return event.message as ChatMessage;
  }
}

describe.skipIf(!hasPeer("redis-server", "chromium"))(
  "the chat across processes through Redis",
  { shuffle: false },
  () => {
    const sessionFor = useChatSessions();
    let redis: RedisServer | undefined;
    const dirs: string[] = [];
    /** one and two share a data directory (one machine); three has its own (another machine). */
    const servers: ServerProcess[] = [];
    let browser: Browser | undefined;

    function server(i: number): ServerProcess {
      const s = servers[i];
      if (s === undefined) throw new Error("the servers did not start (beforeAll failed?)");
      return s;
    }

    beforeAll(async () => {
      redis = await startRedis();
      const machineA = await mkdtemp(join(tmpdir(), "aiohttp-ts-chat-a-"));
      const machineB = await mkdtemp(join(tmpdir(), "aiohttp-ts-chat-b-"));
      dirs.push(machineA, machineB);
      const env = (dataDir: string): NodeJS.ProcessEnv => ({
        REDIS_URL: redis?.url,
        DATA_DIR: dataDir,
        HOST: "127.0.0.1",
        // Every host signs nick cookies with the same secret, so a cookie is good on any.
        CHAT_SECRET: "shared by every host",
      });
      // Started together: the two on one data directory also race to create the database
      // there, which SQLite's locking (busy_timeout) must sort out.
      const started = await Promise.allSettled(
        [machineA, machineA, machineB].map((dataDir) =>
          startServerProcess(["--import", "tsx", "examples/chat/server.ts"], {
            cwd: ROOT,
            env: env(dataDir),
          }),
        ),
      );
      for (const result of started) if (result.status === "fulfilled") servers.push(result.value);
      for (const result of started) if (result.status === "rejected") throw result.reason;
    });

    afterAll(async () => {
      await browser?.close();
      for (const s of servers) s.kill();
      await Promise.all(servers.map((s) => s.exited));
      await redis?.stop();
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    });

    test("messages cross servers both ways, members are counted across them, every history has them", async () => {
      const people = await Promise.all(
        (["alice", "bob", "carol"] as const).map(async (nick, i) => {
          const session = sessionFor(server(i).baseUrl);
          await setNick(session, nick);
          const ws = await session.wsConnect("/rooms/lobby/ws");
          expect((await ws.receiveJson<Event>({ timeout: EVENT_TIMEOUT_MS })).type).toBe("welcome");
          return { nick, session, ws };
        }),
      );
      const [alice, , carol] = people;
      // Each joined before the welcome came, so all three are present on every server now.
      for (const { session } of people) {
        const resp = await session.get("/api/rooms/lobby/members");
        expect(await resp.json()).toEqual({ members: ["alice", "bob", "carol"] });
      }

      await alice.ws.sendJson({ type: "say", text: "from machine A" });
      for (const { ws } of people) {
        expect(await nextMessage(ws)).toMatchObject({ nick: "alice", text: "from machine A" });
      }
      await carol.ws.sendJson({ type: "say", text: "from machine B" });
      for (const { ws } of people) {
        expect(await nextMessage(ws)).toMatchObject({ nick: "carol", text: "from machine B" });
      }
      for (const { session } of people) {
        const resp = await session.get("/api/rooms/lobby/messages");
        const { messages } = (await resp.json()) as { messages: ChatMessage[] };
        expect(messages.map((m) => `${m.nick}: ${m.text}`)).toEqual([
          "alice: from machine A",
          "carol: from machine B",
        ]);
      }
      await Promise.all(people.map(({ ws }) => ws.close()));
    });

    test("a page on each of two machines: both see both, and the history after a reload", async () => {
      browser = await launchChromium();
      const alice = await openChat(browser, `${server(0).baseUrl}/#browsers`, "alice");
      const carol = await openChat(browser, `${server(2).baseUrl}/#browsers`, "carol");
      await alice.page.locator("#members li", { hasText: "carol" }).waitFor();
      await send(alice.page, "Hello from server one");
      await seen(carol.page, "alice", "Hello from server one");
      await send(carol.page, "Hello from server three");
      await seen(alice.page, "carol", "Hello from server three");
      const expected = ["alice: Hello from server one", "carol: Hello from server three"];
      for (const { page } of [alice, carol]) {
        expect(await messagesOn(page)).toEqual(expected);
        await page.reload();
        await connected(page, page === alice.page ? "alice" : "carol");
        expect(await messagesOn(page)).toEqual(expected);
      }
      await screenshot(carol.page, "two-servers");
      expect([...alice.problems, ...carol.problems]).toEqual([]);
    });

    test("SIGTERM: a server closes its WebSockets with 1001 and exits 0", async () => {
      const session = sessionFor(server(0).baseUrl);
      await setNick(session, "alice");
      const ws = await session.wsConnect("/rooms/lobby/ws");
      await ws.receiveJson({ timeout: EVENT_TIMEOUT_MS }); // the welcome
      server(0).child.kill("SIGTERM");
      let msg = await ws.receive(EVENT_TIMEOUT_MS);
      while (msg.type === WSMsgType.TEXT) msg = await ws.receive(EVENT_TIMEOUT_MS);
      expect(msg.type).toBe(WSMsgType.CLOSE);
      expect(ws.closeCode).toBe(WSCloseCode.GOING_AWAY);
      expect(await server(0).exited).toBe(0);
      for (const i of [1, 2]) server(i).child.kill("SIGTERM");
      expect(await Promise.all([server(1).exited, server(2).exited])).toEqual([0, 0]);
    });
  },
);
