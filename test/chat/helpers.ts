// Shared by the chat showcase's tests: the chat app served in this process on a free port,
// with its history in a temporary directory, and sessions that keep its nick cookie.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { makeApp } from "../../examples/chat/app.js";
import type { ChatLogger } from "../../examples/chat/middlewares.js";
import { ClientSession, CookieJar, web } from "../../src/index.js";

/** Drops the access log and the error lines of tests that provoke errors. */
export const quietLog: ChatLogger = { info() {}, error() {} };

/** A temporary directory, removed after the test. */
export function useTempDirs(): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-chat-"));
    dirs.push(dir);
    return dir;
  };
}

export interface RunningChat {
  runner: web.AppRunner;
  baseUrl: string;
  dataDir: string;
}

/** Options of the `start()` that `useChat` returns. */
export interface StartChatOptions {
  /** @default a fresh temporary directory */
  dataDir?: string;
  /** `null`: none, so the chat keeps one in the data directory. @default "test secret" */
  secret?: string | null;
  /** @default 0, any free port */
  port?: number;
}

/**
 * Registers the hooks and returns `start()`, which serves the chat on 127.0.0.1 with a fresh
 * data directory; both are cleaned up after each test (the runner first, and a second cleanup
 * of a runner the test cleaned up itself does nothing).
 */
export function useChat(): (options?: StartChatOptions) => Promise<RunningChat> {
  const tempDir = useTempDirs();
  const runners: web.AppRunner[] = [];
  afterEach(async () => {
    for (const runner of runners.splice(0)) {
      runner.server.closeAllConnections();
      await runner.cleanup();
    }
  });
  return async (options = {}) => {
    const dataDir = options.dataDir ?? (await tempDir());
    const secret = options.secret === null ? undefined : (options.secret ?? "test secret");
    const app = makeApp({ dataDir, secret, log: quietLog });
    const runner = new web.AppRunner(app, { accessLog: null });
    await runner.setup();
    runners.push(runner);
    const site = new web.TCPSite(runner, "127.0.0.1", options.port ?? 0);
    await site.start();
    return { runner, baseUrl: `http://127.0.0.1:${site.port}`, dataDir };
  };
}

/** Sessions on the chat's URL that keep cookies from 127.0.0.1, closed after the test. */
export function useChatSessions(): (baseUrl: string) => ClientSession {
  const sessions: ClientSession[] = [];
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
  });
  return (baseUrl) => {
    const session = new ClientSession({ baseUrl, cookieJar: new CookieJar({ unsafe: true }) });
    sessions.push(session);
    return session;
  };
}

/** The port of a base URL, for httpSend. */
export function portOf(baseUrl: string): number {
  return Number(new URL(baseUrl).port);
}

/** Chooses `nick` for the session (its jar keeps the signed cookie). */
export async function setNick(session: ClientSession, nick: string): Promise<void> {
  const resp = await session.post("/api/nick", { json: { nick } });
  if (resp.status !== 200) throw new Error(`POST /api/nick: ${resp.status} ${await resp.text()}`);
  await resp.release();
}
