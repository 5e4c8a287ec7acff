// Debian's headless Chromium, driven by playwright-core, on a page that one of our apps serves:
// what the browser interop tests (ws-chromium, sse-chromium) share.

import { readFile } from "node:fs/promises";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { web } from "../../src/index.js";

const CHROMIUM = process.env.AIOHTTP_TS_CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_HINT = "apt-get install chromium (the tests run /usr/bin/chromium headless)";

/**
 * Registers a `beforeAll` that serves `makeApp(html)` on a free loopback port (`html` is the
 * text of `pageHtml`, for the app to serve at `/`), launches Chromium and opens `/` in a page,
 * and an `afterAll` that closes both. Returns a getter for the page, which exists once the
 * `beforeAll` has run. Call it once, at the top of a `describe` block.
 */
export function useChromiumPage(
  pageHtml: URL,
  makeApp: (html: string) => web.Application,
): () => Page {
  let runner: web.AppRunner | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;

  beforeAll(async () => {
    const html = await readFile(pageHtml, "utf8");
    runner = new web.AppRunner(makeApp(html), { accessLog: null });
    await runner.setup();
    const site = new web.TCPSite(runner, "127.0.0.1", 0);
    await site.start();
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      });
    } catch (err) {
      throw new Error(
        `Chromium could not be launched from ${CHROMIUM}, and the interop tests need it: ` +
          `${CHROMIUM_HINT}. (Set AIOHTTP_TS_SKIP_INTEROP=1 to skip these tests.)`,
        { cause: err },
      );
    }
    page = await browser.newPage();
    const resp = await page.goto(`http://127.0.0.1:${site.port}/`);
    expect(resp?.status()).toBe(200);
  });

  afterAll(async () => {
    await browser?.close();
    await runner?.cleanup();
  });

  return () => {
    if (page === undefined) throw new Error("the Chromium page is not open (beforeAll failed?)");
    return page;
  };
}
