// The application the HTTP/2 tests serve: one route per kind of response, a middleware that
// marks every answer, and a small body limit.

import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WSMsgType, web } from "../../src/index.js";

/** The file `/file` serves: the ten digits. */
export const FILE_TEXT = "0123456789";

/** Every route of the HTTP/2 tests; `versions` records `request.version` of each request. */
export async function makeHttp2App(versions: string[] = []): Promise<web.Application> {
  const file = join(tmpdir(), `aiohttp-ts-h2-${process.pid}.txt`);
  await writeFile(file, FILE_TEXT);
  const app = new web.Application({
    clientMaxSize: 1024,
    middlewares: [
      async (request, handler) => {
        versions.push(`${request.version.major}.${request.version.minor}`);
        const response = await handler(request);
        if (response instanceof web.StreamResponse) response.headers.set("X-Middleware", "ran");
        return response;
      },
    ],
  });
  app.router.addGet("/", () => new web.Response({ text: "hello" }));
  app.router.addGet("/json", () => web.jsonResponse({ ok: true }));
  app.router.addGet(
    "/host",
    (request) =>
      new web.Response({ text: `${request.scheme}://${request.host} ${request.remote}` }),
  );
  app.router.addGet("/hop", () => {
    return new web.Response({
      text: "hop",
      headers: { Connection: "keep-alive", "Keep-Alive": "timeout=5", Upgrade: "h2c" },
    });
  });
  app.router.addGet("/stream", async (request) => {
    const response = new web.StreamResponse();
    await response.prepare(request);
    for (const chunk of ["one,", "two,", "three"]) await response.write(chunk);
    await response.writeEof();
    return response;
  });
  app.router.addGet("/file", () => new web.FileResponse(file));
  app.router.addGet("/events", async (request) => {
    const sse = new web.EventSourceResponse();
    await sse.prepare(request);
    await sse.send("first");
    await sse.send("second", { event: "update" });
    return sse;
  });
  app.router.addPost("/echo", async (request) => new web.Response({ text: await request.text() }));
  app.router.addGet("/ws", async (request) => {
    const ws = new web.WebSocketResponse();
    await ws.prepare(request);
    for await (const msg of ws) {
      if (msg.type === WSMsgType.TEXT) await ws.sendStr(`echo ${msg.data}`);
    }
    return ws;
  });
  return app;
}
