// The chat showcase end to end in Debian's headless Chromium (playwright-core): people join a
// room from their own browser contexts, talk, and find the history after a reload.

import { stat } from "node:fs/promises";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { chatKey } from "../../examples/chat/keys.js";
import { JOIN_HISTORY } from "../../examples/chat/limits.js";
import { launchChromium } from "../interop/chromium.js";
import { hasPeer } from "../peers.js";
import {
  connected,
  messagesOn,
  openChat,
  STEP_TIMEOUT_MS,
  screenshot,
  seen,
  send,
} from "./chat-page.js";
import { useChat } from "./helpers.js";

describe.skipIf(!hasPeer("chromium"))("the chat page in Chromium", () => {
  const startChat = useChat();
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  function chromium(): Browser {
    if (browser === undefined) throw new Error("Chromium is not running (beforeAll failed?)");
    return browser;
  }

  test("two people exchange messages, and each sees the history after a reload", async () => {
    const { baseUrl } = await startChat();
    const alice = await openChat(chromium(), `${baseUrl}/`, "alice");
    const bob = await openChat(chromium(), `${baseUrl}/`, "bob");
    await alice.page.locator("#members li", { hasText: "bob" }).waitFor();

    await send(alice.page, "Hi Bob!");
    await seen(bob.page, "alice", "Hi Bob!");
    await send(bob.page, "Hello Alice <b>not bold</b>");
    await seen(alice.page, "bob", "Hello Alice <b>not bold</b>");
    await seen(bob.page, "bob", "Hello Alice");
    const expected = ["alice: Hi Bob!", "bob: Hello Alice <b>not bold</b>"];
    expect(await messagesOn(alice.page)).toEqual(expected);
    expect(await messagesOn(bob.page)).toEqual(expected);
    // The markup arrived as text: no element was made from it.
    expect(await alice.page.locator("#messages b").count()).toBe(0);

    for (const { page } of [alice, bob]) {
      await page.reload();
      // The signed cookie brings the nick back; the welcome brings the history.
      await connected(page, page === alice.page ? "alice" : "bob");
      expect(await messagesOn(page)).toEqual(expected);
    }
    const shot = await screenshot(alice.page, "two-people");
    expect((await stat(shot)).size).toBeGreaterThan(1000);
    expect([...alice.problems, ...bob.problems]).toEqual([]);
  });

  test("a new room opens from the form, and its messages stay in it", async () => {
    const { baseUrl } = await startChat();
    const alice = await openChat(chromium(), `${baseUrl}/`, "alice");
    const bob = await openChat(chromium(), `${baseUrl}/`, "bob");
    await alice.page.fill("#room-name", "dev");
    await alice.page.click("#room-form button");
    await alice.page.locator("#room-title", { hasText: "#dev" }).waitFor();
    await connected(alice.page, "alice");
    expect(await alice.page.locator("#feed-link").getAttribute("href")).toBe(
      "/static/feed.html#dev",
    );
    await send(alice.page, "only in dev");
    await seen(alice.page, "alice", "only in dev");
    // Bob, still in the lobby, gets a lobby message and not the one in #dev.
    await send(bob.page, "lobby talk");
    await seen(bob.page, "bob", "lobby talk");
    expect(await messagesOn(bob.page)).toEqual(["bob: lobby talk"]);
    await bob.page.goto(`${baseUrl}/#dev`);
    await connected(bob.page, "bob");
    await seen(bob.page, "alice", "only in dev");
    expect([...alice.problems, ...bob.problems]).toEqual([]);
  });

  test("a long history shows the last page, and the older ones on request", async () => {
    const { baseUrl, runner } = await startChat();
    const { store } = runner.app.require(chatKey);
    for (let i = 1; i <= JOIN_HISTORY + 10; i++) store.addMessage("lobby", "old", `old ${i}`);
    const alice = await openChat(chromium(), `${baseUrl}/`, "alice");
    const shown = await messagesOn(alice.page);
    expect(shown.length).toBe(JOIN_HISTORY);
    expect(shown[0]).toBe("old: old 11");
    await alice.page.click("#older");
    await alice.page.locator("#messages li .text", { hasText: /^old 1$/ }).waitFor();
    const all = await messagesOn(alice.page);
    expect(all).toEqual(Array.from({ length: JOIN_HISTORY + 10 }, (_, i) => `old: old ${i + 1}`));
    expect(await alice.page.locator("#older").isHidden()).toBe(true);
    expect(alice.problems).toEqual([]);
  });

  test("the feed page follows a room read-only through EventSource", async () => {
    const { baseUrl } = await startChat();
    const alice = await openChat(chromium(), `${baseUrl}/`, "alice");
    await send(alice.page, "already said");
    await seen(alice.page, "alice", "already said");
    const context = await chromium().newContext();
    const feed = await context.newPage();
    feed.setDefaultTimeout(STEP_TIMEOUT_MS);
    const problems: string[] = [];
    feed.on("pageerror", (err) => problems.push(err.message));
    feed.on("console", (msg) => {
      if (msg.type() === "error") problems.push(msg.text());
    });
    await feed.goto(`${baseUrl}/static/feed.html#lobby`);
    await feed.locator("#status[data-state=online]").waitFor();
    await seen(feed, "alice", "already said");
    await send(alice.page, "said while followed");
    await seen(feed, "alice", "said while followed");
    await openChat(chromium(), `${baseUrl}/`, "bob");
    await feed.locator("#messages li.system", { hasText: "bob joined" }).waitFor();
    expect(await feed.locator("#raw-link").getAttribute("href")).toBe("/rooms/lobby/events");
    await screenshot(feed, "feed");
    expect([...problems, ...alice.problems]).toEqual([]);
  });

  test("a page reconnects by itself after the server restarts", async () => {
    const chat = await startChat();
    const alice = await openChat(chromium(), `${chat.baseUrl}/`, "alice");
    await send(alice.page, "before the restart");
    await seen(alice.page, "alice", "before the restart");
    await chat.runner.cleanup(); // closes the page's socket with 1001
    // The page says why for as long as the server is down, whatever its attempts get.
    await alice.page
      .locator("#status[data-state=retrying]", { hasText: "the server is restarting" })
      .waitFor();
    const port = Number(new URL(chat.baseUrl).port);
    const again = await startChat({ dataDir: chat.dataDir, port });
    expect(again.baseUrl).toBe(chat.baseUrl);
    await connected(alice.page, "alice");
    await send(alice.page, "after the restart");
    await seen(alice.page, "alice", "after the restart");
    expect(await messagesOn(alice.page)).toEqual([
      "alice: before the restart",
      "alice: after the restart",
    ]);
    // The only complaint is the browser's own line about the dropped connection attempts.
    expect(alice.problems.filter((p) => !p.includes("WebSocket connection"))).toEqual([]);
  });
});
