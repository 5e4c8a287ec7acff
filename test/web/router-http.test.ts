// Routing over real sockets: what a client sees for matches, 404, 405 with Allow, HEAD, views,
// percent-encoded and dot-segment paths, and a router that freezes when the app starts.
import { describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { httpSend, useTestClients } from "../helpers.js";

const serve = useTestClients();

/** An app that echoes the matched variables as JSON. */
function echoApp(...paths: string[]): web.Application {
  const app = new web.Application();
  for (const path of paths) {
    app.router.addGet(path, (request) => web.jsonResponse({ ...request.matchInfo }));
  }
  return app;
}

describe("routing over HTTP", () => {
  it("the aiohttp hello example answers with the name from the path", async () => {
    const app = new web.Application();
    app.router.addGet(
      "/{name}",
      async (request) => new web.Response({ text: `Hello, ${request.matchInfo.name}` }),
    );
    const client = await serve(app);
    const resp = await client.get("/world");
    expect(resp.status).toBe(200);
    expect(await resp.text()).toBe("Hello, world");
  });

  it("a path with no route answers 404", async () => {
    const client = await serve(echoApp("/users/{id}"));
    const resp = await client.get("/nothing/here");
    expect(resp.status).toBe(404);
    await resp.read();
  });

  it("a matching path with another method answers 405 with an Allow header", async () => {
    const app = new web.Application();
    app.router.addGet("/items", () => new web.Response({ text: "list" }));
    app.router.addPut("/items", () => new web.Response({ text: "replace" }));
    const client = await serve(app);
    const resp = await client.post("/items", { data: "x" });
    expect(resp.status).toBe(405);
    expect(resp.headers.get("allow")).toBe("GET,HEAD,PUT");
    await resp.read();
  });

  it("HEAD on a GET route answers with the GET headers and no body", async () => {
    const app = new web.Application();
    app.router.addGet("/page", () => new web.Response({ text: "hello body" }));
    const client = await serve(app);
    const resp = await client.head("/page");
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-length")).toBe("10");
    expect(await resp.text()).toBe("");
  });

  it("HEAD on a GET route registered with allowHead: false answers 405", async () => {
    const app = new web.Application();
    app.router.addGet("/page", () => new web.Response({ text: "x" }), { allowHead: false });
    const client = await serve(app);
    const resp = await client.head("/page");
    expect(resp.status).toBe(405);
    expect(resp.headers.get("allow")).toBe("GET");
  });

  it("a regex variable that does not match answers 404", async () => {
    const client = await serve(echoApp("/users/{id:\\d+}"));
    const bad = await client.get("/users/abc");
    expect(bad.status).toBe(404);
    await bad.read();
    const good = await client.get("/users/12");
    expect(await good.json()).toEqual({ id: "12" });
  });

  it("a tail variable gets the rest of the path", async () => {
    const client = await serve(echoApp("/static/{path:.*}"));
    const resp = await client.get("/static/css/site/main.css");
    expect(await resp.json()).toEqual({ path: "css/site/main.css" });
  });

  it("a percent-encoded space in a variable arrives decoded", async () => {
    const client = await serve(echoApp("/users/{name}"));
    const resp = await client.get("/users/a%20b");
    expect(await resp.json()).toEqual({ name: "a b" });
  });

  it("percent-encoded UTF-8 in a variable arrives decoded", async () => {
    const client = await serve(echoApp("/users/{name}"));
    const resp = await client.get("/users/caf%C3%A9");
    expect(await resp.json()).toEqual({ name: "café" });
  });

  it("an encoded slash does not split the segment and is decoded in the value", async () => {
    const client = await serve(echoApp("/users/{a}/{b}", "/users/{name}"));
    const resp = await client.get("/users/a%2Fb");
    expect(await resp.json()).toEqual({ name: "a/b" });
  });

  it("an encoded literal segment matches a plain route", async () => {
    const app = new web.Application();
    app.router.addGet("/caf\u00e9", () => new web.Response({ text: "coffee" }));
    const client = await serve(app);
    const resp = await client.get("/caf%C3%A9");
    expect(await resp.text()).toBe("coffee");
  });

  it("dot segments are resolved before routing", async () => {
    const client = await serve(echoApp("/users/{id}"));
    const resp = await httpSend(client.server.port, "/static/../users/./7");
    expect(resp.status).toBe(200);
    expect(JSON.parse(resp.body)).toEqual({ id: "7" });
  });

  it("dot segments cannot climb above the root", async () => {
    const client = await serve(echoApp("/users/{id}"));
    const resp = await httpSend(client.server.port, "/../../users/8");
    expect(JSON.parse(resp.body)).toEqual({ id: "8" });
  });

  it("a route registered through a RouteTableDef answers over HTTP", async () => {
    const routes = new web.RouteTableDef();
    routes.get("/t/{id}", (request) => new web.Response({ text: `t${request.matchInfo.id}` }));
    const app = new web.Application();
    app.router.addRoutes(routes);
    const client = await serve(app);
    expect(await (await client.get("/t/3")).text()).toBe("t3");
  });

  it("request.app is the application in a handler", async () => {
    const app = new web.Application();
    let seen: unknown;
    app.router.addGet("/", (request) => {
      seen = request.app;
      return new web.Response({ text: "ok" });
    });
    const client = await serve(app);
    await (await client.get("/")).text();
    expect(seen).toBe(app);
  });
});

describe("class-based views", () => {
  class ItemView extends web.View<{ readonly id: string }> {
    async get() {
      return new web.Response({ text: `get ${this.request.matchInfo.id}` });
    }
    async post() {
      return new web.Response({ text: `post ${this.request.matchInfo.id}` });
    }
  }

  it("dispatches each verb to the method of the same name", async () => {
    const app = new web.Application();
    app.router.addView("/items/{id}", ItemView);
    const client = await serve(app);
    expect(await (await client.get("/items/4")).text()).toBe("get 4");
    expect(await (await client.post("/items/5", { data: "" })).text()).toBe("post 5");
  });

  it("a verb the view does not define answers 405 listing the view's verbs", async () => {
    const app = new web.Application();
    app.router.addView("/items/{id}", ItemView);
    const client = await serve(app);
    const resp = await client.delete("/items/4");
    expect(resp.status).toBe(405);
    expect(resp.headers.get("allow")).toBe("GET,POST");
    await resp.read();
  });

  it("a view registered with web.view through addRoutes dispatches too", async () => {
    const app = new web.Application();
    app.router.addRoutes([web.view("/items/{id}", ItemView)]);
    const client = await serve(app);
    expect(await (await client.get("/items/9")).text()).toBe("get 9");
  });
});

describe("freezing at startup", () => {
  it("adding a route after the app started throws FrozenRouterError", async () => {
    const app = new web.Application();
    app.router.addGet("/", () => new web.Response({ text: "ok" }));
    await serve(app);
    expect(() => app.router.addGet("/late", () => new web.Response({ text: "late" }))).toThrow(
      web.FrozenRouterError,
    );
  });

  it("adding a middleware after the app started throws", async () => {
    const app = new web.Application();
    await serve(app);
    expect(() => app.addMiddleware((request, handler) => handler(request))).toThrow(
      web.FrozenAppError,
    );
  });

  it("adding a signal handler after the app started throws", async () => {
    const app = new web.Application();
    await serve(app);
    expect(() => app.onStartup.push(() => undefined)).toThrow(web.FrozenAppError);
    expect(() => app.onResponsePrepare.push(() => undefined)).toThrow(web.FrozenAppError);
  });
});
