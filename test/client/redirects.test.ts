// Client redirects over real sockets (issue 3, section 3): method and body rewriting per
// RFC 9110 15.4, credentials across origins, limits, history and bad Location values.
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  BasicAuth,
  CookieJar,
  InvalidUrlRedirectClientError,
  NonHttpUrlRedirectClientError,
  RedirectBodyError,
  TooManyRedirects,
  web,
} from "../../src/index.js";
import type { TestClient } from "../../src/test-utils/index.js";
import { useSessions, useTestClients } from "../helpers.js";

const serve = useTestClients();

/** A session closed after the test; its jar accepts cookies from 127.0.0.1. */
const session = useSessions(() => ({ cookieJar: new CookieJar({ unsafe: true }) }));

/** What the echo route saw of one request. */
interface Seen {
  method: string;
  path: string;
  body: string;
  contentType: string | null;
  contentLength: string | null;
  authorization: string | null;
  cookie: string | null;
}

async function record(request: web.Request): Promise<Seen> {
  return {
    method: request.method,
    path: request.relUrl.pathname + request.relUrl.search,
    body: await request.text(),
    contentType: request.headers.get("Content-Type") ?? null,
    contentLength: request.headers.get("Content-Length") ?? null,
    authorization: request.headers.get("Authorization") ?? null,
    cookie: request.headers.get("Cookie") ?? null,
  };
}

/**
 * A server whose `/redirect/{status}` answers that status with `Location: ?to` (default
 * `/echo`), whose `/echo` answers what it received as JSON, and which records every request.
 */
async function redirectServer(): Promise<{ client: TestClient; seen: Seen[] }> {
  const seen: Seen[] = [];
  const app = new web.Application();
  app.router.addRoute("*", "/redirect/{status}", async (request) => {
    seen.push(await record(request));
    const location = request.query.get("to") ?? "/echo";
    return new web.Response({
      status: Number(request.matchInfo.status),
      headers: { Location: location },
    });
  });
  app.router.addRoute("*", "/echo", async (request) => {
    const info = await record(request);
    seen.push(info);
    return web.jsonResponse(info);
  });
  return { client: await serve(app), seen };
}

describe("method and body on redirect", () => {
  it.each([301, 302])(
    "%i after POST follows with GET and drops the body and its Content-Type",
    async (status) => {
      const { client, seen } = await redirectServer();
      const resp = await session().post(client.makeUrl(`/redirect/${status}`), {
        data: "payload",
      });
      const echo = (await resp.json()) as Seen;
      expect(resp.status).toBe(200);
      expect(seen[0]).toMatchObject({ method: "POST", body: "payload" });
      expect(echo).toMatchObject({ method: "GET", body: "", contentType: null });
      expect(echo.contentLength === null || echo.contentLength === "0").toBe(true);
    },
  );

  it("302 after PUT keeps PUT and sends the body again", async () => {
    const { client } = await redirectServer();
    const resp = await session().put(client.makeUrl("/redirect/302"), { data: "again" });
    expect(await resp.json()).toMatchObject({ method: "PUT", body: "again" });
  });

  it.each(["POST", "PUT", "DELETE"])(
    "303 after %s follows with GET without a body",
    async (method) => {
      const { client } = await redirectServer();
      const resp = await session().request(method, client.makeUrl("/redirect/303"), {
        json: { a: 1 },
      });
      expect(await resp.json()).toMatchObject({ method: "GET", body: "", contentType: null });
    },
  );

  it("303 after HEAD stays HEAD", async () => {
    const { client, seen } = await redirectServer();
    const resp = await session().head(client.makeUrl("/redirect/303"), { allowRedirects: true });
    expect(resp.status).toBe(200);
    expect(resp.history.map((r) => r.status)).toEqual([303]);
    expect(seen.map((s) => s.method)).toEqual(["HEAD", "HEAD"]);
  });

  it.each([307, 308])("%i keeps the method and sends the body again", async (status) => {
    const { client, seen } = await redirectServer();
    const resp = await session().post(client.makeUrl(`/redirect/${status}`), {
      json: { n: 42 },
    });
    expect(resp.status).toBe(200);
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      expect(s).toMatchObject({
        method: "POST",
        body: '{"n":42}',
        contentType: "application/json",
      });
    }
  });

  it("307 with a form body sends the same form again", async () => {
    const { client, seen } = await redirectServer();
    await session()
      .post(client.makeUrl("/redirect/307"), { data: { a: "1", b: "two" } })
      .then((r) => r.read());
    expect(seen.map((s) => s.body)).toEqual(["a=1&b=two", "a=1&b=two"]);
  });

  it("307 with a one-shot stream body throws RedirectBodyError", async () => {
    const { client, seen } = await redirectServer();
    const body = Readable.from([Buffer.from("chunk-1"), Buffer.from("chunk-2")]);
    const err = await session()
      .post(client.makeUrl("/redirect/307"), { data: body })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedirectBodyError);
    expect((err as Error).message).toContain("307");
    expect((err as Error).message).toContain("/echo");
    // The redirect target was never asked.
    expect(seen.map((s) => s.path)).toEqual(["/redirect/307"]);
  });

  it("302 after PUT with a one-shot stream body throws RedirectBodyError", async () => {
    const { client, seen } = await redirectServer();
    const body = Readable.from([Buffer.from("only once")]);
    const err = await session()
      .put(client.makeUrl("/redirect/302"), { data: body })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedirectBodyError);
    expect(seen.map((s) => s.path)).toEqual(["/redirect/302"]);
  });

  it("303 after POST with a one-shot stream body follows, since no body is resent", async () => {
    const { client } = await redirectServer();
    const body = Readable.from([Buffer.from("streamed")]);
    const resp = await session().post(client.makeUrl("/redirect/303"), { data: body });
    expect(await resp.json()).toMatchObject({ method: "GET", body: "" });
  });
});

describe("credentials across origins", () => {
  /** Two servers on different ports (different origins): A redirects to B's /echo. */
  async function twoOrigins(): Promise<{ a: TestClient; b: TestClient; bSeen: Seen[] }> {
    const { client: b, seen: bSeen } = await redirectServer();
    const { client: a } = await redirectServer();
    return { a, b, bSeen };
  }

  function toB(a: TestClient, b: TestClient, status = 302): URL {
    const url = a.makeUrl(`/redirect/${status}`);
    url.searchParams.set("to", b.makeUrl("/echo").href);
    return url;
  }

  it("a cross-origin redirect drops the session's auth", async () => {
    const { a, b, bSeen } = await twoOrigins();
    const s = session({ auth: new BasicAuth("user", "secret") });
    const resp = await s.get(toB(a, b));
    expect(resp.status).toBe(200);
    expect(bSeen[0]?.authorization).toBeNull();
  });

  it("a cross-origin redirect drops request auth and an explicit Authorization header", async () => {
    const { a, b, bSeen } = await twoOrigins();
    const s = session();
    await s.get(toB(a, b), { auth: new BasicAuth("u", "p") }).then((r) => r.read());
    await s.get(toB(a, b), { headers: { Authorization: "Bearer t0ken" } }).then((r) => r.read());
    expect(bSeen.map((x) => x.authorization)).toEqual([null, null]);
  });

  it("a cross-origin redirect drops per-request cookies and an explicit Cookie header", async () => {
    const { a, b, bSeen } = await twoOrigins();
    const s = session();
    await s.get(toB(a, b), { cookies: { sid: "1" } }).then((r) => r.read());
    await s.get(toB(a, b), { headers: { Cookie: "sid=2" } }).then((r) => r.read());
    expect(bSeen.map((x) => x.cookie)).toEqual([null, null]);
  });

  it("a cross-origin 307 keeps the body while dropping Authorization", async () => {
    const { a, b, bSeen } = await twoOrigins();
    const s = session({ auth: new BasicAuth("user", "secret") });
    await s.post(toB(a, b, 307), { data: "body" }).then((r) => r.read());
    expect(bSeen[0]).toMatchObject({ method: "POST", body: "body", authorization: null });
  });

  it("a same-origin redirect keeps Authorization and cookies", async () => {
    const { client, seen } = await redirectServer();
    const s = session();
    const resp = await s.get(client.makeUrl("/redirect/302"), {
      auth: new BasicAuth("user", "secret"),
      cookies: { sid: "1" },
      headers: { "X-Trace": "t" },
    });
    const echo = (await resp.json()) as Seen;
    expect(echo.authorization).toBe(new BasicAuth("user", "secret").encode());
    expect(echo.cookie).toBe("sid=1");
    expect(seen[0]?.authorization).toBe(echo.authorization);
  });

  it("a cookie set by a redirect response is sent on the next hop", async () => {
    const app = new web.Application();
    app.router.addGet("/login", () => {
      const resp = new web.Response({ status: 302, headers: { Location: "/me" } });
      resp.setCookie("session", "abc");
      return resp;
    });
    app.router.addGet("/me", (request) => new web.Response({ text: request.cookies.session }));
    const client = await serve(app);
    const resp = await session().get(client.makeUrl("/login"));
    expect(await resp.text()).toBe("abc");
  });
});

describe("limits and history", () => {
  /** `/hop/{n}` redirects to `/hop/{n-1}` until 0, which answers 200 "done". */
  async function chainServer(): Promise<{ client: TestClient; hits: string[] }> {
    const hits: string[] = [];
    const app = new web.Application();
    app.router.addGet("/hop/{n}", (request) => {
      hits.push(request.path);
      const n = Number(request.matchInfo.n);
      if (n === 0) return new web.Response({ text: "done" });
      const status = [301, 302, 303, 307, 308][n % 5] ?? 302;
      return new web.Response({ status, headers: { Location: `/hop/${n - 1}` } });
    });
    return { client: await serve(app), hits };
  }

  it("follows exactly maxRedirects redirects (default 10)", async () => {
    const { client } = await chainServer();
    const resp = await session().get(client.makeUrl("/hop/10"));
    expect(await resp.text()).toBe("done");
    expect(resp.history).toHaveLength(10);
  });

  it("throws TooManyRedirects past the default 10, with the history", async () => {
    const { client, hits } = await chainServer();
    const err = await session()
      .get(client.makeUrl("/hop/11"))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyRedirects);
    const tooMany = err as TooManyRedirects;
    expect(tooMany.history).toHaveLength(11);
    expect(hits).toHaveLength(11);
    expect(hits).not.toContain("/hop/0");
  });

  it("throws TooManyRedirects past a custom maxRedirects", async () => {
    const { client, hits } = await chainServer();
    const s = session();
    const ok = await s.get(client.makeUrl("/hop/2"), { maxRedirects: 2 });
    expect(await ok.text()).toBe("done");
    hits.length = 0;
    const err = await s.get(client.makeUrl("/hop/3"), { maxRedirects: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyRedirects);
    expect((err as TooManyRedirects).history).toHaveLength(3);
    expect((err as TooManyRedirects).status).toBe(302);
    expect(hits).toEqual(["/hop/3", "/hop/2", "/hop/1"]);
  });

  it("history holds every intermediate response with its status and URL, oldest first", async () => {
    const { client } = await chainServer();
    const resp = await session().get(client.makeUrl("/hop/4"));
    expect(resp.history.map((r) => [r.status, r.url.pathname])).toEqual([
      [308, "/hop/4"],
      [307, "/hop/3"],
      [303, "/hop/2"],
      [302, "/hop/1"],
    ]);
    expect(resp.url.pathname).toBe("/hop/0");
    expect(resp.history.every((r) => r.headers.has("Location"))).toBe(true);
  });

  it("allowRedirects: false returns the 3xx itself", async () => {
    const { client, seen } = await redirectServer();
    const resp = await session().get(client.makeUrl("/redirect/302"), { allowRedirects: false });
    expect(resp.status).toBe(302);
    expect(resp.headers.get("Location")).toBe("/echo");
    expect(resp.history).toEqual([]);
    expect(seen).toHaveLength(1);
  });

  it("HEAD does not follow redirects by default", async () => {
    const { client, seen } = await redirectServer();
    const resp = await session().head(client.makeUrl("/redirect/301"));
    expect(resp.status).toBe(301);
    expect(seen).toHaveLength(1);
  });

  it("a 3xx without a Location is returned as it is", async () => {
    const app = new web.Application();
    app.router.addGet("/", () => new web.Response({ status: 302, text: "nowhere" }));
    const client = await serve(app);
    const resp = await session().get(client.makeUrl("/"));
    expect(resp.status).toBe(302);
    expect(await resp.text()).toBe("nowhere");
  });
});

describe("Location values", () => {
  it.each([
    ["../b?x=1", "/a/b?x=1"],
    ["sibling", "/a/c/sibling"],
    ["/abs/path", "/abs/path"],
    ["?q=2", "/a/c/d?q=2"],
  ])("a relative Location %s resolves against the request URL", async (location, expected) => {
    const app = new web.Application();
    app.router.addGet("/{tail:.*}", (request) => {
      const here = request.relUrl.pathname + request.relUrl.search;
      if (here === "/a/c/d") {
        return new web.Response({ status: 302, headers: { Location: location } });
      }
      return new web.Response({ text: here });
    });
    const other = await serve(app);
    const resp = await session().get(other.makeUrl("/a/c/d"));
    expect(await resp.text()).toBe(expected);
    expect(resp.url.pathname + resp.url.search).toBe(expected);
  });

  it("a scheme-relative Location keeps the scheme and goes to the named host", async () => {
    const { client: b } = await redirectServer();
    const { client: a } = await redirectServer();
    const url = a.makeUrl("/redirect/302");
    url.searchParams.set("to", `//127.0.0.1:${b.makeUrl("/").port}/echo`);
    const resp = await session().get(url);
    expect(resp.url.href).toBe(b.makeUrl("/echo").href);
  });

  it("a Location fragment is not sent and the final URL has none", async () => {
    const { client, seen } = await redirectServer();
    const url = client.makeUrl("/redirect/302");
    url.searchParams.set("to", "/echo#part");
    const resp = await session().get(url);
    expect(resp.status).toBe(200);
    expect(seen[1]?.path).toBe("/echo");
  });

  it.each(["ftp://127.0.0.1/file", "javascript:alert(1)", "file:///etc/passwd", "data:,x"])(
    "a redirect to %s throws NonHttpUrlRedirectClientError",
    async (location) => {
      const { client, seen } = await redirectServer();
      const url = client.makeUrl("/redirect/302");
      url.searchParams.set("to", location);
      const err = await session()
        .get(url)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NonHttpUrlRedirectClientError);
      expect((err as NonHttpUrlRedirectClientError).url).toBe(location);
      expect(seen).toHaveLength(1);
    },
  );

  it.each(["http://[::1", "http://exa mple.com/", "http://:80/"])(
    "a malformed Location %s throws InvalidUrlRedirectClientError",
    async (location) => {
      const { client } = await redirectServer();
      const url = client.makeUrl("/redirect/302");
      url.searchParams.set("to", location);
      const err = await session()
        .get(url)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidUrlRedirectClientError);
      expect((err as InvalidUrlRedirectClientError).url).toBe(location);
    },
  );
});
