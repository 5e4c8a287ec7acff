// The testing helpers users get from "aiohttp-ts/test-utils": TestServer (HTTP and HTTPS),
// RawTestServer, TestClient on a ClientSession, makeTestClient and makeMockedRequest, over real
// loopback sockets (all but makeMockedRequest, which needs none).
import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { afterAll, describe, expect, it, vi } from "vitest";
import {
  ClientConnectorCertificateError,
  ClientResponse,
  ClientSession,
  CookieJar,
  WSMsgType,
  web,
} from "../src/index.js";
import {
  makeMockedRequest,
  makeTestClient,
  RawTestServer,
  TestClient,
  TestServer,
} from "../src/test-utils/index.js";
import { deferred, quiet, rejection } from "./helpers.js";
import { tlsMaterial } from "./tls-material.js";

afterAll(async () => {
  await (await tlsMaterial()).remove();
});

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
  app.router.addGet("/headers", (req) =>
    web.jsonResponse({ test: req.headers.get("X-Test") ?? null }),
  );
  app.router.addRoute("*", "/method", (req) => new web.Response({ text: req.method }));
  app.router.addGet("/login", () => {
    const resp = new web.Response({ text: "in" });
    resp.setCookie("session", "abc");
    return resp;
  });
  app.router.addGet(
    "/whoami",
    (req) => new web.Response({ text: req.cookies.session ?? "nobody" }),
  );
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
      expect(server.scheme).toBe("http");
      expect(server.baseUrl).toBe(`http://127.0.0.1:${server.port}`);
      expect(server.makeUrl("/x?y=1").href).toBe(`http://127.0.0.1:${server.port}/x?y=1`);
      expect(await reachable(server.port)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("keeps a path that starts with // as a path, and refuses an absolute URL", async () => {
    await using server = await new TestServer(makeApp()).start();
    expect(server.makeUrl("//a/b").pathname).toBe("//a/b");
    expect(server.makeUrl("//a/b").host).toBe(`127.0.0.1:${server.port}`);
    expect(() => server.makeUrl("http://example.com/")).toThrow(TypeError);
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
    expect(server.closed).toBe(true);
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
      await using client = await makeTestClient(makeApp());
      await (await client.get("/")).text();
      expect(info).not.toHaveBeenCalled();
    } finally {
      info.mockRestore();
    }
  });

  it("passes runner options through, such as an access log", async () => {
    const lines: string[] = [];
    await using client = await makeTestClient(makeApp(), {
      serverOptions: { accessLog: { info: (l) => lines.push(l) }, accessLogFormat: "%r %s" },
    });
    await (await client.get("/")).text();
    await vi.waitFor(() => expect(lines).toEqual(["GET / HTTP/1.1 200"]));
  });

  it("serves HTTPS with `ssl`, and the client trusts the CA given in its session options", async () => {
    const tls = await tlsMaterial();
    const server = new TestServer(makeApp(), { ssl: tls.server });
    await using client = await makeTestClient(server, { sessionOptions: { ssl: { ca: tls.ca } } });
    expect(server.scheme).toBe("https");
    expect(client.makeUrl("/").href).toBe(`https://127.0.0.1:${server.port}/`);
    const resp = await client.get("/");
    expect(resp.url.protocol).toBe("https:");
    expect(await resp.text()).toBe("root");
  });

  it("an HTTPS server refuses a client that does not trust its certificate", async () => {
    const tls = await tlsMaterial();
    await using client = await makeTestClient(new TestServer(makeApp(), { ssl: tls.server }));
    const err = await rejection(client.get("/"));
    expect(err).toBeInstanceOf(ClientConnectorCertificateError);
  });
});

describe("RawTestServer", () => {
  it("sends every method and path to the bare handler", async () => {
    const handler: web.Handler = async (req) =>
      web.jsonResponse({
        method: req.method,
        path: req.path,
        body: await req.text(),
        matchInfo: req.matchInfo,
      });
    await using client = await makeTestClient(handler);
    expect(client.server).toBeInstanceOf(RawTestServer);
    const resp = await client.put("/any/where?x=1", { data: "payload" });
    expect(await resp.json()).toEqual({
      method: "PUT",
      path: "/any/where",
      body: "payload",
      matchInfo: {},
    });
    expect(await (await client.get("/")).json()).toMatchObject({ method: "GET", path: "/" });
  });

  it("answers an HTTPException the handler throws", async () => {
    await using server = await new RawTestServer(() => {
      throw new web.HTTPForbidden({ text: "no" });
    }).start();
    await using client = await new TestClient(server).start();
    const resp = await client.get("/x");
    expect(resp.status).toBe(403);
    expect(await resp.text()).toBe("no");
  });
});

describe("TestClient", () => {
  it("sends requests by path and gives ClientResponses", async () => {
    await using client = await makeTestClient(makeApp());
    const resp = await client.get("/");
    expect(resp).toBeInstanceOf(ClientResponse);
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await resp.text()).toBe("root");
  });

  it("sends through a session whose baseUrl is the server's", async () => {
    await using client = await makeTestClient(makeApp());
    expect(client.session).toBeInstanceOf(ClientSession);
    expect(await (await client.session.get("/")).text()).toBe("root");
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

  it("sends json with an application/json content type", async () => {
    await using client = await makeTestClient(makeApp());
    const resp = await client.post("/echo", { json: { n: 1 } });
    expect(await resp.json()).toEqual({ type: "application/json", body: { n: 1 } });
  });

  it("follows redirects as aiohttp's client does, unless allowRedirects is false", async () => {
    await using client = await makeTestClient(makeApp());
    const followed = await client.get("/redirect");
    expect(followed.status).toBe(200);
    expect(followed.history.map((r) => r.status)).toEqual([302]);
    const seen = await client.get("/redirect", { allowRedirects: false });
    expect(seen.status).toBe(302);
    expect(seen.headers.get("location")).toBe("/");
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
    expect(seen).toEqual(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
    expect((await client.head("/method")).status).toBe(200);
    expect(await (await client.request("PROPFIND", "/method")).text()).toBe("PROPFIND");
  });

  it("keeps cookies that 127.0.0.1 sets (an unsafe jar, as aiohttp's test client)", async () => {
    await using client = await makeTestClient(makeApp());
    await (await client.get("/login")).text();
    expect(await (await client.get("/whoami")).text()).toBe("abc");
    const jar = client.session.cookieJar;
    expect(jar instanceof CookieJar && jar.unsafe).toBe(true);
  });

  it("passes session options on, such as default headers", async () => {
    await using client = await makeTestClient(makeApp(), {
      sessionOptions: { headers: { "X-Test": "yes" } },
    });
    expect(await (await client.get("/headers")).json()).toEqual({ test: "yes" });
  });

  it("exposes the app, server, host, port and absolute URLs", async () => {
    const app = makeApp();
    await using client = await makeTestClient(app);
    expect(client.app).toBe(app);
    expect(client.host).toBe("127.0.0.1");
    expect(client.port).toBe(client.server.port);
    expect(client.makeUrl("/a").href).toBe(`${client.server.baseUrl}/a`);
  });

  it("starts its server on start() when built by hand, and has no session before", async () => {
    const client = new TestClient(new TestServer(makeApp()));
    expect(() => client.session).toThrow(/start/);
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
    expect(client.closed).toBe(true);
    expect(client.session.closed).toBe(true);
    expect(await reachable(client.server.port)).toBe(false);
  });

  it("closes the server with await using", async () => {
    const events: string[] = [];
    let port = 0;
    {
      await using client = await makeTestClient(makeApp(events));
      port = client.port;
      await (await client.get("/")).text();
    }
    expect(events).toEqual(["cleanup"]);
    expect(await reachable(port)).toBe(false);
  });

  it("close() releases a response left unread, so the handler sees the client go", async () => {
    const aborted = deferred<boolean>();
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/stream", async (req) => {
      const resp = new web.StreamResponse();
      await resp.prepare(req);
      await resp.write("first chunk");
      if (!req.signal.aborted) await once(req.signal, "abort");
      aborted.resolve(true);
      return resp;
    });
    const client = await makeTestClient(app);
    const resp = await client.get("/stream");
    expect(resp.closed).toBe(false);
    await client.close();
    expect(resp.closed).toBe(true);
    expect(await aborted.promise).toBe(true);
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

describe("makeMockedRequest", () => {
  it("gives a handler the method, path, query, headers and matchInfo, without a socket", async () => {
    const handler = (req: web.Request<{ id: string }>): web.Response =>
      web.jsonResponse(
        {
          id: req.matchInfo.id,
          method: req.method,
          path: req.path,
          q: req.query.get("q") ?? null,
          tags: req.headers.getAll("X-Tag"),
          cookies: req.cookies,
          remote: req.remote,
        },
        { headers: { "X-Handled": "1" } },
      );
    const req = makeMockedRequest("get", "/users/7?q=x", {
      headers: [
        ["X-Tag", "a"],
        ["X-Tag", "b"],
        ["Cookie", "s=1"],
      ],
      matchInfo: { id: "7" },
    });
    const resp = handler(req);
    expect(resp.status).toBe(200);
    expect(resp.headers.get("X-Handled")).toBe("1");
    expect(JSON.parse(resp.text ?? "")).toEqual({
      id: "7",
      method: "GET",
      path: "/users/7",
      q: "x",
      tags: ["a", "b"],
      cookies: { s: "1" },
      remote: "127.0.0.1",
    });
  });

  it("reads the body with text(), json() and post()", async () => {
    const json = makeMockedRequest("POST", "/", {
      headers: { "Content-Type": "application/json" },
      body: '{"n":1}',
    });
    expect(json.bodyExists).toBe(true);
    expect(await json.json()).toEqual({ n: 1 });
    const text = makeMockedRequest("POST", "/", { body: Buffer.from("héllo") });
    expect(await text.text()).toBe("héllo");
    const form = makeMockedRequest("POST", "/", {
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "a=1&a=2&b=x+y",
    });
    const fields = await form.post();
    expect(fields.getAll("a")).toEqual(["1", "2"]);
    expect(fields.get("b")).toBe("x y");
  });

  it("has an empty body when none is given", async () => {
    const req = makeMockedRequest("GET", "/");
    expect(req.bodyExists).toBe(false);
    expect((await req.read()).length).toBe(0);
  });

  it("refuses a body over clientMaxSize with 413", async () => {
    const req = makeMockedRequest("POST", "/", { body: "x".repeat(20), clientMaxSize: 10 });
    const err = await rejection(req.read());
    expect(err).toBeInstanceOf(web.HTTPRequestEntityTooLarge);
  });

  it("shares the app's state with the handler", () => {
    const dbKey = new web.AppKey<string>("db");
    const app = new web.Application();
    app.set(dbKey, "sqlite");
    const req = makeMockedRequest("GET", "/", { app });
    expect(req.app).toBe(app);
    expect(req.app.get(dbKey)).toBe("sqlite");
  });

  it("lets a streaming handler prepare and write", async () => {
    const req = makeMockedRequest("GET", "/stream", { secure: true });
    expect(req.scheme).toBe("https");
    const resp = new web.StreamResponse({ headers: { "X-Stream": "1" } });
    await resp.prepare(req);
    await resp.write("chunk");
    await resp.writeEof();
    expect(resp.prepared).toBe(true);
    expect(resp.eof).toBe(true);
  });
});
