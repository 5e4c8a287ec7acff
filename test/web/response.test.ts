// Tests of web.Response, web.StreamResponse and web.jsonResponse on the wire: status line,
// headers, chunked streaming with backpressure, cookies, bodiless statuses, header injection,
// compression and the onResponsePrepare signal.
import { once } from "node:events";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { CIMultiDict, web } from "../../src/index.js";
import {
  appWith,
  dechunk,
  getRequest,
  httpSend,
  type RawReply,
  rawExchange,
  useTestClients,
} from "../helpers.js";

const serve = useTestClients();

/** The value of the first header line named `name` (case-insensitive), or undefined. */
function header(reply: RawReply, name: string): string | undefined {
  const prefix = `${name.toLowerCase()}:`;
  const line = reply.headerLines.find((l) => l.toLowerCase().startsWith(prefix));
  return line?.slice(prefix.length).trim();
}

describe("web.Response", () => {
  it("text is sent as UTF-8 text/plain with a Content-Length", async () => {
    const client = await serve(appWith(() => new web.Response({ text: "héllo" })));
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
    expect(header(reply, "Content-Type")).toBe("text/plain; charset=utf-8");
    expect(header(reply, "Content-Length")).toBe(String(Buffer.byteLength("héllo")));
    expect(Buffer.from(reply.rest, "latin1").toString("utf8")).toBe("héllo");
  });

  it("body bytes are sent as application/octet-stream", async () => {
    const bytes = Buffer.from([0, 1, 2, 255]);
    const client = await serve(appWith(() => new web.Response({ body: bytes })));
    const resp = await httpSend(client.server.port, "/");
    expect(resp.headers["content-type"]).toBe("application/octet-stream");
    expect(resp.headers["content-length"]).toBe("4");
    expect([...resp.bytes]).toEqual([...bytes]);
  });

  it("status and reason set the status line", async () => {
    const client = await serve(
      appWith(() => new web.Response({ status: 201, reason: "Made It", text: "x" })),
    );
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(reply.statusLine).toBe("HTTP/1.1 201 Made It");
  });

  it("the reason defaults to the standard phrase of the status", async () => {
    const client = await serve(appWith(() => new web.Response({ status: 418 })));
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(reply.statusLine).toBe("HTTP/1.1 418 I'm a Teapot");
  });

  it("headers are sent, repeated ones included", async () => {
    const client = await serve(
      appWith(
        () =>
          new web.Response({
            text: "x",
            headers: [
              ["X-One", "1"],
              ["X-Rep", "a"],
              ["X-Rep", "b"],
            ],
          }),
      ),
    );
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(header(reply, "X-One")).toBe("1");
    expect(reply.headerLines.filter((l) => l.toLowerCase().startsWith("x-rep:"))).toEqual([
      "X-Rep: a",
      "X-Rep: b",
    ]);
  });

  it("contentType applies to a text body, with the charset", async () => {
    const client = await serve(
      appWith(() => new web.Response({ text: "<p>hi</p>", contentType: "text/html" })),
    );
    const resp = await client.get("/");
    expect(resp.headers.get("content-type")).toBe("text/html; charset=utf-8");
  });

  it("charset encodes the text body", async () => {
    const client = await serve(
      appWith(() => new web.Response({ text: "café", charset: "latin1" })),
    );
    const resp = await httpSend(client.server.port, "/");
    expect(resp.headers["content-type"]).toBe("text/plain; charset=latin1");
    expect([...resp.bytes]).toEqual([...Buffer.from("café", "latin1")]);
  });

  it("contentType and charset apply to a bytes body", async () => {
    const client = await serve(
      appWith(
        () =>
          new web.Response({ body: Buffer.from("a,b"), contentType: "text/csv", charset: "utf-8" }),
      ),
    );
    const resp = await client.get("/");
    expect(resp.headers.get("content-type")).toBe("text/csv; charset=utf-8");
  });

  it("sends its body when the handler prepared it before returning", async () => {
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.Response({ text: "prepared early" });
        await resp.prepare(request);
        return resp;
      }),
    );
    const reply = await rawExchange(client.server.port, getRequest("/"), { timeoutMs: 1500 });
    expect(header(reply, "Content-Length")).toBe("14");
    expect(reply.rest).toBe("prepared early");
  });

  it("takes body or text, not both", () => {
    expect(() => new web.Response({ body: "a", text: "b" })).toThrow(TypeError);
  });

  it("rejects a charset inside contentType when text is given", () => {
    expect(() => new web.Response({ text: "a", contentType: "text/plain; charset=utf-8" })).toThrow(
      /charset/,
    );
  });

  it("rejects an invalid status", () => {
    expect(() => new web.Response({ status: 42 })).toThrow(RangeError);
  });

  it("exposes status, reason, text, body, contentType and charset before sending", () => {
    const resp = new web.Response({ text: "abc", status: 202, contentType: "text/markdown" });
    expect(resp.status).toBe(202);
    expect(resp.reason).toBe("Accepted");
    expect(resp.text).toBe("abc");
    expect(resp.body?.toString()).toBe("abc");
    expect(resp.contentType).toBe("text/markdown");
    expect(resp.charset).toBe("utf-8");
  });

  it("sets Date and Server headers", async () => {
    const client = await serve(appWith(() => new web.Response({ text: "x" })));
    const reply = await rawExchange(client.server.port, getRequest("/"));
    const date = header(reply, "Date");
    expect(date).toBeDefined();
    expect(Math.abs(Date.parse(date as string) - Date.now())).toBeLessThan(5000);
    expect(header(reply, "Server")).toMatch(/^aiohttp-ts\//);
  });

  it("a Server header set by the handler wins", async () => {
    const client = await serve(
      appWith(() => new web.Response({ text: "x", headers: { Server: "mine" } })),
    );
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(reply.headerLines.filter((l) => l.toLowerCase().startsWith("server:"))).toEqual([
      "Server: mine",
    ]);
  });
});

describe("web.jsonResponse", () => {
  it("serialises data as application/json", async () => {
    const client = await serve(appWith(() => web.jsonResponse({ a: [1, "b"], c: null })));
    const resp = await client.get("/");
    expect(resp.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await resp.json()).toEqual({ a: [1, "b"], c: null });
  });

  it("takes status and headers", async () => {
    const client = await serve(
      appWith(() => web.jsonResponse({ ok: false }, { status: 422, headers: { "X-Req": "7" } })),
    );
    const resp = await client.get("/");
    expect(resp.status).toBe(422);
    expect(resp.headers.get("x-req")).toBe("7");
  });

  it("uses a custom dumps", async () => {
    const dumps = vi.fn((data: unknown) => JSON.stringify(data, null, 2));
    const client = await serve(appWith(() => web.jsonResponse({ a: 1 }, { dumps })));
    const resp = await client.get("/");
    expect(await resp.text()).toBe('{\n  "a": 1\n}');
    expect(dumps).toHaveBeenCalledTimes(1);
  });

  it("rejects data JSON cannot represent", () => {
    expect(() => web.jsonResponse(undefined)).toThrow(TypeError);
  });
});

describe("web.StreamResponse", () => {
  it("streams with chunked encoding when there is no length", async () => {
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse();
        resp.contentType = "text/plain";
        await resp.prepare(request);
        await resp.write("hello");
        await resp.write(Buffer.from(" world"));
        await resp.writeEof();
        return resp;
      }),
    );
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(header(reply, "Transfer-Encoding")).toBe("chunked");
    expect(header(reply, "Content-Length")).toBeUndefined();
    expect(dechunk(reply.rest)).toEqual({ data: Buffer.from("hello world"), complete: true });
  });

  it("sends a Content-Length body unchunked when the length is set", async () => {
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse();
        resp.contentLength = 6;
        await resp.prepare(request);
        await resp.write("abc");
        await resp.writeEof("def");
        return resp;
      }),
    );
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(header(reply, "Content-Length")).toBe("6");
    expect(header(reply, "Transfer-Encoding")).toBeUndefined();
    expect(reply.rest).toBe("abcdef");
  });

  it("finishes the body when the handler returns without writeEof", async () => {
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse();
        await resp.prepare(request);
        await resp.write("partial");
        return resp;
      }),
    );
    const resp = await client.get("/");
    expect(await resp.text()).toBe("partial");
  });

  it("write before prepare is an error", async () => {
    const resp = new web.StreamResponse();
    await expect(resp.write("x")).rejects.toThrow(/prepare/);
  });

  it("write after writeEof is an error", async () => {
    let error: unknown;
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse();
        await resp.prepare(request);
        await resp.writeEof("done");
        error = await resp.write("more").catch((err: unknown) => err);
        return resp;
      }),
    );
    expect(await (await client.get("/")).text()).toBe("done");
    expect(error).toBeInstanceOf(Error);
  });

  it("write waits while the client does not read, keeping the queued bytes bounded", async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    const total = 512; // 32 MiB: far more than socket buffers hold
    let written = 0;
    let maxQueued = 0;
    let finished!: () => void;
    const handlerDone = new Promise<void>((r) => {
      finished = r;
    });
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse();
        resp.contentLength = chunk.length * total;
        await resp.prepare(request);
        for (let i = 0; i < total; i++) {
          await resp.write(chunk);
          written++;
          maxQueued = Math.max(maxQueued, request.rawResponse.writableLength);
        }
        await resp.writeEof();
        finished();
        return resp;
      }),
    );
    const sock = connect(client.server.port, "127.0.0.1");
    sock.on("error", () => {});
    await once(sock, "connect");
    sock.pause();
    sock.write(getRequest("/"));
    await vi.waitFor(() => expect(written).toBeGreaterThan(0));
    // Writes that did not wait would all be done within a moment of the first.
    await sleep(300);
    // Socket buffers took some chunks; the rest of the writes are still waiting. (A check that
    // `written` then stood still for 100 ms more could fail on a busy machine that had not
    // filled the socket buffers yet; these bounds show the waiting without it.)
    expect(written).toBeLessThan(total);
    expect(maxQueued).toBeLessThan(1024 * 1024);

    let received = 0;
    sock.on("data", (c: Buffer) => {
      received += c.length;
    });
    const closed = once(sock, "close");
    sock.resume();
    await handlerDone;
    await closed;
    expect(written).toBe(total);
    expect(received).toBeGreaterThan(chunk.length * total);
    expect(maxQueued).toBeLessThan(1024 * 1024);
  });

  it("write rejects with ClientDisconnectedError once the client is gone", async () => {
    let error: unknown;
    let done!: () => void;
    const handlerDone = new Promise<void>((r) => {
      done = r;
    });
    let started!: () => void;
    const handlerStarted = new Promise<void>((r) => {
      started = r;
    });
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse();
        await resp.prepare(request);
        started();
        try {
          for (let i = 0; i < 10_000; i++) await resp.write(Buffer.alloc(64 * 1024));
        } catch (err) {
          error = err;
        }
        done();
        return resp;
      }),
    );
    const sock = connect(client.server.port, "127.0.0.1");
    sock.on("error", () => {});
    await once(sock, "connect");
    sock.pause();
    sock.write(getRequest("/"));
    await handlerStarted;
    await sleep(50);
    sock.destroy();
    await handlerDone;
    expect(error).toBeInstanceOf(web.ClientDisconnectedError);
  });
});

describe("headers before and after prepare", () => {
  it("a middleware can set a header after the handler returned", async () => {
    const app = appWith(() => new web.Response({ text: "x" }), {
      middlewares: [
        async (request, handler) => {
          const resp = await handler(request);
          resp.headers.set("X-After", "from-middleware");
          return resp;
        },
      ],
    });
    const client = await serve(app);
    const resp = await client.get("/");
    expect(resp.headers.get("x-after")).toBe("from-middleware");
  });

  it("headers are a mutable CIMultiDict before prepare", () => {
    const resp = new web.StreamResponse();
    expect(resp.headers).toBeInstanceOf(CIMultiDict);
    resp.headers.set("x-a", "1");
    expect(resp.headers.get("X-A")).toBe("1");
  });

  it("after prepare changes are ignored, as in aiohttp, and the headers read as sent", async () => {
    const outcome: Record<string, unknown> = {};
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse({ headers: { "X-Before": "1" } });
        await resp.prepare(request);
        outcome.set = resp.headers.set("X-Late", "1") === resp.headers;
        resp.headers.add("X-Late", "1");
        outcome.delete = resp.headers.delete("X-Before");
        outcome.popOne = resp.headers.popOne("X-Before");
        resp.headers.extend({ "X-Late": "1" });
        resp.headers.update({ "X-Before": "2" });
        resp.headers.clear();
        resp.contentType = "text/html";
        resp.charset = "latin1";
        resp.contentLength = 4;
        resp.setCookie("a", "b");
        resp.delCookie("c");
        resp.enableCompression();
        resp.enableChunkedEncoding();
        outcome.readable = resp.headers.get("x-before");
        outcome.late = resp.headers.get("x-late") ?? null;
        outcome.contentType = resp.contentType;
        outcome.cookies = [...resp.cookies.keys()];
        outcome.compression = resp.compression;
        await resp.writeEof("body");
        return resp;
      }),
    );
    const resp = await client.get("/");
    expect(resp.status).toBe(200);
    expect(await resp.text()).toBe("body");
    expect(resp.headers.get("x-before")).toBe("1");
    expect(resp.headers.get("set-cookie")).toBeUndefined();
    expect(resp.headers.get("x-late")).toBeUndefined();
    expect(resp.headers.get("content-encoding")).toBeUndefined();
    expect(outcome).toEqual({
      set: true,
      delete: false,
      popOne: undefined,
      readable: "1",
      late: null,
      contentType: "application/octet-stream",
      cookies: [],
      compression: false,
    });
  });

  it("setStatus after prepare still throws, as in aiohttp", async () => {
    let error: unknown;
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse();
        await resp.prepare(request);
        try {
          resp.setStatus(500);
        } catch (err) {
          error = err;
        }
        return resp;
      }),
    );
    expect((await client.get("/")).status).toBe(200);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toMatch(/already prepared/);
  });

  it("onResponsePrepare can add headers", async () => {
    const app = appWith(() => new web.Response({ text: "x" }));
    app.onResponsePrepare.push((request, response) => {
      response.headers.set("X-Prepared", request.method);
    });
    const client = await serve(app);
    const resp = await client.get("/");
    expect(resp.headers.get("x-prepared")).toBe("GET");
  });

  it("every onResponsePrepare callback can change headers, async ones included", async () => {
    const app = appWith(() => new web.Response({ text: "x" }));
    app.onResponsePrepare.push(
      (_request, response) => {
        response.headers.set("X-First", "1");
      },
      async (_request, response) => {
        await sleep(1);
        response.headers.set("X-Second", "2");
        response.contentType = "text/html";
      },
    );
    const client = await serve(app);
    const resp = await client.get("/");
    expect(resp.status).toBe(200);
    expect(resp.headers.get("x-first")).toBe("1");
    expect(resp.headers.get("x-second")).toBe("2");
    expect(resp.headers.get("content-type")).toMatch(/^text\/html/);
  });

  it("a sub-application's onResponsePrepare runs after the parent's, both can set headers", async () => {
    const order: string[] = [];
    const sub = new web.Application();
    sub.router.addGet("/{x}", () => new web.Response({ text: "sub" }));
    sub.onResponsePrepare.push((_r, response) => {
      order.push("sub");
      response.headers.set("X-Sub", "1");
    });
    const app = new web.Application();
    app.onResponsePrepare.push((_r, response) => {
      order.push("root");
      response.headers.set("X-Root", "1");
    });
    app.addSubapp("/s/", sub);
    const client = await serve(app);
    const resp = await client.get("/s/x");
    expect(await resp.text()).toBe("sub");
    expect(resp.headers.get("x-root")).toBe("1");
    expect(resp.headers.get("x-sub")).toBe("1");
    expect(order).toEqual(["root", "sub"]);
  });

  it("onResponsePrepare runs for StreamResponses too", async () => {
    const app = appWith(async (request) => {
      const resp = new web.StreamResponse();
      await resp.prepare(request);
      await resp.writeEof("s");
      return resp;
    });
    app.onResponsePrepare.push((_request, response) => {
      response.headers.add("X-Seen", "yes");
    });
    const client = await serve(app);
    expect((await client.get("/")).headers.get("x-seen")).toBe("yes");
  });
});

describe("header injection", () => {
  it("a header value with CR/LF gives a 500 and the bad header is never sent", async () => {
    const error = vi.fn();
    const app = appWith(
      () => new web.Response({ text: "secret body", headers: { "X-Bad": "a\r\nInjected: yes" } }),
      { logger: { error } },
    );
    const client = await serve(app);
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(reply.statusLine).toMatch(/^HTTP\/1\.1 500 /);
    expect(reply.raw).not.toContain("Injected");
    expect(reply.raw).not.toContain("X-Bad");
    expect(reply.raw).not.toContain("secret body");
    expect(error).toHaveBeenCalledTimes(1);
  });

  it("a bare LF in a header value is refused as well", async () => {
    const app = appWith(() => new web.Response({ headers: { "X-Bad": "a\nb" } }), {
      logger: { error: () => {} },
    });
    const client = await serve(app);
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(reply.statusLine).toMatch(/ 500 /);
    expect(reply.raw).not.toContain("X-Bad");
  });

  it("prepare() of a StreamResponse with a CR/LF header throws InvalidHeaderError", async () => {
    let error: unknown;
    const app = appWith(
      async (request) => {
        const resp = new web.StreamResponse({ headers: { "X-Bad": "v\r\nSet-Cookie: x=1" } });
        try {
          await resp.prepare(request);
        } catch (err) {
          error = err;
          throw err;
        }
        return resp;
      },
      { logger: { error: () => {} } },
    );
    const client = await serve(app);
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(error).toBeInstanceOf(web.InvalidHeaderError);
    expect(reply.statusLine).toMatch(/ 500 /);
    expect(reply.raw).not.toContain("x=1");
  });

  it("an invalid header name is refused", async () => {
    const app = appWith(() => new web.Response({ headers: { "Bad Name": "v" } }), {
      logger: { error: () => {} },
    });
    const client = await serve(app);
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(reply.statusLine).toMatch(/ 500 /);
    expect(reply.raw).not.toContain("Bad Name");
  });
});

describe("cookies", () => {
  it("setCookie sends every attribute", async () => {
    const expires = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));
    const client = await serve(
      appWith(() => {
        const resp = new web.Response({ text: "x" });
        resp.setCookie("session", "abc", {
          expires,
          domain: "example.com",
          maxAge: 3600,
          path: "/app",
          secure: true,
          httpOnly: true,
          sameSite: "Strict",
        });
        return resp;
      }),
    );
    const resp = await client.get("/");
    const cookies = resp.headers.getAll("set-cookie");
    expect(cookies).toHaveLength(1);
    const parts = (cookies[0] as string).split("; ");
    expect(parts[0]).toBe("session=abc");
    expect(parts.slice(1).sort()).toEqual(
      [
        "Domain=example.com",
        "Expires=Wed, 02 Jan 2030 03:04:05 GMT",
        "HttpOnly",
        "Max-Age=3600",
        "Path=/app",
        "SameSite=Strict",
        "Secure",
      ].sort(),
    );
  });

  it("setCookie defaults the path to /", async () => {
    const client = await serve(
      appWith(() => {
        const resp = new web.Response();
        resp.setCookie("a", "1");
        return resp;
      }),
    );
    expect((await client.get("/")).headers.getAll("set-cookie")).toEqual(["a=1; Path=/"]);
  });

  it("setting a cookie twice replaces it, different cookies are separate headers", async () => {
    const client = await serve(
      appWith(() => {
        const resp = new web.Response();
        resp.setCookie("a", "1");
        resp.setCookie("b", "2");
        resp.setCookie("a", "3", { sameSite: "lax" });
        return resp;
      }),
    );
    expect((await client.get("/")).headers.getAll("set-cookie")).toEqual([
      "a=3; Path=/; SameSite=Lax",
      "b=2; Path=/",
    ]);
  });

  it("delCookie sends an expired empty cookie", async () => {
    const client = await serve(
      appWith(() => {
        const resp = new web.Response();
        resp.delCookie("session", { domain: "example.com", path: "/app" });
        return resp;
      }),
    );
    const [cookie] = (await client.get("/")).headers.getAll("set-cookie");
    const parts = (cookie as string).split("; ");
    expect(parts[0]).toBe("session=");
    expect(parts).toContain("Max-Age=0");
    expect(parts).toContain("Domain=example.com");
    expect(parts).toContain("Path=/app");
    expect(parts).toContain("Expires=Thu, 01 Jan 1970 00:00:00 GMT");
  });

  it("a cookie name that cannot be sent is refused with InvalidHeaderError", () => {
    const resp = new web.Response();
    expect(() => resp.setCookie("bad name", "v")).toThrow(web.InvalidHeaderError);
  });
});

describe("connection handling", () => {
  it("keepAlive is undefined until forceClose() sets it to false", () => {
    const resp = new web.Response();
    expect(resp.keepAlive).toBeUndefined();
    resp.forceClose();
    expect(resp.keepAlive).toBe(false);
  });

  it("forceClose() sends Connection: close and closes the connection", async () => {
    const client = await serve(
      appWith(() => {
        const resp = new web.Response({ text: "bye" });
        resp.forceClose();
        return resp;
      }),
    );
    // A keep-alive request: only forceClose() can make the server close.
    const { raw, closed } = await rawExchange(
      client.server.port,
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      { timeoutMs: 2000 },
    );
    expect(raw).toMatch(/\r\nConnection: close\r\n/i);
    expect(raw.endsWith("bye")).toBe(true);
    expect(closed).toBe(true);
  });

  it("without forceClose() an HTTP/1.1 connection stays open for the next request", async () => {
    const client = await serve(appWith(() => new web.Response({ text: "ok" })));
    const { raw } = await rawExchange(
      client.server.port,
      [
        "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n",
        100,
        "GET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      ],
      { timeoutMs: 2100 },
    );
    expect(raw.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
  });
});

describe("responses without a body", () => {
  it("HEAD gets the headers of GET and no body", async () => {
    const client = await serve(appWith(() => new web.Response({ text: "hello body" })));
    const reply = await rawExchange(
      client.server.port,
      "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
    expect(header(reply, "Content-Length")).toBe("10");
    expect(reply.rest).toBe("");
  });

  it("HEAD of a streamed response sends no body", async () => {
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse();
        await resp.prepare(request);
        await resp.write("streamed");
        await resp.writeEof();
        return resp;
      }),
    );
    const reply = await rawExchange(
      client.server.port,
      "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
    expect(reply.rest).toBe("");
  });

  it("204 sends no body, no Content-Length and no Transfer-Encoding", async () => {
    const client = await serve(appWith(() => new web.Response({ status: 204, text: "dropped" })));
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(reply.statusLine).toBe("HTTP/1.1 204 No Content");
    expect(header(reply, "Content-Length")).toBeUndefined();
    expect(header(reply, "Transfer-Encoding")).toBeUndefined();
    expect(reply.rest).toBe("");
  });

  it("304 sends no body", async () => {
    const client = await serve(
      appWith(() => new web.Response({ status: 304, headers: { ETag: '"v1"' }, text: "gone" })),
    );
    const reply = await rawExchange(client.server.port, getRequest("/"));
    expect(reply.statusLine).toBe("HTTP/1.1 304 Not Modified");
    expect(header(reply, "ETag")).toBe('"v1"');
    expect(reply.rest).toBe("");
  });

  it("a keep-alive connection stays in sync after a 204", async () => {
    const client = await serve(
      appWith((r) =>
        r.path === "/empty"
          ? new web.Response({ status: 204 })
          : new web.Response({ text: "second" }),
      ),
    );
    const reply = await rawExchange(
      client.server.port,
      `GET /empty HTTP/1.1\r\nHost: x\r\n\r\n${getRequest("/next")}`,
    );
    const statuses = reply.raw.match(/HTTP\/1\.1 \d{3}/g);
    expect(statuses).toEqual(["HTTP/1.1 204", "HTTP/1.1 200"]);
    expect(reply.raw.endsWith("second")).toBe(true);
  });
});

describe("compression", () => {
  const text = "compress me please ".repeat(500);

  it.each([
    ["gzip", gunzipSync],
    ["deflate", inflateSync],
    ["br", brotliDecompressSync],
  ] as const)("enableCompression('%s') compresses the body", async (coding, decompress) => {
    const client = await serve(
      appWith(() => {
        const resp = new web.Response({ text });
        resp.enableCompression(coding);
        return resp;
      }),
    );
    const resp = await httpSend(client.server.port, "/", {
      headers: { "Accept-Encoding": coding },
    });
    expect(resp.headers["content-encoding"]).toBe(coding);
    expect(resp.headers.vary).toMatch(/accept-encoding/i);
    expect(resp.bytes.length).toBeLessThan(text.length);
    expect(decompress(resp.bytes).toString()).toBe(text);
  });

  it("without a coding picks one the client accepts", async () => {
    const client = await serve(
      appWith(() => {
        const resp = new web.Response({ text });
        resp.enableCompression();
        return resp;
      }),
    );
    const resp = await httpSend(client.server.port, "/", {
      headers: { "Accept-Encoding": "gzip" },
    });
    expect(resp.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(resp.bytes).toString()).toBe(text);
  });

  it("without a coding sends identity when the client accepts none", async () => {
    const client = await serve(
      appWith(() => {
        const resp = new web.Response({ text });
        resp.enableCompression();
        return resp;
      }),
    );
    const resp = await httpSend(client.server.port, "/", {
      headers: { "Accept-Encoding": "identity" },
    });
    expect(resp.headers["content-encoding"]).toBeUndefined();
    expect(resp.body).toBe(text);
  });

  it("compresses a streamed body", async () => {
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse();
        resp.enableCompression("gzip");
        await resp.prepare(request);
        for (let i = 0; i < 10; i++) await resp.write(text);
        await resp.writeEof();
        return resp;
      }),
    );
    const resp = await httpSend(client.server.port, "/", {
      headers: { "Accept-Encoding": "gzip" },
    });
    expect(resp.headers["content-encoding"]).toBe("gzip");
    expect(resp.headers["transfer-encoding"]).toBe("chunked");
    expect(gunzipSync(resp.bytes).toString()).toBe(text.repeat(10));
  });

  it("fetch decodes a compressed response transparently", async () => {
    const client = await serve(
      appWith(() => {
        const resp = new web.Response({ text });
        resp.enableCompression("br");
        return resp;
      }),
    );
    expect(await (await client.get("/", { headers: { "Accept-Encoding": "br" } })).text()).toBe(
      text,
    );
  });
});

describe("response state", () => {
  it("a ResponseKey holds typed per-response state", () => {
    const key = new web.ResponseKey<number>("n");
    const resp = new web.Response();
    expect(resp.has(key)).toBe(false);
    resp.set(key, 5);
    expect(resp.get(key)).toBe(5);
    expect(resp.has(key)).toBe(true);
  });
});
