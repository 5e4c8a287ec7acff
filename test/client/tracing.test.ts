// Request tracing (issue 10, section 4) over real sockets: the order of the signals, what they
// carry, and the same events on node:diagnostics_channel.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  ClientConnectorError,
  TCPConnector,
  TRACE_CHANNELS,
  TraceConfig,
  type TraceSignal,
  web,
} from "../../src/index.js";
import { deferred, freePort, useRunners, useSessions } from "../helpers.js";

const start = useRunners();
const session = useSessions();

const TRACED: TraceSignal[] = [
  "onRequestStart",
  "onDnsCacheHit",
  "onDnsCacheMiss",
  "onDnsResolvehostStart",
  "onDnsResolvehostEnd",
  "onConnectionCreateStart",
  "onConnectionCreateEnd",
  "onConnectionReuseconn",
  "onRequestHeadersSent",
  "onRequestChunkSent",
  "onRequestRedirect",
  "onRequestEnd",
  "onRequestException",
  "onResponseChunkReceived",
];

/** A TraceConfig that records each signal's name (and the chunks as text) in `events`. */
function recorder(): { trace: TraceConfig; events: string[]; ctxs: unknown[] } {
  const trace = new TraceConfig();
  const events: string[] = [];
  const ctxs: unknown[] = [];
  for (const signal of TRACED) {
    trace[signal].push(async (_session, ctx, params) => {
      ctxs.push(ctx.traceRequestCtx);
      const detail =
        "chunk" in params
          ? `:${Buffer.from(params.chunk).toString()}`
          : "host" in params
            ? ` ${params.host}`
            : "";
      events.push(`${signal}${detail}`);
    });
  }
  return { trace, events, ctxs };
}

async function server(): Promise<string> {
  const app = new web.Application();
  app.router.addGet("/hello", () => new web.Response({ text: "hi" }));
  app.router.addGet("/moved", () => {
    throw new web.HTTPFound("/hello");
  });
  app.router.addPost("/echo", async (request) => new web.Response({ text: await request.text() }));
  const { port } = await start(app, { accessLog: null });
  return `http://127.0.0.1:${port}`;
}

describe("TraceConfig", () => {
  it("traces a simple request in order, with the request's traceRequestCtx", async () => {
    const base = await server();
    const { trace, events, ctxs } = recorder();
    const s = session({ traceConfigs: [trace] });
    const response = await s.get(`${base}/hello`, { traceRequestCtx: { id: 7 } });
    expect(await response.text()).toBe("hi");
    expect(events).toEqual([
      "onRequestStart",
      // A new connection, opened for this request (traced once the request is on it).
      "onConnectionCreateStart",
      "onConnectionCreateEnd",
      "onRequestHeadersSent",
      "onRequestEnd",
      "onResponseChunkReceived:hi",
    ]);
    expect(ctxs.every((c) => (c as { id: number }).id === 7)).toBe(true);
  });

  it("hands the response to onRequestEnd and the session to every callback", async () => {
    const base = await server();
    const trace = new TraceConfig();
    const seen: { status: number; url: string; same: boolean }[] = [];
    const s = session({ traceConfigs: [trace] });
    trace.onRequestEnd.push(async (sess, _ctx, params) => {
      seen.push({ status: params.response.status, url: params.url.href, same: sess === s });
    });
    await (await s.get(`${base}/hello`)).release();
    expect(seen).toEqual([{ status: 200, url: `${base}/hello`, same: true }]);
  });

  it("traces a redirect, then the request to the new location", async () => {
    const base = await server();
    const { trace, events } = recorder();
    const redirects: string[] = [];
    trace.onRequestRedirect.push(async (_s, _c, params) => {
      redirects.push(`${params.response.status} ${params.url.pathname}`);
    });
    const s = session({ traceConfigs: [trace] });
    await (await s.get(`${base}/moved`)).release();
    expect(events.filter((e) => !e.startsWith("onResponseChunk"))).toEqual([
      "onRequestStart",
      "onConnectionCreateStart",
      "onConnectionCreateEnd",
      "onRequestHeadersSent",
      "onRequestRedirect",
      "onRequestStart",
      // The redirect's connection went back to the pool and carries the second request.
      "onConnectionReuseconn",
      "onRequestHeadersSent",
      "onRequestEnd",
    ]);
    expect(redirects).toEqual(["302 /moved"]);
  });

  it("traces a refused connection with onRequestException", async () => {
    const port = await freePort();
    const { trace, events } = recorder();
    const errors: unknown[] = [];
    trace.onRequestException.push(async (_s, _c, params) => {
      errors.push(params.exception);
    });
    const s = session({ traceConfigs: [trace] });
    await expect(s.get(`http://127.0.0.1:${port}/`)).rejects.toBeInstanceOf(ClientConnectorError);
    // The connection was being opened for the request: the start is traced, no end.
    expect(events).toEqual(["onRequestStart", "onConnectionCreateStart", "onRequestException"]);
    expect(errors[0]).toBeInstanceOf(ClientConnectorError);
  });

  it("traces each chunk of a streamed body, after the head", async () => {
    const base = await server();
    const { trace, events } = recorder();
    const s = session({ traceConfigs: [trace] });
    const body = Readable.from([Buffer.from("ab"), Buffer.from("cd")]);
    const response = await s.post(`${base}/echo`, { data: body });
    expect(await response.text()).toBe("abcd");
    expect(events.slice(0, 6)).toEqual([
      "onRequestStart",
      "onConnectionCreateStart",
      "onConnectionCreateEnd",
      "onRequestHeadersSent",
      "onRequestChunkSent:ab",
      "onRequestChunkSent:cd",
    ]);
    expect(events.slice(6, 7)).toEqual(["onRequestEnd"]);
    expect(events.slice(7).every((e) => e.startsWith("onResponseChunkReceived:"))).toBe(true);
    expect(
      events
        .slice(7)
        .map((e) => e.split(":")[1])
        .join(""),
    ).toBe("abcd");
  });

  it("traces a body in memory as one chunk", async () => {
    const base = await server();
    const { trace, events } = recorder();
    const s = session({ traceConfigs: [trace] });
    await (await s.post(`${base}/echo`, { data: "xyz" })).release();
    expect(events.slice(0, 6)).toEqual([
      "onRequestStart",
      "onConnectionCreateStart",
      "onConnectionCreateEnd",
      "onRequestHeadersSent",
      "onRequestChunkSent:xyz",
      "onRequestEnd",
    ]);
  });

  it("traces the reuse of a keep-alive connection on the second request only", async () => {
    const base = await server();
    const { trace, events } = recorder();
    const s = session({ traceConfigs: [trace] });
    await (await s.get(`${base}/hello`)).text();
    expect(events).not.toContain("onConnectionReuseconn");
    expect(events).toContain("onConnectionCreateEnd");
    events.length = 0;
    await (await s.get(`${base}/hello`)).text();
    expect(events.slice(0, 3)).toEqual([
      "onRequestStart",
      "onConnectionReuseconn",
      "onRequestHeadersSent",
    ]);
  });

  it("traces the wait for a slot when the connector's limit is reached", async () => {
    const base = await server();
    const trace = new TraceConfig();
    const events: string[] = [];
    const queued = deferred();
    trace.onConnectionQueuedStart.push(async () => {
      events.push("queuedStart");
      queued.resolve();
    });
    trace.onConnectionQueuedEnd.push(async () => {
      events.push("queuedEnd");
    });
    const s = session({ traceConfigs: [trace], connector: new TCPConnector({ limit: 1 }) });
    const first = await s.get(`${base}/hello`);
    expect(events).toEqual([]);
    const second = s.get(`${base}/hello`);
    await queued.promise;
    expect(events).toEqual(["queuedStart"]);
    await first.release();
    expect(await (await second).text()).toBe("hi");
    expect(events).toEqual(["queuedStart", "queuedEnd"]);
  });

  it("fails the request with the error a callback throws", async () => {
    const base = await server();
    const trace = new TraceConfig();
    const boom = new Error("boom");
    trace.onRequestStart.push(async () => {
      throw boom;
    });
    const s = session({ traceConfigs: [trace] });
    await expect(s.get(`${base}/hello`)).rejects.toBe(boom);
  });

  it("gives the connection back when an onRequestEnd callback throws", async () => {
    const base = await server();
    const trace = new TraceConfig();
    const boom = new Error("boom");
    let calls = 0;
    trace.onRequestEnd.push(async () => {
      calls++;
      if (calls === 1) throw boom;
    });
    const connector = new TCPConnector({ limit: 1 });
    const s = session({ traceConfigs: [trace], connector });
    await expect(s.get(`${base}/hello`)).rejects.toBe(boom);
    expect(connector.active).toBe(0);
    expect(await (await s.get(`${base}/hello`)).text()).toBe("hi");
  });

  it("awaits callbacks one after the other, in the order they were added", async () => {
    const base = await server();
    const trace = new TraceConfig();
    const order: string[] = [];
    trace.onRequestStart.push(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      order.push("first");
    });
    trace.onRequestStart.push(async () => {
      order.push("second");
    });
    const s = session({ traceConfigs: [trace] });
    await (await s.get(`${base}/hello`)).release();
    expect(order).toEqual(["first", "second"]);
  });
});

describe("connection and DNS signals", () => {
  /** The test server's URL with the host name `localhost` (the connector resolves it). */
  async function byName(): Promise<string> {
    return (await server()).replace("127.0.0.1", "localhost");
  }

  it("resolves a host name once, then finds it in the connector's DNS cache", async () => {
    const base = await byName();
    const { trace, events } = recorder();
    // IPv4 only: the test server listens on 127.0.0.1, and localhost may also name ::1.
    const s = session({ traceConfigs: [trace], connector: new TCPConnector({ family: 4 }) });
    expect(await (await s.get(`${base}/hello`)).text()).toBe("hi");
    expect(events.slice(0, 7)).toEqual([
      "onRequestStart",
      "onDnsCacheMiss localhost",
      "onDnsResolvehostStart localhost",
      "onDnsResolvehostEnd localhost",
      "onConnectionCreateStart",
      "onConnectionCreateEnd",
      "onRequestHeadersSent",
    ]);
    events.length = 0;
    expect(await (await s.get(`${base}/hello`)).text()).toBe("hi");
    expect(events.slice(0, 4)).toEqual([
      "onRequestStart",
      "onDnsCacheHit localhost",
      "onConnectionReuseconn",
      "onRequestHeadersSent",
    ]);
  });

  it("with ttlDnsCache 0 every request looks its host up again, and each is answered", async () => {
    const base = await byName();
    const { trace, events } = recorder();
    const s = session({
      traceConfigs: [trace],
      connector: new TCPConnector({ family: 4, ttlDnsCache: 0 }),
    });
    for (let i = 0; i < 3; i++) {
      events.length = 0;
      expect(await (await s.get(`${base}/hello`)).text()).toBe("hi");
      expect(events.slice(1, 3)).toEqual([
        "onDnsCacheMiss localhost",
        "onDnsResolvehostStart localhost",
      ]);
    }
  });

  it("awaits the DNS callbacks before the lookup's result is used", async () => {
    const base = await byName();
    const trace = new TraceConfig();
    const order: string[] = [];
    trace.onDnsResolvehostStart.push(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      order.push("resolve start");
    });
    trace.onConnectionCreateEnd.push(async () => {
      order.push("connected");
    });
    const s = session({ traceConfigs: [trace], connector: new TCPConnector({ family: 4 }) });
    await (await s.get(`${base}/hello`)).release();
    expect(order).toEqual(["resolve start", "connected"]);
  });

  it("sends no DNS signal without the DNS cache, or for an IP address", async () => {
    const base = await byName();
    const { trace, events } = recorder();
    const noCache = session({
      traceConfigs: [trace],
      connector: new TCPConnector({ family: 4, useDnsCache: false }),
    });
    expect(await (await noCache.get(`${base}/hello`)).text()).toBe("hi");
    const byIp = session({ traceConfigs: [trace] });
    expect(await (await byIp.get(`${base.replace("localhost", "127.0.0.1")}/hello`)).text()).toBe(
      "hi",
    );
    expect(events.filter((e) => e.startsWith("onDns"))).toEqual([]);
    expect(events.filter((e) => e === "onConnectionCreateEnd")).toHaveLength(2);
  });

  it("traces a stream body on a reused connection as reused", async () => {
    const base = await server();
    const { trace, events } = recorder();
    const s = session({ traceConfigs: [trace] });
    await (await s.get(`${base}/hello`)).text();
    events.length = 0;
    const body = Readable.from([Buffer.from("ab")]);
    expect(await (await s.post(`${base}/echo`, { data: body })).text()).toBe("ab");
    expect(events.slice(0, 3)).toEqual([
      "onRequestStart",
      "onConnectionReuseconn",
      "onRequestHeadersSent",
    ]);
  });
});

describe("diagnostics_channel", () => {
  it("publishes the events, with traceRequestCtx, on aiohttp-ts:client channels", async () => {
    const base = await server();
    const got: string[] = [];
    const listeners = new Map<string, (message: unknown) => void>();
    for (const signal of ["onRequestStart", "onRequestEnd"] as const) {
      const listener = (message: unknown): void => {
        const m = message as { traceRequestCtx: string; url: URL };
        got.push(`${TRACE_CHANNELS[signal]} ${m.traceRequestCtx} ${m.url.pathname}`);
      };
      listeners.set(TRACE_CHANNELS[signal], listener);
      subscribe(TRACE_CHANNELS[signal], listener);
    }
    try {
      // A session without traceConfigs: subscribers alone turn tracing on.
      const s = session();
      await (await s.get(`${base}/hello`, { traceRequestCtx: "t1" })).release();
    } finally {
      for (const [name, listener] of listeners) unsubscribe(name, listener);
    }
    expect(got).toEqual([
      "aiohttp-ts:client:request:start t1 /hello",
      "aiohttp-ts:client:request:end t1 /hello",
    ]);
  });

  it("names a channel for every signal, the DNS and connection ones included", async () => {
    expect(TRACE_CHANNELS.onDnsCacheMiss).toBe("aiohttp-ts:client:dns:cache:miss");
    expect(TRACE_CHANNELS.onDnsResolvehostEnd).toBe("aiohttp-ts:client:dns:resolvehost:end");
    expect(TRACE_CHANNELS.onConnectionCreateStart).toBe(
      "aiohttp-ts:client:connection:create:start",
    );
    expect(Object.keys(TRACE_CHANNELS)).toHaveLength(16);
    const base = (await server()).replace("127.0.0.1", "localhost");
    const got: string[] = [];
    const listener = (message: unknown): void => {
      const m = message as { traceRequestCtx: string; host: string };
      got.push(`${m.traceRequestCtx} ${m.host}`);
    };
    subscribe(TRACE_CHANNELS.onDnsCacheMiss, listener);
    try {
      const s = session({ connector: new TCPConnector({ family: 4 }) });
      await (await s.get(`${base}/hello`, { traceRequestCtx: "t2" })).release();
    } finally {
      unsubscribe(TRACE_CHANNELS.onDnsCacheMiss, listener);
    }
    expect(got).toEqual(["t2 localhost"]);
  });
});
