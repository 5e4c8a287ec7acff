// Protocol limits and strictness, checked on raw sockets: line and header sizes, header count,
// timeouts against slow clients, keep-alive, and malformed or ambiguous framing (RFC 9112).
// After every refused request the server must still answer a good one.
import { describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import {
  getRequest,
  quiet,
  type RawChunk,
  type RawReply,
  type RunningApp,
  rawExchange,
  useRunners,
} from "../helpers.js";

/**
 * Connects, writes `chunks` (a number waits that many ms), and collects what the server sends
 * until it closes the connection; fails if it is still open `limitMs` after connecting.
 */
function exchange(port: number, chunks: RawChunk[], limitMs = 3000): Promise<RawReply> {
  return rawExchange(port, chunks, { timeoutMs: limitMs, requireClose: true });
}

const start = useRunners();

async function serve(options: web.AppRunnerOptions = {}): Promise<RunningApp> {
  const app = new web.Application({ logger: quiet });
  app.router.addGet("/{tail:.*}", () => new web.Response({ text: "ok" }));
  app.router.addPost("/echo", async (req) => new web.Response({ body: await req.read() }));
  return start(app, { accessLog: null, ...options });
}

/** Asserts that a well-formed request on a new connection still gets 200. */
async function expectHealthy(port: number): Promise<void> {
  const ok = await exchange(port, [getRequest("/")]);
  expect(ok.statusLine).toBe("HTTP/1.1 200 OK");
}

/** `n` filler header lines. */
function headers(n: number): string {
  return Array.from({ length: n }, (_, i) => `X-H${i}: v\r\n`).join("");
}

describe("defaults", () => {
  it("has aiohttp's limits and timeouts unless told otherwise", async () => {
    const { runner } = await serve();
    expect(runner.server.limits).toEqual({
      maxLineSize: 8190,
      maxFieldSize: 8190,
      maxHeaders: 128,
      headersTimeout: 60_000,
      requestTimeout: 300_000,
      keepaliveTimeout: 75_000,
    });
  });

  it("never enables node's lenient HTTP parser", async () => {
    const { runner } = await serve();
    for (const site of runner.sites) {
      const server = site.httpServer as unknown as { insecureHTTPParser?: boolean };
      expect(server.insecureHTTPParser).toBe(false);
    }
    expect(runner.sites.size).toBe(1);
  });
});

describe("request line", () => {
  // "GET " + target + " HTTP/1.1" is the target's length plus 13.
  it("answers 414 to a request line longer than 8190 bytes", async () => {
    const { port } = await serve();
    const target = `/${"a".repeat(8190 - 13)}`;
    const r = await exchange(port, [getRequest(target)]);
    expect(r.statusLine).toBe("HTTP/1.1 414 Request-URI Too Long");
    await expectHealthy(port);
  });

  it("accepts a request line of exactly 8190 bytes", async () => {
    const { port } = await serve();
    const target = `/${"a".repeat(8190 - 13 - 1)}`;
    expect(`GET ${target} HTTP/1.1`.length).toBe(8190);
    const r = await exchange(port, [getRequest(target)]);
    expect(r.statusLine).toBe("HTTP/1.1 200 OK");
  });

  it("counts the query string in the request line", async () => {
    const { port } = await serve();
    const r = await exchange(port, [getRequest(`/?q=${"a".repeat(8190)}`)]);
    expect(r.statusLine).toBe("HTTP/1.1 414 Request-URI Too Long");
  });

  it("applies a smaller maxLineSize", async () => {
    const { port } = await serve({ maxLineSize: 100 });
    // A target of 88 bytes makes a 101-byte line, 87 bytes exactly 100.
    expect((await exchange(port, [getRequest(`/${"a".repeat(87)}`)])).statusLine).toBe(
      "HTTP/1.1 414 Request-URI Too Long",
    );
    expect((await exchange(port, [getRequest(`/${"a".repeat(86)}`)])).statusLine).toBe(
      "HTTP/1.1 200 OK",
    );
  });
});

describe("header fields", () => {
  // "X-A: " + value is the value's length plus 5.
  it("answers 431 to a header line longer than 8190 bytes", async () => {
    const { port } = await serve();
    const r = await exchange(port, [getRequest("/", `X-A: ${"v".repeat(8190 - 5 + 1)}\r\n`)]);
    expect(r.statusLine).toBe("HTTP/1.1 431 Request Header Fields Too Large");
    await expectHealthy(port);
  });

  it("accepts a header line of exactly 8190 bytes", async () => {
    const { port } = await serve();
    const r = await exchange(port, [getRequest("/", `X-A: ${"v".repeat(8190 - 5)}\r\n`)]);
    expect(r.statusLine).toBe("HTTP/1.1 200 OK");
  });

  it("answers 431 to more than 128 header fields", async () => {
    const { port } = await serve();
    // Host and Connection are two of them.
    const r = await exchange(port, [getRequest("/", headers(127))]);
    expect(r.statusLine).toBe("HTTP/1.1 431 Request Header Fields Too Large");
    await expectHealthy(port);
  });

  it("accepts exactly 128 header fields", async () => {
    const { port } = await serve();
    const r = await exchange(port, [getRequest("/", headers(126))]);
    expect(r.statusLine).toBe("HTTP/1.1 200 OK");
  });

  it("answers 431 to a header block far beyond every limit", async () => {
    const { port } = await serve();
    const r = await exchange(port, [getRequest("/", headers(5000))]);
    expect(r.statusLine).toBe("HTTP/1.1 431 Request Header Fields Too Large");
    await expectHealthy(port);
  });

  it("applies a smaller maxHeaders", async () => {
    const { port } = await serve({ maxHeaders: 10 });
    expect((await exchange(port, [getRequest("/", headers(9))])).statusLine).toBe(
      "HTTP/1.1 431 Request Header Fields Too Large",
    );
    expect((await exchange(port, [getRequest("/", headers(8))])).statusLine).toBe(
      "HTTP/1.1 200 OK",
    );
  });
});

describe("timeouts", () => {
  it("answers 408 and closes when the headers arrive too slowly", async () => {
    const { port } = await serve({ headersTimeout: 300 });
    const r = await exchange(port, ["GET / HTTP/1.1\r\nHost: x\r\n"]);
    expect(r.statusLine).toBe("HTTP/1.1 408 Request Timeout");
    expect(r.closedAfter).toBeGreaterThanOrEqual(250);
    expect(r.closedAfter).toBeLessThan(1000);
    await expectHealthy(port);
  });

  it("closes a connection that never sends a request within headersTimeout", async () => {
    const { port } = await serve({ headersTimeout: 300 });
    const r = await exchange(port, []);
    expect(r.closedAfter).toBeGreaterThanOrEqual(250);
    expect(r.closedAfter).toBeLessThan(1000);
  });

  it("counts headersTimeout from the first byte, not from each packet", async () => {
    const { port } = await serve({ headersTimeout: 300 });
    const drip = [
      "GET / HTTP/1.1\r\n",
      100,
      "Host: x\r\n",
      100,
      "X-A: 1\r\n",
      100,
      "X-B: 2\r\n",
      100,
    ];
    const r = await exchange(port, [...drip, "\r\n"]);
    expect(r.statusLine).toBe("HTTP/1.1 408 Request Timeout");
  });

  it("answers 408 and closes when the body arrives too slowly", async () => {
    const { port } = await serve({ requestTimeout: 500 });
    const r = await exchange(port, [
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
    ]);
    expect(r.statusLine).toBe("HTTP/1.1 408 Request Timeout");
    expect(r.closedAfter).toBeGreaterThanOrEqual(400);
    expect(r.closedAfter).toBeLessThan(1500);
    await expectHealthy(port);
  });

  it("accepts a requestTimeout shorter than the default headersTimeout", async () => {
    const { port, runner } = await serve({ requestTimeout: 500 });
    expect(runner.server.limits.headersTimeout).toBe(500);
    await expectHealthy(port);
  });

  it("lets a request that completes in time through", async () => {
    const { port } = await serve({ requestTimeout: 600 });
    const r = await exchange(port, [
      "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 6\r\n\r\nabc",
      150,
      "def",
    ]);
    expect(r.statusLine).toBe("HTTP/1.1 200 OK");
    expect(r.raw.endsWith("\r\n\r\nabcdef")).toBe(true);
  });

  it("closes an idle keep-alive connection after keepaliveTimeout", async () => {
    const { port } = await serve({ keepaliveTimeout: 200 });
    const r = await exchange(port, ["GET / HTTP/1.1\r\nHost: x\r\n\r\n"]);
    expect(r.statusLine).toBe("HTTP/1.1 200 OK");
    expect(r.raw).toMatch(/\r\nConnection: keep-alive\r\n/i);
    expect(r.closedAfter).toBeGreaterThanOrEqual(150);
    // Node keeps the socket up to a second past the advertised timeout (keepAliveTimeoutBuffer).
    expect(r.closedAfter).toBeLessThan(2500);
  });

  it("keeps an idle connection open within keepaliveTimeout", async () => {
    const { port } = await serve({ keepaliveTimeout: 2000 });
    const r = await exchange(
      port,
      ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", 500, getRequest("/second")],
      5000,
    );
    expect(r.raw.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
  });
});

describe("framing and Host (RFC 9112)", () => {
  it("answers 400 to both Content-Length and Transfer-Encoding", async () => {
    const { port } = await serve();
    const r = await exchange(port, [
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ]);
    expect(r.statusLine).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });

  it("answers 400 to two Content-Length headers with the same value", async () => {
    const { port } = await serve();
    const r = await exchange(port, [
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    ]);
    expect(r.statusLine).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });

  it("answers 400 to two Content-Length headers that disagree", async () => {
    const { port } = await serve();
    const r = await exchange(port, [
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    ]);
    expect(r.statusLine).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });

  it("answers 400 to a Content-Length that is not a number", async () => {
    const { port } = await serve();
    const r = await exchange(port, [
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3a\r\n\r\nabc",
    ]);
    expect(r.statusLine).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });

  it("answers 400 to a Transfer-Encoding other than chunked last", async () => {
    const { port } = await serve();
    const r = await exchange(port, [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ]);
    expect(r.statusLine).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });

  it("answers 400 to two Host headers", async () => {
    const { port } = await serve();
    const r = await exchange(port, ["GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"]);
    expect(r.statusLine).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });

  it("answers 400 to HTTP/1.1 without Host", async () => {
    const { port } = await serve();
    const r = await exchange(port, ["GET / HTTP/1.1\r\nConnection: close\r\n\r\n"]);
    expect(r.statusLine).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });

  it("accepts HTTP/1.0 without Host", async () => {
    const { port } = await serve();
    const r = await exchange(port, ["GET / HTTP/1.0\r\n\r\n"]);
    expect(r.statusLine).toMatch(/^HTTP\/1\.[01] 200 OK$/);
    expect(r.raw.endsWith("\r\n\r\nok")).toBe(true);
  });

  it("reads a chunked body", async () => {
    const { port } = await serve();
    const r = await exchange(port, [
      "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    ]);
    expect(r.statusLine).toBe("HTTP/1.1 200 OK");
    expect(r.raw.endsWith("\r\n\r\nabcde")).toBe(true);
  });
});

describe("strict parsing (no lenient parser)", () => {
  it("refuses a header continued on the next line (obs-fold)", async () => {
    const { port } = await serve();
    const r = await exchange(port, [getRequest("/", "X-A: one\r\n two\r\n")]);
    expect(r.statusLine).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });

  it("refuses lines ended by a bare LF", async () => {
    const { port } = await serve();
    const r = await exchange(port, ["GET / HTTP/1.1\nHost: x\nConnection: close\n\n"]);
    expect(r.statusLine).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });

  it("refuses whitespace between a header name and the colon", async () => {
    const { port } = await serve();
    const r = await exchange(port, ["GET / HTTP/1.1\r\nHost : x\r\nConnection: close\r\n\r\n"]);
    expect(r.statusLine).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });

  it("refuses a control character in a header value", async () => {
    const { port } = await serve();
    const r = await exchange(port, [getRequest("/", "X-A: a\x00b\r\n")]);
    expect(r.statusLine).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });

  it("refuses an unknown HTTP version", async () => {
    const { port } = await serve();
    const r = await exchange(port, ["GET / HTTP/9.9\r\nHost: x\r\n\r\n"]);
    expect(r.statusLine).toMatch(/^HTTP\/1\.1 (400 Bad Request|505 HTTP Version Not Supported)$/);
    await expectHealthy(port);
  });

  it("refuses a chunk size that is not hexadecimal", async () => {
    const { port } = await serve();
    const r = await exchange(port, [
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    ]);
    expect(r.statusLine).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });
});
