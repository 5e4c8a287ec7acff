// The package as users get it: the built dist/ imported by name through the exports map
// (`npm test` builds before vitest runs), with declarations beside every entry point.

import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { VERSION } from "../src/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
  exports: Record<string, { types: string; default: string } | string>;
};
const run = promisify(execFile);

/** Runs an ES module with plain node from the package root, so "aiohttp-ts" resolves to dist/. */
async function runModule(source: string): Promise<string> {
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", source], {
    cwd: root,
    timeout: 15_000,
  });
  return stdout.trim();
}

describe("the built package", () => {
  it("VERSION matches package.json", () => {
    expect(VERSION).toBe(pkg.version);
  });

  it("every exports entry has its JavaScript and declarations in dist/", () => {
    expect(existsSync(`${root}/dist`), "dist/ is missing: run `npm run build`").toBe(true);
    for (const [entry, target] of Object.entries(pkg.exports)) {
      if (typeof target === "string") continue;
      expect(existsSync(`${root}/${target.default}`), `${entry} -> ${target.default}`).toBe(true);
      expect(existsSync(`${root}/${target.types}`), `${entry} -> ${target.types}`).toBe(true);
    }
  });

  it('serves the README example through `import { web } from "aiohttp-ts"`', async () => {
    const out = await runModule(`
      import { web } from "aiohttp-ts";
      import { makeTestClient } from "aiohttp-ts/test-utils";
      const app = new web.Application();
      app.router.addGet("/{name}", async (request) =>
        new web.Response({ text: "Hello, " + request.matchInfo.name }));
      const client = await makeTestClient(app);
      const resp = await client.get("/world");
      console.log(resp.status, await resp.text());
      await client.close();
    `);
    expect(out).toBe("200 Hello, world");
  });

  it('fetches with `import { ClientSession } from "aiohttp-ts"`', async () => {
    const out = await runModule(`
      import { ClientSession, web } from "aiohttp-ts";
      import { makeTestClient } from "aiohttp-ts/test-utils";
      const app = new web.Application();
      app.router.addGet("/json", () => web.jsonResponse({ ok: true }));
      const client = await makeTestClient(app);
      const session = new ClientSession({ baseUrl: client.server.baseUrl });
      const resp = await session.get("/json", { params: { a: "1" } });
      console.log(resp.status, JSON.stringify(await resp.json()));
      await session.close();
      await client.close();
    `);
    expect(out).toBe('200 {"ok":true}');
  });

  it("echoes over a WebSocket: web.WebSocketResponse and session.wsConnect from the package", async () => {
    const out = await runModule(`
      import { ClientSession, WSMsgType, web } from "aiohttp-ts";
      import { makeTestClient } from "aiohttp-ts/test-utils";
      const app = new web.Application();
      app.router.addGet("/ws", async (request) => {
        const ws = new web.WebSocketResponse();
        await ws.prepare(request);
        for await (const msg of ws) {
          if (msg.type === WSMsgType.TEXT) await ws.sendStr(msg.data + "/answer");
        }
        return ws;
      });
      const client = await makeTestClient(app);
      const session = new ClientSession();
      const ws = await session.wsConnect(client.makeUrl("/ws"));
      await ws.sendStr("hello");
      const reply = await ws.receive();
      console.log(reply.type === WSMsgType.TEXT, reply.data, await ws.close(), ws.closeCode);
      await session.close();
      await client.close();
    `);
    expect(out).toBe("true hello/answer true 1000");
  });

  it("uploads, files, static routes and server-sent events work from the package", async () => {
    const out = await runModule(`
      import { mkdtempSync, writeFileSync } from "node:fs";
      import { tmpdir } from "node:os";
      import { join } from "node:path";
      import { ClientSession, MultipartReader, web } from "aiohttp-ts";
      import { makeTestClient } from "aiohttp-ts/test-utils";
      const dir = mkdtempSync(join(tmpdir(), "aiohttp-ts-pkg-"));
      writeFileSync(join(dir, "a.txt"), "0123456789");
      const app = new web.Application();
      app.router.addPost("/form", async (request) => {
        const form = await request.post();
        const file = form.get("file");
        return new web.Response({ text: form.get("t") + ":" + (await file.read()).toString() });
      });
      app.router.addPost("/parts", async (request) => {
        const names = [];
        for await (const part of await request.multipart()) names.push(part.name);
        return new web.Response({ text: names.join(",") });
      });
      app.router.addGet("/file", () => new web.FileResponse(join(dir, "a.txt")));
      app.router.addStatic("/static", dir);
      app.router.addGet("/events", async (request) => {
        const sse = new web.EventSourceResponse();
        await sse.prepare(request);
        await sse.send("hi", { id: 1 });
        return sse;
      });
      const client = await makeTestClient(app);
      const session = new ClientSession({ baseUrl: client.server.baseUrl });
      const form = new FormData();
      form.append("t", "x");
      form.append("file", new Blob(["data"]), "d.bin");
      const posted = await session.post("/form", { data: form });
      const parts = await session.post("/parts", { data: form });
      const range = await session.get("/file", { headers: { Range: "bytes=2-4" } });
      const stat = await session.get("/static/a.txt");
      const events = await session.get("/events");
      console.log([
        await posted.text(), await parts.text(), range.status, await range.text(),
        await stat.text(), JSON.stringify(await events.text()), typeof MultipartReader,
      ].join(" "));
      await session.close();
      await client.close();
    `);
    expect(out).toBe('x:data t,file 206 234 0123456789 "id: 1\\r\\ndata: hi\\r\\n\\r\\n" function');
  });

  it("uploads, tracing, middlewares and retries work from the package", async () => {
    const out = await runModule(`
      import {
        ClientSession, FormData, Fingerprint, RetryMiddleware, TCPConnector, TraceConfig,
        TRACE_CHANNELS, web,
      } from "aiohttp-ts";
      import { makeTestClient } from "aiohttp-ts/test-utils";
      let failures = 1;
      const app = new web.Application();
      app.router.addPost("/form", async (request) => {
        const form = await request.post();
        return new web.Response({ text: form.get("a") + "+" + (await form.get("f").read()) });
      });
      app.router.addGet("/flaky", () => {
        if (failures-- > 0) throw new web.HTTPServiceUnavailable();
        return new web.Response({ text: "ok" });
      });
      const client = await makeTestClient(app);
      const trace = new TraceConfig();
      const seen = [];
      for (const signal of ["onDnsCacheMiss", "onConnectionCreateEnd", "onRequestEnd"])
        trace[signal].push(async () => { seen.push(signal); });
      const session = new ClientSession({
        baseUrl: client.server.baseUrl.replace("127.0.0.1", "localhost"),
        traceConfigs: [trace],
        connector: new TCPConnector({ family: 4 }),
        middlewares: [new RetryMiddleware({ baseDelay: 0 })],
      });
      const form = new FormData();
      form.addField("a", "1");
      form.addField("f", Buffer.from("xyz"), { contentTransferEncoding: "base64" });
      const posted = await (await session.post("/form", { data: form })).text();
      const flaky = await (await session.get("/flaky")).text();
      console.log(posted, flaky, seen.slice(0, 3).join(","), Object.keys(TRACE_CHANNELS).length,
        typeof Fingerprint);
      await session.close();
      await client.close();
    `);
    expect(out).toBe("1+xyz ok onDnsCacheMiss,onConnectionCreateEnd,onRequestEnd 16 function");
  });

  it("DigestAuthMiddleware answers a Digest challenge from the package", async () => {
    const out = await runModule(`
      import { ClientSession, DigestAuthError, DigestAuthMiddleware, web } from "aiohttp-ts";
      import { makeTestClient } from "aiohttp-ts/test-utils";
      const app = new web.Application();
      app.router.addGet("/private", (request) => {
        const auth = request.headers.get("Authorization");
        if (auth !== undefined) return new web.Response({ text: auth.split(",").slice(0, 1).join() });
        throw new web.HTTPUnauthorized({
          headers: { "WWW-Authenticate": 'Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256' },
        });
      });
      const client = await makeTestClient(app);
      const digest = new DigestAuthMiddleware({ login: "user", password: "pass" });
      const session = new ClientSession({ middlewares: [digest] });
      const resp = await session.get(client.makeUrl("/private"));
      console.log(resp.status, await resp.text(), new DigestAuthError("x").code);
      await session.close();
      await client.close();
    `);
    expect(out).toBe('200 Digest username="user" AIOHTTP_DIGEST_AUTH');
  });

  it('"aiohttp-ts/test-utils" answers with the package\'s ClientResponse and mocks requests', async () => {
    const out = await runModule(`
      import { ClientResponse, web } from "aiohttp-ts";
      import { makeMockedRequest, makeTestClient } from "aiohttp-ts/test-utils";
      const handler = (request) => web.jsonResponse({ id: request.matchInfo.id });
      const client = await makeTestClient(handler);
      const resp = await client.get("/x");
      const mocked = await handler(makeMockedRequest("GET", "/u/7", { matchInfo: { id: "7" } }));
      console.log(resp instanceof ClientResponse, resp.status, JSON.stringify(await resp.json()), mocked.text);
      await client.close();
    `);
    expect(out).toBe('true 200 {} {"id":"7"}');
  });

  it('"aiohttp-ts/web" is the same namespace as `web` from the main entry', async () => {
    const out = await runModule(`
      import { web } from "aiohttp-ts";
      import * as webDirect from "aiohttp-ts/web";
      console.log(webDirect.Application === web.Application, typeof webDirect.runApp);
    `);
    expect(out).toBe("true function");
  });
});
