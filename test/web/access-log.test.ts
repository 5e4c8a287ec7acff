// The access log: aiohttp's default line, each format specifier, custom loggers, and turning
// it off. Lines are captured with a sink `{ info(line) }` over real requests.
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it, vi } from "vitest";
import { web } from "../../src/index.js";
import { httpSend, quiet, RawConnection, useRunners } from "../helpers.js";

function makeApp(): web.Application {
  const app = new web.Application({ logger: quiet });
  app.router.addGet("/path", () => new web.Response({ text: "hello" }));
  app.router.addGet("/slow", async () => {
    await sleep(120);
    return new web.Response({ text: "slow" });
  });
  app.router.addGet("/stream", async (req) => {
    const resp = new web.StreamResponse({ headers: { "X-Out": "streamed" } });
    await resp.prepare(req);
    await resp.write("abc");
    await resp.write("defg");
    return resp;
  });
  app.router.addGet("/gone", async (req) => {
    const signal = req.signal;
    if (!signal.aborted) await once(signal, "abort");
    return new web.Response({ text: "too late" });
  });
  app.router.addGet("/json", () => web.jsonResponse({ a: 1 }));
  app.router.addGet("/boom", () => {
    throw new Error("boom");
  });
  return app;
}

const start = useRunners();

/** Serves `app` with exactly the runner `options` given; returns the port. */
async function serve(options: web.AppRunnerOptions, app = makeApp()): Promise<number> {
  return (await start(app, options)).port;
}

/** Serves with `format`, sends one request, returns the single line logged for it. */
async function logLine(
  format: string | undefined,
  path: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const lines: string[] = [];
  const port = await serve({
    accessLog: { info: (line) => lines.push(line) },
    ...(format === undefined ? {} : { accessLogFormat: format }),
  });
  await httpSend(port, path, { headers });
  await vi.waitFor(() => expect(lines).toHaveLength(1));
  return lines[0] as string;
}

const TIME = String.raw`\[\d{2}/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]`;

describe("default format", () => {
  it("writes aiohttp's line: remote, time, request line, status, size, referer, user agent", async () => {
    const line = await logLine(undefined, "/path?x=1", { "User-Agent": "ua" });
    expect(line).toMatch(
      new RegExp(`^127\\.0\\.0\\.1 ${TIME} "GET /path\\?x=1 HTTP/1\\.1" 200 5 "-" "ua"$`),
    );
  });

  it("includes the Referer when the request has one", async () => {
    const line = await logLine(undefined, "/path", {
      "User-Agent": "ua",
      Referer: "http://example.com/from",
    });
    expect(line).toMatch(/ 200 5 "http:\/\/example\.com\/from" "ua"$/);
  });

  it("is the documented aiohttp format string", () => {
    expect(web.DEFAULT_ACCESS_LOG_FORMAT).toBe('%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"');
  });
});

describe("format specifiers", () => {
  it("%a is the client's address", async () => {
    expect(await logLine("%a", "/path")).toBe("127.0.0.1");
  });

  it("%a is the client's address also when the client went away first (it used to be -)", async () => {
    const lines: string[] = [];
    const { runner, port } = await start(makeApp(), {
      accessLog: { info: (line) => lines.push(line) },
      accessLogFormat: "%a %r",
    });
    const conn = await RawConnection.open(port);
    conn.write("GET /gone HTTP/1.1\r\nHost: x\r\n\r\n");
    await vi.waitFor(() => expect(runner.server.inFlight).toBe(1));
    conn.destroy();
    await vi.waitFor(() => expect(lines).toEqual(["127.0.0.1 GET /gone HTTP/1.1"]));
  });

  it("%t is the time in Apache's format", async () => {
    expect(await logLine("%t", "/path")).toMatch(new RegExp(`^${TIME}$`));
  });

  it("%t is the time of the request, to the second", async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const line = await logLine("%t", "/path");
    const m = /^\[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]$/.exec(
      line,
    ) as RegExpExecArray;
    const [, d, mon, y, hh, mm, ss, sign, oh, om] = m;
    const offset = (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om));
    const utc = Date.parse(`${d} ${mon} ${y} ${hh}:${mm}:${ss} GMT`) - offset * 60_000;
    expect(utc).toBeGreaterThanOrEqual(before);
    expect(utc).toBeLessThanOrEqual(Date.now());
  });

  it("%r is the request line with the raw path and query", async () => {
    expect(await logLine("%r", "/path?x=1&y=%20")).toBe("GET /path?x=1&y=%20 HTTP/1.1");
  });

  it("%s is the status sent", async () => {
    expect(await logLine("%s", "/path")).toBe("200");
  });

  it("%s is the status of a routing failure", async () => {
    expect(await logLine("%s", "/missing")).toBe("404");
  });

  it("%s is 500 for a handler that throws", async () => {
    expect(await logLine("%s", "/boom")).toBe("500");
  });

  it("%b is the body length of a web.Response", async () => {
    expect(await logLine("%b", "/path")).toBe("5");
  });

  it("%b is the body length of a jsonResponse", async () => {
    expect(await logLine("%b", "/json")).toBe(String(JSON.stringify({ a: 1 }).length));
  });

  it("%b counts every chunk a StreamResponse wrote", async () => {
    expect(await logLine("%b", "/stream")).toBe("7");
  });

  it("%b is 0 for a HEAD request, which gets no body", async () => {
    const lines: string[] = [];
    const port = await serve({ accessLog: { info: (l) => lines.push(l) }, accessLogFormat: "%b" });
    await httpSend(port, "/path", { method: "HEAD" });
    await vi.waitFor(() => expect(lines).toEqual(["0"]));
  });

  it("%b is the length of an error body", async () => {
    expect(await logLine("%b", "/missing")).toBe(String("404: Not Found".length));
  });

  it("%T is the time taken in whole seconds", async () => {
    expect(await logLine("%T", "/slow")).toBe("0");
  });

  it("%Tf is the time taken in seconds with six decimals", async () => {
    const line = await logLine("%Tf", "/slow");
    expect(line).toMatch(/^\d+\.\d{6}$/);
    expect(Number(line)).toBeGreaterThanOrEqual(0.1);
    expect(Number(line)).toBeLessThan(5);
  });

  it("%D is the time taken in microseconds", async () => {
    const line = await logLine("%D", "/slow");
    expect(line).toMatch(/^\d+$/);
    expect(Number(line)).toBeGreaterThanOrEqual(100_000);
    expect(Number(line)).toBeLessThan(5_000_000);
  });

  it("%P is the process id in angle brackets", async () => {
    expect(await logLine("%P", "/path")).toBe(`<${process.pid}>`);
  });

  it("%{Header}i is a request header, - when absent", async () => {
    expect(await logLine("%{X-Trace}i|%{X-None}i", "/path", { "X-Trace": "t-1" })).toBe("t-1|-");
  });

  it("%{Header}i matches the header name case-insensitively", async () => {
    expect(await logLine("%{x-trace}i", "/path", { "X-TRACE": "t-2" })).toBe("t-2");
  });

  it("%{Header}o is a response header, - when absent", async () => {
    expect(await logLine("%{Content-Type}o|%{X-None}o", "/path")).toBe(
      "text/plain; charset=utf-8|-",
    );
  });

  it("%{Header}o sees the headers of a streamed response", async () => {
    expect(await logLine("%{X-Out}o", "/stream")).toBe("streamed");
  });

  it("keeps literal text and %% around the specifiers", async () => {
    expect(await logLine("[%s] 100%% of %b", "/path")).toBe("[200] 100% of 5");
  });

  it("throws on an unknown specifier, naming it and the format", () => {
    expect(() => web.compileAccessLogFormat("%a %x")).toThrow(/Unknown specifier %x.*"%a %x"/);
  });

  it("throws on a lone % at the end of the format", () => {
    expect(() => web.compileAccessLogFormat("%s 100%")).toThrow(/Unknown specifier/);
  });

  it("throws on a header specifier of an unknown kind", () => {
    expect(() => web.compileAccessLogFormat("%{Host}x")).toThrow(/Unknown specifier/);
  });

  it("fails runner setup on an unknown specifier before the application freezes", async () => {
    const app = makeApp();
    const r = new web.AppRunner(app, { accessLog: { info() {} }, accessLogFormat: "%Q" });
    await expect(r.setup()).rejects.toThrow(TypeError);
    expect(app.frozen).toBe(false);
  });
});

describe("access loggers", () => {
  it("writes one line per request, in order", async () => {
    const lines: string[] = [];
    const port = await serve({ accessLog: { info: (l) => lines.push(l) }, accessLogFormat: "%r" });
    await httpSend(port, "/path?n=1");
    await httpSend(port, "/path?n=2");
    await vi.waitFor(() => expect(lines).toHaveLength(2));
    expect(lines).toEqual(["GET /path?n=1 HTTP/1.1", "GET /path?n=2 HTTP/1.1"]);
  });

  it("logs to console.info by default", async () => {
    const info = vi.spyOn(console, "info").mockImplementation(() => {});
    try {
      const port = await serve({});
      await httpSend(port, "/path");
      await vi.waitFor(() => expect(info).toHaveBeenCalledTimes(1));
      expect(String(info.mock.calls[0]?.[0])).toMatch(/"GET \/path HTTP\/1\.1" 200 5/);
    } finally {
      info.mockRestore();
    }
  });

  it("logs nothing with accessLog: null", async () => {
    const info = vi.spyOn(console, "info").mockImplementation(() => {});
    try {
      const port = await serve({ accessLog: null });
      expect((await httpSend(port, "/path")).status).toBe(200);
      await sleep(20);
      expect(info).not.toHaveBeenCalled();
    } finally {
      info.mockRestore();
    }
  });

  it("calls a custom AbstractAccessLogger with the request, response and duration", async () => {
    const seen: Array<{ path: string; status: number | undefined; ms: number }> = [];
    class Recorder extends web.AbstractAccessLogger {
      log(request: web.Request, response: web.StreamResponse | null, durationMs: number): void {
        seen.push({ path: request.path, status: response?.status, ms: durationMs });
      }
    }
    const port = await serve({ accessLog: new Recorder() });
    await httpSend(port, "/slow");
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]).toMatchObject({ path: "/slow", status: 200 });
    expect(seen[0]?.ms).toBeGreaterThanOrEqual(100);
  });

  it("gives a custom logger the body length a web.Response sent", async () => {
    const lengths: number[] = [];
    class Sizes extends web.AbstractAccessLogger {
      log(_request: web.Request, response: web.StreamResponse | null): void {
        lengths.push(response?.bodyLength ?? -1);
      }
    }
    const port = await serve({ accessLog: new Sizes() });
    await httpSend(port, "/path");
    await httpSend(port, "/stream");
    await vi.waitFor(() => expect(lengths).toHaveLength(2));
    expect(lengths).toEqual([5, 7]);
  });

  it("skips a custom logger that reports itself disabled", async () => {
    const log = vi.fn();
    class Off extends web.AbstractAccessLogger {
      override get enabled(): boolean {
        return false;
      }
      log = log;
    }
    const port = await serve({ accessLog: new Off() });
    expect((await httpSend(port, "/path")).status).toBe(200);
    await sleep(20);
    expect(log).not.toHaveBeenCalled();
  });

  it("survives an access logger that throws, reporting it to the application logger", async () => {
    const errors: string[] = [];
    const app = makeApp();
    const logged = new web.Application({ logger: { error: (m: string) => errors.push(m) } });
    logged.addSubapp("/app/", app);
    const port = await serve(
      {
        accessLog: {
          info() {
            throw new Error("disk full");
          },
        },
      },
      logged,
    );
    expect((await httpSend(port, "/app/path")).status).toBe(200);
    expect((await httpSend(port, "/app/path")).status).toBe(200);
    await vi.waitFor(() => expect(errors).toHaveLength(2));
    expect(errors[0]).toMatch(/access logger/i);
  });
});
