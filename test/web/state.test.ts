// Tests of typed state: AppKey on applications (with fallback from a sub-application to its
// parents), RequestKey set by a middleware for the handler, ResponseKey on responses.
import { describe, expect, expectTypeOf, it } from "vitest";
import { web } from "../../src/index.js";
import type { TestClient } from "../../src/test-utils/index.js";
import { useTestClients } from "../helpers.js";

const serve = useTestClients();

interface Db {
  query(sql: string): string;
}

describe("AppKey", () => {
  it("stores and reads typed application state", () => {
    const dbKey = new web.AppKey<Db>("db");
    const app = new web.Application();
    const db: Db = { query: (sql) => `ran ${sql}` };
    app.set(dbKey, db);
    const got = app.get(dbKey);
    expectTypeOf(got).toEqualTypeOf<Db | undefined>();
    expect(got).toBe(db);
    expect(got?.query("x")).toBe("ran x");
  });

  it("has tells whether a key is set", () => {
    const key = new web.AppKey<number>("n");
    const app = new web.Application();
    expect(app.has(key)).toBe(false);
    app.set(key, 0);
    expect(app.has(key)).toBe(true);
  });

  it("get of a missing key is undefined; require throws StateKeyError naming it", () => {
    const key = new web.AppKey<string>("config");
    const app = new web.Application();
    expect(app.get(key)).toBeUndefined();
    expect(() => app.require(key)).toThrow(web.StateKeyError);
    expect(() => app.require(key)).toThrow(/config/);
    try {
      app.require(key);
    } catch (err) {
      expect((err as web.StateKeyError).code).toBe("AIOHTTP_STATE_KEY_MISSING");
      expect((err as web.StateKeyError).key).toBe(key);
    }
  });

  it("require returns the value with its type", () => {
    const key = new web.AppKey<{ port: number }>("settings");
    const app = new web.Application();
    app.set(key, { port: 1 });
    const settings = app.require(key);
    expectTypeOf(settings).toEqualTypeOf<{ port: number }>();
    expect(settings.port).toBe(1);
  });

  it("two keys with the same name are distinct", () => {
    const a = new web.AppKey<string>("same");
    const b = new web.AppKey<string>("same");
    const app = new web.Application();
    app.set(a, "A");
    expect(app.get(b)).toBeUndefined();
  });

  it("a value of the wrong type is a compile error", () => {
    const key = new web.AppKey<number>("n");
    const app = new web.Application();
    // @ts-expect-error a string is not a number
    app.set(key, "not a number");
    expect(app.get(key)).toBe("not a number");
  });

  it("toString names the key", () => {
    expect(String(new web.AppKey<number>("counter"))).toContain("counter");
  });

  it("state cannot be set once the application has started", async () => {
    const key = new web.AppKey<number>("n");
    const app = new web.Application();
    app.router.addGet("/", () => new web.Response());
    await serve(app);
    expect(() => app.set(key, 1)).toThrow(web.FrozenAppError);
    expect(() => app.set(key, 1)).toThrow(expect.objectContaining({ code: "AIOHTTP_APP_FROZEN" }));
  });

  it("a handler reads the application's state through request.app", async () => {
    const greetingKey = new web.AppKey<string>("greeting");
    const app = new web.Application();
    app.set(greetingKey, "hello");
    app.router.addGet("/", (request) => {
      const greeting = request.app.get(greetingKey);
      expectTypeOf(greeting).toEqualTypeOf<string | undefined>();
      return new web.Response({ text: greeting ?? "none" });
    });
    const client = await serve(app);
    expect(await (await client.get("/")).text()).toBe("hello");
  });

  it("a cleanup context can set state at startup", async () => {
    const key = new web.AppKey<string>("resource");
    const app = new web.Application();
    app.cleanupCtx.push(async function* (a) {
      a.set(key, "opened");
      yield;
    });
    app.router.addGet("/", (r) => new web.Response({ text: r.app.get(key) ?? "missing" }));
    const client = await serve(app);
    expect(await (await client.get("/")).text()).toBe("opened");
  });
});

describe("sub-application state", () => {
  const parentKey = new web.AppKey<string>("parent-only");
  const sharedKey = new web.AppKey<string>("shared");

  async function mounted(): Promise<TestClient> {
    const sub = new web.Application();
    sub.set(sharedKey, "from-sub");
    sub.router.addGet("/{what}", (request) => {
      const key = request.matchInfo.what === "shared" ? sharedKey : parentKey;
      return web.jsonResponse({
        viaApp: request.app.get(key) ?? null,
        viaRequest: request.get(key) ?? null,
        has: request.app.has(key),
      });
    });
    const app = new web.Application();
    app.set(parentKey, "from-parent");
    app.set(sharedKey, "from-root");
    app.addSubapp("/sub/", sub);
    return serve(app);
  }

  it("a lookup from a sub-application falls back to the parent's state", async () => {
    const client = await mounted();
    expect(await (await client.get("/sub/parent")).json()).toEqual({
      viaApp: "from-parent",
      viaRequest: "from-parent",
      has: true,
    });
  });

  it("the sub-application's own value wins over the parent's", async () => {
    const client = await mounted();
    expect(await (await client.get("/sub/shared")).json()).toEqual({
      viaApp: "from-sub",
      viaRequest: "from-sub",
      has: true,
    });
  });

  it("the parent does not see the sub-application's state", () => {
    const key = new web.AppKey<number>("k");
    const parent = new web.Application();
    const sub = new web.Application();
    sub.set(key, 1);
    parent.addSubapp("/s", sub);
    expect(parent.get(key)).toBeUndefined();
    expect(sub.get(key)).toBe(1);
  });
});

describe("RequestKey", () => {
  interface User {
    id: number;
    name: string;
  }
  const userKey = new web.RequestKey<User>("user");

  it("a middleware sets it and the handler reads it", async () => {
    const auth: web.Middleware = async (request, handler) => {
      const name = request.headers.get("X-User");
      if (name === undefined) throw new web.HTTPUnauthorized();
      request.set(userKey, { id: 7, name });
      return handler(request);
    };
    const app = new web.Application({ middlewares: [auth] });
    app.router.addGet("/me", (request) => {
      const user = request.get(userKey);
      expectTypeOf(user).toEqualTypeOf<User | undefined>();
      return web.jsonResponse(user ?? null);
    });
    const client = await serve(app);
    const resp = await client.get("/me", { headers: { "X-User": "ada" } });
    expect(await resp.json()).toEqual({ id: 7, name: "ada" });
    expect((await client.get("/me")).status).toBe(401);
  });

  it("is per request: one request's value is not seen by the next", async () => {
    const counterKey = new web.RequestKey<number>("counter");
    const app = new web.Application({
      middlewares: [
        async (request, handler) => {
          if (request.query.has("set")) request.set(counterKey, 1);
          return handler(request);
        },
      ],
    });
    app.router.addGet("/", (r) =>
      web.jsonResponse({ has: r.has(counterKey), value: r.get(counterKey) ?? null }),
    );
    const client = await serve(app);
    expect(await (await client.get("/?set")).json()).toEqual({ has: true, value: 1 });
    expect(await (await client.get("/")).json()).toEqual({ has: false, value: null });
  });

  it("is shared with a clone of the request", async () => {
    const tagKey = new web.RequestKey<string>("tag");
    const app = new web.Application({
      middlewares: [
        async (request, handler) => {
          request.set(tagKey, "tagged");
          return handler(request.clone({ relUrl: "/rewritten" }));
        },
      ],
    });
    app.router.addGet("/{p}", (r) => web.jsonResponse([r.path, r.get(tagKey) ?? null]));
    const client = await serve(app);
    expect(await (await client.get("/orig")).json()).toEqual(["/rewritten", "tagged"]);
  });

  it("request.get with an AppKey falls back to the application", async () => {
    const appKey = new web.AppKey<string>("name");
    const app = new web.Application();
    app.set(appKey, "the-app");
    app.router.addGet("/", (r) => new web.Response({ text: r.get(appKey) ?? "none" }));
    const client = await serve(app);
    expect(await (await client.get("/")).text()).toBe("the-app");
  });
});

describe("ResponseKey", () => {
  it("the handler sets it and a middleware reads it", async () => {
    const timingKey = new web.ResponseKey<number>("db-time");
    const app = new web.Application({
      middlewares: [
        async (request, handler) => {
          const resp = await handler(request);
          const ms = resp.get(timingKey);
          expectTypeOf(ms).toEqualTypeOf<number | undefined>();
          resp.headers.set("X-Db-Time", String(ms));
          return resp;
        },
      ],
    });
    app.router.addGet("/", () => {
      const resp = new web.Response({ text: "ok" });
      resp.set(timingKey, 12);
      return resp;
    });
    const client = await serve(app);
    expect((await client.get("/")).headers.get("x-db-time")).toBe("12");
  });

  it("is missing on a response that did not set it", () => {
    const key = new web.ResponseKey<string>("k");
    const resp = new web.StreamResponse();
    expect(resp.get(key)).toBeUndefined();
    expect(resp.has(key)).toBe(false);
  });
});
