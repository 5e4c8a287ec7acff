// Shared by the chat showcase's tests: the chat app served in this process on a free port,
// with its history in a temporary directory, and sessions that keep its nick cookie.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { makeApp } from "../../examples/chat/app.js";
import type { ChatLogger } from "../../examples/chat/middlewares.js";
import { ClientSession, CookieJar, type web } from "../../src/index.js";
import { useRunners } from "../helpers.js";

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

/**
 * Registers the hooks and returns `start()`, which serves the chat on 127.0.0.1 with a fresh
 * data directory; both are cleaned up after each test (the runner first).
 */
export function useChat(): (options?: {
  dataDir?: string;
  secret?: string;
}) => Promise<RunningChat> {
  const tempDir = useTempDirs();
  const start = useRunners();
  return async (options = {}) => {
    const dataDir = options.dataDir ?? (await tempDir());
    const app = makeApp({ dataDir, secret: options.secret ?? "test secret", log: quietLog });
    const { runner, port } = await start(app, { accessLog: null });
    return { runner, baseUrl: `http://127.0.0.1:${port}`, dataDir };
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

/** Chooses `nick` for the session (its jar keeps the signed cookie). */
export async function setNick(session: ClientSession, nick: string): Promise<void> {
  const resp = await session.post("/api/nick", { json: { nick } });
  if (resp.status !== 200) throw new Error(`POST /api/nick: ${resp.status} ${await resp.text()}`);
  await resp.release();
}
