// normalizePathMiddleware over real sockets: which requests it redirects, where to, with which
// status, and which it leaves alone.
import { describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import type { TestClient } from "../../src/test-utils/index.js";
import { httpSend, textHandler as text, useTestClients } from "../helpers.js";

const serveApp = useTestClients();

/** An app with the middleware and a GET route answering its own path for each path given. */
function serve(options: web.NormalizePathOptions, ...paths: string[]): Promise<TestClient> {
  const app = new web.Application({ middlewares: [web.normalizePathMiddleware(options)] });
  for (const path of paths) app.router.addGet(path, text(`at ${path}`));
  return serveApp(app);
}

describe("normalizePathMiddleware", () => {
  it("appends a slash when only the slashed path has a route (308 by default)", async () => {
    const client = await serve({}, "/docs/");
    const resp = await httpSend(client.server.port, "/docs");
    expect(resp.status).toBe(308);
    expect(resp.headers.location).toBe("/docs/");
  });

  it("keeps the query string in the redirect", async () => {
    const client = await serve({}, "/docs/");
    const resp = await httpSend(client.server.port, "/docs?page=2&q=a%20b");
    expect(resp.headers.location).toBe("/docs/?page=2&q=a%20b");
  });

  it("merges repeated slashes", async () => {
    const client = await serve({}, "/a/b");
    const resp = await httpSend(client.server.port, "//a///b");
    expect(resp.status).toBe(308);
    expect(resp.headers.location).toBe("/a/b");
  });

  it("merges slashes and appends one when only that path has a route", async () => {
    const client = await serve({}, "/a/b/");
    const resp = await httpSend(client.server.port, "/a//b");
    expect(resp.headers.location).toBe("/a/b/");
  });

  it("mergeSlashes: false leaves repeated slashes alone", async () => {
    const client = await serve({ mergeSlashes: false }, "/a/b");
    const resp = await httpSend(client.server.port, "/a//b");
    expect(resp.status).toBe(404);
  });

  it("removeSlash redirects a trailing-slash path to the path without it", async () => {
    const client = await serve({ appendSlash: false, removeSlash: true }, "/docs");
    const resp = await httpSend(client.server.port, "/docs/");
    expect(resp.status).toBe(308);
    expect(resp.headers.location).toBe("/docs");
  });

  it("appendSlash: false does not add a slash", async () => {
    const client = await serve({ appendSlash: false }, "/docs/");
    const resp = await httpSend(client.server.port, "/docs");
    expect(resp.status).toBe(404);
  });

  it("redirectClass chooses the redirect status", async () => {
    const client = await serve({ redirectClass: web.HTTPMovedPermanently }, "/docs/");
    const resp = await httpSend(client.server.port, "/docs");
    expect(resp.status).toBe(301);
    expect(resp.headers.location).toBe("/docs/");
  });

  it("a path that has a route is served, not redirected", async () => {
    const client = await serve({}, "/docs", "/docs/");
    const resp = await httpSend(client.server.port, "/docs");
    expect(resp).toMatchObject({ status: 200, body: "at /docs" });
  });

  it("a 405 is not redirected", async () => {
    const app = new web.Application({ middlewares: [web.normalizePathMiddleware()] });
    app.router.addPost("/docs", text("post"));
    app.router.addGet("/docs/", text("get"));
    const client = await serveApp(app);
    const resp = await httpSend(client.server.port, "/docs", { method: "GET" });
    expect(resp.status).toBe(405);
  });

  it("a 404 with no normalized alternative stays 404", async () => {
    const client = await serve({}, "/docs/");
    const resp = await httpSend(client.server.port, "/nothing");
    expect(resp.status).toBe(404);
  });

  it("a path starting with // is never redirected to another host", async () => {
    // With merging off, `//evil.example` + "/" would be a protocol-relative Location.
    const client = await serve({ mergeSlashes: false }, "/{path:.*}/");
    const resp = await httpSend(client.server.port, "//evil.example");
    expect(resp.status).toBe(308);
    expect(resp.headers.location).toBe("/evil.example/");
  });

  it("finds routes of a sub-application under its prefix", async () => {
    const app = new web.Application({ middlewares: [web.normalizePathMiddleware()] });
    const admin = new web.Application();
    admin.router.addGet("/users/", text("users"));
    app.addSubapp("/admin", admin);
    const client = await serveApp(app);
    const resp = await httpSend(client.server.port, "/admin/users");
    expect(resp.status).toBe(308);
    expect(resp.headers.location).toBe("/admin/users/");
  });

  it("appendSlash and removeSlash together are rejected", () => {
    expect(() => web.normalizePathMiddleware({ appendSlash: true, removeSlash: true })).toThrow(
      TypeError,
    );
  });
});
