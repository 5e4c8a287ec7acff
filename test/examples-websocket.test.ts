// Runs examples/websocket/ as a user would: the server example in its own process on a free
// port, the client example in another against it (it must exit 0 and print what it shows),
// the server's page in a real browser, and a SIGTERM that closes an open WebSocket with 1001.
// The WebSocket example of README.md runs the same way.
//
// The examples import "aiohttp-ts"; tsx resolves that through tsconfig.json's `paths` to src/,
// so no build is needed. As in test/examples.test.ts, the tsx CLI runs directly under node
// rather than through npx (npx does not relay signals to the program it started).

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ClientSession, WSMsgType } from "../src/index.js";
import { type ServerProcess, settlesWithin, startServerProcess } from "./helpers.js";
import { CHROMIUM, hasPeer } from "./peers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/**
 * Node with tsx's loader, not the tsx CLI: the CLI relays a SIGTERM to the program and, when the
 * program has not acknowledged it within 30 ms (a busy machine), kills it with SIGKILL and exits
 * 143, which is not the program's graceful exit.
 */
const TSX = ["--import", "tsx"];
const START_TIMEOUT_MS = 15_000;
const CLIENT_TIMEOUT_MS = 15_000;

/** Starts `script` (a server program) in its own process; resolves once it prints its banner. */
function startServer(script = "examples/websocket/server.ts"): Promise<ServerProcess> {
  return startServerProcess([...TSX, script], { cwd: ROOT, startTimeoutMs: START_TIMEOUT_MS });
}

/** What the client example printed and how it ended. */
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runClient(baseUrl: string, script = "examples/websocket/client.ts"): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...TSX, script],
      {
        cwd: ROOT,
        env: { ...process.env, BASE_URL: baseUrl },
        timeout: CLIENT_TIMEOUT_MS,
        encoding: "utf8",
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Resolves once `server` has printed `text`; rejects after `ms`. */
async function printed(server: ServerProcess, text: string, ms = 2_000): Promise<void> {
  let check = (): void => {};
  const seen = new Promise<void>((resolve) => {
    check = () => {
      if (server.stdout().includes(text)) resolve();
    };
  });
  // Registered after startServerProcess's own listener, so stdout() already has the chunk.
  server.child.stdout?.on("data", check);
  check();
  await settlesWithin(seen, ms);
  server.child.stdout?.off("data", check);
  if (!server.stdout().includes(text)) {
    throw new Error(`Not printed within ${ms} ms: ${text}\n${server.stdout()}`);
  }
}

// One scenario against one running server, whose last test stops it with SIGTERM: the order of
// its tests stays fixed under `--sequence.shuffle`.
describe("examples/websocket", { shuffle: false }, () => {
  let server: ServerProcess | undefined;
  const running = (): ServerProcess => {
    if (server === undefined) throw new Error("examples/websocket/server.ts did not start");
    return server;
  };

  beforeAll(async () => {
    server = await startServer();
  }, START_TIMEOUT_MS + 5_000);
  afterAll(() => server?.kill());

  test(
    "client.ts exchanges text, JSON and binary, chats, and exits 0",
    async () => {
      const run = await runClient(running().baseUrl);
      const context = `--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
      expect(run.code, context).toBe(0);
      expect(run.stdout.trim().split("\n"), context).toEqual([
        "text: hello",
        "json: 42",
        "binary: 1,2,3 (3 bytes)",
        'server closed: CLOSE 1000 "closed on request"',
        "then: CLOSED closed: true",
        "refused: 200 text/html; charset=utf-8",
        'alice sees: {"event":"join","name":"alice"}',
        'bob sees: {"event":"join","name":"bob"}',
        'alice sees: {"event":"join","name":"bob"}',
        'bob sees: {"event":"say","name":"alice","text":"hi bob"}',
        'alice sees: {"event":"say","name":"alice","text":"hi bob"}',
        'alice sees: {"event":"leave","name":"bob"}',
        "alice closed with 1000 bob closed with 1000",
      ]);
    },
    CLIENT_TIMEOUT_MS + 5_000,
  );

  test("the access log shows a 101 line for each WebSocket once it has closed", async () => {
    await using session = new ClientSession({ baseUrl: running().baseUrl });
    const ws = await session.wsConnect("/echo", { headers: { "User-Agent": "access-log-check" } });
    await ws.close();
    await printed(running(), '"GET /echo HTTP/1.1" 101 0 "-" "access-log-check"');
  });

  test("serves the chat page, which opens its WebSocket with the browser API", async () => {
    const resp = await fetch(`${running().baseUrl}/`);
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const page = await resp.text();
    expect(page).toContain("new WebSocket(url)");
    expect(page).toContain('new URL("/chat", location.href)');
  });

  test.runIf(hasPeer("chromium"))(
    "the page chats with a ClientSession member in a real browser",
    async () => {
      await using session = new ClientSession({ baseUrl: running().baseUrl });
      await using tester = await session.wsConnect("/chat", { params: { name: "tester" } });
      expect(await tester.receiveJson()).toEqual({ event: "join", name: "tester" });

      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      });
      try {
        const page = await browser.newPage();
        await page.goto(`${running().baseUrl}/`);
        const joined = await tester.receiveJson<{ event: string; name: string }>({
          timeout: 5_000,
        });
        expect(joined.event).toBe("join");
        expect(joined.name).toMatch(/^guest-\d+$/);

        await page.fill("#text", "hello from the browser");
        await page.click("button");
        expect(await tester.receiveJson({ timeout: 5_000 })).toEqual({
          event: "say",
          name: joined.name,
          text: "hello from the browser",
        });

        await tester.sendStr("hello from node");
        // Every member gets every message, the sender included.
        expect(await tester.receiveJson({ timeout: 5_000 })).toMatchObject({ event: "say" });
        await page
          .locator("#log li", { hasText: "tester: hello from node" })
          .waitFor({ timeout: 5_000 });
      } finally {
        await browser.close();
      }
      // The browser went away: the room tells the others.
      expect(await tester.receiveJson({ timeout: 5_000 })).toMatchObject({ event: "leave" });
    },
    20_000,
  );

  test("SIGTERM closes an open WebSocket with 1001 and the process exits 0", async () => {
    await using session = new ClientSession({ baseUrl: running().baseUrl });
    const ws = await session.wsConnect("/chat", { params: { name: "last" } });
    expect((await ws.receive()).type).toBe(WSMsgType.TEXT);

    running().child.kill("SIGTERM");
    const msg = await ws.receive(5_000);
    expect(msg.type).toBe(WSMsgType.CLOSE);
    expect(msg.data).toBe(1001);
    expect(msg.extra).toBe("Server shutdown");
    expect(await running().exited).toBe(0);
  });
});

describe("README.md", () => {
  let dir: string | undefined;
  let server: ServerProcess | undefined;
  afterAll(async () => {
    server?.kill();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test(
    "the WebSocket echo server and client run as shown",
    async () => {
      const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
      const section = readme.slice(readme.indexOf("A WebSocket echo server and a client for it:"));
      const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
      const [serverCode, clientCode] = blocks;
      expect(serverCode).toContain("web.runApp(app, { port: 8080 });");
      expect(clientCode).toContain('session.wsConnect("ws://127.0.0.1:8080/ws")');

      dir = await mkdtemp(join(tmpdir(), "readme-ws-"));
      // .mts: top-level await needs ES modules, and the temporary folder has no package.json.
      const serverFile = join(dir, "server.mts");
      const clientFile = join(dir, "client.mts");
      // The server takes a free port and names it in its banner; the client is then pointed at it.
      await writeFile(serverFile, (serverCode ?? "").replace("port: 8080", "port: 0"));
      server = await startServer(serverFile);
      const port = new URL(server.baseUrl).port;
      await writeFile(clientFile, (clientCode ?? "").replace(":8080/", `:${port}/`));
      const run = await runClient("", clientFile);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe("hello/answer\n");
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    },
    START_TIMEOUT_MS + CLIENT_TIMEOUT_MS,
  );
});
