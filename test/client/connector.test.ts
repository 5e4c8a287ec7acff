// Connectors over real sockets (issue 3, section 5): pool limits observed on the server side,
// keep-alive and forceClose, DNS cache, local address, unix sockets and sharing between sessions.
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type BaseConnector,
  ClientClosedError,
  ClientSession,
  type ClientSessionOptions,
  TCPConnector,
  UnixConnector,
  web,
} from "../../src/index.js";
import { deferred } from "../helpers.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function session(options: ClientSessionOptions = {}): ClientSession {
  const s = new ClientSession(options);
  cleanups.push(() => s.close());
  return s;
}

function own<C extends BaseConnector>(connector: C): C {
  cleanups.push(() => connector.close());
  return connector;
}

/** What a server saw: connections opened, open at once, requests in flight at once. */
class Stats {
  connections = 0;
  open = 0;
  maxOpen = 0;
  inFlight = 0;
  maxInFlight = 0;
  remotes: string[] = [];
}

interface Peer {
  url: (path?: string) => string;
  port: number;
  stats: Stats;
}

/**
 * A node:http server on `host` that answers "ok" (once `gate` opens, if given) and counts
 * connections and concurrent requests into `stats` (which two servers may share);
 * `alsoInFlight` counts the requests in flight once more, across servers.
 */
async function peer(
  options: {
    gate?: Promise<void>;
    host?: string;
    stats?: Stats;
    alsoInFlight?: Stats;
    keepAliveTimeout?: number;
  } = {},
): Promise<Peer> {
  const { host = "127.0.0.1", stats = new Stats() } = options;
  const counters = options.alsoInFlight === undefined ? [stats] : [stats, options.alsoInFlight];
  const sockets = new Set<Socket>();
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    for (const c of counters) {
      c.inFlight++;
      c.maxInFlight = Math.max(c.maxInFlight, c.inFlight);
    }
    stats.remotes.push(req.socket.remoteAddress ?? "");
    req.resume();
    await options.gate;
    for (const c of counters) c.inFlight--;
    res.end("ok");
  });
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    stats.connections++;
    stats.open++;
    stats.maxOpen = Math.max(stats.maxOpen, stats.open);
    socket.once("close", () => {
      stats.open--;
      sockets.delete(socket);
    });
  });
  server.listen(0, host);
  await once(server, "listening");
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const port = address.port;
  return { url: (path = "/") => `http://${host}:${port}${path}`, port, stats };
}

async function getText(s: ClientSession, url: string): Promise<string> {
  const resp = await s.get(url);
  return resp.text();
}

describe("TCPConnector options", () => {
  it("defaults to limit 100, no per-host limit, keep-alive on", () => {
    const c = own(new TCPConnector());
    expect([c.limit, c.limitPerHost, c.forceClose]).toEqual([100, 0, false]);
  });

  it.each([
    [{ limit: -1 }],
    [{ limitPerHost: 1.5 }],
    [{ keepaliveTimeout: -5 }],
    [{ connectTimeout: Number.NaN }],
    [{ ttlDnsCache: -1 }],
  ])("rejects %j with a RangeError", (options) => {
    expect(() => new TCPConnector(options)).toThrow(RangeError);
  });
});

// The servers hold their answers until the test has seen the pool full (a gate), rather than
// for 100 ms each: on a busy machine the first answer could go out before the last request of
// the batch arrived, and the peak the tests look for was never reached.
describe("pool limits", () => {
  it("with limit 3, ten concurrent requests use at most 3 sockets and all succeed", async () => {
    const answers = deferred();
    const server = await peer({ gate: answers.promise });
    const s = session({ connector: own(new TCPConnector({ limit: 3 })) });
    const all = Promise.all(Array.from({ length: 10 }, () => getText(s, server.url())));
    await vi.waitFor(() => expect(server.stats.inFlight).toBe(3));
    answers.resolve();
    const bodies = await all;
    expect(bodies).toEqual(Array(10).fill("ok"));
    expect(server.stats.maxOpen).toBe(3);
    expect(server.stats.maxInFlight).toBe(3);
    expect(server.stats.connections).toBe(3);
  });

  it("excess requests wait for a slot: active and waiting show it", async () => {
    const answers = deferred();
    const server = await peer({ gate: answers.promise });
    const connector = own(new TCPConnector({ limit: 2 }));
    const s = session({ connector });
    const all = Promise.all(Array.from({ length: 5 }, () => getText(s, server.url())));
    await vi.waitFor(() => expect(server.stats.inFlight).toBe(2));
    expect([connector.active, connector.waiting]).toEqual([2, 3]);
    answers.resolve();
    await all;
    expect([connector.active, connector.waiting]).toEqual([0, 0]);
  });

  it("the total limit holds across two hosts", async () => {
    const stats = new Stats();
    const answers = deferred();
    const a = await peer({ gate: answers.promise, host: "127.0.0.1", stats });
    const b = await peer({ gate: answers.promise, host: "127.0.0.2", stats });
    const s = session({ connector: own(new TCPConnector({ limit: 3 })) });
    const urls = [...Array(5).fill(a.url()), ...Array(5).fill(b.url())] as string[];
    const all = Promise.all(urls.map((u) => getText(s, u)));
    await vi.waitFor(() => expect(stats.inFlight).toBe(3));
    answers.resolve();
    const bodies = await all;
    expect(bodies).toEqual(Array(10).fill("ok"));
    expect(stats.maxInFlight).toBe(3);
  });

  it("limitPerHost caps the sockets to each host, not the total", async () => {
    const both = new Stats();
    const answers = deferred();
    const a = await peer({ gate: answers.promise, host: "127.0.0.1", alsoInFlight: both });
    const b = await peer({ gate: answers.promise, host: "127.0.0.2", alsoInFlight: both });
    const s = session({ connector: own(new TCPConnector({ limitPerHost: 2 })) });
    const urls = [...Array(6).fill(a.url()), ...Array(6).fill(b.url())] as string[];
    const all = Promise.all(urls.map((u) => getText(s, u)));
    await vi.waitFor(() => expect(both.inFlight).toBe(4));
    answers.resolve();
    await all;
    expect([a.stats.maxOpen, b.stats.maxOpen]).toEqual([2, 2]);
    expect([a.stats.connections, b.stats.connections]).toEqual([2, 2]);
    expect(both.maxInFlight).toBe(4);
  });

  it("limit 0 means no limit", async () => {
    const answers = deferred();
    const server = await peer({ gate: answers.promise });
    const s = session({ connector: own(new TCPConnector({ limit: 0 })) });
    const all = Promise.all(Array.from({ length: 8 }, () => getText(s, server.url())));
    await vi.waitFor(() => expect(server.stats.inFlight).toBe(8));
    answers.resolve();
    await all;
    expect(server.stats.maxInFlight).toBe(8);
  });
});

describe("keep-alive", () => {
  it("sequential requests reuse one connection", async () => {
    const server = await peer();
    const s = session();
    for (let i = 0; i < 3; i++) expect(await getText(s, server.url())).toBe("ok");
    expect(server.stats.connections).toBe(1);
  });

  it("forceClose makes the server see a new connection per request", async () => {
    const server = await peer();
    const s = session({ connector: own(new TCPConnector({ forceClose: true })) });
    for (let i = 0; i < 3; i++) expect(await getText(s, server.url())).toBe("ok");
    expect(server.stats.connections).toBe(3);
    // The server sees each close a little after the answer: wait for it, not for 50 ms.
    await vi.waitFor(() => expect(server.stats.open).toBe(0));
  });

  it("keepaliveTimeout closes an idle connection after that long", async () => {
    // The server would keep it 10 s and says so (Keep-Alive: timeout=10).
    const server = await peer({ keepAliveTimeout: 10_000 });
    const s = session({ connector: own(new TCPConnector({ keepaliveTimeout: 100 })) });
    await getText(s, server.url());
    const idleSince = performance.now();
    expect(server.stats.open).toBe(1);
    // Waits for the close rather than a fixed 400 ms (after a stall, the check ran before the
    // event loop had read the close); the server alone would have kept it 10 s.
    await vi.waitFor(() => expect(server.stats.open).toBe(0), { timeout: 5_000 });
    expect(performance.now() - idleSince).toBeGreaterThanOrEqual(90);
    await getText(s, server.url());
    expect(server.stats.connections).toBe(2);
  });

  it("an idle connection within keepaliveTimeout is reused", async () => {
    const server = await peer({ keepAliveTimeout: 10_000 });
    const s = session({ connector: own(new TCPConnector({ keepaliveTimeout: 2_000 })) });
    await getText(s, server.url());
    await sleep(300);
    await getText(s, server.url());
    expect(server.stats.connections).toBe(1);
  });

  it("keepaliveTimeout 0 keeps no connection", async () => {
    const server = await peer();
    const s = session({ connector: own(new TCPConnector({ keepaliveTimeout: 0 })) });
    await getText(s, server.url());
    await getText(s, server.url());
    expect(server.stats.connections).toBe(2);
  });
});

describe("addresses and names", () => {
  it("localAddr binds outgoing connections to that address", async () => {
    const server = await peer();
    const s = session({ connector: own(new TCPConnector({ localAddr: "127.0.0.2" })) });
    await getText(s, server.url());
    expect(server.stats.remotes).toEqual(["127.0.0.2"]);
  });

  it("localAddr 127.0.0.1 is what the server sees", async () => {
    const server = await peer({ host: "127.0.0.2" });
    const s = session({
      connector: own(new TCPConnector({ localAddr: "127.0.0.1", useDnsCache: false })),
    });
    await getText(s, server.url());
    expect(server.stats.remotes).toEqual(["127.0.0.1"]);
  });

  it.each([
    ["the DNS cache (default)", {}],
    ["ttlDnsCache 0", { ttlDnsCache: 0 }],
    ["ttlDnsCache null", { ttlDnsCache: null }],
    ["useDnsCache false", { useDnsCache: false }],
    ["family 4", { family: 4 as const }],
    ["family 4 without the cache", { family: 4 as const, useDnsCache: false }],
  ])("localhost resolves with %s", async (_name, options) => {
    const server = await peer();
    const s = session({ connector: own(new TCPConnector(options)) });
    const url = `http://localhost:${server.port}/`;
    expect(await getText(s, url)).toBe("ok");
    expect(await getText(s, url)).toBe("ok");
  });

  it("ttlDnsCache 0 answers when the clock moves while undici picks the address it just stored (regression: the request never settled)", async () => {
    const server = await peer();
    const s = session({ connector: own(new TCPConnector({ ttlDnsCache: 0, family: 4 })) });
    const url = `http://localhost:${server.port}/`;
    // A busy machine: a millisecond passes between any two looks at the clock, so undici's
    // record of age 0 ms is older than a time to live of 0 by the time it is picked.
    let now = Date.now();
    const clock = vi.spyOn(Date, "now").mockImplementation(() => ++now);
    try {
      expect(await getText(s, url)).toBe("ok");
      expect(await getText(s, url)).toBe("ok");
    } finally {
      clock.mockRestore();
    }
  });

  it("a request by name sends the name in Host", async () => {
    const app = new web.Application();
    app.router.addGet("/", (request) => new web.Response({ text: request.host }));
    const runner = new web.AppRunner(app, { accessLog: null });
    await runner.setup();
    cleanups.push(() => runner.cleanup());
    const site = new web.TCPSite(runner, "127.0.0.1", 0);
    await site.start();
    const s = session({ connector: own(new TCPConnector({ family: 4 })) });
    expect(await getText(s, `http://localhost:${site.port}/`)).toBe(`localhost:${site.port}`);
  });
});

describe("UnixConnector", () => {
  it("sends every request to the unix socket, whatever the host", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-unix-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, "server.sock");
    const app = new web.Application();
    app.router.addRoute("*", "/{tail:.*}", (request) => {
      return new web.Response({ text: `${request.method} ${request.path} ${request.host}` });
    });
    const runner = new web.AppRunner(app, { accessLog: null });
    await runner.setup();
    cleanups.push(() => runner.cleanup());
    await new web.UnixSite(runner, path).start();
    const connector = own(new UnixConnector({ path }));
    expect(connector.path).toBe(path);
    const s = session({ connector });
    // A .invalid host would fail any DNS lookup: none happens.
    expect(await getText(s, "http://unix.invalid/hello")).toBe("GET /hello unix.invalid");
    const post = await s.post("http://unix.invalid/form", { data: { a: "1" } });
    expect(await post.text()).toBe("POST /form unix.invalid");
  });
});

describe("sharing and closing", () => {
  it("a connector shared with connectorOwner: false survives closing one session", async () => {
    const server = await peer();
    const connector = own(new TCPConnector());
    const first = session({ connector, connectorOwner: false });
    const second = session({ connector, connectorOwner: false });
    expect(await getText(first, server.url())).toBe("ok");
    await first.close();
    expect(connector.closed).toBe(false);
    expect(await getText(second, server.url())).toBe("ok");
    // Both sessions used the same pool: one connection.
    expect(server.stats.connections).toBe(1);
  });

  it("a session with connectorOwner: true closes the connector with itself", async () => {
    const server = await peer();
    const connector = own(new TCPConnector());
    const owner = session({ connector, connectorOwner: true });
    await getText(owner, server.url());
    await owner.close();
    expect(connector.closed).toBe(true);
    const other = session({ connector, connectorOwner: false });
    await expect(other.get(server.url())).rejects.toBeInstanceOf(ClientClosedError);
  });

  it("a session closes the connector it created", async () => {
    const s = new ClientSession();
    const connector = s.connector;
    await s.close();
    expect(connector.closed).toBe(true);
  });

  it("closing the connector closes its idle connections", async () => {
    const server = await peer();
    const connector = new TCPConnector();
    const s = session({ connector });
    await getText(s, server.url());
    expect(server.stats.open).toBe(1);
    await connector.close();
    await vi.waitFor(() => expect(server.stats.open).toBe(0));
  });

  it("await using closes the connector", async () => {
    let seen: BaseConnector;
    {
      await using connector = new TCPConnector();
      seen = connector;
      expect(connector.closed).toBe(false);
    }
    expect(seen.closed).toBe(true);
  });

  it("dispatcherFor keeps one pool per connect timeout and closing ends them all", async () => {
    const server = await peer();
    const connector = new TCPConnector();
    const fast = connector.dispatcherFor(1_000);
    expect(connector.dispatcherFor(1_000)).toBe(fast);
    expect(connector.dispatcherFor(2_000)).not.toBe(fast);
    const origin = `http://127.0.0.1:${server.port}`;
    for (const ms of [1_000, 2_000]) {
      const { body } = await connector
        .dispatcherFor(ms)
        .request({ origin, path: "/", method: "GET" });
      expect(await body.text()).toBe("ok");
    }
    expect(server.stats.open).toBe(2);
    await connector.close();
    await vi.waitFor(() => expect(server.stats.open).toBe(0));
    expect(() => connector.dispatcherFor(1_000)).toThrow(ClientClosedError);
  });

  it("a closed connector refuses to acquire with ClientClosedError", async () => {
    const connector = new TCPConnector();
    await connector.close();
    await expect(connector.acquire()).rejects.toBeInstanceOf(ClientClosedError);
    expect(() => connector.dispatcher).toThrow(ClientClosedError);
  });
});
