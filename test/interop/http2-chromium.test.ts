// Headless Chromium on one HTTPS port of `http2: true`: the page and its asset come over h2,
// and its WebSocket opens over HTTP/1.1 on the same port (ALPN fallback).

import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { hasPeer } from "../peers.js";
import { type TlsMaterial, tlsMaterial } from "../tls-material.js";
import { makeHttp2App } from "../web/http2-app.js";
import { launchChromium } from "./chromium.js";

const PAGE = `<!doctype html><title>h2</title><script src="/asset.js"></script>`;

// Once loaded, the page reports how it came and what its WebSocket echoed.
const ASSET = `
window.report = new Promise((resolve, reject) => {
  const ws = new WebSocket("wss://" + location.host + "/ws");
  ws.onopen = () => ws.send("from the page");
  ws.onerror = () => reject(new Error("WebSocket failed"));
  ws.onmessage = (e) => {
    ws.close();
    resolve({
      page: performance.getEntries()[0].nextHopProtocol,
      asset: performance.getEntriesByName(location.origin + "/asset.js")[0].nextHopProtocol,
      echo: e.data,
    });
  };
});
`;

describe.skipIf(!hasPeer("chromium"))("Chromium on an http2: true port", () => {
  let tls: TlsMaterial;
  let runner: web.AppRunner;
  let browser: Browser | undefined;
  let port = 0;

  beforeAll(async () => {
    tls = await tlsMaterial();
    const app = await makeHttp2App();
    app.router.addGet("/page", () => new web.Response({ text: PAGE, contentType: "text/html" }));
    app.router.addGet(
      "/asset.js",
      () => new web.Response({ text: ASSET, contentType: "text/javascript" }),
    );
    runner = new web.AppRunner(app, { accessLog: null });
    await runner.setup();
    const site = new web.TCPSite(runner, "127.0.0.1", 0, {
      http2: true,
      ssl: { key: tls.server.key, cert: tls.server.cert },
    });
    await site.start();
    port = site.port;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await runner?.cleanup();
    await tls?.remove();
  });

  it("loads the page and its asset over h2 and opens a WebSocket on the same port", async () => {
    const context = await (browser as Browser).newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const resp = await page.goto(`https://localhost:${port}/page`);
    expect(resp?.status()).toBe(200);
    const report = await page.evaluate(
      () => (globalThis as unknown as { report: Promise<Record<string, string>> }).report,
    );
    expect(report).toEqual({ page: "h2", asset: "h2", echo: "echo from the page" });
    await context.close();
  });
});
