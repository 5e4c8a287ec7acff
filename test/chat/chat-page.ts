// Driving the chat page in Chromium, for the end-to-end tests: one browser context per person,
// so that each has their own nick cookie.

import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";

/** How long one step in the page may take on a busy machine. */
export const STEP_TIMEOUT_MS = 10_000;

/** Where the end-to-end tests leave their screenshots (ignored by git). */
export const SCREENSHOT_DIR = fileURLToPath(new URL("../../test-results/chat/", import.meta.url));

/** A person's page, with what went wrong in it (script errors, CSP violations, failed loads). */
export interface ChatPage {
  page: Page;
  problems: string[];
}

/** Opens the chat at `url` in a fresh context and picks `nick`; resolves once connected. */
export async function openChat(browser: Browser, url: string, nick: string): Promise<ChatPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  const resp = await page.goto(url);
  if (resp?.status() !== 200) throw new Error(`GET ${url}: ${resp?.status()}`);
  await page.locator("#status", { hasText: "choose a nickname" }).waitFor();
  await page.fill("#nick", nick);
  await page.click("#nick-form button");
  await connected(page, nick);
  return { page, problems };
}

/** Waits until the page says it is connected as `nick`. */
export async function connected(page: Page, nick: string): Promise<void> {
  await page.locator("#status[data-state=online]", { hasText: `connected as ${nick}` }).waitFor();
}

/** Types `text` in the composer and sends it. */
export async function send(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

/** Waits until a message from `nick` saying `text` is on the page. */
export async function seen(page: Page, nick: string, text: string): Promise<void> {
  await page
    .locator("#messages li")
    .filter({ has: page.locator(".nick", { hasText: nick }) })
    .filter({ has: page.locator(".text", { hasText: text }) })
    .first()
    .waitFor();
}

/** The messages on the page, as "nick: text". */
export async function messagesOn(page: Page): Promise<string[]> {
  return page
    .locator("#messages li:not(.system)")
    .evaluateAll((items) =>
      items.map(
        (li) =>
          `${li.querySelector(".nick")?.textContent}: ${li.querySelector(".text")?.textContent}`,
      ),
    );
}

/** Saves a screenshot of the page as `<SCREENSHOT_DIR>/<name>.png`; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
