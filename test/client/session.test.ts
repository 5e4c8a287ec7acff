// ClientSession over real sockets: constructor options, lifecycle, the verbs, URL handling,
// query parameters, default headers and authentication.
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, test } from "vitest";
import {
  BasicAuth,
  ClientClosedError,
  type ClientResponse,
  ClientResponseError,
  ClientSession,
  CookieJar,
  InvalidURL,
  InvalidUrlClientError,
  MultiDict,
  NonHttpUrlClientError,
  TCPConnector,
  VERSION,
  web,
} from "../../src/index.js";
import { rejection, useSessions, useTestClients } from "../helpers.js";

const serve = useTestClients();

/** What the echo handler saw. */
interface Echo {
  method: string;
  rawPath: string;
  query: Array<[string, string]>;
  headers: Array<[string, string]>;
  body: string;
}

function echoApp(): web.Application {
  const app = new web.Application();
  app.router.addRoute("*", "/{tail:.*}", async (request) => {
    const echo: Echo = {
      method: request.method,
      rawPath: request.rawPathAndQuery,
      query: [...request.query],
      headers: [...request.headers],
      body: (await request.read()).toString("utf8"),
    };
    return web.jsonResponse(echo);
  });
  return app;
}

async function echoServer(): Promise<string> {
  const client = await serve(echoApp());
  return client.server.baseUrl;
}

/** The values the echo server saw for a header, case-insensitively. */
function headerValues(echo: Echo, name: string): string[] {
  return echo.headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}

/** A session that is closed after the test. */
const session = useSessions();

/** A raw node:http server that records every request; closed after the test. */
const rawServers: Array<Server | NetServer> = [];
afterEach(async () => {
  for (const s of rawServers.splice(0)) {
    if ("closeAllConnections" in s) s.closeAllConnections();
    s.close();
  }
});

async function recordingHttpServer(
  answer: (req: IncomingMessage, res: import("node:http").ServerResponse) => void = (_q, res) =>
    res.end("ok"),
): Promise<{ url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(req);
    answer(req, res);
  });
  rawServers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, seen };
}

/** A TCP server that only counts the connections made to it. */
async function countingTcpServer(): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const server = createNetServer((socket) => {
    count++;
    socket.destroy();
  });
  rawServers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return { port, connections: () => count };
}

describe("session options", () => {
  test("baseUrl resolves relative paths against its directory, absolute paths against its origin", async () => {
    const base = await echoServer();
    const s = session({ baseUrl: `${base}/api/v1/` });
    const relative = await (await s.get("users/7")).json<Echo>();
    const absolutePath = await (await s.get("/health")).json<Echo>();
    const dotted = await (await s.get("../v2/items")).json<Echo>();
    expect(relative.rawPath).toBe("/api/v1/users/7");
    expect(absolutePath.rawPath).toBe("/health");
    expect(dotted.rawPath).toBe("/api/v2/items");
  });

  test("baseUrl is ignored for an absolute URL", async () => {
    const base = await echoServer();
    const s = session({ baseUrl: "http://192.0.2.1:9/never/" });
    const echo = await (await s.get(`${base}/direct`)).json<Echo>();
    expect(echo.rawPath).toBe("/direct");
  });

  test("an invalid baseUrl throws InvalidUrlClientError at construction", () => {
    expect(() => new ClientSession({ baseUrl: "not a url" })).toThrow(InvalidUrlClientError);
  });

  test("session headers are sent and request headers of the same name replace them", async () => {
    const base = await echoServer();
    const s = session({ headers: { "X-Session": "s", "X-Both": "from-session" } });
    const echo = await (
      await s.get(`${base}/`, { headers: { "x-both": "from-request", "X-Request": "r" } })
    ).json<Echo>();
    expect(headerValues(echo, "X-Session")).toEqual(["s"]);
    expect(headerValues(echo, "X-Both")).toEqual(["from-request"]);
    expect(headerValues(echo, "X-Request")).toEqual(["r"]);
  });

  test("request headers may repeat a name; every value is sent", async () => {
    const base = await echoServer();
    const s = session();
    const echo = await (
      await s.get(`${base}/`, {
        headers: [
          ["X-Multi", "1"],
          ["X-Multi", "2"],
        ],
      })
    ).json<Echo>();
    expect(headerValues(echo, "X-Multi")).toEqual(["1", "2"]);
  });

  test("headers given as a web Headers object are sent", async () => {
    const base = await echoServer();
    const s = session({ headers: new Headers({ "X-From-Headers": "yes" }) });
    const echo = await (await s.get(`${base}/`)).json<Echo>();
    expect(headerValues(echo, "X-From-Headers")).toEqual(["yes"]);
  });

  test("session.headers is mutable and later requests send the change", async () => {
    const base = await echoServer();
    const s = session();
    s.headers.set("X-Later", "added");
    const echo = await (await s.get(`${base}/`)).json<Echo>();
    expect(headerValues(echo, "X-Later")).toEqual(["added"]);
  });

  test("session cookies are sent with every request", async () => {
    const base = await echoServer();
    const s = session({ cookies: { theme: "dark", lang: "en" } });
    const echo = await (await s.get(`${base}/`)).json<Echo>();
    expect(headerValues(echo, "Cookie")).toEqual(["theme=dark; lang=en"]);
  });

  test("a given cookieJar is the session's jar and receives the response cookies", async () => {
    const app = new web.Application();
    app.router.addGet("/", () => {
      const r = new web.Response({ text: "ok" });
      r.setCookie("sid", "abc");
      return r;
    });
    const client = await serve(app);
    const jar = new CookieJar({ unsafe: true });
    const s = session({ cookieJar: jar });
    expect(s.cookieJar).toBe(jar);
    await (await s.get(client.server.makeUrl("/"))).read();
    expect(jar.filterCookies(client.server.makeUrl("/"))).toEqual({ sid: "abc" });
  });

  test("session auth sends Basic credentials with every request", async () => {
    const base = await echoServer();
    const s = session({ auth: new BasicAuth("user", "pa:ss") });
    const echo = await (await s.get(`${base}/`)).json<Echo>();
    const sent = headerValues(echo, "Authorization");
    expect(sent).toEqual([`Basic ${Buffer.from("user:pa:ss").toString("base64")}`]);
  });

  test("request auth replaces session auth", async () => {
    const base = await echoServer();
    const s = session({ auth: new BasicAuth("session", "x") });
    const echo = await (
      await s.get(`${base}/`, { auth: new BasicAuth("request", "y") })
    ).json<Echo>();
    expect(BasicAuth.decode(headerValues(echo, "Authorization")[0] ?? "").login).toBe("request");
  });

  test("an explicit Authorization header wins over auth", async () => {
    const base = await echoServer();
    const s = session({ auth: new BasicAuth("session", "x") });
    const echo = await (
      await s.get(`${base}/`, { headers: { Authorization: "Bearer t" } })
    ).json<Echo>();
    expect(headerValues(echo, "Authorization")).toEqual(["Bearer t"]);
  });

  test("with a baseUrl, session auth goes to the baseUrl origin only (aiohttp's rule)", async () => {
    const home = await echoServer();
    const other = await echoServer();
    const s = session({ baseUrl: home, auth: new BasicAuth("session", "x") });
    const atHome = await (await s.get("/a")).json<Echo>();
    expect(BasicAuth.decode(headerValues(atHome, "Authorization")[0] ?? "").login).toBe("session");
    const elsewhere = await (await s.get(`${other}/b`)).json<Echo>();
    expect(headerValues(elsewhere, "Authorization")).toEqual([]);
    // A request's own auth is not scoped: the caller chose that host.
    const own = await (
      await s.get(`${other}/c`, { auth: new BasicAuth("request", "y") })
    ).json<Echo>();
    expect(BasicAuth.decode(headerValues(own, "Authorization")[0] ?? "").login).toBe("request");
  });

  test("session auth over WebSockets is scoped to the baseUrl origin too", async () => {
    const seen: Array<string | undefined> = [];
    const wsApp = (): web.Application => {
      const app = new web.Application();
      app.router.addGet("/ws", async (request) => {
        seen.push(request.headers.get("Authorization"));
        const ws = new web.WebSocketResponse();
        await ws.prepare(request);
        await ws.close();
        return ws;
      });
      return app;
    };
    const home = (await serve(wsApp())).server.baseUrl;
    const other = (await serve(wsApp())).server.baseUrl;
    const s = session({ baseUrl: home, auth: new BasicAuth("session", "x") });
    await (await s.wsConnect("/ws")).close();
    await (await s.wsConnect(`${other}/ws`)).close();
    expect(seen.map((v) => (v === undefined ? v : BasicAuth.decode(v).login))).toEqual([
      "session",
      undefined,
    ]);
  });

  test("jsonSerialize is used for json bodies", async () => {
    const base = await echoServer();
    const s = session({ jsonSerialize: (v) => `custom:${JSON.stringify(v)}` });
    const echo = await (await s.post(`${base}/`, { json: { a: 1 } })).json<Echo>();
    expect(echo.body).toBe('custom:{"a":1}');
    expect(headerValues(echo, "Content-Type")).toEqual(["application/json"]);
  });

  test("autoDecompress false leaves a gzip body compressed", async () => {
    const plain = "compressed text ".repeat(100);
    const { url } = await recordingHttpServer((_req, res) => {
      res.writeHead(200, { "Content-Encoding": "gzip", "Content-Type": "text/plain" });
      res.end(gzipSync(plain));
    });
    const raw = await (await session({ autoDecompress: false }).get(url)).read();
    const decoded = await (await session().get(url)).read();
    expect(raw.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(raw.length).toBeLessThan(plain.length);
    expect(decoded.toString()).toBe(plain);
  });

  test("readBufsize bounds how much of an unread body is buffered", async () => {
    const size = 8 * 1024 * 1024;
    const { url } = await recordingHttpServer((_req, res) => {
      res.writeHead(200, { "Content-Length": size });
      res.end(Buffer.alloc(size, 1));
    });
    const small = await session({ readBufsize: 1024 }).get(url);
    const large = await session({ readBufsize: 64 * 1024 * 1024 }).get(url);
    const smallReader = small.content;
    const largeReader = large.content;
    await largeReader.waitEof();
    await new Promise((r) => setTimeout(r, 100));
    // The small buffer stops after about one socket chunk; the large one took everything.
    expect(largeReader.totalBytes).toBe(size);
    expect(smallReader.totalBytes).toBeLessThan(size / 4);
    expect((await small.read()).length).toBe(size);
  });

  test("skipAutoHeaders leaves out the named default headers", async () => {
    const base = await echoServer();
    const s = session({ skipAutoHeaders: ["User-Agent", "accept-encoding"] });
    const echo = await (await s.get(`${base}/`)).json<Echo>();
    expect(headerValues(echo, "User-Agent")).toEqual([]);
    expect(headerValues(echo, "Accept-Encoding")).toEqual([]);
    expect(headerValues(echo, "Accept")).toEqual(["*/*"]);
  });

  test("skipAutoHeaders per request overrides the session's", async () => {
    const base = await echoServer();
    const s = session({ skipAutoHeaders: ["User-Agent"] });
    const echo = await (await s.get(`${base}/`, { skipAutoHeaders: ["Accept"] })).json<Echo>();
    expect(headerValues(echo, "User-Agent")).toEqual([`aiohttp-ts/${VERSION}`]);
    expect(headerValues(echo, "Accept")).toEqual([]);
  });

  test("requoteRedirectUrl true normalises the Location's percent-encoding", async () => {
    const { url, seen } = await recordingHttpServer((req, res) => {
      if (req.url === "/start") {
        res.writeHead(302, { Location: "/%7Euser/a%20b" });
        res.end();
      } else res.end("done");
    });
    await (await session().get(`${url}/start`)).read();
    expect(seen.map((r) => r.url)).toEqual(["/start", "/~user/a%20b"]);
  });

  test("requoteRedirectUrl false follows the Location as sent", async () => {
    const { url, seen } = await recordingHttpServer((req, res) => {
      if (req.url === "/start") {
        res.writeHead(302, { Location: "/%7Euser/a%20b" });
        res.end();
      } else res.end("done");
    });
    await (await session({ requoteRedirectUrl: false }).get(`${url}/start`)).read();
    expect(seen.map((r) => r.url)).toEqual(["/start", "/%7Euser/a%20b"]);
  });
});

describe("raiseForStatus", () => {
  async function statusServer(): Promise<string> {
    const app = new web.Application();
    app.router.addGet("/{status}", (request) => {
      const status = Number(request.matchInfo.status);
      return new web.Response({ status, text: `status ${status}`, headers: { "X-Why": "test" } });
    });
    return (await serve(app)).server.baseUrl;
  }

  test("is off by default: a 404 response is returned", async () => {
    const base = await statusServer();
    const resp = await session().get(`${base}/404`);
    expect(resp.status).toBe(404);
    expect(resp.ok).toBe(false);
    await resp.release();
  });

  test("true on the session throws ClientResponseError with status, headers and requestInfo", async () => {
    const base = await statusServer();
    const err = await session({ raiseForStatus: true })
      .get(`${base}/418`)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientResponseError);
    const e = err as ClientResponseError;
    expect(e.status).toBe(418);
    expect(e.headers?.get("X-Why")).toBe("test");
    expect(e.requestInfo.method).toBe("GET");
    expect(e.requestInfo.url.href).toBe(`${base}/418`);
    expect(e.message).toContain("418");
    expect(e.message).toContain(`${base}/418`);
  });

  test("true on the session lets statuses below 400 through", async () => {
    const base = await statusServer();
    const resp = await session({ raiseForStatus: true }).get(`${base}/204`);
    expect(resp.status).toBe(204);
  });

  test("false on the request overrides true on the session", async () => {
    const base = await statusServer();
    const resp = await session({ raiseForStatus: true }).get(`${base}/500`, {
      raiseForStatus: false,
    });
    expect(resp.status).toBe(500);
    await resp.release();
  });

  test("true on the request throws on a session without it", async () => {
    const base = await statusServer();
    const err = await rejection(session().get(`${base}/503`, { raiseForStatus: true }));
    expect(err).toBeInstanceOf(ClientResponseError);
    expect((err as ClientResponseError).status).toBe(503);
  });

  test("an async callback on the session is awaited with the response and may throw", async () => {
    const base = await statusServer();
    const calls: number[] = [];
    const s = session({
      raiseForStatus: async (resp) => {
        await new Promise((r) => setTimeout(r, 10));
        calls.push(resp.status);
        if (resp.status === 409) throw new Error(`conflict: ${await resp.text()}`);
      },
    });
    const fine = await s.get(`${base}/200`);
    expect(fine.status).toBe(200);
    await expect(s.get(`${base}/409`)).rejects.toThrow("conflict: status 409");
    expect(calls).toEqual([200, 409]);
  });

  test("a response refused by the callback gives its connection slot back", async () => {
    const base = await statusServer();
    const connector = new TCPConnector({ limit: 1 });
    const s = session({
      connector,
      raiseForStatus: async (resp) => {
        if (resp.status >= 500) throw new Error("refused");
      },
    });
    await expect(s.get(`${base}/500`)).rejects.toThrow("refused");
    expect(connector.active).toBe(0);
    const next = await s.get(`${base}/200`, { timeout: { connect: 500 } });
    expect(next.status).toBe(200);
    await next.release();
  });

  test("an async callback on the request replaces the session's rule", async () => {
    const base = await statusServer();
    const seen: ClientResponse[] = [];
    const s = session({ raiseForStatus: true });
    const resp = await s.get(`${base}/404`, {
      raiseForStatus: async (r) => {
        seen.push(r);
      },
    });
    expect(seen).toEqual([resp]);
    expect(resp.status).toBe(404);
    await resp.release();
  });

  test("response.raiseForStatus() throws for >= 400 and carries the history", async () => {
    const base = await statusServer();
    const resp = await session().get(`${base}/401`);
    let thrown: unknown;
    try {
      resp.raiseForStatus();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ClientResponseError);
    expect((thrown as ClientResponseError).status).toBe(401);
    expect((thrown as ClientResponseError).history).toEqual([]);
  });
});

describe("lifecycle", () => {
  test("close() marks the session closed and a second close is a no-op", async () => {
    const s = new ClientSession();
    expect(s.closed).toBe(false);
    await s.close();
    expect(s.closed).toBe(true);
    await s.close();
    expect(s.closed).toBe(true);
  });

  test("a request on a closed session throws ClientClosedError without connecting", async () => {
    const { port, connections } = await countingTcpServer();
    const s = new ClientSession();
    await s.close();
    await expect(s.get(`http://127.0.0.1:${port}/`)).rejects.toBeInstanceOf(ClientClosedError);
    await new Promise((r) => setTimeout(r, 50));
    expect(connections()).toBe(0);
  });

  test("await using closes the session at the end of the block", async () => {
    const base = await echoServer();
    let kept: ClientSession | undefined;
    {
      await using s = new ClientSession();
      kept = s;
      await using resp = await s.get(`${base}/`);
      expect(resp.status).toBe(200);
    }
    expect(kept.closed).toBe(true);
    await expect(kept.get(`${base}/`)).rejects.toBeInstanceOf(ClientClosedError);
  });
});

describe("verbs", () => {
  test.each([
    ["get", "GET"],
    ["post", "POST"],
    ["put", "PUT"],
    ["patch", "PATCH"],
    ["delete", "DELETE"],
    ["options", "OPTIONS"],
  ] as const)("%s() sends %s", async (verb, method) => {
    const base = await echoServer();
    const resp = await session()[verb](`${base}/v`);
    expect(resp.method).toBe(method);
    expect((await resp.json<Echo>()).method).toBe(method);
  });

  test("head() sends HEAD and the response has an empty body", async () => {
    const { url, seen } = await recordingHttpServer((_req, res) => {
      res.writeHead(200, { "Content-Length": "5" });
      res.end();
    });
    const resp = await session().head(`${url}/h`);
    expect(seen[0]?.method).toBe("HEAD");
    expect(resp.contentLength).toBe(5);
    expect((await resp.read()).length).toBe(0);
  });

  test("request() takes any method, in any case", async () => {
    const base = await echoServer();
    const echo = await (await session().request("propfind", `${base}/dav`)).json<Echo>();
    expect(echo.method).toBe("PROPFIND");
  });

  test("request() refuses a method that is not an HTTP token", async () => {
    await expect(session().request("GET /x", "http://127.0.0.1:9/")).rejects.toThrow(TypeError);
  });

  test("head() does not follow redirects by default", async () => {
    const { url, seen } = await recordingHttpServer((req, res) => {
      res.writeHead(req.url === "/from" ? 301 : 200, { Location: "/to" });
      res.end();
    });
    const resp = await session().head(`${url}/from`);
    expect(resp.status).toBe(301);
    expect(seen.map((r) => r.url)).toEqual(["/from"]);
  });

  test("head() follows redirects with allowRedirects: true", async () => {
    const { url, seen } = await recordingHttpServer((req, res) => {
      if (req.url === "/from") res.writeHead(301, { Location: "/to" });
      else res.writeHead(200);
      res.end();
    });
    const resp = await session().head(`${url}/from`, { allowRedirects: true });
    expect(resp.status).toBe(200);
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(["HEAD /from", "HEAD /to"]);
    expect(resp.history.map((h) => h.status)).toEqual([301]);
  });

  test("get() with allowRedirects: false returns the redirect itself", async () => {
    const { url, seen } = await recordingHttpServer((req, res) => {
      if (req.url === "/from") res.writeHead(302, { Location: "/to" });
      res.end();
    });
    const resp = await session().get(`${url}/from`, { allowRedirects: false });
    expect(resp.status).toBe(302);
    expect(resp.headers.get("Location")).toBe("/to");
    expect(seen).toHaveLength(1);
  });
});

describe("signal", () => {
  test("aborting while waiting for the response head rejects with the signal's reason", async () => {
    const { url } = await recordingHttpServer(() => {
      // never answers
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("user gave up")), 100);
    // The server never answers: only the abort can end the request. (A bound of 1 s on it
    // also counted loading undici, which a busy machine can take most of.)
    await expect(session().get(url, { signal: controller.signal })).rejects.toThrow("user gave up");
  });

  test("an already aborted signal rejects without connecting", async () => {
    const { port, connections } = await countingTcpServer();
    const err = await rejection(
      session().get(`http://127.0.0.1:${port}/`, { signal: AbortSignal.abort() }),
    );
    // The signal's reason itself: a DOMException, whose kind is its name.
    expect(err).toBeInstanceOf(DOMException);
    expect(err.name).toBe("AbortError");
    // Room for a connection that should not come.
    await new Promise((r) => setTimeout(r, 30));
    expect(connections()).toBe(0);
  });

  test("aborting while the body is read rejects the read and frees the slot", async () => {
    const { url } = await recordingHttpServer((_req, res) => {
      res.writeHead(200);
      res.write("part");
    });
    const connector = new TCPConnector({ limit: 1 });
    const controller = new AbortController();
    const resp = await session({ connector }).get(url, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(resp.text()).rejects.toThrow();
    expect(resp.closed).toBe(true);
    expect(connector.active).toBe(0);
  });
});

describe("URLs", () => {
  test("the url may be a URL object", async () => {
    const base = await echoServer();
    const echo = await (await session().get(new URL("/obj?x=1", base))).json<Echo>();
    expect(echo.rawPath).toBe("/obj?x=1");
  });

  test("the fragment is not sent but stays in realUrl", async () => {
    const base = await echoServer();
    const resp = await session().get(`${base}/page#section`);
    expect((await resp.json<Echo>()).rawPath).toBe("/page");
    expect(resp.url.hash).toBe("");
    expect(resp.realUrl.hash).toBe("#section");
  });

  test.each([
    "ftp://127.0.0.1:PORT/file",
    "file:///etc/passwd",
    "mailto:someone@example.com",
    "data:text/plain,hello",
  ])("%s throws NonHttpUrlClientError before any I/O", async (template) => {
    const { port, connections } = await countingTcpServer();
    const url = template.replace("PORT", String(port));
    const err = await session()
      .get(url)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonHttpUrlClientError);
    expect(err).toBeInstanceOf(InvalidURL);
    expect((err as InvalidURL).url).toBe(url);
    await new Promise((r) => setTimeout(r, 30));
    expect(connections()).toBe(0);
  });

  test.each([
    "http://127.0.0.1:PORT:80/",
    "http://[::1/",
    "not a url",
    "http://",
    "http://exa mple.com/",
  ])("malformed %s throws InvalidUrlClientError before any I/O", async (template) => {
    const { port, connections } = await countingTcpServer();
    const url = template.replace("PORT", String(port));
    const err = await session()
      .get(url)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidUrlClientError);
    expect((err as InvalidUrlClientError).code).toBe("AIOHTTP_INVALID_URL_CLIENT");
    await new Promise((r) => setTimeout(r, 30));
    expect(connections()).toBe(0);
  });

  test("a relative url without a baseUrl throws InvalidUrlClientError", async () => {
    await expect(session().get("/relative")).rejects.toBeInstanceOf(InvalidUrlClientError);
  });

  test("ws:// URLs are requested over http", async () => {
    const base = await echoServer();
    const echo = await (await session().get(`${base.replace("http:", "ws:")}/w`)).json<Echo>();
    expect(echo.rawPath).toBe("/w");
  });

  // A URL string found plain is only parsed when it comes again (src/client/url.ts): the
  // second request must go out as the first did, and each response gets its own URL.
  test("a URL string requested again goes out the same way, with a URL of its own", async () => {
    const base = await echoServer();
    const s = session();
    for (const url of [`${base.replace("http:", "ws:")}/w?a=1`, `${base}/p`, `${base}/f#frag`]) {
      const [first, second] = [await s.get(url), await s.get(url)];
      const [a, b] = [await first.json<Echo>(), await second.json<Echo>()];
      expect(b.rawPath).toBe(a.rawPath);
      expect(second.url.href).toBe(first.url.href);
      expect(second.url.protocol).toBe("http:");
      expect(second.realUrl.href).toBe(first.realUrl.href);
      expect(second.url).not.toBe(first.url);
    }
    const withCredentials = `${base.replace("http://", "http://user:pw@")}/c`;
    for (let i = 0; i < 2; i++) {
      const echo = await (await s.get(withCredentials)).json<Echo>();
      expect(headerValues(echo, "Authorization")).toEqual([
        `Basic ${Buffer.from("user:pw").toString("base64")}`,
      ]);
    }
  });
});

describe("params", () => {
  async function query(params: Parameters<ClientSession["get"]>[1]): Promise<Echo["query"]> {
    const base = await echoServer();
    return (await (await session().get(`${base}/q?own=1`, params)).json<Echo>()).query;
  }

  test("a plain object, with an array value repeating the key, is appended to the URL's query", async () => {
    expect(await query({ params: { a: "x y", n: 2, flag: true, list: ["1", "2"] } })).toEqual([
      ["own", "1"],
      ["a", "x y"],
      ["n", "2"],
      ["flag", "true"],
      ["list", "1"],
      ["list", "2"],
    ]);
  });

  test("an array of pairs keeps order and repeats", async () => {
    expect(
      await query({
        params: [
          ["k", "1"],
          ["k", "2"],
          ["z", 3],
        ],
      }),
    ).toEqual([
      ["own", "1"],
      ["k", "1"],
      ["k", "2"],
      ["z", "3"],
    ]);
  });

  test("a MultiDict", async () => {
    const md = new MultiDict<string>([
      ["m", "1"],
      ["m", "2"],
    ]);
    expect(await query({ params: md })).toEqual([
      ["own", "1"],
      ["m", "1"],
      ["m", "2"],
    ]);
  });

  test("URLSearchParams", async () => {
    expect(await query({ params: new URLSearchParams("u=%26&u=2") })).toEqual([
      ["own", "1"],
      ["u", "&"],
      ["u", "2"],
    ]);
  });

  test("a query string", async () => {
    expect(await query({ params: "s=1&t=a%2Bb" })).toEqual([
      ["own", "1"],
      ["s", "1"],
      ["t", "a+b"],
    ]);
  });

  test("special characters are percent-encoded on the wire", async () => {
    const base = await echoServer();
    const echo = await (
      await session().get(`${base}/q`, { params: { q: "a&b=c é" } })
    ).json<Echo>();
    expect(echo.query).toEqual([["q", "a&b=c é"]]);
    expect(echo.rawPath).not.toContain(" ");
    expect(echo.rawPath).toContain("%26");
  });
});

describe("default headers", () => {
  test("User-Agent, Accept, Accept-Encoding and Host are sent", async () => {
    const base = await echoServer();
    const echo = await (await session().get(`${base}/`)).json<Echo>();
    expect(headerValues(echo, "User-Agent")).toEqual([`aiohttp-ts/${VERSION}`]);
    expect(headerValues(echo, "Accept")).toEqual(["*/*"]);
    expect(headerValues(echo, "Accept-Encoding")[0]).toMatch(/^gzip, deflate, br(, zstd)?$/);
    expect(headerValues(echo, "Host")).toEqual([new URL(base).host]);
  });

  test("a request header replaces a default header", async () => {
    const base = await echoServer();
    const echo = await (
      await session().get(`${base}/`, { headers: { "user-agent": "mine/1", Accept: "text/html" } })
    ).json<Echo>();
    expect(headerValues(echo, "User-Agent")).toEqual(["mine/1"]);
    expect(headerValues(echo, "Accept")).toEqual(["text/html"]);
  });

  test("requestInfo holds the headers that were sent", async () => {
    const base = await echoServer();
    const resp = await session().get(`${base}/`, { headers: { "X-Info": "1" } });
    await resp.read();
    expect(resp.requestInfo.headers.get("x-info")).toBe("1");
    expect(resp.requestInfo.headers.get("User-Agent")).toBe(`aiohttp-ts/${VERSION}`);
  });
});

describe("plain requests (default headers only)", () => {
  // Such a request's head is built once per session and host (src/client/headers.ts): what
  // changes between requests must still reach the wire.
  test("headers of a request, of the session and cookies of the jar still go out after a plain request", async () => {
    const base = await echoServer();
    const s = session();
    const sent = async (options = {}) => (await s.get(`${base}/`, options)).json<Echo>();
    expect(headerValues(await sent(), "X-Mine")).toEqual([]);
    expect(headerValues(await sent({ headers: { "X-Mine": "1" } }), "X-Mine")).toEqual(["1"]);
    expect(headerValues(await sent(), "X-Mine")).toEqual([]);
    s.headers.set("X-Session", "2");
    expect(headerValues(await sent(), "X-Session")).toEqual(["2"]);
    s.headers.delete("X-Session");
    expect(headerValues(await sent(), "X-Session")).toEqual([]);
    s.cookieJar.updateCookies({ flavour: "oat" });
    expect(headerValues(await sent(), "Cookie")).toEqual(["flavour=oat"]);
    s.cookieJar.clear();
    expect(headerValues(await sent(), "Cookie")).toEqual([]);
    expect(headerValues(await sent({ cookies: { once: "1" } }), "Cookie")).toEqual(["once=1"]);
    expect(headerValues(await sent({ skipAutoHeaders: ["User-Agent"] }), "User-Agent")).toEqual([]);
    expect(headerValues(await sent(), "User-Agent")).toEqual([`aiohttp-ts/${VERSION}`]);
  });

  test("each host gets its own Host header and requestInfo", async () => {
    const [a, b] = [await echoServer(), await echoServer()];
    const s = session();
    for (const base of [a, b, a, b]) {
      const resp = await s.get(`${base}/`);
      expect(headerValues(await resp.json<Echo>(), "Host")).toEqual([new URL(base).host]);
      expect(resp.requestInfo.headers.get("Host")).toBe(new URL(base).host);
      expect(resp.requestInfo.url.href).toBe(`${base}/`);
    }
  });
});

describe("credentials in the URL", () => {
  test("user:pass@ becomes Basic auth and is removed from the request line and Host", async () => {
    const { url, seen } = await recordingHttpServer();
    const port = new URL(url).port;
    const resp = await session().get(`http://al%20ice:s%3Acret@127.0.0.1:${port}/private?x=1`);
    await resp.read();
    const req = seen[0] as IncomingMessage;
    expect(req.url).toBe("/private?x=1");
    expect(req.headers.host).toBe(`127.0.0.1:${port}`);
    const auth = BasicAuth.decode(req.headers.authorization ?? "");
    expect([auth.login, auth.password]).toEqual(["al ice", "s:cret"]);
    expect(resp.url.username).toBe("");
    expect(resp.realUrl.password).toBe("");
    expect(resp.requestInfo.url.href).not.toContain("cret");
  });

  test("credentials in the URL together with auth is an error", async () => {
    const { url, seen } = await recordingHttpServer();
    const withCreds = url.replace("http://", "http://u:p@");
    await expect(session().get(withCreds, { auth: new BasicAuth("a", "b") })).rejects.toThrow(
      TypeError,
    );
    expect(seen).toHaveLength(0);
  });

  test("credentials in the URL replace the session's auth", async () => {
    const { url, seen } = await recordingHttpServer();
    const s = session({ auth: new BasicAuth("session", "x") });
    await (await s.get(url.replace("http://", "http://urluser:p@"))).read();
    expect(BasicAuth.decode(seen[0]?.headers.authorization ?? "").login).toBe("urluser");
  });
});
