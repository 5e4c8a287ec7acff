// What follows a request on its connection cannot change the answer to it: bad bytes behind a
// request being answered never put an error answer inside (or before) that answer, and requests
// queued behind an answer that closes the connection stop counting as in flight.

import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { deferred, getRequest, quiet, RawConnection, rawExchange, useRunners } from "../helpers.js";
import { statusesIn } from "./corpus.js";

const start = useRunners();

/** Settles when node's parser reports the next malformed request on the runner's site. */
async function parseError(runner: web.AppRunner): Promise<void> {
  const server = [...runner.sites][0]?.httpServer;
  if (server === undefined) throw new Error("no site");
  await once(server, "clientError");
}

describe("bad bytes behind a request being answered", () => {
  it("do not land inside a streamed response: it ends whole, then the connection closes", async () => {
    const wrote = deferred();
    const finish = deferred();
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/stream", async (req) => {
      const res = new web.StreamResponse();
      await res.prepare(req);
      await res.write(Buffer.from("part1-"));
      wrote.resolve();
      await finish.promise;
      await res.write(Buffer.from("part2"));
      await res.writeEof();
      return res;
    });
    const { port, runner } = await start(app, { accessLog: null });
    const conn = await RawConnection.open(port);
    conn.write("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    await wrote.promise;
    await conn.waitFor("part1-");
    const refused = parseError(runner);
    conn.write("BOGUS\x00\r\n\r\n");
    await refused;
    finish.resolve();
    expect(await conn.closesWithin(3000)).toBe(true);
    expect(statusesIn(conn.data)).toEqual([200]);
    expect(conn.data.endsWith("6\r\npart1-\r\n5\r\npart2\r\n0\r\n\r\n")).toBe(true);
  });

  it("do not answer before a slow handler: its answer goes out, with Connection: close", async () => {
    const started = deferred();
    const finish = deferred();
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/slow", async () => {
      started.resolve();
      await finish.promise;
      return new web.Response({ text: "slow-done" });
    });
    const { port, runner } = await start(app, { accessLog: null });
    const conn = await RawConnection.open(port);
    conn.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await started.promise;
    const refused = parseError(runner);
    conn.write("BOGUS\x00\r\n\r\n");
    await refused;
    finish.resolve();
    expect(await conn.closesWithin(3000)).toBe(true);
    expect(statusesIn(conn.data)).toEqual([200]);
    expect(conn.data).toContain("Connection: close\r\n");
    expect(conn.data.endsWith("slow-done")).toBe(true);
  });

  it("after an HTTP/1.0 request (no keep-alive) are ignored: it gets its 200", async () => {
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/", async () => new web.Response({ text: "ok" }));
    const { port } = await start(app, { accessLog: null });
    const reply = await rawExchange(port, `GET / HTTP/1.0\r\n\r\n${getRequest("/again")}`, {
      requireClose: true,
    });
    expect(statusesIn(reply.raw)).toEqual([200]);
    expect(reply.raw.endsWith("ok")).toBe(true);
  });
});

describe("requests queued behind an answer that closes the connection", () => {
  it("stop counting as in flight when the connection closes (shutdown does not wait for them)", async () => {
    const app = new web.Application({ logger: quiet });
    // The head cannot be written: a 500 that closes the connection.
    app.router.addGet("/bad", () => new web.Response({ headers: { "X-A": "a\r\nb" } }));
    app.router.addGet("/ok", () => new web.Response({ text: "ok" }));
    const { port, runner } = await start(app, { accessLog: null });
    const reply = await rawExchange(
      port,
      `GET /bad HTTP/1.1\r\nHost: x\r\n\r\n${"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3)}`,
      { requireClose: true },
    );
    expect(statusesIn(reply.raw)).toEqual([500]);
    expect(await runner.server.drain(3000)).toBe(true);
    expect(runner.server.inFlight).toBe(0);
  });
});

describe("pipelined requests", () => {
  it("are handled one at a time, in order, as aiohttp does", async () => {
    let running = 0;
    let most = 0;
    const order: string[] = [];
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/{n}", async (req) => {
      running++;
      most = Math.max(most, running);
      order.push(req.matchInfo.n);
      await new Promise<void>((resolve) => setImmediate(resolve));
      running--;
      return new web.Response({ text: req.matchInfo.n });
    });
    const { port } = await start(app, { accessLog: null });
    const requests = Array.from({ length: 5 }, (_, i) => `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const reply = await rawExchange(port, `${requests.join("")}${getRequest("/last")}`, {
      requireClose: true,
    });
    expect(statusesIn(reply.raw)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(order).toEqual(["0", "1", "2", "3", "4", "last"]);
    expect(most).toBe(1);
  });

  it("a flood of 20,000 on one connection is answered in order, every one", async () => {
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/{n}", (req) => new web.Response({ text: `<${req.matchInfo.n}>` }));
    const { port } = await start(app, { accessLog: null });
    const n = 20_000;
    const flood = Array.from({ length: n }, (_, i) => `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const reply = await rawExchange(port, `${flood.join("")}${getRequest("/end")}`, {
      requireClose: true,
      timeoutMs: 15_000,
    });
    const bodies = [...reply.raw.matchAll(/<(\w+)>/g)].map((m) => m[1]);
    expect(bodies).toHaveLength(n + 1);
    expect(bodies[n - 1]).toBe(String(n - 1));
    expect(bodies[n]).toBe("end");
  });
});
