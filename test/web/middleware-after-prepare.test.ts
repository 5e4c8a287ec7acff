// Regression tests: the usual aiohttp middleware `const resp = await handler(req);
// resp.headers.set(...); return resp;` used to break every streaming endpoint and every
// WebSocket route behind it, because changing the headers of a prepared response threw. Such a
// change is now ignored, as in aiohttp, and reported once per route in debug mode.
import { describe, expect, it, vi } from "vitest";
import { WSMsgType, web } from "../../src/index.js";
import { dechunk, getRequest, rawExchange, useTestClients } from "../helpers.js";

const serve = useTestClients();

/** The middleware of the issue: it sets a header on whatever the handler returned. */
const stampHeader: web.Middleware = async (request, handler) => {
  const resp = await handler(request);
  resp.headers.set("X-Stamp", "1");
  return resp;
};

/** An application with a streaming, a WebSocket and a plain route behind `stampHeader`. */
function stampedApp(options: web.ApplicationOptions = {}): web.Application {
  const app = new web.Application({ middlewares: [stampHeader], ...options });
  app.router.addGet("/stream", async (request) => {
    const resp = new web.StreamResponse();
    await resp.prepare(request);
    await resp.write("streamed ");
    await resp.write("body");
    return resp;
  });
  app.router.addGet("/ws", async (request) => {
    const ws = new web.WebSocketResponse();
    await ws.prepare(request);
    await ws.sendStr(`echo: ${await ws.receiveStr()}`);
    // Returning closes the WebSocket, after the middleware has had the response.
    return ws;
  });
  app.router.addGet("/plain", () => new web.Response({ text: "plain" }));
  return app;
}

describe("a middleware that sets a header after the handler", () => {
  it("leaves a StreamResponse endpoint working: whole body, no error, the late header not sent", async () => {
    const error = vi.fn();
    const client = await serve(stampedApp({ logger: { error } }));
    const reply = await rawExchange(client.server.port, getRequest("/stream"));
    expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
    expect(dechunk(reply.rest)).toEqual({ data: Buffer.from("streamed body"), complete: true });
    expect(reply.headerLines.some((l) => /^x-stamp:/i.test(l))).toBe(false);
    expect(error).not.toHaveBeenCalled();
  });

  it("leaves a WebSocket route working: a client gets its echo, then a clean close (1000)", async () => {
    const error = vi.fn();
    const client = await serve(stampedApp({ logger: { error } }));
    const ws = await client.wsConnect("/ws");
    await ws.sendStr("hi");
    expect(await ws.receiveStr()).toBe("echo: hi");
    // The server's close comes once the middleware returned the response.
    const end = await ws.receive();
    expect(end.type).toBe(WSMsgType.CLOSE);
    expect(ws.closeCode).toBe(1000);
    expect(error).not.toHaveBeenCalled();
  });

  it("still sets the header of a plain Response", async () => {
    const client = await serve(stampedApp());
    const resp = await client.get("/plain");
    expect(resp.headers.get("x-stamp")).toBe("1");
    expect(await resp.text()).toBe("plain");
  });

  it("with debug, warns once per route, naming the route and the change, over several requests", async () => {
    const warn = vi.fn();
    const client = await serve(stampedApp({ debug: true, logger: { error() {}, warn } }));
    for (let i = 0; i < 3; i++) {
      expect(await (await client.get("/stream")).text()).toBe("streamed body");
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(
      /headers\.set\("X-Stamp"\).*ignored.*route GET \/stream/,
    );
    for (let i = 0; i < 2; i++) {
      const ws = await client.wsConnect("/ws");
      await ws.sendStr("hi");
      await ws.receiveStr();
      expect((await ws.receive()).type).toBe(WSMsgType.CLOSE);
    }
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[1]?.[0])).toMatch(/route GET \/ws/);
    await client.get("/plain");
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it("without debug, warns about nothing", async () => {
    const warn = vi.fn();
    const client = await serve(stampedApp({ logger: { error() {}, warn } }));
    await (await client.get("/stream")).text();
    const ws = await client.wsConnect("/ws");
    await ws.sendStr("hi");
    await ws.receiveStr();
    expect((await ws.receive()).type).toBe(WSMsgType.CLOSE);
    expect(warn).not.toHaveBeenCalled();
  });
});
