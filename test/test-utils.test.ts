// The testing helpers users get from "aiohttp-ts/test-utils": TestServer, TestClient and
// makeTestClient, over real loopback sockets, closed explicitly or with `await using`.
import { request as httpRequest } from "node:http";
import { describe, expect, it, vi } from "vitest";
import { WSMsgType, web } from "../src/index.js";
import { makeTestClient, TestClient, TestServer } from "../src/test-utils/index.js";
import { quiet } from "./helpers.js";

function makeApp(events: string[] = []): web.Application {
  const app = new web.Application({ logger: quiet });
  app.router.addGet("/", () => new web.Response({ text: "root" }));
  app.router.addGet("/query", (req) =>
    web.jsonResponse({ a: req.query.getAll("a"), b: req.query.get("b") ?? null }),
  );
  app.router.addPost("/echo", async (req) =>
    web.jsonResponse({ type: req.contentType, body: await req.json() }),
  );
  app.router.addGet("/redirect", () => {
    throw new web.HTTPFound("/");
  });
  app.router.addRoute("*", "/method", (req) => new web.Response({ text: req.method }));
  app.onCleanup.push(() => events.push("cleanup"));
  return app;
}

/** Whether something answers HTTP on the port. */
function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("error", () => resolve(false));
    req.end();
  });
}

describe("TestServer", () => {
  it("listens on a free loopback port once started", async () => {
    const server = new TestServer(makeApp());
    expect(server.started).toBe(false);
    await server.start();
    try {
      expect(server.started).toBe(true);
      expect(server.port).toBeGreaterThan(0);
      expect(server.baseUrl).toBe(`http://127.0.0.1:${server.port}`);
      expect(server.makeUrl("/x?y=1").href).toBe(`http://127.0.0.1:${server.port}/x?y=1`);
      expect(await (await fetch(server.makeUrl("/"))).text()).toBe("root");
    } finally {
      await server.close();
    }
  });

  it("treats a second start() as a no-op", async () => {
    const server = new TestServer(makeApp());
    await server.start();
    const port = server.port;
    await server.start();
    expect(server.port).toBe(port);
    await server.close();
  });

  it("shuts the application down on close(), running onCleanup and freeing the port", async () => {
    const events: string[] = [];
    const server = new TestServer(makeApp(events));
    await server.start();
    await server.close();
    expect(events).toEqual(["cleanup"]);
    expect(await reachable(server.port)).toBe(false);
  });

  it("closes with await using", async () => {
    const events: string[] = [];
    let port = 0;
    {
      await using server = await new TestServer(makeApp(events)).start();
      port = server.port;
      expect(await reachable(port)).toBe(true);
    }
    expect(events).toEqual(["cleanup"]);
    expect(await reachable(port)).toBe(false);
  });

  it("writes no access log unless asked to", async () => {
    const info = vi.spyOn(console, "info").mockImplementation(() => {});
    try {
      await using server = await new TestServer(makeApp()).start();
      await (await fetch(server.makeUrl("/"))).text();
      expect(info).not.toHaveBeenCalled();
    } finally {
      info.mockRestore();
    }
  });

  it("passes runner options through, such as an access log", async () => {
    const lines: string[] = [];
    await using server = await new TestServer(makeApp(), {
      accessLog: { info: (l) => lines.push(l) },
      accessLogFormat: "%r %s",
    }).start();
    await (await fetch(server.makeUrl("/"))).text();
    await vi.waitFor(() => expect(lines).toEqual(["GET / HTTP/1.1 200"]));
  });
});

describe("TestClient", () => {
  it("sends requests by path to its server", async () => {
    await using client = await makeTestClient(makeApp());
    const resp = await client.get("/");
    expect(resp.status).toBe(200);
    expect(await resp.text()).toBe("root");
  });

  it("adds params to the query string", async () => {
    await using client = await makeTestClient(makeApp());
    const resp = await client.get("/query", {
      params: [
        ["a", "1"],
        ["a", "2"],
        ["b", "x y"],
      ],
    });
    expect(await resp.json()).toEqual({ a: ["1", "2"], b: "x y" });
  });

  it("accepts params as a record", async () => {
    await using client = await makeTestClient(makeApp());
    const resp = await client.get("/query", { params: { b: "z" } });
    expect(await resp.json()).toEqual({ a: [], b: "z" });
  });

  it("sends json with an application/json content type", async () => {
    await using client = await makeTestClient(makeApp());
    const resp = await client.post("/echo", { json: { n: 1 } });
    expect(await resp.json()).toEqual({ type: "application/json", body: { n: 1 } });
  });

  it("does not follow redirects by default, so tests can see them", async () => {
    await using client = await makeTestClient(makeApp());
    const resp = await client.get("/redirect");
    expect(resp.status).toBe(302);
    expect(resp.headers.get("location")).toBe("/");
  });

  it("has a method per verb", async () => {
    await using client = await makeTestClient(makeApp());
    const seen: string[] = [];
    for (const send of [
      client.get,
      client.post,
      client.put,
      client.patch,
      client.delete,
      client.options,
    ]) {
      seen.push(await (await send.call(client, "/method")).text());
    }
    const head = await client.head("/method");
    expect(seen).toEqual(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
    expect(head.status).toBe(200);
  });

  it("exposes the app and absolute URLs", async () => {
    const app = makeApp();
    await using client = await makeTestClient(app);
    expect(client.app).toBe(app);
    expect(client.makeUrl("/a").href).toBe(`${client.server.baseUrl}/a`);
  });

  it("starts its server on start() when built by hand", async () => {
    const client = new TestClient(new TestServer(makeApp()));
    await client.start();
    try {
      expect((await client.get("/")).status).toBe(200);
    } finally {
      await client.close();
    }
  });

  it("closes the server with close(), running onCleanup", async () => {
    const events: string[] = [];
    const client = await makeTestClient(makeApp(events));
    await (await client.get("/")).text();
    await client.close();
    expect(events).toEqual(["cleanup"]);
    expect(await reachable(client.server.port)).toBe(false);
  });

  it("closes the server with await using", async () => {
    const events: string[] = [];
    let port = 0;
    {
      await using client = await makeTestClient(makeApp(events));
      port = client.server.port;
      await (await client.get("/")).text();
    }
    expect(events).toEqual(["cleanup"]);
    expect(await reachable(port)).toBe(false);
  });

  it("closes cleanly while fetch still holds a keep-alive connection", async () => {
    const client = await makeTestClient(makeApp());
    await (await client.get("/")).text();
    const t0 = performance.now();
    await client.close();
    // TestServer's shutdownTimeout is 5 s: a close that waited for the connection took that.
    expect(performance.now() - t0).toBeLessThan(2_500);
  });
});

describe("TestClient.wsConnect", () => {
  function wsApp(): web.Application {
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/ws", async (request) => {
      const ws = new web.WebSocketResponse();
      await ws.prepare(request);
      for await (const msg of ws) {
        if (msg.type === WSMsgType.TEXT) await ws.sendStr(`echo:${msg.data}`);
      }
      return ws;
    });
    return app;
  }

  it("opens a WebSocket by path and exchanges messages", async () => {
    await using client = await makeTestClient(wsApp());
    const ws = await client.wsConnect("/ws");
    await ws.sendStr("hi");
    expect(await ws.receiveStr()).toBe("echo:hi");
    expect(await ws.close()).toBe(true);
    expect(ws.closeCode).toBe(1000);
  });

  it("close() closes its open WebSockets (1001) before stopping the server", async () => {
    const client = await makeTestClient(wsApp());
    const ws = await client.wsConnect("/ws");
    await client.close();
    expect(ws.closed).toBe(true);
    expect(ws.closeCode).toBe(1001);
    expect((await ws.receive()).type).toBe(WSMsgType.CLOSED);
  });
});
