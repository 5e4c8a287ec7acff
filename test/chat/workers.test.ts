// The chat on many cores: ONE server program (examples/chat/server.ts, as `npm start` runs it)
// with WORKERS=2 and REDIS_URL, on one redis-server started by the test. A browser page on each
// worker, messages cross between them, the history after a reload has both, and SIGTERM to the
// primary closes every page's WebSocket with 1001 and exits 0. Without REDIS_URL the program
// refuses to start workers that could not see each other.

import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { httpSend, type ServerProcess, startServerProcess } from "../helpers.js";
import { launchChromium } from "../interop/chromium.js";
import { hasPeer } from "../peers.js";
import {
  type ChatPage,
  connected,
  messagesOn,
  openChat,
  screenshot,
  seen,
  send,
} from "./chat-page.js";
import { portOf, useTempDirs } from "./helpers.js";
import { type RedisServer, startRedis } from "./redis-server.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SERVER = ["--import", "tsx", "examples/chat/server.ts"];
/** Pages opened at most to find two on different workers; round-robin needs two or three. */
const MAX_PAGES = 12;

/** The worker that holds the page's WebSocket, as its footer names it. */
async function workerOf(page: Page): Promise<string> {
  const worker = await page.locator("#served-by").getAttribute("data-worker");
  if (!worker) throw new Error("the page does not name a worker");
  return worker;
}

interface Person {
  nick: string;
  chat: ChatPage;
}

describe.skipIf(!hasPeer("redis-server", "chromium"))(
  "the chat on two workers through Redis",
  { shuffle: false },
  () => {
    let redis: RedisServer | undefined;
    let dataDir: string | undefined;
    let server: ServerProcess | undefined;
    let browser: Browser | undefined;
    /** One page on each worker, once the first test found them. */
    const pages: Person[] = [];

    beforeAll(async () => {
      redis = await startRedis();
      dataDir = await mkdtemp(join(tmpdir(), "aiohttp-ts-chat-workers-"));
      // No CHAT_SECRET: the secret kept in the data directory must be the same in both workers,
      // or a cookie set by one would be refused by the other.
      server = await startServerProcess(SERVER, {
        cwd: ROOT,
        env: {
          WORKERS: "2",
          REDIS_URL: redis.url,
          DATA_DIR: dataDir,
          HOST: "127.0.0.1",
          CHAT_SECRET: "",
        },
      });
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      server?.kill();
      await server?.exited;
      await redis?.stop();
      if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
    });

    function running(): { server: ServerProcess; browser: Browser } {
      if (server === undefined || browser === undefined) {
        throw new Error("the server or the browser did not start (beforeAll failed?)");
      }
      return { server, browser };
    }

    test("the primary prints one banner for its two workers; GET /api/me names the worker", async () => {
      const { server } = running();
      const out = server.stdout();
      expect(out).toContain("(2 worker processes; Press CTRL+C to quit)");
      expect(out.match(/aiohttp-ts chat: history in /g)).toHaveLength(1);
      // Each request on a connection of its own: the primary hands them to the workers in turn.
      const workers: unknown[] = [];
      for (let i = 0; i < 2; i++) {
        workers.push(JSON.parse((await httpSend(portOf(server.baseUrl), "/api/me")).body).worker);
      }
      expect(workers.sort()).toEqual([1, 2]);
    });

    test("a page on each worker: both see both, and the history after a reload", async () => {
      const { server, browser } = running();
      const url = `${server.baseUrl}/#workers`;
      // The primary hands connections to the workers in turn, so a new page's WebSocket soon
      // lands on the other worker; the pages that land on a worker already taken are closed.
      const byWorker = new Map<string, Person>();
      for (let i = 1; i <= MAX_PAGES && byWorker.size < 2; i++) {
        const nick = `person${i}`;
        const chat = await openChat(browser, url, nick);
        const worker = await workerOf(chat.page);
        if (byWorker.has(worker)) {
          await chat.page.context().close();
          // More connections move the turn along, in case every page opens an even number;
          // one or two in turn, in case a busy browser opens one more or less than it did.
          for (let extra = 0; extra < 1 + (i % 2); extra++) {
            await httpSend(portOf(server.baseUrl), "/api/me");
          }
        } else byWorker.set(worker, { nick, chat });
      }
      expect([...byWorker.keys()].sort()).toEqual(["1", "2"]);
      pages.push(...byWorker.values());
      const [a, b] = pages as [Person, Person];
      await a.chat.page.locator("#members li", { hasText: b.nick }).waitFor();
      await b.chat.page.locator("#members li", { hasText: a.nick }).waitFor();

      const fromA = `Hello from worker ${await workerOf(a.chat.page)}`;
      const fromB = `Hello from worker ${await workerOf(b.chat.page)}`;
      await send(a.chat.page, fromA);
      await seen(b.chat.page, a.nick, fromA);
      await send(b.chat.page, fromB);
      await seen(a.chat.page, b.nick, fromB);
      const expected = [`${a.nick}: ${fromA}`, `${b.nick}: ${fromB}`];
      for (const { nick, chat } of pages) {
        expect(await messagesOn(chat.page)).toEqual(expected);
        await chat.page.reload();
        await connected(chat.page, nick);
        expect(await messagesOn(chat.page)).toEqual(expected);
      }
      await screenshot(b.chat.page, "two-workers");
      expect(pages.flatMap(({ chat }) => chat.problems)).toEqual([]);
    });

    test("SIGTERM to the primary: every page sees the server restarting, and it exits 0", async () => {
      const { server } = running();
      expect(pages).toHaveLength(2);
      server.child.kill("SIGTERM");
      // The page says "restarting" only after a close with 1001 (going away).
      for (const { chat } of pages) {
        await chat.page.locator("#status", { hasText: "the server is restarting" }).waitFor();
      }
      expect(await server.exited).toBe(0);
    });
  },
);

describe("WORKERS the program refuses", () => {
  const tempDir = useTempDirs();

  /** Runs the program with `env` until it exits; a refusal never gets as far as listening. */
  async function refusal(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
    const dataDir = await tempDir();
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        SERVER,
        { cwd: ROOT, env: { ...process.env, PORT: "0", REDIS_URL: "", DATA_DIR: dataDir, ...env } },
        (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      );
    });
  }

  test("WORKERS=2 without REDIS_URL: one line saying to set REDIS_URL, exit 1", async () => {
    expect(await refusal({ WORKERS: "2" })).toEqual({
      code: 1,
      stderr:
        "aiohttp-ts chat: WORKERS=2 needs REDIS_URL, so that members on different workers see each other's messages; set REDIS_URL (or WORKERS=1)\n",
    });
  });

  test("WORKERS that is not a count: one line saying what it takes, exit 1", async () => {
    expect(await refusal({ WORKERS: "two", REDIS_URL: "redis://127.0.0.1:1" })).toEqual({
      code: 1,
      stderr: 'aiohttp-ts chat: WORKERS must be a whole number >= 1 or "auto", not "two"\n',
    });
  });
});
