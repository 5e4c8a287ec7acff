// The session's HTTP cache (RFC 9111, on undici's cache interceptor) against our own server,
// which counts the requests that reach each route.

import { setImmediate as nextMacrotask } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ClientOptionError, ClientSession, CookieJar, TraceConfig, web } from "../../src/index.js";
import { deferred, useSessions, useTestClients } from "../helpers.js";

const serve = useTestClients();
const session = useSessions();

interface Counted {
  url(path: string): URL;
  hits(path: string): number;
  /** The conditional headers each request to `path` carried. */
  conditions(path: string): string[];
}

/** A server whose routes are `routes`, counting the requests each path gets. */
async function counting(
  routes: Record<string, (req: web.Request) => web.Response | Promise<web.Response>>,
): Promise<Counted> {
  const hits = new Map<string, number>();
  const conditions = new Map<string, string[]>();
  const app = new web.Application();
  for (const [path, handler] of Object.entries(routes)) {
    app.router.addRoute("*", path, (req) => {
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const seen = conditions.get(path) ?? [];
      seen.push(
        `${req.headers.get("If-None-Match") ?? "-"} ${req.headers.get("If-Modified-Since") ?? "-"}`,
      );
      conditions.set(path, seen);
      return handler(req);
    });
  }
  const client = await serve(app);
  return {
    url: (path) => client.makeUrl(path),
    hits: (path) => hits.get(path) ?? 0,
    conditions: (path) => conditions.get(path) ?? [],
  };
}

function text(body: string, headers: Record<string, string>): web.Response {
  return new web.Response({ text: body, headers });
}

/** An HTTP date `seconds` from now. */
function httpDate(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toUTCString();
}

async function getText(s: ClientSession, url: URL, headers?: Record<string, string>) {
  await using resp = await s.get(url, headers === undefined ? {} : { headers });
  return { body: await resp.text(), fromCache: resp.fromCache, resp };
}

describe("fresh responses", () => {
  it("a fresh response is served again without a request, with fromCache", async () => {
    let n = 0;
    const srv = await counting({ "/a": () => text(`v${++n}`, { "Cache-Control": "max-age=60" }) });
    const s = session({ cache: true });
    const first = await getText(s, srv.url("/a"));
    const second = await getText(s, srv.url("/a"));
    expect(first).toMatchObject({ body: "v1", fromCache: false });
    expect(second).toMatchObject({ body: "v1", fromCache: true });
    expect(srv.hits("/a")).toBe(1);
  });

  it("a cached body reads as JSON and as a stream", async () => {
    const srv = await counting({
      "/j": () => web.jsonResponse({ ok: 1 }, { headers: { "Cache-Control": "max-age=60" } }),
    });
    const s = session({ cache: true });
    await (await s.get(srv.url("/j"))).json();
    await using again = await s.get(srv.url("/j"));
    expect(again.fromCache).toBe(true);
    expect(await again.json()).toEqual({ ok: 1 });
    await using third = await s.get(srv.url("/j"));
    const chunks: Uint8Array[] = [];
    for await (const chunk of third.content) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('{"ok":1}');
    expect(srv.hits("/j")).toBe(1);
  });

  it("Age counts the age the server reported when the response was stored", async () => {
    const srv = await counting({
      "/aged": () => text("x", { "Cache-Control": "max-age=3600", Age: "30" }),
    });
    const s = session({ cache: true });
    await getText(s, srv.url("/aged"));
    const { resp, fromCache } = await getText(s, srv.url("/aged"));
    expect(fromCache).toBe(true);
    expect(Number(resp.headers.get("Age"))).toBeGreaterThanOrEqual(30);
  });

  it("Age counts from the Date of a response generated earlier", async () => {
    const srv = await counting({
      "/dated": () => text("x", { "Cache-Control": "max-age=3600", Date: httpDate(-20) }),
    });
    const s = session({ cache: true });
    const first = await getText(s, srv.url("/dated"));
    expect(first.resp.headers.has("Age")).toBe(false);
    const ages: number[] = [];
    for (let i = 0; i < 2; i++) {
      const { resp, fromCache } = await getText(s, srv.url("/dated"));
      expect(fromCache).toBe(true);
      ages.push(Number(resp.headers.get("Age")));
    }
    expect(ages[0]).toBeGreaterThanOrEqual(19);
    expect(ages[1]).toBeGreaterThanOrEqual(ages[0] ?? Number.NaN);
  });

  it("Expires in the future makes a response fresh", async () => {
    const srv = await counting({
      "/e": () => text("e", { Expires: httpDate(3600), Date: httpDate(0) }),
    });
    const s = session({ cache: true });
    await getText(s, srv.url("/e"));
    expect((await getText(s, srv.url("/e"))).fromCache).toBe(true);
    expect(srv.hits("/e")).toBe(1);
  });

  it("RFC 9111 4.2.2: a 200 with only Last-Modified is fresh for a tenth of its age", async () => {
    const srv = await counting({
      "/h": () => text("h", { "Last-Modified": httpDate(-10 * 86400), Date: httpDate(0) }),
    });
    const s = session({ cache: true });
    await getText(s, srv.url("/h"));
    expect((await getText(s, srv.url("/h"))).fromCache).toBe(true);
    expect(srv.hits("/h")).toBe(1);
  });

  it("a response without freshness information or validators is not reused", async () => {
    const srv = await counting({ "/plain": () => text("p", {}) });
    const s = session({ cache: true });
    await getText(s, srv.url("/plain"));
    expect((await getText(s, srv.url("/plain"))).fromCache).toBe(false);
    expect(srv.hits("/plain")).toBe(2);
  });

  it("without cache the session asks the server every time", async () => {
    const srv = await counting({ "/a": () => text("a", { "Cache-Control": "max-age=60" }) });
    const s = session();
    await getText(s, srv.url("/a"));
    expect((await getText(s, srv.url("/a"))).fromCache).toBe(false);
    expect(srv.hits("/a")).toBe(2);
  });
});

describe("revalidation", () => {
  it("a stale response with an ETag is revalidated; a 304 gives the stored body", async () => {
    const srv = await counting({
      "/etag": (req) =>
        req.headers.get("If-None-Match") === '"v1"'
          ? new web.Response({ status: 304, headers: { ETag: '"v1"' } })
          : text("etag body", { ETag: '"v1"', "Cache-Control": "max-age=0" }),
    });
    const s = session({ cache: true });
    await getText(s, srv.url("/etag"));
    const again = await getText(s, srv.url("/etag"));
    expect(again).toMatchObject({ body: "etag body", fromCache: false });
    expect(again.resp.status).toBe(200);
    // undici marks the answer stale (Warning: 110) though the 304 made it fresh again.
    expect(again.resp.headers.get("Warning")).toBeUndefined();
    expect(srv.hits("/etag")).toBe(2);
    expect(srv.conditions("/etag")[1]?.startsWith('"v1" ')).toBe(true);
  });

  it("a stale response with only Last-Modified is revalidated with If-Modified-Since", async () => {
    const modified = httpDate(-3600);
    const srv = await counting({
      "/lm": (req) =>
        req.headers.get("If-Modified-Since") === modified
          ? new web.Response({ status: 304 })
          : text("lm body", { "Last-Modified": modified, "Cache-Control": "max-age=0" }),
    });
    const s = session({ cache: true });
    await getText(s, srv.url("/lm"));
    const again = await getText(s, srv.url("/lm"));
    expect(again).toMatchObject({ body: "lm body", fromCache: false });
    expect(srv.hits("/lm")).toBe(2);
    expect(srv.conditions("/lm")[1]).toBe(`- ${modified}`);
  });

  it("a response older than its max-age by its Date is not reused", async () => {
    const srv = await counting({
      "/old": () => text("old", { Date: httpDate(-120), "Cache-Control": "max-age=60" }),
    });
    const s = session({ cache: true });
    await getText(s, srv.url("/old"));
    expect((await getText(s, srv.url("/old"))).fromCache).toBe(false);
    expect(srv.hits("/old")).toBe(2);
  });

  it("stale-while-revalidate answers from the cache and revalidates behind it", async () => {
    let n = 0;
    const revalidated = deferred();
    const srv = await counting({
      "/swr": (req) => {
        if (req.headers.has("If-Modified-Since")) revalidated.resolve();
        return text(`v${++n}`, {
          // Stale at once, stored for its validator, reusable within the window.
          "Cache-Control": "max-age=0, stale-while-revalidate=60",
          ETag: `"${n}"`,
        });
      },
    });
    const s = session({ cache: true });
    await getText(s, srv.url("/swr"));
    const stale = await getText(s, srv.url("/swr"));
    expect(stale).toMatchObject({ body: "v1", fromCache: true });
    await revalidated.promise;
    expect(srv.hits("/swr")).toBe(2);
  });

  it("a 304 does not replay the stored Set-Cookie over what the jar learnt since", async () => {
    const srv = await counting({
      "/ck": (req) => {
        if (req.headers.get("If-None-Match") === '"k"') {
          return new web.Response({ status: 304, headers: { ETag: '"k"' } });
        }
        const response = text("ck", { ETag: '"k"', "Cache-Control": "max-age=0" });
        response.setCookie("flavour", "old");
        return response;
      },
      "/new": () => {
        const response = text("new", {});
        response.setCookie("flavour", "new");
        return response;
      },
    });
    const s = session({ cache: true, cookieJar: new CookieJar({ unsafe: true }) });
    await getText(s, srv.url("/ck"));
    await getText(s, srv.url("/new"));
    expect((await getText(s, srv.url("/ck"))).fromCache).toBe(false);
    expect(srv.hits("/ck")).toBe(2);
    expect(s.cookieJar.filterCookies(srv.url("/")).flavour).toBe("new");
  });

  it("no-cache revalidates on every request", async () => {
    const srv = await counting({
      "/nc": (req) =>
        req.headers.get("If-None-Match") === '"n"'
          ? new web.Response({ status: 304, headers: { ETag: '"n"' } })
          : text("nc", { ETag: '"n"', "Cache-Control": "no-cache, max-age=3600" }),
    });
    const s = session({ cache: true });
    for (let i = 0; i < 3; i++) expect((await getText(s, srv.url("/nc"))).body).toBe("nc");
    expect(srv.hits("/nc")).toBe(3);
    expect(
      srv
        .conditions("/nc")
        .slice(1)
        .every((c) => c.startsWith('"n"')),
    ).toBe(true);
  });

  it("a changed resource answered with 200 replaces the stored one", async () => {
    let version = 1;
    const srv = await counting({
      "/ch": () => text(`v${version}`, { ETag: `"${version}"`, "Cache-Control": "max-age=0" }),
    });
    const s = session({ cache: true });
    await getText(s, srv.url("/ch"));
    version = 2;
    expect((await getText(s, srv.url("/ch"))).body).toBe("v2");
  });
});

describe("what is not stored", () => {
  it("no-store is never stored", async () => {
    const srv = await counting({ "/ns": () => text("ns", { "Cache-Control": "no-store" }) });
    const s = session({ cache: true });
    await getText(s, srv.url("/ns"));
    await getText(s, srv.url("/ns"));
    expect(srv.hits("/ns")).toBe(2);
  });

  it("private is stored by the client's (private) cache, not by a shared one", async () => {
    const route = { "/p": () => text("p", { "Cache-Control": "private, max-age=60" }) };
    const srv = await counting(route);
    const priv = session({ cache: true });
    await getText(priv, srv.url("/p"));
    expect((await getText(priv, srv.url("/p"))).fromCache).toBe(true);
    const shared = session({ cache: { shared: true } });
    await getText(shared, srv.url("/p"));
    expect((await getText(shared, srv.url("/p"))).fromCache).toBe(false);
    expect(srv.hits("/p")).toBe(3);
  });

  it("a body over maxSize is not stored, a smaller one is", async () => {
    const srv = await counting({
      "/big": () => text("x".repeat(2000), { "Cache-Control": "max-age=60" }),
      "/small": () => text("x".repeat(100), { "Cache-Control": "max-age=60" }),
    });
    const s = session({ cache: { maxSize: 1000 } });
    for (const path of ["/big", "/big", "/small", "/small"]) await getText(s, srv.url(path));
    expect(srv.hits("/big")).toBe(2);
    expect(srv.hits("/small")).toBe(1);
  });

  it("POST is not cached and only the methods chosen are", async () => {
    const srv = await counting({ "/m": () => text("m", { "Cache-Control": "max-age=60" }) });
    const s = session({ cache: true });
    for (let i = 0; i < 2; i++) await (await s.post(srv.url("/m"), { data: "x" })).text();
    for (let i = 0; i < 2; i++) await (await s.head(srv.url("/m"))).release();
    expect(srv.hits("/m")).toBe(4);
    const withHead = session({ cache: { methods: ["GET", "HEAD"] } });
    for (let i = 0; i < 2; i++) await (await withHead.head(srv.url("/m"))).release();
    expect(srv.hits("/m")).toBe(5);
  });
});

describe("keys and invalidation", () => {
  it("Vary keeps one entry per value of the named request header", async () => {
    const srv = await counting({
      "/v": (req) =>
        text(`lang ${req.headers.get("Accept-Language") ?? "none"}`, {
          Vary: "Accept-Language",
          "Cache-Control": "max-age=60",
        }),
    });
    const s = session({ cache: true });
    const en = { "Accept-Language": "en" };
    const fr = { "Accept-Language": "fr" };
    expect((await getText(s, srv.url("/v"), en)).body).toBe("lang en");
    expect((await getText(s, srv.url("/v"), fr)).body).toBe("lang fr");
    const enAgain = await getText(s, srv.url("/v"), en);
    const frAgain = await getText(s, srv.url("/v"), fr);
    expect(enAgain).toMatchObject({ body: "lang en", fromCache: true });
    expect(frAgain).toMatchObject({ body: "lang fr", fromCache: true });
    expect(srv.hits("/v")).toBe(2);
  });

  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    it(`a successful ${method} invalidates the stored GET of its URL`, async () => {
      let n = 0;
      const srv = await counting({
        "/r": (req) =>
          req.method === "GET"
            ? text(`v${++n}`, { "Cache-Control": "max-age=60" })
            : text("done", {}),
      });
      const s = session({ cache: true });
      await getText(s, srv.url("/r"));
      expect((await getText(s, srv.url("/r"))).fromCache).toBe(true);
      await (await s.request(method, srv.url("/r"), { data: "x" })).text();
      expect(await getText(s, srv.url("/r"))).toMatchObject({ body: "v2", fromCache: false });
    });
  }
});

describe("with the rest of the client", () => {
  it("a cached Set-Cookie is not applied again, cookies of the first answer are kept", async () => {
    const srv = await counting({
      "/c": () => text("c", { "Cache-Control": "max-age=60", "Set-Cookie": "a=1" }),
    });
    // An unsafe jar: cookies of an IP address host are kept.
    const s = session({ cache: true, cookieJar: new CookieJar({ unsafe: true }) });
    await getText(s, srv.url("/c"));
    expect(s.cookieJar.filterCookies(srv.url("/")).a).toBe("1");
    s.cookieJar.updateCookies({ a: "2" }, srv.url("/"));
    expect((await getText(s, srv.url("/c"))).fromCache).toBe(true);
    expect(s.cookieJar.filterCookies(srv.url("/")).a).toBe("2");
  });

  it("each hop of a redirect is cached on its own", async () => {
    const srv = await counting({
      "/from": () =>
        new web.Response({
          status: 301,
          headers: { Location: "/to", "Cache-Control": "max-age=60" },
        }),
      "/to": () => text("target", { "Cache-Control": "max-age=60" }),
    });
    const s = session({ cache: true });
    await getText(s, srv.url("/from"));
    const again = await getText(s, srv.url("/from"));
    expect(again).toMatchObject({ body: "target", fromCache: true });
    expect(again.resp.history.map((r) => [r.status, r.fromCache])).toEqual([[301, true]]);
    expect([srv.hits("/from"), srv.hits("/to")]).toEqual([1, 1]);
  });

  it("tracing and middlewares see a cached response like any other", async () => {
    const srv = await counting({ "/t": () => text("t", { "Cache-Control": "max-age=60" }) });
    const trace = new TraceConfig();
    const ends: number[] = [];
    trace.onRequestEnd.push(async (_s, _ctx, params) => {
      ends.push(params.response.status);
    });
    const seen: boolean[] = [];
    const s = session({
      cache: true,
      traceConfigs: [trace],
      middlewares: [
        async (req, handler) => {
          const resp = await handler(req);
          seen.push(resp.fromCache);
          return resp;
        },
      ],
    });
    await getText(s, srv.url("/t"));
    await getText(s, srv.url("/t"));
    expect(ends).toEqual([200, 200]);
    expect(seen).toEqual([false, true]);
    expect(srv.hits("/t")).toBe(1);
  });

  it("a cached gzip body is decompressed as the first one was", async () => {
    const srv = await counting({
      "/gz": () => {
        const resp = text("squeezed ".repeat(50), { "Cache-Control": "max-age=60" });
        resp.enableCompression("gzip");
        return resp;
      },
    });
    const s = session({ cache: true });
    const first = await getText(s, srv.url("/gz"), { "Accept-Encoding": "gzip" });
    const second = await getText(s, srv.url("/gz"), { "Accept-Encoding": "gzip" });
    expect(second).toMatchObject({ body: first.body, fromCache: true });
    expect(second.body).toBe("squeezed ".repeat(50));
  });
});

describe("options", () => {
  it("dedupe sends one request for identical concurrent GETs", async () => {
    const entered = deferred();
    const gate = deferred();
    const srv = await counting({
      "/d": async () => {
        entered.resolve();
        await gate.promise;
        return text("shared", {});
      },
    });
    const s = session({ dedupe: true });
    const first = s.get(srv.url("/d"));
    await entered.promise;
    const others = [s.get(srv.url("/d")), s.get(srv.url("/d"))];
    // Their way to undici's interceptor is microtasks only: drained before the next macrotask.
    await nextMacrotask();
    gate.resolve();
    const answers = await Promise.all(
      [first, ...others].map(async (p) => {
        await using resp = await p;
        return [await resp.text(), resp.fromCache];
      }),
    );
    // The server was reached for all three, by one request.
    expect(answers).toEqual([
      ["shared", false],
      ["shared", false],
      ["shared", false],
    ]);
    expect(srv.hits("/d")).toBe(1);
  });

  it("dedupe with cache: a burst of misses goes out once and fills the cache", async () => {
    const entered = deferred();
    const gate = deferred();
    const srv = await counting({
      "/dc": async () => {
        entered.resolve();
        await gate.promise;
        return text("once", { "Cache-Control": "max-age=60" });
      },
    });
    const s = session({ cache: true, dedupe: true });
    const first = s.get(srv.url("/dc"));
    await entered.promise;
    const second = s.get(srv.url("/dc"));
    await nextMacrotask();
    gate.resolve();
    for (const p of [first, second]) expect(await (await p).text()).toBe("once");
    expect((await getText(s, srv.url("/dc"))).fromCache).toBe(true);
    expect(srv.hits("/dc")).toBe(1);
  });

  // Node 20 has no node:sqlite; 22.5+ does (behind a flag before 22.13).
  const hasSqlite = process.getBuiltinModule("node:sqlite") !== undefined;

  it.skipIf(hasSqlite)("a SQLite store without node:sqlite is refused with a clear error", () => {
    expect(() => new ClientSession({ cache: { store: "sqlite" } })).toThrow(ClientOptionError);
    expect(() => new ClientSession({ cache: { store: "/tmp/c.db" } })).toThrow(
      /needs node:sqlite \(Node 22\.5\+\)/,
    );
  });

  it.skipIf(!hasSqlite)("a SQLite store keeps responses where node:sqlite exists", async () => {
    const srv = await counting({ "/q": () => text("q", { "Cache-Control": "max-age=60" }) });
    const s = session({ cache: { store: "sqlite" } });
    await getText(s, srv.url("/q"));
    expect((await getText(s, srv.url("/q"))).fromCache).toBe(true);
  });

  it("a store object is used as is: two sessions share it", async () => {
    const { MemoryCacheStore } = await import("undici").then((m) => m.cacheStores);
    const store = new MemoryCacheStore();
    const srv = await counting({ "/s": () => text("s", { "Cache-Control": "max-age=60" }) });
    await getText(session({ cache: { store } }), srv.url("/s"));
    expect((await getText(session({ cache: { store } }), srv.url("/s"))).fromCache).toBe(true);
    expect(srv.hits("/s")).toBe(1);
  });

  it("unknown cache options and bad sizes are refused", () => {
    expect(() => new ClientSession({ cache: { maxsize: 1 } as never })).toThrow(ClientOptionError);
    expect(() => new ClientSession({ cache: { maxSize: -1 } })).toThrow(ClientOptionError);
  });
});
