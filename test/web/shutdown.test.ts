// Graceful shutdown (AppRunner.cleanup): stop accepting, onShutdown, in-flight requests finish
// up to shutdownTimeout, idle keep-alive connections close, then onCleanup.
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it, vi } from "vitest";
import { StreamClosedError, web } from "../../src/index.js";
import {
  type Deferred,
  deferred,
  httpSend,
  quiet,
  RawConnection,
  type RunningApp,
  useRunners,
} from "../helpers.js";

/** An app whose GET /slow opens `entered`, then answers "done" after `ms`. */
function slowApp(ms: number): { app: web.Application; entered: Deferred<void> } {
  const entered = deferred();
  const app = new web.Application({ logger: quiet });
  app.router.addGet("/slow", async () => {
    entered.resolve();
    await sleep(ms);
    return new web.Response({ text: "done" });
  });
  return { app, entered };
}

const startRunner = useRunners();

/**
 * For the tests of what must not wait: a cleanup that waited anyway would take this long, so
 * "at once" is "well under this", a bound a busy machine meets.
 */
const SHUTDOWN_TIMEOUT = 10_000;

function start(app: web.Application, options: web.AppRunnerOptions = {}): Promise<RunningApp> {
  return startRunner(app, { accessLog: null, ...options });
}

describe("graceful shutdown", () => {
  it("lets a slow request that started before cleanup() finish with 200", async () => {
    const { app, entered } = slowApp(300);
    const current = await start(app);
    const reply = httpSend(current.port, "/slow");
    await entered.promise;
    const cleanup = current.runner.cleanup();
    const r = await reply;
    expect(r.status).toBe(200);
    expect(r.body).toBe("done");
    await cleanup;
  });

  it("sends the whole of a large in-flight body to a slow reader before closing", async () => {
    const entered = deferred();
    const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/big", async () => {
      entered.resolve();
      await sleep(50);
      return new web.Response({ body: big });
    });
    const current = await start(app);
    const reply = httpSend(current.port, "/big", { slowReader: true });
    await entered.promise;
    const cleanup = current.runner.cleanup();
    const r = await reply;
    expect(r.status).toBe(200);
    expect(r.bytes.length).toBe(big.length);
    await cleanup;
  });

  it("finishes a streamed in-flight response before closing", async () => {
    const entered = deferred();
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/stream", async (req) => {
      const resp = new web.StreamResponse();
      await resp.prepare(req);
      entered.resolve();
      for (let i = 0; i < 5; i++) {
        await sleep(40);
        await resp.write(`part ${i};`);
      }
      await resp.writeEof();
      return resp;
    });
    const current = await start(app);
    const reply = httpSend(current.port, "/stream");
    await entered.promise;
    const cleanup = current.runner.cleanup();
    const r = await reply;
    expect(r.body).toBe("part 0;part 1;part 2;part 3;part 4;");
    await cleanup;
  });

  it("refuses new connections once it stops accepting", async () => {
    const { app, entered } = slowApp(300);
    const current = await start(app);
    const inFlight = httpSend(current.port, "/slow");
    await entered.promise;
    const cleanup = current.runner.cleanup();
    await expect(httpSend(current.port, "/slow")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect((await inFlight).status).toBe(200);
    await cleanup;
  });

  it("closes idle keep-alive connections at once", async () => {
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/", () => new web.Response({ text: "ok" }));
    const current = await start(app, { shutdownTimeout: SHUTDOWN_TIMEOUT });
    const conn = await RawConnection.open(current.port);
    conn.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await conn.waitFor("\r\n\r\n");
    expect(conn.data).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: keep-alive/i);
    const t0 = performance.now();
    await current.runner.cleanup();
    await conn.closed;
    expect(performance.now() - t0).toBeLessThan(SHUTDOWN_TIMEOUT / 2);
  });

  it("closes a busy keep-alive connection after its in-flight response", async () => {
    const { app, entered } = slowApp(200);
    const current = await start(app);
    const conn = new RawConnection(current.port);
    conn.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await entered.promise;
    await current.runner.cleanup();
    await conn.closed;
    expect(conn.data).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\ndone$/);
  });

  it("ends the keep-alive of in-flight requests: their responses say Connection: close", async () => {
    const entered = { short: deferred(), long: deferred() };
    // Events, not two timers, order the answers: /short answers once shutdown began, /long only
    // after the test saw the short one's connection close. (With 100 and 500 ms sleeps, a busy
    // machine could run the short handler to its end before cleanup() began.)
    const shuttingDown = deferred();
    const releaseLong = deferred();
    const app = new web.Application({ logger: quiet });
    app.onShutdown.push(() => shuttingDown.resolve());
    app.router.addGet("/short", async () => {
      entered.short.resolve();
      await shuttingDown.promise;
      return new web.Response({ text: "short" });
    });
    app.router.addGet("/long", async () => {
      entered.long.resolve();
      await releaseLong.promise;
      return new web.Response({ text: "long" });
    });
    const current = await start(app);
    const conn = new RawConnection(current.port);
    conn.write("GET /short HTTP/1.1\r\nHost: x\r\n\r\n");
    const long = httpSend(current.port, "/long");
    await Promise.all([entered.short.promise, entered.long.promise]);
    let cleanedUp = false;
    const cleanup = current.runner.cleanup().then(() => {
      cleanedUp = true;
    });
    await conn.closed;
    // The short request's connection closes after its answer, not when shutdown is over.
    expect(cleanedUp).toBe(false);
    expect(conn.data).toMatch(
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\nConnection: close\r\n[\s\S]*short$/i,
    );
    releaseLong.resolve();
    expect((await long).headers.connection).toBe("close");
    await cleanup;
  });

  it("cuts requests still running after shutdownTimeout", async () => {
    const entered = deferred();
    // The handler ends only when the test is over: only shutdownTimeout can end cleanup(), and
    // how long a busy machine takes to get there does not matter.
    const never = deferred();
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/forever", async () => {
      entered.resolve();
      await never.promise;
      return new web.Response({ text: "too late" });
    });
    const current = await start(app, { shutdownTimeout: 200 });
    const reply = httpSend(current.port, "/forever");
    reply.catch(() => {});
    await entered.promise;
    const t0 = performance.now();
    try {
      await current.runner.cleanup();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
      await expect(reply).rejects.toThrow();
    } finally {
      never.resolve();
    }
  });

  it("logs a warning naming the requests cut off by shutdownTimeout", async () => {
    const entered = deferred();
    const warnings: string[] = [];
    const app = new web.Application({
      logger: { error() {}, warn: (m: string) => warnings.push(m) },
    });
    const never = deferred();
    app.router.addGet("/forever", async () => {
      entered.resolve();
      await never.promise;
      return new web.Response();
    });
    const current = await start(app, { shutdownTimeout: 100 });
    httpSend(current.port, "/forever").catch(() => {});
    await entered.promise;
    await current.runner.cleanup();
    never.resolve();
    expect(warnings).toEqual([expect.stringMatching(/1 request\(s\) still running/)]);
  });

  it("runs onShutdown while requests are in flight and onCleanup after they finished", async () => {
    const entered = deferred();
    const events: string[] = [];
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/slow", async () => {
      entered.resolve();
      await sleep(200);
      events.push("handler done");
      return new web.Response({ text: "done" });
    });
    app.onShutdown.push(() => events.push("onShutdown"));
    app.onCleanup.push(() => events.push("onCleanup"));
    const current = await start(app);
    const reply = httpSend(current.port, "/slow");
    await entered.promise;
    await current.runner.cleanup();
    expect((await reply).status).toBe(200);
    expect(events).toEqual(["onShutdown", "handler done", "onCleanup"]);
  });

  it("lets an in-flight handler use what a cleanup context set up until it finishes", async () => {
    const entered = deferred();
    const connKey = new web.AppKey<{ open: boolean }>("conn");
    const app = new web.Application({ logger: quiet });
    app.cleanupCtx.push(async function* (a) {
      const conn = { open: true };
      a.set(connKey, conn);
      yield;
      conn.open = false;
    });
    app.router.addGet("/slow", async (req) => {
      entered.resolve();
      await sleep(200);
      return new web.Response({ text: String(req.app.get(connKey)?.open) });
    });
    const current = await start(app);
    const reply = httpSend(current.port, "/slow");
    await entered.promise;
    await current.runner.cleanup();
    expect((await reply).body).toBe("true");
  });

  it("completes at once when nothing is in flight", async () => {
    const app = new web.Application({ logger: quiet });
    const current = await start(app, { shutdownTimeout: SHUTDOWN_TIMEOUT });
    const t0 = performance.now();
    await current.runner.cleanup();
    expect(performance.now() - t0).toBeLessThan(SHUTDOWN_TIMEOUT / 2);
  });
});

describe("pipelined requests", () => {
  // Found by the fuzz run (test/fuzz): node:http never ends a response queued behind another
  // when the connection dies, so the request stayed in flight for good and every shutdown
  // waited shutdownTimeout for it.
  it("a request pipelined behind a slow one and cut by a framing error is not left in flight", async () => {
    const gate = deferred();
    const app = new web.Application({ logger: quiet });
    app.router.addPost("/slow", async (request) => {
      await request.read();
      await gate.promise;
      return new web.Response({ text: "slow" });
    });
    app.router.addPost("/cut", async (request) => new web.Response({ body: await request.read() }));
    const { runner, port } = await start(app, { shutdownTimeout: SHUTDOWN_TIMEOUT });
    const conn = await RawConnection.open(port);
    // The second request's head is fine; its chunk size is not, so node:http drops the
    // connection while /slow still holds it and /cut's response waits in the queue.
    conn.write(
      "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na" +
        "POST /cut HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    );
    await conn.closesWithin(5000);
    gate.resolve();
    await vi.waitFor(() => expect(runner.server.inFlight).toBe(0));
    const t0 = performance.now();
    await runner.cleanup();
    expect(performance.now() - t0).toBeLessThan(SHUTDOWN_TIMEOUT / 2);
  });
});

describe("handlerCancellation", () => {
  interface Trace {
    events: string[];
    readError: unknown;
    signalAborted: boolean;
  }

  /**
   * An app whose /upload reads the body and /work ignores the client and works until `done`:
   * the tests end the work when their order of events needs it. (It used to sleep 300 ms,
   * which a busy machine can spend before the test looks: the handler was then done early.)
   */
  function tracedApp(
    trace: Trace,
    entered: { resolve: () => void },
    done: Promise<void> = new Promise(() => {}),
  ): web.Application {
    const app = new web.Application({ logger: quiet });
    app.router.addPost("/upload", async (req) => {
      entered.resolve();
      try {
        await req.read();
      } catch (err) {
        trace.readError = err;
      }
      trace.signalAborted = req.signal.aborted;
      return new web.Response({ text: "read" });
    });
    app.router.addGet("/work", async (req) => {
      req.signal.addEventListener("abort", () => trace.events.push("signal"));
      entered.resolve();
      await done;
      trace.events.push("handler done");
      return new web.Response({ text: "worked" });
    });
    return app;
  }

  /** Opens a connection, sends `text`, and drops the connection once the handler entered. */
  async function sendAndVanish(port: number, text: string, entered: Promise<void>): Promise<void> {
    const conn = new RawConnection(port);
    conn.write(text);
    await entered;
    conn.destroy();
  }

  const upload = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial";
  const work = "GET /work HTTP/1.1\r\nHost: x\r\n\r\n";

  for (const cancellation of [true, false]) {
    it(`rejects a pending body read and aborts request.signal (handlerCancellation: ${cancellation})`, async () => {
      const trace: Trace = { events: [], readError: null, signalAborted: false };
      const entered = deferred();
      const current = await start(tracedApp(trace, entered), { handlerCancellation: cancellation });
      await sendAndVanish(current.port, upload, entered.promise);
      await vi.waitFor(() => expect(trace.readError).not.toBeNull());
      expect(trace.readError).toBeInstanceOf(StreamClosedError);
      expect(trace.signalAborted).toBe(true);
    });
  }

  it("with true, ends the request when the client leaves: logged 499 before the handler is done", async () => {
    const trace: Trace = { events: [], readError: null, signalAborted: false };
    const entered = deferred();
    const finishWork = deferred();
    const app = tracedApp(trace, entered, finishWork.promise);
    const accessLog = {
      info: (line: string) => trace.events.push(`log ${line}`),
    };
    const current = await start(app, {
      handlerCancellation: true,
      accessLog,
      accessLogFormat: "%s",
    });
    await sendAndVanish(current.port, work, entered.promise);
    await vi.waitFor(() => expect(trace.events).toContain("log 499"));
    expect(current.runner.server.inFlight).toBe(0);
    finishWork.resolve();
    await vi.waitFor(() => expect(trace.events).toContain("handler done"));
    expect(trace.events).toEqual(["signal", "log 499", "handler done"]);
  });

  it("with true, graceful shutdown does not wait for a handler whose client left", async () => {
    const trace: Trace = { events: [], readError: null, signalAborted: false };
    const entered = deferred();
    const finishWork = deferred();
    const app = tracedApp(trace, entered, finishWork.promise);
    const current = await start(app, { handlerCancellation: true });
    await sendAndVanish(current.port, work, entered.promise);
    await vi.waitFor(() => expect(current.runner.server.inFlight).toBe(0));
    await current.runner.cleanup();
    expect(trace.events).not.toContain("handler done");
    finishWork.resolve();
  });

  it("with the default false, the handler runs to completion before the request ends", async () => {
    const trace: Trace = { events: [], readError: null, signalAborted: false };
    const entered = deferred();
    const finishWork = deferred();
    const accessLog = {
      info: (line: string) => trace.events.push(`log ${line}`),
    };
    const app = tracedApp(trace, entered, finishWork.promise);
    const current = await start(app, { accessLog, accessLogFormat: "%s" });
    await sendAndVanish(current.port, work, entered.promise);
    // The client is gone (the handler saw its signal), and the request is still in flight.
    await vi.waitFor(() => expect(trace.events).toContain("signal"));
    expect(current.runner.server.inFlight).toBe(1);
    finishWork.resolve();
    await vi.waitFor(() => expect(trace.events).toHaveLength(3));
    expect(trace.events[0]).toBe("signal");
    expect(trace.events[1]).toBe("handler done");
    expect(trace.events[2]).toMatch(/^log \d{3}$/);
    expect(current.runner.server.inFlight).toBe(0);
  });

  it("with the default false, graceful shutdown waits for the handler whose client left", async () => {
    const trace: Trace = { events: [], readError: null, signalAborted: false };
    const entered = deferred();
    const finishWork = deferred();
    const app = tracedApp(trace, entered, finishWork.promise);
    // The work ends only once shutdown has begun, so cleanup() has to wait for it.
    app.onShutdown.push(() => finishWork.resolve());
    const current = await start(app);
    await sendAndVanish(current.port, work, entered.promise);
    await current.runner.cleanup();
    expect(trace.events).toContain("handler done");
  });
});
