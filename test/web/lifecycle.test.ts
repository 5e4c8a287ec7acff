// Application lifecycle: the order of onStartup / onShutdown / onCleanup and cleanup contexts,
// sub-applications' signals, and the freeze at startup. Each test runs a real AppRunner + site.
import { describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { TestServer } from "../../src/test-utils/index.js";
import { quiet } from "../helpers.js";

function newApp(): web.Application {
  const app = new web.Application({ logger: quiet });
  app.router.addGet("/", () => new web.Response({ text: "ok" }));
  return app;
}

describe("signals", () => {
  it("runs onStartup at setup, then onShutdown and onCleanup at cleanup", async () => {
    const events: string[] = [];
    const app = newApp();
    app.onStartup.push(() => events.push("startup"));
    app.onShutdown.push(() => events.push("shutdown"));
    app.onCleanup.push(() => events.push("cleanup"));
    const server = new TestServer(app);
    await server.start();
    expect(events).toEqual(["startup"]);
    const resp = await fetch(server.makeUrl("/"));
    expect(await resp.text()).toBe("ok");
    await server.close();
    expect(events).toEqual(["startup", "shutdown", "cleanup"]);
  });

  it("awaits each async callback before the next", async () => {
    const events: string[] = [];
    const app = newApp();
    app.onStartup.push(async () => {
      await new Promise((r) => setTimeout(r, 30));
      events.push("slow");
    });
    app.onStartup.push(() => events.push("fast"));
    const server = new TestServer(app);
    await server.start();
    await server.close();
    expect(events).toEqual(["slow", "fast"]);
  });

  it("passes the application to every signal callback", async () => {
    const seen: unknown[] = [];
    const app = newApp();
    app.onStartup.push((a) => seen.push(a));
    app.onShutdown.push((a) => seen.push(a));
    app.onCleanup.push((a) => seen.push(a));
    const server = new TestServer(app);
    await server.start();
    await server.close();
    expect(seen).toEqual([app, app, app]);
  });

  it("rejects setup with the error a startup callback throws", async () => {
    const app = newApp();
    app.onStartup.push(() => {
      throw new Error("no database");
    });
    const runner = new web.AppRunner(app, { accessLog: null });
    await expect(runner.setup()).rejects.toThrow("no database");
  });

  it("runs onCleanup even when an onShutdown callback throws, then rethrows", async () => {
    const events: string[] = [];
    const app = newApp();
    app.onShutdown.push(() => {
      throw new Error("shutdown failed");
    });
    app.onCleanup.push(() => events.push("cleanup"));
    const server = new TestServer(app);
    await server.start();
    await expect(server.close()).rejects.toThrow("shutdown failed");
    expect(events).toEqual(["cleanup"]);
  });

  it("runs every onCleanup callback when one throws and reports the failure", async () => {
    const events: string[] = [];
    const app = newApp();
    app.onCleanup.push(() => {
      throw new Error("first failed");
    });
    app.onCleanup.push(() => events.push("second"));
    const server = new TestServer(app);
    await server.start();
    await expect(server.close()).rejects.toThrow("first failed");
    expect(events).toEqual(["second"]);
  });
});

describe("cleanup contexts", () => {
  it("runs the part before yield at startup and the part after yield at cleanup", async () => {
    const events: string[] = [];
    const app = newApp();
    app.cleanupCtx.push(async function* () {
      events.push("setup");
      yield;
      events.push("teardown");
    });
    const server = new TestServer(app);
    await server.start();
    expect(events).toEqual(["setup"]);
    await server.close();
    expect(events).toEqual(["setup", "teardown"]);
  });

  it("tears down in reverse order of setting up", async () => {
    const events: string[] = [];
    const app = newApp();
    for (const name of ["a", "b", "c"]) {
      app.cleanupCtx.push(async function* () {
        events.push(`up ${name}`);
        yield;
        events.push(`down ${name}`);
      });
    }
    const server = new TestServer(app);
    await server.start();
    await server.close();
    expect(events).toEqual(["up a", "up b", "up c", "down c", "down b", "down a"]);
  });

  it("sets up before onStartup callbacks and tears down before onCleanup callbacks", async () => {
    const events: string[] = [];
    const app = newApp();
    app.onStartup.push(() => events.push("onStartup"));
    app.onCleanup.push(() => events.push("onCleanup"));
    app.cleanupCtx.push(async function* () {
      events.push("ctx up");
      yield;
      events.push("ctx down");
    });
    const server = new TestServer(app);
    await server.start();
    await server.close();
    expect(events).toEqual(["ctx up", "onStartup", "ctx down", "onCleanup"]);
  });

  it("makes state set before yield visible to handlers", async () => {
    const dbKey = new web.AppKey<{ name: string }>("db");
    const app = new web.Application({ logger: quiet });
    app.cleanupCtx.push(async function* (a) {
      a.set(dbKey, { name: "pg" });
      yield;
    });
    app.router.addGet("/", (req) => new web.Response({ text: req.app.get(dbKey)?.name ?? "none" }));
    const server = new TestServer(app);
    await server.start();
    const resp = await fetch(server.makeUrl("/"));
    expect(await resp.text()).toBe("pg");
    await server.close();
  });

  it("tears down the contexts that started when a later context throws at startup", async () => {
    const events: string[] = [];
    const app = newApp();
    app.cleanupCtx.push(async function* () {
      events.push("up a");
      yield;
      events.push("down a");
    });
    app.cleanupCtx.push(async function* () {
      events.push("up b");
      yield;
      events.push("down b");
    });
    app.cleanupCtx.push(async function* () {
      events.push("up c (fails)");
      if (events.length > 0) throw new Error("c failed");
      yield;
    });
    app.cleanupCtx.push(async function* () {
      events.push("up d");
      yield;
      events.push("down d");
    });
    const runner = new web.AppRunner(app, { accessLog: null });
    await expect(runner.setup()).rejects.toThrow("c failed");
    expect(events).toEqual(["up a", "up b", "up c (fails)", "down b", "down a"]);
  });

  it("tears down started contexts when an onStartup callback throws", async () => {
    const events: string[] = [];
    const app = newApp();
    app.cleanupCtx.push(async function* () {
      events.push("up");
      yield;
      events.push("down");
    });
    app.onStartup.push(() => {
      throw new Error("startup failed");
    });
    const runner = new web.AppRunner(app, { accessLog: null });
    await expect(runner.setup()).rejects.toThrow("startup failed");
    expect(events).toEqual(["up", "down"]);
  });

  it("refuses a cleanup context that never yields", async () => {
    const app = newApp();
    app.cleanupCtx.push(async function* () {});
    const runner = new web.AppRunner(app, { accessLog: null });
    await expect(runner.setup()).rejects.toThrow(/must yield/);
  });

  it("reports a cleanup context that yields twice at cleanup", async () => {
    const app = newApp();
    app.cleanupCtx.push(async function* () {
      yield;
      yield;
    });
    const server = new TestServer(app);
    await server.start();
    await expect(server.close()).rejects.toThrow(/more than one yield/);
  });
});

describe("sub-application signals", () => {
  it("run with the parent's, at the place the sub-application was mounted", async () => {
    const events: string[] = [];
    const parent = newApp();
    const sub = new web.Application({ logger: quiet });
    sub.router.addGet("/x", () => new web.Response({ text: "sub" }));
    parent.onStartup.push(() => events.push("parent startup 1"));
    sub.onStartup.push(() => events.push("sub startup"));
    sub.onShutdown.push(() => events.push("sub shutdown"));
    sub.onCleanup.push(() => events.push("sub cleanup"));
    sub.cleanupCtx.push(async function* () {
      events.push("sub ctx up");
      yield;
      events.push("sub ctx down");
    });
    parent.addSubapp("/sub/", sub);
    parent.onStartup.push(() => events.push("parent startup 2"));
    parent.onShutdown.push(() => events.push("parent shutdown"));
    parent.onCleanup.push(() => events.push("parent cleanup"));
    const server = new TestServer(parent);
    await server.start();
    expect(events).toEqual(["parent startup 1", "sub ctx up", "sub startup", "parent startup 2"]);
    const resp = await fetch(server.makeUrl("/sub/x"));
    expect(await resp.text()).toBe("sub");
    events.length = 0;
    await server.close();
    expect(events).toEqual([
      "sub shutdown",
      "parent shutdown",
      "sub ctx down",
      "sub cleanup",
      "parent cleanup",
    ]);
  });

  it("run for a domain sub-application too", async () => {
    const events: string[] = [];
    const parent = newApp();
    const sub = new web.Application({ logger: quiet });
    sub.onStartup.push(() => events.push("domain startup"));
    sub.onCleanup.push(() => events.push("domain cleanup"));
    parent.addDomain("api.example.com", sub);
    const server = new TestServer(parent);
    await server.start();
    await server.close();
    expect(events).toEqual(["domain startup", "domain cleanup"]);
  });

  it("tear down a sub-application's cleanup contexts when the parent's startup fails later", async () => {
    const events: string[] = [];
    const parent = newApp();
    const sub = new web.Application({ logger: quiet });
    sub.cleanupCtx.push(async function* () {
      events.push("sub up");
      yield;
      events.push("sub down");
    });
    parent.addSubapp("/sub/", sub);
    parent.onStartup.push(() => {
      throw new Error("late failure");
    });
    const runner = new web.AppRunner(parent, { accessLog: null });
    await expect(runner.setup()).rejects.toThrow("late failure");
    expect(events).toEqual(["sub up", "sub down"]);
  });
});

describe("freezing at startup", () => {
  async function started(): Promise<{ app: web.Application; server: TestServer }> {
    const app = newApp();
    const server = new TestServer(app);
    await server.start();
    return { app, server };
  }

  it("marks the application frozen once it has started", async () => {
    const app = newApp();
    expect(app.frozen).toBe(false);
    const server = new TestServer(app);
    await server.start();
    expect(app.frozen).toBe(true);
    await server.close();
  });

  it("refuses new routes with a clear error", async () => {
    const { app, server } = await started();
    expect(() => app.router.addGet("/late", () => new web.Response())).toThrow(
      web.FrozenRouterError,
    );
    await server.close();
  });

  it("refuses new middlewares with a clear error", async () => {
    const { app, server } = await started();
    expect(() => app.addMiddleware((req, handler) => handler(req))).toThrow(
      /Cannot add a middleware: the application has started/,
    );
    expect(() => app.addMiddleware((req, handler) => handler(req))).toThrow(web.FrozenAppError);
    await server.close();
  });

  it("refuses changes to the middlewares list itself", async () => {
    const { app, server } = await started();
    const list = app.middlewares as web.Middleware[];
    expect(() => list.push((req, handler) => handler(req))).toThrow(TypeError);
    await server.close();
  });

  it("refuses new signal callbacks with a clear error", async () => {
    const { app, server } = await started();
    const fn = (): void => {};
    expect(() => app.onStartup.push(fn)).toThrow(/Cannot modify onStartup: the application/);
    expect(() => app.onShutdown.push(fn)).toThrow(web.FrozenAppError);
    expect(() => app.onCleanup.push(fn)).toThrow(web.FrozenAppError);
    expect(() => app.onResponsePrepare.push(fn)).toThrow(web.FrozenAppError);
    expect(() =>
      app.cleanupCtx.push(async function* () {
        yield;
      }),
    ).toThrow(web.FrozenAppError);
    await server.close();
  });

  it("refuses new sub-applications and state changes", async () => {
    const { app, server } = await started();
    expect(() => app.addSubapp("/x/", new web.Application())).toThrow(web.FrozenAppError);
    expect(() => app.set(new web.AppKey<number>("n"), 1)).toThrow(web.FrozenAppError);
    await server.close();
  });

  it("allows state changes while startup and cleanup callbacks run", async () => {
    const key = new web.AppKey<string>("k");
    const app = newApp();
    app.onStartup.push((a) => a.set(key, "from startup"));
    let atCleanup: string | undefined;
    app.onCleanup.push((a) => {
      atCleanup = a.get(key);
      a.delete(key);
    });
    const server = new TestServer(app);
    await server.start();
    expect(app.get(key)).toBe("from startup");
    await server.close();
    expect(atCleanup).toBe("from startup");
    expect(app.has(key)).toBe(false);
  });

  it("refuses application state changes from a handler while serving", async () => {
    const key = new web.AppKey<string>("k");
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/", (req) => {
      try {
        req.app.set(key, "x");
        return new web.Response({ text: "changed" });
      } catch (err) {
        return new web.Response({
          text: err instanceof web.FrozenAppError ? err.code : String(err),
        });
      }
    });
    const server = new TestServer(app);
    await server.start();
    expect(await (await fetch(server.makeUrl("/"))).text()).toBe("AIOHTTP_APP_FROZEN");
    await server.close();
  });

  it("freezes a mounted sub-application's router and signals with the parent", async () => {
    const parent = newApp();
    const sub = new web.Application({ logger: quiet });
    parent.addSubapp("/sub/", sub);
    const server = new TestServer(parent);
    await server.start();
    expect(sub.frozen).toBe(true);
    expect(() => sub.router.addGet("/late", () => new web.Response())).toThrow(
      web.FrozenRouterError,
    );
    expect(() => sub.onStartup.push(() => {})).toThrow(web.FrozenAppError);
    await server.close();
  });

  it("refuses to mount an application that is already mounted elsewhere", () => {
    const sub = new web.Application();
    newApp().addSubapp("/a/", sub);
    expect(() => newApp().addSubapp("/b/", sub)).toThrow(/already mounted/);
  });
});
