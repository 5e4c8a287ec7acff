// Sub-applications mounted under a prefix (`addSubapp`) or a Host (`addDomain`): routing,
// middleware scope and order, URL building, `request.app`, and state that falls back to the
// parent application.
import { describe, expect, it } from "vitest";
import { CIMultiDict, web } from "../../src/index.js";
import type { TestClient } from "../../src/test-utils/index.js";
import { httpSend, textHandler as text, useTestClients } from "../helpers.js";

const serve = useTestClients();

/** GET with a chosen Host header (fetch does not allow setting it). */
async function getWithHost(
  client: TestClient,
  path: string,
  host: string,
): Promise<{ status: number; body: string }> {
  const { status, body } = await httpSend(client.server.port, path, { headers: { host } });
  return { status, body };
}

/** A middleware that records its name in `log` and tags the response. */
function tagging(name: string, log: string[]): web.Middleware {
  return async (request, handler) => {
    log.push(name);
    const resp = await handler(request);
    // `headers` is typed as a union with the read-only proxy; it is mutable until prepared.
    if (!(resp.headers instanceof CIMultiDict)) throw new Error("response already prepared");
    resp.headers.add("X-Seen-By", name);
    return resp;
  };
}

describe("addSubapp", () => {
  it("the sub-application's plain and variable routes answer under the prefix", async () => {
    const app = new web.Application();
    const admin = new web.Application();
    admin.router.addGet("/users", text("user list"));
    admin.router.addGet(
      "/users/{id}",
      (request) => new web.Response({ text: `user ${request.matchInfo.id}` }),
    );
    app.addSubapp("/admin/", admin);
    const client = await serve(app);
    expect(await (await client.get("/admin/users")).text()).toBe("user list");
    expect(await (await client.get("/admin/users/3")).text()).toBe("user 3");
  });

  it("a sub-application's plain route is not shadowed by its own later variable route", async () => {
    // Regression: the sub-router's index was built before the prefix was added, so plain
    // paths missed and a variable route answered instead.
    const app = new web.Application();
    const admin = new web.Application();
    admin.router.addGet("/users", text("plain"));
    admin.router.addGet("/{page}", text("variable"));
    app.addSubapp("/admin", admin);
    const client = await serve(app);
    expect(await (await client.get("/admin/users")).text()).toBe("plain");
  });

  it("the sub-application's routes do not answer without the prefix", async () => {
    const app = new web.Application();
    const admin = new web.Application();
    admin.router.addGet("/users", text("user list"));
    app.addSubapp("/admin/", admin);
    const client = await serve(app);
    const resp = await client.get("/users");
    expect(resp.status).toBe(404);
    await resp.read();
  });

  it("a route on the empty path answers at the prefix itself", async () => {
    const app = new web.Application();
    const admin = new web.Application();
    admin.router.addGet("", text("admin home"));
    app.addSubapp("/admin", admin);
    const client = await serve(app);
    expect(await (await client.get("/admin")).text()).toBe("admin home");
  });

  it("an unknown path inside the prefix answers 404", async () => {
    const app = new web.Application();
    const admin = new web.Application();
    admin.router.addGet("/users", text("user list"));
    app.router.addGet("/admin/other", text("parent route"));
    app.addSubapp("/admin/", admin);
    const client = await serve(app);
    const resp = await client.get("/admin/nothing");
    expect(resp.status).toBe(404);
    await resp.read();
  });

  it("a method the sub-application's route lacks answers 405 with its Allow", async () => {
    const app = new web.Application();
    const admin = new web.Application();
    admin.router.addPost("/users", text("created"));
    app.addSubapp("/admin/", admin);
    const client = await serve(app);
    const resp = await client.get("/admin/users");
    expect(resp.status).toBe(405);
    expect(resp.headers.get("allow")).toBe("POST");
    await resp.read();
  });

  it("the sub-application's middlewares run after the parent's, only for its routes", async () => {
    const log: string[] = [];
    const app = new web.Application({ middlewares: [tagging("parent", log)] });
    const admin = new web.Application({ middlewares: [tagging("admin", log)] });
    admin.router.addGet("/users", text("users"));
    app.router.addGet("/home", text("home"));
    app.addSubapp("/admin/", admin);
    const client = await serve(app);

    const sub = await client.get("/admin/users");
    await sub.text();
    expect(log).toEqual(["parent", "admin"]);
    // The inner middleware tags first, so its header comes first.
    expect(sub.headers.getAll("x-seen-by")).toEqual(["admin", "parent"]);

    log.length = 0;
    const home = await client.get("/home");
    await home.text();
    expect(log).toEqual(["parent"]);
    expect(home.headers.get("x-seen-by")).toBe("parent");
  });

  it("urlFor of a sub-application's named route includes the prefix", () => {
    const app = new web.Application();
    const admin = new web.Application();
    admin.router.addGet("/users/{id}", text("u"), { name: "user" });
    admin.router.addGet("/about", text("a"), { name: "about" });
    app.addSubapp("/admin/", admin);
    expect(admin.router.named("user").urlFor({ id: "7" }).toString()).toBe("/admin/users/7");
    expect(admin.router.named("about").urlFor().toString()).toBe("/admin/about");
  });

  it("prefixes of nested sub-applications add up", async () => {
    const app = new web.Application();
    const api = new web.Application();
    const v1 = new web.Application();
    v1.router.addGet(
      "/items/{id}",
      (request) => new web.Response({ text: `item ${request.matchInfo.id}` }),
      {
        name: "item",
      },
    );
    api.addSubapp("/v1", v1);
    app.addSubapp("/api", api);
    expect(v1.router.named("item").urlFor({ id: "2" }).toString()).toBe("/api/v1/items/2");
    const client = await serve(app);
    expect(await (await client.get("/api/v1/items/2")).text()).toBe("item 2");
  });

  it("request.app is the sub-application in its handler", async () => {
    const app = new web.Application();
    const admin = new web.Application();
    let seen: unknown;
    admin.router.addGet("/who", (request) => {
      seen = request.app;
      return new web.Response({ text: "ok" });
    });
    app.addSubapp("/admin/", admin);
    const client = await serve(app);
    await (await client.get("/admin/who")).text();
    expect(seen).toBe(admin);
  });

  it("state lookups from the sub-application fall back to the parent's", async () => {
    const nameKey = new web.AppKey<string>("name");
    const levelKey = new web.AppKey<number>("level");
    const app = new web.Application();
    app.set(nameKey, "root");
    app.set(levelKey, 0);
    const admin = new web.Application();
    admin.set(levelKey, 1);
    admin.router.addGet("/state", (request) =>
      web.jsonResponse({ name: request.app.get(nameKey), level: request.app.get(levelKey) }),
    );
    app.addSubapp("/admin/", admin);
    const client = await serve(app);
    expect(await (await client.get("/admin/state")).json()).toEqual({ name: "root", level: 1 });
  });

  it("the sub-application's startup signal runs when the parent starts", async () => {
    const app = new web.Application();
    const admin = new web.Application();
    const started: string[] = [];
    app.onStartup.push(() => {
      started.push("parent");
    });
    admin.onStartup.push(() => {
      started.push("admin");
    });
    app.addSubapp("/admin/", admin);
    await serve(app);
    expect(started).toEqual(["parent", "admin"]);
  });

  it("a mounted sub-application takes no more routes", () => {
    const app = new web.Application();
    const admin = new web.Application();
    app.addSubapp("/admin/", admin);
    expect(() => admin.router.addGet("/late", text("late"))).toThrow(web.FrozenRouterError);
  });

  it("adding a sub-application after the parent started throws", async () => {
    const app = new web.Application();
    await serve(app);
    expect(() => app.addSubapp("/late/", new web.Application())).toThrow(web.FrozenAppError);
  });

  it("a prefix of '/' is rejected", () => {
    const app = new web.Application();
    expect(() => app.addSubapp("/", new web.Application())).toThrow(/cannot be empty/);
  });

  it("a parent route registered before the sub-application wins on the same path", async () => {
    const app = new web.Application();
    const admin = new web.Application();
    admin.router.addGet("/x", text("sub"));
    app.router.addGet("/admin/x", text("parent"));
    app.addSubapp("/admin", admin);
    const client = await serve(app);
    expect(await (await client.get("/admin/x")).text()).toBe("parent");
  });
});

describe("addDomain", () => {
  function domainApp(domain: string): web.Application {
    const app = new web.Application();
    const api = new web.Application();
    api.router.addGet(
      "/status",
      (request) => new web.Response({ text: `api for ${request.host}` }),
    );
    app.addDomain(domain, api);
    app.router.addGet("/status", text("main site"));
    return app;
  }

  it("a request whose Host matches the domain goes to the sub-application", async () => {
    const client = await serve(domainApp("api.example.com"));
    const resp = await getWithHost(client, "/status", "api.example.com");
    expect(resp).toEqual({ status: 200, body: "api for api.example.com" });
  });

  it("the Host match ignores the port and the case", async () => {
    const client = await serve(domainApp("api.example.com"));
    const resp = await getWithHost(client, "/status", "API.Example.com:8080");
    expect(resp.body).toBe("api for API.Example.com:8080");
  });

  it("another Host falls through to the parent's routes", async () => {
    const client = await serve(domainApp("api.example.com"));
    const resp = await getWithHost(client, "/status", "www.example.com");
    expect(resp.body).toBe("main site");
  });

  it("a *. domain matches any subdomain but not the bare domain", async () => {
    const client = await serve(domainApp("*.example.com"));
    expect((await getWithHost(client, "/status", "a.example.com")).body).toBe(
      "api for a.example.com",
    );
    expect((await getWithHost(client, "/status", "a.b.example.com")).body).toBe(
      "api for a.b.example.com",
    );
    expect((await getWithHost(client, "/status", "example.com")).body).toBe("main site");
    expect((await getWithHost(client, "/status", "badexample.com")).body).toBe("main site");
  });

  it("an unknown path on a matching Host answers 404", async () => {
    const client = await serve(domainApp("api.example.com"));
    const resp = await getWithHost(client, "/missing", "api.example.com");
    expect(resp.status).toBe(404);
  });

  it("request.app is the domain's application in its handler", async () => {
    const app = new web.Application();
    const api = new web.Application();
    let seen: unknown;
    api.router.addGet("/", (request) => {
      seen = request.app;
      return new web.Response({ text: "ok" });
    });
    app.addDomain("api.example.com", api);
    const client = await serve(app);
    await getWithHost(client, "/", "api.example.com");
    expect(seen).toBe(api);
  });
});
