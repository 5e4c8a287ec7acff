// The server over HTTP/2 (`http2: true` over TLS with ALPN, `"h2c"` in cleartext), spoken to
// by node:http2's client: the same handlers, responses and limits as over HTTP/1.1.

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import { type ClientHttp2Session, connect, constants } from "node:http2";
import { request as httpsRequest } from "node:https";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { ClientSession, web } from "../../src/index.js";
import { bannerPort, deferred } from "../helpers.js";
import { type TlsMaterial, tlsMaterial } from "../tls-material.js";
import { FILE_TEXT, makeHttp2App } from "./http2-app.js";

interface H2Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on `session`; resolves with the whole reply. */
async function h2(
  session: ClientHttp2Session,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<H2Reply> {
  const stream = session.request({ ":path": path, ...headers }, { endStream: body === undefined });
  if (body !== undefined) stream.end(body);
  const [head] = (await once(stream, "response")) as [Record<string, string | string[]>];
  let text = "";
  stream.setEncoding("utf8");
  for await (const chunk of stream) text += chunk as string;
  return { status: Number(head[":status"]), headers: head, body: text };
}

let tls: TlsMaterial;
beforeAll(async () => {
  tls = await tlsMaterial();
});

const runners: web.AppRunner[] = [];
const sessions: ClientHttp2Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  for (const runner of runners.splice(0)) {
    runner.server.closeAllConnections();
    await runner.cleanup();
  }
});

async function serve(
  http2: true | "h2c",
  versions: string[] = [],
  options: web.AppRunnerOptions = {},
): Promise<{ runner: web.AppRunner; port: number }> {
  return serveApp(http2, await makeHttp2App(versions), options);
}

/** Serves `app` over HTTP/2 (TLS with the test certificate, or h2c) on a free port. */
async function serveApp(
  http2: true | "h2c",
  app: web.Application,
  options: web.AppRunnerOptions = {},
): Promise<{ runner: web.AppRunner; port: number }> {
  const runner = new web.AppRunner(app, { accessLog: null, ...options });
  await runner.setup();
  runners.push(runner);
  const ssl = http2 === true ? { key: tls.server.key, cert: tls.server.cert } : undefined;
  const site = new web.TCPSite(runner, "127.0.0.1", 0, { http2, ...(ssl ? { ssl } : {}) });
  await site.start();
  return { runner, port: site.port };
}

function open(http2: true | "h2c", port: number): ClientHttp2Session {
  const session =
    http2 === true
      ? connect(`https://localhost:${port}`, { ca: tls.ca })
      : connect(`http://127.0.0.1:${port}`);
  sessions.push(session);
  return session;
}

describe.each([true, "h2c"] as const)("http2: %s", (mode) => {
  it("serves a Response through the middleware, with version 2.0", async () => {
    const versions: string[] = [];
    const { port } = await serve(mode, versions);
    const reply = await h2(open(mode, port), "/");
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("hello");
    expect(reply.headers["x-middleware"]).toBe("ran");
    expect(versions).toEqual(["2.0"]);
  });

  it("takes the host from :authority, the scheme and peer from the connection", async () => {
    const { port } = await serve(mode);
    const reply = await h2(open(mode, port), "/host");
    expect(reply.body).toBe(
      mode === true ? `https://localhost:${port} 127.0.0.1` : `http://127.0.0.1:${port} 127.0.0.1`,
    );
  });

  it("serves JSON, a stream of chunks, a file range and an event stream", async () => {
    const { port } = await serve(mode);
    const session = open(mode, port);
    const [json, stream, range, events] = await Promise.all([
      h2(session, "/json"),
      h2(session, "/stream"),
      h2(session, "/file", { range: "bytes=2-5" }),
      h2(session, "/events"),
    ]);
    expect(JSON.parse(json.body)).toEqual({ ok: true });
    expect(json.headers["content-type"]).toMatch(/^application\/json/);
    expect(stream.body).toBe("one,two,three");
    expect(range.status).toBe(206);
    expect(range.body).toBe(FILE_TEXT.slice(2, 6));
    expect(range.headers["content-range"]).toBe(`bytes 2-5/${FILE_TEXT.length}`);
    expect(events.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(events.body).toContain("data: first\r\n\r\n");
    expect(events.body).toContain("event: update\r\ndata: second\r\n\r\n");
  });

  it("answers 404 for an unknown path, and the session goes on", async () => {
    const { port } = await serve(mode);
    const session = open(mode, port);
    expect((await h2(session, "/nope")).status).toBe(404);
    expect((await h2(session, "/")).body).toBe("hello");
  });

  it("refuses a body over clientMaxSize with 413", async () => {
    const { port } = await serve(mode);
    const session = open(mode, port);
    const reply = await h2(session, "/echo", { ":method": "POST" }, "x".repeat(4096));
    expect(reply.status).toBe(413);
    const small = await h2(session, "/echo", { ":method": "POST" }, "small");
    expect(small.body).toBe("small");
  });

  it("refuses a header longer than maxFieldSize with 431, and the session goes on", async () => {
    const { port } = await serve(mode, [], { maxFieldSize: 100 });
    const session = open(mode, port);
    expect((await h2(session, "/", { "x-long": "y".repeat(200) })).status).toBe(431);
    expect((await h2(session, "/")).status).toBe(200);
  });

  it("counts header fields against maxHeaders without the pseudo-headers, 431 past it", async () => {
    const { port } = await serve(mode, [], { maxHeaders: 4 });
    const session = open(mode, port);
    const fields = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-f${i}`, "1"]));
    // Four fields besides :method, :path, :scheme and :authority: within the limit.
    expect((await h2(session, "/", fields(4))).status).toBe(200);
    expect((await h2(session, "/", fields(5))).status).toBe(431);
    expect((await h2(session, "/")).status).toBe(200);
  });

  it("bounds :authority by maxFieldSize, as the Host it stands for", async () => {
    const { port } = await serve(mode, [], { maxFieldSize: 100 });
    const session = open(mode, port);
    const long = `${"a".repeat(120)}.example`;
    expect((await h2(session, "/", { ":authority": long })).status).toBe(431);
    expect((await h2(session, "/", { ":authority": "short.example" })).status).toBe(200);
  });

  it("bounds the method and :path by maxLineSize, 414 past it", async () => {
    const { port } = await serve(mode, [], { maxLineSize: 100 });
    const session = open(mode, port);
    expect((await h2(session, `/?q=${"x".repeat(200)}`)).status).toBe(414);
    expect((await h2(session, "/?q=short")).status).toBe(200);
  });

  it("answers Expect: 100-continue and reads the body", async () => {
    const { port } = await serve(mode);
    const session = open(mode, port);
    const stream = session.request({
      ":method": "POST",
      ":path": "/echo",
      expect: "100-continue",
    });
    await once(stream, "continue");
    stream.end("after continue");
    const [head] = (await once(stream, "response")) as [Record<string, string>];
    let text = "";
    stream.setEncoding("utf8");
    for await (const chunk of stream) text += chunk as string;
    expect(head[":status"]).toBe(200);
    expect(text).toBe("after continue");
  });

  it("answers an expectation other than 100-continue with 417", async () => {
    const { port } = await serve(mode);
    const session = open(mode, port);
    const stream = session.request({ ":method": "POST", ":path": "/echo", expect: "x-other" });
    const [head] = (await once(stream, "response")) as [Record<string, string>];
    stream.destroy();
    expect(head[":status"]).toBe(417);
    // Without the field, the same request is served.
    expect((await h2(session, "/echo", { ":method": "POST" })).status).toBe(200);
  });

  it("closes a session idle for keepaliveTimeout", async () => {
    const { port } = await serve(mode, [], { keepaliveTimeout: 100 });
    const session = open(mode, port);
    expect((await h2(session, "/")).status).toBe(200);
    const [code] = (await once(session, "goaway")) as [number];
    expect(code).toBe(constants.NGHTTP2_NO_ERROR);
    await once(session, "close");
  });

  it("closes a session that sends only PINGs after keepaliveTimeout", async () => {
    const { port } = await serve(mode, [], { keepaliveTimeout: 100 });
    const session = open(mode, port);
    expect((await h2(session, "/")).status).toBe(200);
    // Frames without streams are not requests: they must not keep the connection for ever.
    let pings = 0;
    const pinger = setInterval(() => {
      if (!session.closed && !session.destroyed) session.ping(() => pings++);
    }, 10);
    try {
      const [code] = (await once(session, "goaway")) as [number];
      expect(code).toBe(constants.NGHTTP2_NO_ERROR);
      expect(pings).toBeGreaterThan(3);
    } finally {
      clearInterval(pinger);
    }
  });

  it("aborts request.signal when the client resets the stream, and the session goes on", async () => {
    const aborted = deferred();
    const app = await makeHttp2App();
    app.router.addGet("/wait", async (request) => {
      request.signal.addEventListener("abort", () => aborted.resolve());
      await aborted.promise;
      return new web.Response({ text: "late" });
    });
    const { runner, port } = await serveApp(mode, app);
    const session = open(mode, port);
    const stream = session.request({ ":path": "/wait" });
    stream.on("error", () => {});
    // The server has the stream once its headers went out and the session is acknowledged.
    await once(stream, "ready");
    await expect.poll(() => runner.server.inFlight).toBe(1);
    stream.close(constants.NGHTTP2_CANCEL);
    await aborted.promise;
    expect((await h2(session, "/")).body).toBe("hello");
  });

  it("leaves out the headers HTTP/2 forbids", async () => {
    const { port } = await serve(mode);
    const reply = await h2(open(mode, port), "/hop");
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("hop");
    for (const name of ["connection", "keep-alive", "upgrade", "transfer-encoding"]) {
      expect(reply.headers[name]).toBeUndefined();
    }
  });

  it("sends GOAWAY on shutdown and lets an in-flight stream finish", async () => {
    const started = deferred();
    const release = deferred();
    const app = await makeHttp2App();
    app.router.addGet("/slow", async () => {
      started.resolve();
      await release.promise;
      return new web.Response({ text: "finished" });
    });
    const { runner, port } = await serveApp(mode, app);
    const session = open(mode, port);
    const goaway = once(session, "goaway");
    const slow = h2(session, "/slow");
    await started.promise;
    const cleanup = runner.cleanup();
    const [code] = (await goaway) as [number];
    expect(code).toBe(constants.NGHTTP2_NO_ERROR);
    release.resolve();
    const reply = await slow;
    expect(reply.body).toBe("finished");
    await cleanup;
  });
});

describe.each([true, "h2c"] as const)(
  "http2: %s, answered on the stream as node:http would",
  (mode) => {
    it("sends a HEAD answer and a 204 without their bodies, and the session goes on", async () => {
      const app = await makeHttp2App();
      app.router.addGet("/empty", () => new web.Response({ status: 204, text: "dropped" }));
      const { port } = await serveApp(mode, app);
      const session = open(mode, port);
      const head = await h2(session, "/json", { ":method": "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers["content-length"]).toBe(String(JSON.stringify({ ok: true }).length));
      expect(head.body).toBe("");
      const empty = await h2(session, "/empty");
      expect(empty.status).toBe(204);
      expect(empty.body).toBe("");
      expect((await h2(session, "/")).body).toBe("hello");
    });

    it("sends repeated headers each, and answers 500 for a header value with CR/LF", async () => {
      const app = await makeHttp2App();
      app.router.addGet("/cookies", () => {
        const response = new web.Response({ text: "two" });
        response.setCookie("a", "1");
        response.setCookie("b", "2");
        return response;
      });
      app.router.addGet(
        "/split",
        () => new web.Response({ text: "no", headers: { "X-Split": "a\r\nx-injected: yes" } }),
      );
      const errors: string[] = [];
      const { port } = await serveApp(mode, app, {
        logger: { error: (message: string) => errors.push(message) },
      });
      const session = open(mode, port);
      const cookies = await h2(session, "/cookies");
      expect(cookies.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2; Path=/"]);
      const split = await h2(session, "/split");
      expect(split.status).toBe(500);
      expect(split.headers["x-injected"]).toBeUndefined();
      expect(errors).toEqual(["Error preparing response to GET /split"]);
      expect((await h2(session, "/")).body).toBe("hello");
    });

    it("sends the head of a response nobody touched as over HTTP/1.1, Server and Date included", async () => {
      // No middleware: these heads take the short way (no header multidict, no flat list).
      const app = new web.Application();
      app.router.addGet("/plain", () => new web.Response({ text: "plain" }));
      app.router.addGet("/bytes", () => new web.Response({ body: Buffer.from("raw") }));
      app.router.addGet("/nothing", () => new web.Response());
      app.router.addGet("/gone", () => new web.Response({ status: 204 }));
      app.router.addGet(
        "/split",
        () => new web.Response({ text: "no", contentType: "text/plain\r\nx-injected: yes" }),
      );
      const errors: string[] = [];
      const { port } = await serveApp(mode, app, {
        logger: { error: (message: string) => errors.push(message) },
      });
      const session = open(mode, port);
      const before = Date.now();
      const plain = await h2(session, "/plain");
      expect(plain.body).toBe("plain");
      expect(plain.headers["content-type"]).toBe("text/plain; charset=utf-8");
      expect(plain.headers["content-length"]).toBe("5");
      expect(plain.headers.server).toMatch(/^aiohttp-ts\//);
      const sent = Date.parse(plain.headers.date as string);
      expect(sent).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(sent).toBeLessThanOrEqual(Date.now());
      const bytes = await h2(session, "/bytes");
      expect(bytes.headers["content-type"]).toBe("application/octet-stream");
      expect(bytes.body).toBe("raw");
      const nothing = await h2(session, "/nothing");
      expect(nothing.headers["content-type"]).toBeUndefined();
      expect(nothing.headers["content-length"]).toBe("0");
      const gone = await h2(session, "/gone");
      expect(gone.status).toBe(204);
      expect(gone.headers["content-length"]).toBeUndefined();
      expect(typeof gone.headers.date).toBe("string");
      const head = await h2(session, "/plain", { ":method": "HEAD" });
      expect(head.headers["content-length"]).toBe("5");
      expect(head.body).toBe("");
      const split = await h2(session, "/split");
      expect(split.status).toBe(500);
      expect(split.headers["x-injected"]).toBeUndefined();
      expect(errors).toEqual(["Error preparing response to GET /split"]);
    });

    it("sends a Date that moves on with the clock, also under a test's fake setTimeout", async () => {
      const app = new web.Application();
      app.router.addGet("/plain", () => new web.Response({ text: "plain" }));
      const { port } = await serveApp(mode, app);
      const session = open(mode, port);
      const first = (await h2(session, "/plain")).headers.date as string;
      vi.useFakeTimers({ toFake: ["setTimeout"] });
      const date = async (): Promise<unknown> => (await h2(session, "/plain")).headers.date;
      try {
        // The cached Date is forgotten at the next second by a timer fake ones do not stop:
        // twice, the second timer set while they are installed.
        await expect.poll(date, { timeout: 3000, interval: 50 }).not.toBe(first);
        const second = await date();
        await expect.poll(date, { timeout: 3000, interval: 50 }).not.toBe(second);
      } finally {
        vi.useRealTimers();
      }
    });

    it("gives rawHeaders as sent without pseudo-headers, Host from :authority first when absent", async () => {
      const app = new web.Application();
      app.router.addGet("/raw", (request) =>
        web.jsonResponse({ raw: request.rawHeaders, remote: request.remote }),
      );
      const { port } = await serveApp(mode, app);
      const session = open(mode, port);
      const authority = mode === true ? `localhost:${port}` : `127.0.0.1:${port}`;
      const without = await h2(session, "/raw", { "x-a": "1", "x-b": "2" });
      expect(JSON.parse(without.body)).toEqual({
        raw: ["host", authority, "x-a", "1", "x-b", "2"],
        remote: "127.0.0.1",
      });
      const given = await h2(session, "/raw", { "x-a": "1", host: authority });
      expect(JSON.parse(given.body).raw).toEqual(["x-a", "1", "host", authority]);
    });

    it("reads a gzip body from the stream, and a reset in the middle fails the read", async () => {
      const failed = deferred<unknown>();
      const app = await makeHttp2App();
      app.router.addPost("/gunzip", async (request) => {
        try {
          return new web.Response({ text: await request.text() });
        } catch (err) {
          failed.resolve(err);
          throw err;
        }
      });
      const { runner, port } = await serveApp(mode, app);
      const session = open(mode, port);
      const whole = session.request({
        ":path": "/gunzip",
        ":method": "POST",
        "content-encoding": "gzip",
      });
      whole.end(gzipSync("unzipped over h2"));
      const [head] = (await once(whole, "response")) as [Record<string, string>];
      let text = "";
      for await (const chunk of whole) text += String(chunk);
      expect(head[":status"]).toBe(200);
      expect(text).toBe("unzipped over h2");

      const cut = session.request({
        ":path": "/gunzip",
        ":method": "POST",
        "content-encoding": "gzip",
      });
      cut.on("error", () => {});
      cut.write(gzipSync("x".repeat(100_000)).subarray(0, 200));
      await expect.poll(() => runner.server.inFlight).toBe(1);
      cut.close(constants.NGHTTP2_CANCEL);
      expect(await failed.promise).toBeInstanceOf(Error);
      await expect.poll(() => runner.server.inFlight).toBe(0);
      expect((await h2(session, "/")).body).toBe("hello");
    });

    it("refuses CONNECT with 405", async () => {
      const { port } = await serve(mode);
      const session = open(mode, port);
      const stream = session.request({ ":method": "CONNECT", ":authority": "example.com:443" });
      const [head] = (await once(stream, "response")) as [Record<string, string>];
      expect(Number(head[":status"])).toBe(405);
      stream.destroy();
      expect((await h2(session, "/")).body).toBe("hello");
    });
  },
);

describe("http2: true over TLS", () => {
  it("serves HTTP/1.1 to a client that does not offer h2", async () => {
    const versions: string[] = [];
    const { port } = await serve(true, versions);
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        { host: "127.0.0.1", port, path: "/", ca: tls.ca, servername: "localhost" },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => resolve(text));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(body).toBe("hello");
    expect(versions).toEqual(["1.1"]);
  });

  it("opens a wss:// WebSocket on the same port", async () => {
    const { port } = await serve(true);
    const ws = new WebSocket(`wss://localhost:${port}/ws`, { ca: tls.ca });
    await once(ws, "open");
    ws.send("hi");
    const [data] = (await once(ws, "message")) as [Buffer];
    expect(data.toString()).toBe("echo hi");
    ws.close();
    await once(ws, "close");
  });

  it("our own ClientSession with http2 speaks h2 to it, several requests on one connection", async () => {
    const versions: string[] = [];
    const { port } = await serve(true, versions);
    const connected: unknown[] = [];
    const onConnected = (message: unknown): void => {
      connected.push(message);
    };
    subscribe("undici:client:connected", onConnected);
    try {
      await using session = new ClientSession({ http2: true, ssl: { ca: tls.ca } });
      const responses = await Promise.all(
        ["/", "/json", "/stream", "/"].map((path) =>
          session.get(`https://localhost:${port}${path}`),
        ),
      );
      const bodies = await Promise.all(responses.map((r) => r.text()));
      expect(responses.map((r) => r.version)).toEqual(Array(4).fill({ major: 2, minor: 0 }));
      expect(bodies).toEqual(["hello", '{"ok":true}', "one,two,three", "hello"]);
      expect(responses[0]?.headers.get("X-Middleware")).toBe("ran");
    } finally {
      unsubscribe("undici:client:connected", onConnected);
    }
    expect(versions).toEqual(["2.0", "2.0", "2.0", "2.0"]);
    expect(connected).toHaveLength(1);
  });

  it("runApp serves HTTP/2 with { ssl, http2: true }", async () => {
    const ac = new AbortController();
    let banner = "";
    const running = web.runApp(makeHttp2App(), {
      host: "127.0.0.1",
      port: 0,
      ssl: { key: tls.server.key, cert: tls.server.cert },
      http2: true,
      accessLog: null,
      handleSignals: false,
      signal: ac.signal,
      print: (m) => {
        banner = m;
      },
    });
    await vi.waitFor(() => expect(banner).toContain("https://"));
    const session = open(true, bannerPort(banner));
    expect((await h2(session, "/")).body).toBe("hello");
    ac.abort();
    await running;
  });

  it("refuses http2: true without ssl", async () => {
    const runner = new web.AppRunner(await makeHttp2App(), { accessLog: null });
    await runner.setup();
    runners.push(runner);
    const site = new web.TCPSite(runner, "127.0.0.1", 0, { http2: true });
    await expect(site.start()).rejects.toThrow(/needs `ssl`/);
  });
});

afterAll(async () => {
  await tls?.remove();
});
