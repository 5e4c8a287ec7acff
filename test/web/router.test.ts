// Tests of the UrlDispatcher on its own: registration, matching, the registration-order rule,
// introspection and URL building. Lookups use stand-in requests (the router reads only `path`
// and `method`); behaviour over real sockets is in router-http.test.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { decodePathSafe, normalizePath } from "../../src/web/router/url-path.js";
import { textHandler as ok } from "../helpers.js";

/** A stand-in request: `resolve` reads only `path` (already decoded) and `method`. */
function req(method: string, path: string): web.Request {
  return { method, path } as unknown as web.Request;
}

/** Runs the matched handler and returns its response text (or the routing error's status). */
async function answer(router: web.UrlDispatcher, method: string, path: string): Promise<string> {
  const match = router.resolve(req(method, path));
  if (match.route === null) return `error ${match.httpException?.status}`;
  const request = { method, path, matchInfo: match.params } as unknown as web.Request;
  const resp = (await match.route.handler(request)) as web.Response;
  return resp.text ?? "";
}

describe("registration", () => {
  it("addRoute registers a handler for any method name", async () => {
    const router = new web.UrlDispatcher();
    router.addRoute("PROPFIND", "/dav", ok("propfind"));
    expect(await answer(router, "PROPFIND", "/dav")).toBe("propfind");
    expect(router.resolve(req("GET", "/dav")).httpException?.status).toBe(405);
  });

  it("addRoute upper-cases the method", () => {
    const router = new web.UrlDispatcher();
    const route = router.addRoute("post", "/x", ok("x"));
    expect(route.method).toBe("POST");
  });

  it("addRoute rejects a method that is not an HTTP token", () => {
    const router = new web.UrlDispatcher();
    expect(() => router.addRoute("GE T", "/x", ok("x"))).toThrow(TypeError);
  });

  it("addGet also answers HEAD with the same handler", () => {
    const router = new web.UrlDispatcher();
    const handler = ok("get");
    router.addGet("/x", handler);
    const head = router.resolve(req("HEAD", "/x"));
    expect(head.route?.method).toBe("HEAD");
    expect(head.route?.handler).toBe(handler);
  });

  it("addGet with allowHead: false leaves HEAD unanswered", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/x", ok("get"), { allowHead: false });
    const head = router.resolve(req("HEAD", "/x"));
    expect(head.httpException).toBeInstanceOf(web.HTTPMethodNotAllowed);
    expect([...(head.httpException as web.HTTPMethodNotAllowed).allowedMethods]).toEqual(["GET"]);
  });

  it("addGet after addHead on the same path keeps the explicit HEAD handler", async () => {
    const router = new web.UrlDispatcher();
    router.addHead("/x", ok("head"));
    router.addGet("/x", ok("get"));
    expect(await answer(router, "HEAD", "/x")).toBe("head");
    expect(await answer(router, "GET", "/x")).toBe("get");
  });

  it.each([
    ["addPost", "POST"],
    ["addPut", "PUT"],
    ["addPatch", "PATCH"],
    ["addDelete", "DELETE"],
    ["addHead", "HEAD"],
    ["addOptions", "OPTIONS"],
  ] as const)("%s registers a %s route and only that method", async (fn, method) => {
    const router = new web.UrlDispatcher();
    const route = router[fn]("/thing", ok(method));
    expect(route.method).toBe(method);
    expect(await answer(router, method, "/thing")).toBe(method);
    const other = method === "POST" ? "PUT" : "POST";
    expect(router.resolve(req(other, "/thing")).httpException?.status).toBe(405);
  });

  it("addAny answers every method", async () => {
    const router = new web.UrlDispatcher();
    router.addAny("/any", ok("any"));
    for (const method of ["GET", "POST", "DELETE", "PROPFIND"]) {
      expect(await answer(router, method, "/any")).toBe("any");
    }
  });

  it("a specific method on the same path wins over addAny", async () => {
    const router = new web.UrlDispatcher();
    router.addAny("/x", ok("any"));
    router.addPost("/x", ok("post"));
    expect(await answer(router, "POST", "/x")).toBe("post");
    expect(await answer(router, "GET", "/x")).toBe("any");
  });

  it("routes added on the same path share one resource", () => {
    const router = new web.UrlDispatcher();
    const a = router.addGet("/x", ok("get"));
    const b = router.addPost("/x", ok("post"));
    expect(a.resource).toBe(b.resource);
    expect(router.resources()).toHaveLength(1);
  });

  it("registering the same method twice on a path is an error", () => {
    const router = new web.UrlDispatcher();
    router.addPost("/x", ok("a"));
    expect(() => router.addPost("/x", ok("b"))).toThrow(/already registered/);
  });

  it("a path that does not start with a slash is rejected", () => {
    const router = new web.UrlDispatcher();
    expect(() => router.addGet("users", ok("x"))).toThrow(/start with/);
  });

  it("addResource returns a named resource that takes routes by method", async () => {
    const router = new web.UrlDispatcher();
    const resource = router.addResource("/users/{id}", { name: "user" });
    resource.addRoute(
      "GET",
      (request) => new web.Response({ text: `get ${request.matchInfo.id}` }),
    );
    resource.addRoute("DELETE", ok("deleted"));
    expect(router.named("user")).toBe(resource);
    expect(await answer(router, "GET", "/users/3")).toBe("get 3");
    expect(await answer(router, "DELETE", "/users/3")).toBe("deleted");
    expect(resource.allowedMethods).toEqual(new Set(["GET", "DELETE"]));
  });

  it("addView registers one route for every method", () => {
    class Things extends web.View {
      async get() {
        return new web.Response({ text: "get" });
      }
    }
    const router = new web.UrlDispatcher();
    const route = router.addView("/things", Things);
    expect(route.method).toBe("*");
    expect(route.viewClass).toBe(Things);
    expect(router.resolve(req("DELETE", "/things")).route).toBe(route);
  });

  it("addRoutes registers web.get/post/put/patch/delete/head/options/route/view definitions", async () => {
    class V extends web.View {
      async get() {
        return new web.Response({ text: "view" });
      }
    }
    const router = new web.UrlDispatcher();
    const routes = router.addRoutes([
      web.get("/r", ok("get")),
      web.post("/r", ok("post")),
      web.put("/r", ok("put")),
      web.patch("/r", ok("patch")),
      web.delete("/r", ok("delete")),
      web.head("/h", ok("head")),
      web.options("/r", ok("options")),
      web.route("PROPFIND", "/r", ok("propfind")),
      web.view("/v", V),
    ]);
    // web.get adds HEAD too, so there is one more route than definitions.
    expect(routes.map((r) => `${r.method} ${r.resource.canonical}`)).toEqual([
      "GET /r",
      "POST /r",
      "PUT /r",
      "PATCH /r",
      "DELETE /r",
      "HEAD /h",
      "OPTIONS /r",
      "PROPFIND /r",
      "* /v",
    ]);
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"]) {
      expect(await answer(router, method, "/r")).toBe(method.toLowerCase());
    }
    expect(await answer(router, "HEAD", "/r")).toBe("get");
    expect(await answer(router, "HEAD", "/h")).toBe("head");
    expect(router.resolve(req("GET", "/v")).route?.viewClass).toBe(V);
  });

  it("addRoutes accepts a RouteTableDef filled with routes.get/post/...", async () => {
    const routes = new web.RouteTableDef();
    const handler = routes.get(
      "/a/{id}",
      (request) => new web.Response({ text: request.matchInfo.id }),
    );
    routes.post("/a/{id}", ok("post"));
    routes.delete("/a/{id}", ok("delete"));
    const router = new web.UrlDispatcher();
    router.addRoutes(routes);
    expect(typeof handler).toBe("function");
    expect(routes.length).toBe(3);
    expect(await answer(router, "GET", "/a/5")).toBe("5");
    expect(await answer(router, "POST", "/a/5")).toBe("post");
    expect(await answer(router, "DELETE", "/a/5")).toBe("delete");
    expect(router.resolve(req("HEAD", "/a/5")).route?.method).toBe("HEAD");
  });

  it("a web.get definition with a name can be looked up after addRoutes", () => {
    const router = new web.UrlDispatcher();
    router.addRoutes([web.get("/users/{id}", ok("u"), { name: "user" })]);
    expect(router.named("user").urlFor({ id: "1" }).toString()).toBe("/users/1");
  });
});

describe("matching", () => {
  it("a plain path matches only itself", async () => {
    const router = new web.UrlDispatcher();
    router.addGet("/about", ok("about"));
    expect(await answer(router, "GET", "/about")).toBe("about");
    expect(await answer(router, "GET", "/about/")).toBe("error 404");
    expect(await answer(router, "GET", "/abou")).toBe("error 404");
  });

  it("lookups in any order answer as lookups in a fresh router", () => {
    // No lookup may leave state that changes the next: paths sharing a prefix of their first
    // segment (`/apix` after `/api`), the empty segment (`/`, `//a`), routes added later.
    const build = (): web.UrlDispatcher => {
      const router = new web.UrlDispatcher();
      router.addGet("/api/{id}", ok("api"));
      router.addGet("/apix/{id}", ok("apix"));
      router.addGet("/", ok("root"));
      router.addGet("/{any}/tail", ok("wild"));
      router.addPost("/api/items", ok("post"));
      return router;
    };
    const describeMatch = (m: ReturnType<web.UrlDispatcher["resolve"]>): string =>
      m.route === null
        ? `error ${m.httpException?.status}`
        : `${m.route.method} ${m.route.resource?.canonical} ${JSON.stringify(m.params)}`;
    const piece = fc.constantFrom("", "api", "apix", "ap", "x", "tail", "items");
    const path = fc.array(piece, { minLength: 1, maxLength: 3 }).map((p) => `/${p.join("/")}`);
    const method = fc.constantFrom("GET", "POST", "HEAD");
    fc.assert(
      fc.property(fc.array(fc.tuple(method, path), { maxLength: 12 }), (lookups) => {
        const kept = build();
        for (const [m, p] of lookups) {
          expect(describeMatch(kept.resolve(req(m, p)))).toBe(
            describeMatch(build().resolve(req(m, p))),
          );
        }
        // A route added after lookups is found by the next one.
        kept.addGet("/apix/{id}/more", ok("more"));
        expect(describeMatch(kept.resolve(req("GET", "/apix/1/more")))).toBe(
          'GET /apix/{id}/more {"id":"1"}',
        );
      }),
      { numRuns: 200 },
    );
  });

  it("a variable matches one segment and its value is in params", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/users/{id}", ok("u"));
    expect(router.resolve(req("GET", "/users/42")).params).toEqual({ id: "42" });
    expect(router.resolve(req("GET", "/users/42/x")).httpException?.status).toBe(404);
    expect(router.resolve(req("GET", "/users/")).httpException?.status).toBe(404);
  });

  it("a regex variable matches only what its pattern allows", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/users/{id:\\d+}", ok("u"));
    expect(router.resolve(req("GET", "/users/42")).params).toEqual({ id: "42" });
    expect(router.resolve(req("GET", "/users/abc")).httpException).toBeInstanceOf(web.HTTPNotFound);
  });

  it("a regex with a brace quantifier parses and matches", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/codes/{code:\\d{3}}", ok("c"));
    expect(router.resolve(req("GET", "/codes/404")).params).toEqual({ code: "404" });
    expect(router.resolve(req("GET", "/codes/4040")).httpException?.status).toBe(404);
  });

  it("capturing groups inside a variable's regex do not shift later variables", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/{kind:(a|(b))}/{id}", ok("k"));
    expect(router.resolve(req("GET", "/b/7")).params).toEqual({ kind: "b", id: "7" });
  });

  it("a tail variable matches across slashes", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/files/{path:.*}", ok("f"));
    expect(router.resolve(req("GET", "/files/a/b/c.txt")).params).toEqual({ path: "a/b/c.txt" });
    expect(router.resolve(req("GET", "/files/")).params).toEqual({ path: "" });
  });

  it("a tail variable matches a value holding a line separator (regression: `.` stopped at U+2028)", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/files/{path:.*}", ok("f"));
    expect(router.resolve(req("GET", "/files/a\u2028b/c")).params).toEqual({ path: "a\u2028b/c" });
  });

  it("several variables in one segment split on the literal text between them", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/img/{name}.{ext}", ok("i"));
    expect(router.resolve(req("GET", "/img/cat.png")).params).toEqual({ name: "cat", ext: "png" });
  });

  it("an encoded slash in a value stays in one segment and is decoded in the value", () => {
    const router = new web.UrlDispatcher();
    // request.path keeps %2F encoded so that it cannot split a segment.
    router.addGet("/users/{id}", ok("u"));
    expect(router.resolve(req("GET", "/users/a%2Fb")).params).toEqual({ id: "a/b" });
  });

  it("an encoded percent sign in a value is decoded exactly once", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/users/{id}", ok("u"));
    expect(router.resolve(req("GET", "/users/100%2541")).params).toEqual({ id: "100%41" });
  });

  it("a path with no route answers 404", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/a", ok("a"));
    const match = router.resolve(req("GET", "/b"));
    expect(match.route).toBeNull();
    expect(match.httpException).toBeInstanceOf(web.HTTPNotFound);
  });

  it("a path that matches without the method answers 405 listing the allowed methods", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/a", ok("a"));
    router.addPut("/a", ok("a"));
    const exc = router.resolve(req("POST", "/a")).httpException as web.HTTPMethodNotAllowed;
    expect(exc).toBeInstanceOf(web.HTTPMethodNotAllowed);
    expect(exc.headers.get("Allow")).toBe("GET,HEAD,PUT");
  });

  it("405 lists the methods of every resource whose path matched", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/users/{id}", ok("a"), { allowHead: false });
    router.addDelete("/users/me", ok("b"));
    const exc = router.resolve(req("POST", "/users/me")).httpException as web.HTTPMethodNotAllowed;
    expect(exc.allowedMethods).toEqual(new Set(["GET", "DELETE"]));
  });

  it("an empty router answers 404", () => {
    const router = new web.UrlDispatcher();
    expect(router.resolve(req("GET", "/")).httpException?.status).toBe(404);
  });
});

describe("registration order", () => {
  it("an earlier variable route wins over a later plain route on the same path", async () => {
    const router = new web.UrlDispatcher();
    router.addGet(
      "/users/{id}",
      (request) => new web.Response({ text: `var ${request.matchInfo.id}` }),
    );
    router.addGet("/users/me", ok("plain"));
    expect(await answer(router, "GET", "/users/me")).toBe("var me");
  });

  it("a plain route registered first wins over a later variable route", async () => {
    const router = new web.UrlDispatcher();
    router.addGet("/users/me", ok("plain"));
    router.addGet(
      "/users/{id}",
      (request) => new web.Response({ text: `var ${request.matchInfo.id}` }),
    );
    expect(await answer(router, "GET", "/users/me")).toBe("plain");
    expect(await answer(router, "GET", "/users/you")).toBe("var you");
  });

  it("an earlier route with a variable first segment shadows a later plain route", async () => {
    const router = new web.UrlDispatcher();
    router.addGet(
      "/{page}",
      (request) => new web.Response({ text: `page ${request.matchInfo.page}` }),
    );
    router.addGet("/about", ok("about"));
    expect(await answer(router, "GET", "/about")).toBe("page about");
  });

  it("an earlier variable route that cannot match the plain path does not shadow it", async () => {
    const router = new web.UrlDispatcher();
    router.addGet("/users/{id:\\d+}", ok("number"));
    router.addGet("/users/me", ok("plain"));
    expect(await answer(router, "GET", "/users/me")).toBe("plain");
    expect(await answer(router, "GET", "/users/9")).toBe("number");
  });

  it("a method mismatch on an earlier variable route continues to a later plain route", async () => {
    const router = new web.UrlDispatcher();
    router.addGet("/users/{id}", ok("var"));
    router.addPost("/users/me", ok("plain post"));
    expect(await answer(router, "POST", "/users/me")).toBe("plain post");
  });

  it("a method mismatch on an earlier plain route continues to a later variable route", async () => {
    const router = new web.UrlDispatcher();
    router.addPost("/users/me", ok("plain post"));
    router.addGet("/users/{id}", ok("var get"));
    expect(await answer(router, "GET", "/users/me")).toBe("var get");
    expect(await answer(router, "POST", "/users/me")).toBe("plain post");
  });

  it("two differently named resources on one plain path both serve their methods", async () => {
    // Regression: the plain-path map kept the last resource, so GET answered 405.
    const router = new web.UrlDispatcher();
    router.addGet("/x", ok("get"), { name: "read" });
    router.addPost("/x", ok("post"), { name: "write" });
    expect(await answer(router, "GET", "/x")).toBe("get");
    expect(await answer(router, "POST", "/x")).toBe("post");
  });

  it("routes added after a lookup are found (the index is rebuilt)", async () => {
    const router = new web.UrlDispatcher();
    router.addGet("/a", ok("a"));
    expect(await answer(router, "GET", "/b")).toBe("error 404");
    router.addGet("/b", ok("b"));
    router.addGet("/{x}", ok("x"));
    expect(await answer(router, "GET", "/b")).toBe("b");
    expect(await answer(router, "GET", "/c")).toBe("x");
  });
});

describe("introspection and URL building", () => {
  it("resources() and routes() list everything in registration order", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/a", ok("a"));
    router.addPost("/b/{id}", ok("b"));
    router.addPut("/a", ok("a"));
    expect(router.resources().map((r) => r.canonical)).toEqual(["/a", "/b/{id}"]);
    expect(router.routes().map((r) => `${r.method} ${r.resource.canonical}`)).toEqual([
      "HEAD /a",
      "GET /a",
      "PUT /a",
      "POST /b/{id}",
    ]);
  });

  it("resources() is a copy that callers cannot use to change the router", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/a", ok("a"));
    router.resources().length = 0;
    expect(router.resources()).toHaveLength(1);
  });

  it("named(name).urlFor fills in the variables", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/users/{id}", ok("u"), { name: "user" });
    const url = router.named("user").urlFor({ id: "7" });
    expect(url.toString()).toBe("/users/7");
    expect(String(url)).toBe("/users/7");
  });

  it("urlFor percent-encodes values, including slashes in a one-segment variable", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/users/{id}", ok("u"), { name: "user" });
    expect(router.named("user").urlFor({ id: "a b/c?d#é" }).toString()).toBe(
      "/users/a%20b%2Fc%3Fd%23%C3%A9",
    );
  });

  it("urlFor keeps the slashes of a tail variable and encodes the rest", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/files/{path:.*}", ok("f"), { name: "file" });
    expect(router.named("file").urlFor({ path: "a/b c.txt" }).toString()).toBe(
      "/files/a/b%20c.txt",
    );
  });

  it("urlFor accepts numbers as values", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/users/{id:\\d+}", ok("u"), { name: "user" });
    expect(router.named("user").urlFor({ id: 12 }).toString()).toBe("/users/12");
  });

  it("urlFor with a query appends it", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/search/{kind}", ok("s"), { name: "search" });
    const url = router.named("search").urlFor({ kind: "books" }, { query: { q: "a b", page: 2 } });
    expect(url.toString()).toBe("/search/books?q=a+b&page=2");
  });

  it("withQuery adds a query to a built URL and leaves the original alone", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/about", ok("a"), { name: "about" });
    const url = router.named("about").urlFor();
    const withQuery = url.withQuery({ lang: "fr" });
    expect(withQuery.toString()).toBe("/about?lang=fr");
    expect(url.toString()).toBe("/about");
  });

  it("urlFor without a value for a variable throws", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/users/{id}", ok("u"), { name: "user" });
    expect(() => router.named("user").urlFor({})).toThrow(/Missing value for \{id\}/);
  });

  it("named() with an unknown name throws", () => {
    const router = new web.UrlDispatcher();
    expect(() => router.named("nope")).toThrow(/No route named "nope"/);
  });

  it("a route name used twice is an error", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/a", ok("a"), { name: "page" });
    expect(() => router.addGet("/b", ok("b"), { name: "page" })).toThrow(/Duplicate route name/);
  });

  it("routes on the same path under the same name share the name", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/a", ok("a"), { name: "page" });
    expect(() => router.addPost("/a", ok("b"), { name: "page" })).not.toThrow();
    expect(router.named("page").allowedMethods).toEqual(new Set(["HEAD", "GET", "POST"]));
  });

  it("a route name with invalid characters is an error", () => {
    const router = new web.UrlDispatcher();
    expect(() => router.addGet("/a", ok("a"), { name: "bad name" })).toThrow(
      /Incorrect route name/,
    );
  });

  it.each([
    ["/users/{id", /Unbalanced braces/],
    ["/users/{id}}", /Bad pattern/],
    ["/users/id}", /Bad pattern/],
    ["/users/{1id}", /Bad variable name/],
    ["/users/{a-b}", /Bad variable name/],
    ["/users/{}", /Bad variable name/],
    ["/users/{id:}", /Empty regex/],
    ["/users/{id}/{id}", /Duplicate variable/],
    ["/users/{id:[}", /Bad regular expression/],
  ])("the template %s is rejected", (template, message) => {
    const router = new web.UrlDispatcher();
    expect(() => router.addGet(template, ok("x"))).toThrow(message);
  });

  it("after freeze() adding a route throws FrozenRouterError", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/a", ok("a"));
    router.freeze();
    expect(router.frozen).toBe(true);
    expect(() => router.addGet("/b", ok("b"))).toThrow(web.FrozenRouterError);
    expect(() => router.addResource("/c")).toThrow(web.FrozenRouterError);
    expect(() => router.addResource("/c")).toThrow(
      expect.objectContaining({ code: "AIOHTTP_ROUTER_FROZEN" }),
    );
  });
});

describe("properties", () => {
  // Segment values that survive a trip through a URL: no braces (the default pattern excludes
  // them, as aiohttp's), and not "." or ".." (dot segments are resolved before routing).
  const segment = fc
    .string({ unit: "grapheme", minLength: 1, maxLength: 12 })
    .filter((s) => !/[{}]/.test(s) && s !== "." && s !== "..");

  /** What request.path makes of a built URL (the same steps `Request.path` takes). */
  function asRequestPath(url: string): string {
    return normalizePath(decodePathSafe(url));
  }

  it("urlFor then resolve gives back the values", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/users/{id}/posts/{post}", ok("p"), { name: "post" });
    router.freeze();
    fc.assert(
      fc.property(segment, segment, (id, post) => {
        const url = router.named("post").urlFor({ id, post }).toString();
        expect(url.slice(1).split("/")).toHaveLength(4);
        const match = router.resolve(req("GET", asRequestPath(url)));
        expect(match.params).toEqual({ id, post });
      }),
      { numRuns: 300 },
    );
  });

  it("urlFor then resolve gives back a tail value with slashes", () => {
    const router = new web.UrlDispatcher();
    router.addGet("/files/{path:.*}", ok("f"), { name: "file" });
    router.freeze();
    // A segment may hold a "/" itself; a "." or ".." between slashes is a dot segment that
    // every client removes (RFC 3986 5.2.4), so no URL can carry it back.
    const tail = fc
      .array(segment, { minLength: 1, maxLength: 4 })
      .map((parts) => parts.join("/"))
      .filter((path) => path.split("/").every((part) => part !== "." && part !== ".."));
    fc.assert(
      fc.property(tail, (path) => {
        const url = router.named("file").urlFor({ path }).toString();
        expect(router.resolve(req("GET", asRequestPath(url))).params).toEqual({ path });
      }),
      { numRuns: 200 },
    );
  });
});
