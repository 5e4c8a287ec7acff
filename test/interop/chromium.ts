// Debian's headless Chromium, driven by playwright-core, on a page that one of our apps serves:
// what the browser interop tests (ws-chromium, sse-chromium) share.

import { readFile } from "node:fs/promises";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import type { web } from "../../src/index.js";
import { useAppForAll } from "../helpers.js";
import { CHROMIUM } from "../peers.js";

/** Launches Debian's Chromium headless, or fails saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  try {
    return await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
  } catch (err) {
    throw new Error(
      `Chromium is installed at ${CHROMIUM} but could not be launched (see the cause)`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Serves `makeApp(html)` for the calling `describe` (`useAppForAll`; `html` is the text of
 * `pageHtml`, for the app to serve at `/`), and registers a `beforeAll` that launches Chromium
 * and opens `/` in a page, and an `afterAll` that closes the browser. Returns a getter for the
 * page, which exists once the `beforeAll` has run. Call it once, at the top of a `describe`.
 */
export function useChromiumPage(
  pageHtml: URL,
  makeApp: (html: string) => web.Application,
): () => Page {
  const port = useAppForAll(async () => makeApp(await readFile(pageHtml, "utf8")));
  let browser: Browser | undefined;
  let page: Page | undefined;

  beforeAll(async () => {
    browser = await launchChromium();
    page = await browser.newPage();
    const resp = await page.goto(`http://127.0.0.1:${port()}/`);
    expect(resp?.status()).toBe(200);
  });

  afterAll(async () => {
    await browser?.close();
  });

  return () => {
    if (page === undefined) throw new Error("the Chromium page is not open (beforeAll failed?)");
    return page;
  };
}
