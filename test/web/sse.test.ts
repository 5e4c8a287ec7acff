// web.EventSourceResponse on the wire: the text/event-stream format byte for byte, keep-alive
// pings, Last-Event-ID, the end of a stream (client leaves, close(), handler returns, server
// shuts down), compression, and our own client reading events as they are sent.
import { once } from "node:events";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { setImmediate } from "node:timers/promises";
import { createGunzip } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { web } from "../../src/index.js";
import {
  appWith,
  deferred,
  getRequest,
  type HttpReply,
  httpSend,
  RawConnection,
  rejection,
  settlesWithin,
  useRunners,
  useSessions,
  useTestClients,
} from "../helpers.js";

const serve = useTestClients();
const start = useRunners();
const session = useSessions();

/** A handler that prepares an EventSourceResponse, runs `body` with it, and returns it. */
function sseHandler(
  body: (sse: web.EventSourceResponse, request: web.Request) => Promise<void>,
  options?: web.EventSourceResponseOptions,
): web.Handler {
  return async (request) => {
    const sse = new web.EventSourceResponse(options);
    await sse.prepare(request);
    await body(sse, request);
    return sse;
  };
}

/** The whole reply to a GET of a stream that `body` writes (see sseHandler). */
async function sseReply(
  body: (sse: web.EventSourceResponse, request: web.Request) => Promise<void>,
  options?: web.EventSourceResponseOptions,
): Promise<HttpReply> {
  const client = await serve(appWith(sseHandler(body, options)));
  return httpSend(client.server.port);
}

/** Opens a GET and resolves with the response once its head arrived. */
function openGet(port: number, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/", agent: false, headers });
    req.on("response", resolve);
    req.on("error", reject);
    req.end();
  });
}

describe("EventSourceResponse: the stream's head", () => {
  it("sends the event-stream headers, chunked, as soon as it is prepared", async () => {
    const headSeen = deferred();
    const client = await serve(
      appWith(
        sseHandler(async () => {
          // The head must reach the client before any event: a browser opens on it.
          await headSeen.promise;
        }),
      ),
    );
    const res = await openGet(client.server.port);
    headSeen.resolve();
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("no-cache");
    expect(res.headers.connection).toBe("keep-alive");
    expect(res.headers["x-accel-buffering"]).toBe("no");
    expect(res.headers["transfer-encoding"]).toBe("chunked");
    res.resume();
    await once(res, "end");
  });

  it("keeps the status and extra headers given, but not a Content-Type of their own", async () => {
    const reply = await sseReply(async () => {}, {
      status: 201,
      headers: { "X-Stream": "yes", "Content-Type": "text/plain" },
    });
    expect(reply.status).toBe(201);
    expect(reply.headers["x-stream"]).toBe("yes");
    expect(reply.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
  });

  it("HEAD gets the head and an ended stream", async () => {
    let waited = false;
    const client = await serve(
      appWith(
        sseHandler(async (sse) => {
          await sse.wait();
          waited = true;
        }),
      ),
    );
    const reply = await httpSend(client.server.port, "/", { method: "HEAD" });
    expect(reply.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(reply.body).toBe("");
    expect(waited).toBe(true);
  });
});

describe("EventSourceResponse: the event format", () => {
  it("writes each field on its own line, and a blank line after the event", async () => {
    const reply = await sseReply(async (sse) => {
      await sse.send("hello");
      await sse.send("tick", { event: "clock", id: 7, retry: 100 });
      await sse.send("", { id: "" });
    });
    expect(reply.body).toBe(
      "data: hello\r\n\r\n" +
        "id: 7\r\nevent: clock\r\ndata: tick\r\nretry: 100\r\n\r\n" +
        "id: \r\ndata: \r\n\r\n",
    );
  });

  it("an event sent while prepare() is still running goes out after the head", async () => {
    const app = appWith(async (request) => {
      const sse = new web.EventSourceResponse();
      const preparing = sse.prepare(request);
      const sent = sse.send("early");
      await preparing;
      expect(await sent).toBe(true);
      return sse;
    });
    // prepare() waits for this before it sends the head.
    app.onResponsePrepare.push(async (_request, response) => {
      await setImmediate();
      response.headers.set("X-Prepared", "late");
    });
    const client = await serve(app);
    const reply = await httpSend(client.server.port);
    expect(reply.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(reply.headers["x-prepared"]).toBe("late");
    expect(reply.body).toBe("data: early\r\n\r\n");
  });

  it("splits data at CRLF, LF and CR alike into data lines", async () => {
    const reply = await sseReply(async (sse) => {
      await sse.send("a\r\nb\nc\rd\n\ne");
    });
    expect(reply.body).toBe(
      "data: a\r\ndata: b\r\ndata: c\r\ndata: d\r\ndata: \r\ndata: e\r\n\r\n",
    );
  });

  it("uses the separator given", async () => {
    const reply = await sseReply(
      async (sse) => {
        await sse.send("x\r\ny", { event: "e" });
      },
      { sep: "\n" },
    );
    expect(reply.body).toBe("event: e\ndata: x\ndata: y\n\n");
  });

  it("refuses fields that would break the stream, sending nothing", async () => {
    const errors: Error[] = [];
    const reply = await sseReply(async (sse) => {
      errors.push(await rejection(sse.send("x", { event: "a\nb" })));
      errors.push(await rejection(sse.send("x", { event: "a\rb" })));
      errors.push(await rejection(sse.send("x", { id: "1\n2" })));
      errors.push(await rejection(sse.send("x", { id: "1\u00002" })));
      errors.push(await rejection(sse.send("x", { retry: 1.5 })));
      errors.push(await rejection(sse.send("x", { retry: -1 })));
      await sse.send("still fine");
    });
    expect(errors).toHaveLength(6);
    for (const err of errors) expect(err).toBeInstanceOf(TypeError);
    expect(reply.body).toBe("data: still fine\r\n\r\n");
  });

  it("send(), wait() and lastEventId before prepare() say so, as write() does", async () => {
    const sse = new web.EventSourceResponse();
    const message = /^Response is not prepared: call prepare\(request\) first$/;
    await expect(sse.send("x")).rejects.toThrow(message);
    await expect(sse.wait()).rejects.toThrow(message);
    expect(() => sse.lastEventId).toThrow(message);
    await expect(new web.StreamResponse().write("x")).rejects.toThrow(message);
  });

  it("rejects options it cannot honour at construction", () => {
    expect(() => new web.EventSourceResponse({ ping: -1 })).toThrow(RangeError);
    expect(() => new web.EventSourceResponse({ ping: Number.NaN })).toThrow(RangeError);
    expect(() => new web.EventSourceResponse({ sep: "\t" as unknown as "\n" })).toThrow(TypeError);
  });
});

describe("EventSourceResponse: keep-alive pings", () => {
  it("sends a comment every ping interval", async () => {
    const client = await serve(appWith(sseHandler((sse) => sse.wait(), { ping: 20 })));
    const conn = await RawConnection.open(client.server.port);
    conn.write(getRequest("/"));
    await conn.waitFor(": ping\r\n\r\n", 5_000);
    const first = conn.data.indexOf(": ping");
    await conn.waitFor(": ping\r\n\r\n", 5_000);
    // A second ping, not the first seen twice.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (conn.data.indexOf(": ping", first + 1) !== -1) resolve();
      };
      conn.socket.on("data", check);
      check();
    });
    conn.destroy();
  });

  it("never land inside an event, however often they come", async () => {
    const big = "x".repeat(20_000);
    const bursts = 10;
    const perBurst = 20;
    const client = await serve(
      appWith(
        sseHandler(
          async (sse) => {
            for (let b = 0; b < bursts; b++) {
              const sent: Promise<boolean>[] = [];
              // Not awaited one by one: the writes queue up (the client reads slowly) while
              // the ping timer keeps firing.
              for (let i = 0; i < perBurst; i++) {
                const n = b * perBurst + i;
                sent.push(sse.send(`${n}:${big}`, { id: n }));
              }
              expect(await Promise.all(sent)).toEqual(Array(perBurst).fill(true));
              // Then a ping goes out between bursts: the body grows with no event sent.
              const before = sse.bodyLength;
              await vi.waitFor(() => expect(sse.bodyLength).toBeGreaterThan(before), {
                timeout: 5_000,
                interval: 1,
              });
            }
          },
          { ping: 1 },
        ),
      ),
    );
    const reply = await httpSend(client.server.port, "/", { slowReader: true });
    const blocks = reply.body.split("\r\n\r\n");
    expect(blocks.pop()).toBe("");
    const events = blocks.filter((b) => b !== ": ping");
    expect(blocks.length - events.length).toBeGreaterThanOrEqual(bursts);
    expect(events).toEqual(
      Array.from({ length: bursts * perBurst }, (_, n) => `id: ${n}\r\ndata: ${n}:${big}`),
    );
  });

  it("ping 0 and null turn pings off", () => {
    expect(new web.EventSourceResponse({ ping: 0 }).ping).toBe(0);
    expect(new web.EventSourceResponse({ ping: null }).ping).toBe(0);
    expect(new web.EventSourceResponse().ping).toBe(15_000);
  });
});

describe("EventSourceResponse: Last-Event-ID", () => {
  it("lastEventId is the request's Last-Event-ID header", async () => {
    const client = await serve(
      appWith(
        sseHandler(async (sse) => {
          await sse.send(`resuming after ${sse.lastEventId ?? "nothing"}`);
        }),
      ),
    );
    expect(
      (await httpSend(client.server.port, "/", { headers: { "Last-Event-ID": "42" } })).body,
    ).toBe("data: resuming after 42\r\n\r\n");
    expect((await httpSend(client.server.port)).body).toBe("data: resuming after nothing\r\n\r\n");
  });

  it("lastEventId before prepare() is an error", () => {
    expect(() => new web.EventSourceResponse().lastEventId).toThrow(/prepare/);
  });
});

describe("EventSourceResponse: the end of a stream", () => {
  it("wait() resolves when the client leaves, and send() then resolves false", async () => {
    const after = deferred<{ closed: boolean; sent: boolean }>();
    const client = await serve(
      appWith(
        sseHandler(async (sse) => {
          await sse.send("hi");
          await sse.wait();
          after.resolve({ closed: sse.closed, sent: await sse.send("anyone?") });
        }),
      ),
    );
    const conn = await RawConnection.open(client.server.port);
    conn.write(getRequest("/"));
    await conn.waitFor("data: hi\r\n\r\n");
    conn.destroy();
    expect(await after.promise).toEqual({ closed: true, sent: false });
  });

  it("close() from elsewhere ends the stream after the events queued, and wait() resolves", async () => {
    const streams: web.EventSourceResponse[] = [];
    const opened = deferred();
    const client = await serve(
      appWith(
        sseHandler(async (sse) => {
          streams.push(sse);
          opened.resolve();
          await sse.wait();
        }),
      ),
    );
    const replying = httpSend(client.server.port);
    await opened.promise;
    const [sse] = streams as [web.EventSourceResponse];
    void sse.send("one");
    void sse.send("two");
    await sse.close();
    expect(await sse.send("three")).toBe(false);
    expect((await replying).body).toBe("data: one\r\n\r\ndata: two\r\n\r\n");
  });

  it("returning the response from the handler ends the stream cleanly", async () => {
    const reply = await sseReply(async (sse) => {
      void sse.send("queued before return");
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("data: queued before return\r\n\r\n");
  });

  it("graceful shutdown ends open streams instead of waiting for the shutdown timeout", async () => {
    const waiting = deferred();
    const handlerDone = deferred<boolean>();
    const app = appWith(
      sseHandler(async (sse) => {
        await sse.send("before shutdown");
        waiting.resolve();
        await sse.wait();
        handlerDone.resolve(await sse.send("after shutdown"));
      }),
    );
    const { runner, port } = await start(app, { shutdownTimeout: 60_000, accessLog: null });
    const res = await openGet(port);
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (d: string) => {
      body += d;
    });
    const ended = once(res, "end");
    await waiting.promise;
    // The bound is far below the shutdown timeout: a stream left open would hold cleanup 60 s.
    expect(await settlesWithin(runner.cleanup(), 10_000)).toBe(true);
    expect(await handlerDone.promise).toBe(false);
    await ended;
    expect(body).toBe("data: before shutdown\r\n\r\n");
  });
});

describe("EventSourceResponse during shutdown", () => {
  it("a stream prepared once shutdown began is refused with 503", async () => {
    const arrived = deferred();
    const gate = deferred();
    const app = appWith(async (request) => {
      arrived.resolve();
      await gate.promise;
      const sse = new web.EventSourceResponse();
      await sse.prepare(request);
      return sse;
    });
    const { runner, port } = await start(app, { shutdownTimeout: 60_000, accessLog: null });
    const replying = httpSend(port);
    await arrived.promise;
    const cleanup = runner.cleanup();
    gate.resolve();
    const reply = await replying;
    expect(reply.status).toBe(503);
    expect(reply.body).toContain("Server shutting down");
    await cleanup;
  });

  it("a stream whose onResponsePrepare callback was awaited as shutdown ended the open streams ends too, and does not hold shutdown up", async () => {
    const preparing = deferred();
    const gate = deferred();
    const lateSent = deferred<boolean>();
    const app = appWith(
      sseHandler(async (sse, request) => {
        await sse.wait();
        if (request.path === "/late") lateSent.resolve(await sse.send("after shutdown"));
      }),
    );
    app.onResponsePrepare.push(async (request) => {
      if (request.path !== "/late") return;
      preparing.resolve();
      await gate.promise;
    });
    // Before the fix, the late stream registered after the open ones were ended, and held
    // cleanup() until this timeout.
    const { runner, port } = await start(app, { shutdownTimeout: 60_000, accessLog: null });
    const open = await openGet(port);
    open.resume();
    const late = httpSend(port, "/late");
    await preparing.promise;
    const cleanup = runner.cleanup();
    // The open stream's end says shutdown has ended the streams it knew of.
    await once(open, "end");
    gate.resolve();
    expect(await settlesWithin(cleanup, 10_000)).toBe(true);
    expect(await lateSent.promise).toBe(false);
    const reply = await late;
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("");
  });
});

describe("EventSourceResponse with compression", () => {
  it("each event reaches the client decodable before the next is sent", async () => {
    const firstSeen = deferred();
    const client = await serve(
      appWith(async (request) => {
        const sse = new web.EventSourceResponse({ ping: null });
        sse.enableCompression();
        await sse.prepare(request);
        await sse.send("first");
        await firstSeen.promise;
        await sse.send("second");
        return sse;
      }),
    );
    const res = await openGet(client.server.port, { "Accept-Encoding": "gzip" });
    expect(res.headers["content-encoding"]).toBe("gzip");
    const gunzip = createGunzip();
    let text = "";
    const firstArrived = new Promise<void>((resolve) => {
      gunzip.on("data", (d: Buffer) => {
        text += d.toString();
        if (text.includes("data: first\r\n\r\n")) resolve();
      });
    });
    res.pipe(gunzip);
    await firstArrived;
    expect(text).toBe("data: first\r\n\r\n");
    firstSeen.resolve();
    await once(gunzip, "end");
    expect(text).toBe("data: first\r\n\r\ndata: second\r\n\r\n");
  });
});

describe("EventSourceResponse read by our client's streaming API", () => {
  it("resp.content.readline() gets each event as it is sent", async () => {
    const gate = deferred();
    const client = await serve(
      appWith(
        sseHandler(
          async (sse) => {
            await sse.send("one", { id: 1 });
            // The second event waits for the client to have read the first.
            await gate.promise;
            await sse.send("two\nlines", { id: 2, event: "multi" });
          },
          { sep: "\n" },
        ),
      ),
    );
    const resp = await session().get(client.makeUrl("/"));
    expect(resp.contentType).toBe("text/event-stream");
    const lines: string[] = [];
    const readEvent = async (): Promise<string[]> => {
      const event: string[] = [];
      for (;;) {
        const line = (await resp.content.readline()).toString().replace(/\r?\n$/, "");
        if (line === "") return event;
        event.push(line);
      }
    };
    lines.push(...(await readEvent()));
    expect(lines).toEqual(["id: 1", "data: one"]);
    gate.resolve();
    expect(await readEvent()).toEqual(["id: 2", "event: multi", "data: two", "data: lines"]);
    expect((await resp.content.read()).length).toBe(0);
    await resp.release();
  });

  it("for await over resp.content yields the stream as it comes", async () => {
    const gate = deferred();
    const client = await serve(
      appWith(
        sseHandler(async (sse) => {
          await sse.send("a");
          await gate.promise;
          await sse.send("b");
        }),
      ),
    );
    const resp = await session().get(client.makeUrl("/"));
    let text = "";
    for await (const line of resp.content) {
      text += line.toString();
      if (text === "data: a\r\n") continue;
      if (text === "data: a\r\n\r\n") gate.resolve();
    }
    expect(text).toBe("data: a\r\n\r\ndata: b\r\n\r\n");
  });
});
