// examples/chat/server.ts as `npm start` runs it: its own process, defaults but for PORT=0 and
// a data directory that does not exist yet, no Redis and no CHAT_SECRET.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, expect, test } from "vitest";
import { type ServerProcess, startServerProcess } from "../helpers.js";
import { setNick, useChatSessions, useTempDirs } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const tempDir = useTempDirs();
const sessionFor = useChatSessions();
let server: ServerProcess | undefined;
afterEach(() => {
  server?.kill();
});

test("the program starts on a fresh data directory, serves the chat, and exits 0 on SIGTERM", async () => {
  const dataDir = join(await tempDir(), "data");
  server = await startServerProcess(["--import", "tsx", "examples/chat/server.ts"], {
    cwd: ROOT,
    // Empty counts as unset, whatever the test's own environment holds.
    env: { DATA_DIR: dataDir, HOST: "127.0.0.1", CHAT_SECRET: "", REDIS_URL: "" },
  });
  expect(server.stdout()).toContain(`history in ${dataDir}, rooms in this process`);
  const session = sessionFor(server.baseUrl);
  const page = await session.get("/");
  expect(page.status).toBe(200);
  await page.release();
  await setNick(session, "alice");
  const ws = await session.wsConnect("/rooms/lobby/ws");
  expect(await ws.receiveJson({ timeout: 5_000 })).toMatchObject({ type: "welcome" });
  server.child.kill("SIGTERM");
  expect(await server.exited).toBe(0);
  // The access-log middleware wrote the WebSocket's line as it closed, with the nick.
  expect(server.stdout()).toMatch(/alice "GET \/rooms\/lobby\/ws" 101 /);
});
