// Tests of the HTTP exceptions: one class per status aiohttp has, the group classes, redirects
// with a location, exceptions thrown or returned from handlers and middlewares, and the 500
// for unexpected errors (short body, no stack on the wire, one log line).
import { describe, expect, it, vi } from "vitest";
import { web } from "../../src/index.js";
import { appWith, getRequest, rawExchange, useTestClients } from "../helpers.js";

const serve = useTestClients();

type Group = "success" | "redirect" | "client" | "server";

/** Every status class of aiohttp's web_exceptions, with its status and group. */
const TABLE: ReadonlyArray<readonly [name: string, status: number, group: Group]> = [
  ["HTTPOk", 200, "success"],
  ["HTTPCreated", 201, "success"],
  ["HTTPAccepted", 202, "success"],
  ["HTTPNonAuthoritativeInformation", 203, "success"],
  ["HTTPNoContent", 204, "success"],
  ["HTTPResetContent", 205, "success"],
  ["HTTPPartialContent", 206, "success"],
  ["HTTPMultipleChoices", 300, "redirect"],
  ["HTTPMovedPermanently", 301, "redirect"],
  ["HTTPFound", 302, "redirect"],
  ["HTTPSeeOther", 303, "redirect"],
  ["HTTPNotModified", 304, "redirect"],
  ["HTTPUseProxy", 305, "redirect"],
  ["HTTPTemporaryRedirect", 307, "redirect"],
  ["HTTPPermanentRedirect", 308, "redirect"],
  ["HTTPBadRequest", 400, "client"],
  ["HTTPUnauthorized", 401, "client"],
  ["HTTPPaymentRequired", 402, "client"],
  ["HTTPForbidden", 403, "client"],
  ["HTTPNotFound", 404, "client"],
  ["HTTPMethodNotAllowed", 405, "client"],
  ["HTTPNotAcceptable", 406, "client"],
  ["HTTPProxyAuthenticationRequired", 407, "client"],
  ["HTTPRequestTimeout", 408, "client"],
  ["HTTPConflict", 409, "client"],
  ["HTTPGone", 410, "client"],
  ["HTTPLengthRequired", 411, "client"],
  ["HTTPPreconditionFailed", 412, "client"],
  ["HTTPRequestEntityTooLarge", 413, "client"],
  ["HTTPRequestURITooLong", 414, "client"],
  ["HTTPUnsupportedMediaType", 415, "client"],
  ["HTTPRequestRangeNotSatisfiable", 416, "client"],
  ["HTTPExpectationFailed", 417, "client"],
  ["HTTPMisdirectedRequest", 421, "client"],
  ["HTTPUnprocessableEntity", 422, "client"],
  ["HTTPFailedDependency", 424, "client"],
  ["HTTPUpgradeRequired", 426, "client"],
  ["HTTPPreconditionRequired", 428, "client"],
  ["HTTPTooManyRequests", 429, "client"],
  ["HTTPRequestHeaderFieldsTooLarge", 431, "client"],
  ["HTTPUnavailableForLegalReasons", 451, "client"],
  ["HTTPInternalServerError", 500, "server"],
  ["HTTPNotImplemented", 501, "server"],
  ["HTTPBadGateway", 502, "server"],
  ["HTTPServiceUnavailable", 503, "server"],
  ["HTTPGatewayTimeout", 504, "server"],
  ["HTTPVersionNotSupported", 505, "server"],
  ["HTTPVariantAlsoNegotiates", 506, "server"],
  ["HTTPInsufficientStorage", 507, "server"],
  ["HTTPNotExtended", 510, "server"],
  ["HTTPNetworkAuthenticationRequired", 511, "server"],
];

type ExceptionClass = abstract new (...args: never[]) => web.HTTPException;
const exports = web as unknown as Record<string, unknown>;

/** Builds an instance whatever the constructor's leading arguments are. */
function instantiate(name: string): web.HTTPException {
  const Cls = exports[name] as new (...args: unknown[]) => web.HTTPException;
  if (name === "HTTPMethodNotAllowed") return new Cls("POST", ["GET"]);
  if (name === "HTTPRequestEntityTooLarge") return new Cls(10, 20);
  if (name === "HTTPUnavailableForLegalReasons") return new Cls("https://authority.example/");
  if (Object.prototype.isPrototypeOf.call(web.HTTPMove, Cls)) return new Cls("/elsewhere");
  return new Cls();
}

const GROUPS: Record<Group, ExceptionClass> = {
  success: web.HTTPSuccessful,
  redirect: web.HTTPRedirection,
  client: web.HTTPClientError,
  server: web.HTTPServerError,
};

describe("exception classes", () => {
  it.each(TABLE)("%s has status %i", (name, status) => {
    const exc = instantiate(name);
    expect(exc.status).toBe(status);
    expect((exports[name] as typeof web.HTTPException).statusCode).toBe(status);
    expect(exc.name).toBe(name);
    expect(exc).toBeInstanceOf(web.HTTPException);
    expect(exc).toBeInstanceOf(Error);
  });

  it.each(TABLE)("%s (%i) is in its group and only there", (name, _status, group) => {
    const exc = instantiate(name);
    for (const [g, Cls] of Object.entries(GROUPS)) {
      expect(exc instanceof Cls, `${name} instanceof ${g}`).toBe(g === group);
    }
    const isError = group === "client" || group === "server";
    expect(exc instanceof web.HTTPError).toBe(isError);
  });

  it("every status class of aiohttp is exported as a subclass of HTTPException", () => {
    const missing = TABLE.map(([name]) => name).filter(
      (name) => !Object.prototype.isPrototypeOf.call(web.HTTPException, exports[name] as object),
    );
    expect(missing).toEqual([]);
  });

  it("each exported status class stands for a distinct status", () => {
    const statuses = Object.values(exports)
      .filter(
        (v): v is typeof web.HTTPException =>
          typeof v === "function" &&
          Object.prototype.isPrototypeOf.call(web.HTTPException, v) &&
          Object.hasOwn(v, "statusCode"),
      )
      .map((Cls) => Cls.statusCode);
    expect(new Set(statuses).size).toBe(statuses.length);
    expect(statuses.length).toBeGreaterThanOrEqual(TABLE.length);
  });

  it.each([
    ["HTTPNotFound", "AIOHTTP_HTTP_NOT_FOUND"],
    ["HTTPOk", "AIOHTTP_HTTP_OK"],
    ["HTTPRequestURITooLong", "AIOHTTP_HTTP_REQUEST_URI_TOO_LONG"],
    ["HTTPNonAuthoritativeInformation", "AIOHTTP_HTTP_NON_AUTHORITATIVE_INFORMATION"],
    ["HTTPMethodNotAllowed", "AIOHTTP_HTTP_METHOD_NOT_ALLOWED"],
    ["HTTPFound", "AIOHTTP_HTTP_FOUND"],
    ["HTTPClientError", "AIOHTTP_HTTP_CLIENT_ERROR"],
    ["HTTPException", "AIOHTTP_HTTP_EXCEPTION"],
  ])("%s has the code %s (AIOHTTP_ and the class name in upper snake case)", (name, code) => {
    expect(instantiate(name).code).toBe(code);
  });

  it("every exception class has a code of its own", () => {
    const names = Object.keys(exports).filter(
      (name) =>
        exports[name] === web.HTTPException ||
        Object.prototype.isPrototypeOf.call(web.HTTPException, exports[name] as object),
    );
    const codes = names.map((name) => instantiate(name).code);
    expect(new Set(codes).size).toBe(names.length);
    expect(names.length).toBeGreaterThan(TABLE.length);
  });

  it("a subclass written by a user keeps the code of the class it extends, and its own name", () => {
    class TeapotNotFound extends web.HTTPNotFound {}
    const exc = new TeapotNotFound();
    expect(exc.code).toBe("AIOHTTP_HTTP_NOT_FOUND");
    expect(exc.name).toBe("TeapotNotFound");
  });

  it("the reason defaults to the standard phrase and the text to '<status>: <reason>'", () => {
    const exc = new web.HTTPNotFound();
    expect(exc.reason).toBe("Not Found");
    expect(exc.text).toBe("404: Not Found");
    expect(exc.message).toBe("404: Not Found");
  });

  it("keeps a cause", () => {
    const cause = new Error("root");
    expect(new web.HTTPBadGateway({ cause }).cause).toBe(cause);
  });

  it("204, 205 and 304 have no body even when text is given", () => {
    expect(new web.HTTPNoContent({ text: "x" }).text).toBeNull();
    expect(new web.HTTPResetContent().text).toBeNull();
    expect(new web.HTTPNotModified({ text: "x" }).body).toBeNull();
  });

  it("HTTPMethodNotAllowed sets Allow from the allowed methods, sorted", () => {
    const exc = new web.HTTPMethodNotAllowed("delete", ["PUT", "get"]);
    expect(exc.headers.get("Allow")).toBe("GET,PUT");
    expect(exc.method).toBe("DELETE");
    expect([...exc.allowedMethods].sort()).toEqual(["GET", "PUT"]);
  });

  it("HTTPRequestEntityTooLarge names both sizes", () => {
    const exc = new web.HTTPRequestEntityTooLarge(100, 250);
    expect(exc.text).toBe("Maximum request body size 100 exceeded, actual body size 250");
    expect(exc.maxSize).toBe(100);
    expect(exc.actualSize).toBe(250);
  });

  it("HTTPUnavailableForLegalReasons links to the blocking authority", () => {
    const exc = new web.HTTPUnavailableForLegalReasons("https://authority.example/");
    expect(exc.headers.get("Link")).toBe('<https://authority.example/>; rel="blocked-by"');
  });
});

describe("redirects", () => {
  it("take the location first: new HTTPFound('/login') is a 302 to /login", async () => {
    const client = await serve(
      appWith(() => {
        throw new web.HTTPFound("/login");
      }),
    );
    const resp = await client.get("/private", { allowRedirects: false });
    expect(resp.status).toBe(302);
    expect(resp.headers.get("location")).toBe("/login");
  });

  it("accept a URL and options after the location", async () => {
    const exc = new web.HTTPMovedPermanently(new URL("https://example.com/new"), {
      headers: { "X-Why": "moved" },
    });
    expect(exc.location).toBe("https://example.com/new");
    expect(exc.headers.get("Location")).toBe("https://example.com/new");
    expect(exc.headers.get("X-Why")).toBe("moved");
  });

  it.each([
    ["HTTPMultipleChoices", 300],
    ["HTTPMovedPermanently", 301],
    ["HTTPSeeOther", 303],
    ["HTTPUseProxy", 305],
    ["HTTPTemporaryRedirect", 307],
    ["HTTPPermanentRedirect", 308],
  ])("%s sends %i with Location", async (name, status) => {
    const Cls = exports[name] as new (loc: string) => web.HTTPException;
    const client = await serve(
      appWith(() => {
        throw new Cls("/target?x=1");
      }),
    );
    const resp = await client.get("/", { allowRedirects: false });
    expect(resp.status).toBe(status);
    expect(resp.headers.get("location")).toBe("/target?x=1");
  });

  it("refuse an empty location", () => {
    expect(() => new web.HTTPFound("")).toThrow(TypeError);
  });
});

describe("exceptions in handlers and middlewares", () => {
  it("a thrown exception becomes its response", async () => {
    const client = await serve(
      appWith(() => {
        throw new web.HTTPForbidden();
      }),
    );
    const resp = await client.get("/");
    expect(resp.status).toBe(403);
    expect(await resp.text()).toBe("403: Forbidden");
  });

  it("a returned exception becomes its response", async () => {
    const client = await serve(appWith(() => new web.HTTPConflict({ text: "already there" })));
    const resp = await client.get("/");
    expect(resp.status).toBe(409);
    expect(await resp.text()).toBe("already there");
  });

  it("a middleware can throw one", async () => {
    const handler = vi.fn(() => new web.Response({ text: "handler" }));
    const app = appWith(handler, {
      middlewares: [
        async () => {
          throw new web.HTTPUnauthorized({ headers: { "WWW-Authenticate": 'Basic realm="x"' } });
        },
      ],
    });
    const client = await serve(app);
    const resp = await client.get("/");
    expect(resp.status).toBe(401);
    expect(resp.headers.get("www-authenticate")).toBe('Basic realm="x"');
    expect(handler).not.toHaveBeenCalled();
  });

  it("a middleware can return one", async () => {
    const app = appWith(() => new web.Response({ text: "handler" }), {
      middlewares: [() => new web.HTTPTooManyRequests({ headers: { "Retry-After": "3" } })],
    });
    const client = await serve(app);
    const resp = await client.get("/");
    expect(resp.status).toBe(429);
    expect(resp.headers.get("retry-after")).toBe("3");
  });

  it("a middleware sees the handler's exception and can turn it into a response", async () => {
    const app = appWith(
      () => {
        throw new web.HTTPNotFound();
      },
      {
        middlewares: [
          async (request, handler) => {
            try {
              return await handler(request);
            } catch (err) {
              if (err instanceof web.HTTPNotFound) {
                return web.jsonResponse({ error: "missing" }, { status: 404 });
              }
              throw err;
            }
          },
        ],
      },
    );
    const client = await serve(app);
    const resp = await client.get("/");
    expect(resp.status).toBe(404);
    expect(await resp.json()).toEqual({ error: "missing" });
  });

  it("a handler's returned exception reaches the middleware as a thrown one", async () => {
    let caught: unknown;
    const app = appWith(() => new web.HTTPGone(), {
      middlewares: [
        async (request, handler) => {
          try {
            return await handler(request);
          } catch (err) {
            caught = err;
            throw err;
          }
        },
      ],
    });
    const client = await serve(app);
    expect((await client.get("/")).status).toBe(410);
    expect(caught).toBeInstanceOf(web.HTTPGone);
  });

  it("custom text, reason and headers are sent", async () => {
    const client = await serve(
      appWith(() => {
        throw new web.HTTPBadRequest({
          text: "name is required",
          reason: "Missing Name",
          headers: { "X-Field": "name" },
        });
      }),
    );
    const { raw } = await rawExchange(client.server.port, getRequest("/"));
    expect(raw).toMatch(/^HTTP\/1\.1 400 Missing Name\r\n/);
    expect(raw).toMatch(/\r\nX-Field: name\r\n/i);
    expect(raw.endsWith("\r\n\r\nname is required")).toBe(true);
  });

  it("a body and content type can be given", async () => {
    const client = await serve(
      appWith(() => {
        throw new web.HTTPUnprocessableEntity({
          body: JSON.stringify({ error: "bad" }),
          contentType: "application/json",
        });
      }),
    );
    const resp = await client.get("/");
    expect(resp.status).toBe(422);
    expect(resp.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await resp.json()).toEqual({ error: "bad" });
  });

  it("a Content-Type given in headers is kept", async () => {
    const client = await serve(
      appWith(() => {
        throw new web.HTTPBadRequest({
          headers: { "Content-Type": "application/json" },
          text: '{"error":"bad"}',
        });
      }),
    );
    const resp = await client.get("/");
    expect(resp.status).toBe(400);
    expect(resp.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await resp.json()).toEqual({ error: "bad" });
  });

  it.each([
    ["HTTPNoContent", 204],
    ["HTTPNotModified", 304],
  ])("%s is sent without a body", async (name, status) => {
    const Cls = exports[name] as new () => web.HTTPException;
    const client = await serve(
      appWith(() => {
        throw new Cls();
      }),
    );
    const { raw } = await rawExchange(client.server.port, getRequest("/"));
    expect(raw.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
    expect(raw.endsWith("\r\n\r\n")).toBe(true);
    expect(raw).not.toMatch(/\r\ncontent-length: [1-9]/i);
  });

  it("HTTPOk can be thrown to answer early", async () => {
    const client = await serve(
      appWith(() => {
        throw new web.HTTPOk({ text: "fine" });
      }),
    );
    const resp = await client.get("/");
    expect(resp.status).toBe(200);
    expect(await resp.text()).toBe("fine");
  });
});

describe("unexpected errors", () => {
  it("become a 500 with a short body, no stack, and one log line with the error", async () => {
    const error = vi.fn();
    const boom = new Error("database password is hunter2");
    const client = await serve(
      appWith(
        () => {
          throw boom;
        },
        { logger: { error } },
      ),
    );
    const resp = await client.get("/fail");
    expect(resp.status).toBe(500);
    const body = await resp.text();
    expect(body).toBe("500: Internal Server Error");
    expect(body).not.toContain("hunter2");
    expect(body).not.toMatch(/\bat\s/);
    expect(error).toHaveBeenCalledTimes(1);
    const args = error.mock.calls[0] as unknown[];
    expect(String(args[0])).toContain("/fail");
    // The logged error carries the stack for the operator.
    expect(args).toContain(boom);
    expect(boom.stack).toContain("exceptions.test.ts");
  });

  it("from a middleware are handled the same way", async () => {
    const error = vi.fn();
    const app = appWith(() => new web.Response(), {
      logger: { error },
      middlewares: [
        async () => {
          throw new TypeError("oops in middleware");
        },
      ],
    });
    const client = await serve(app);
    const resp = await client.get("/");
    expect(resp.status).toBe(500);
    expect(await resp.text()).not.toContain("oops");
    expect(error).toHaveBeenCalledTimes(1);
  });

  it("a handler that returns something other than a response is a 500", async () => {
    const error = vi.fn();
    const client = await serve(
      appWith((() => "not a response") as unknown as web.Handler, { logger: { error } }),
    );
    const resp = await client.get("/");
    expect(resp.status).toBe(500);
    expect(error).toHaveBeenCalledTimes(1);
    expect(String(error.mock.calls[0]?.slice(1))).toMatch(/must return a response/);
  });

  it("HTTP exceptions are not logged as errors", async () => {
    const error = vi.fn();
    const client = await serve(
      appWith(
        () => {
          throw new web.HTTPNotFound();
        },
        { logger: { error } },
      ),
    );
    expect((await client.get("/")).status).toBe(404);
    expect(error).not.toHaveBeenCalled();
  });

  it("the server keeps serving after an error", async () => {
    let calls = 0;
    const client = await serve(
      appWith(
        () => {
          calls++;
          if (calls === 1) throw new Error("first fails");
          return new web.Response({ text: "second works" });
        },
        { logger: { error: () => {} } },
      ),
    );
    expect((await client.get("/")).status).toBe(500);
    const second = await client.get("/");
    expect(second.status).toBe(200);
    expect(await second.text()).toBe("second works");
  });
});
