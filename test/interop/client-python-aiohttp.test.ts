// aiohttp-ts's ClientSession calls a Python aiohttp server (aiohttp_server.py, Debian's
// python3-aiohttp): query strings, bodies, streaming both ways, compression, cookies, every
// redirect kind, timeouts, a connection dropped mid-body and a refused connection.

import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { gunzipSync, inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  BasicAuth,
  ClientConnectorError,
  ClientOSError,
  ClientPayloadError,
  ClientSession,
  type ClientSessionOptions,
  ConnectionTimeoutError,
  CookieJar,
  RedirectBodyError,
  ServerDisconnectedError,
  ServerTimeoutError,
  SocketTimeoutError,
  TCPConnector,
  TooManyRedirects,
  VERSION,
} from "../../src/index.js";
import { freePort, warmUpClient } from "../helpers.js";
import { hasPeer, PYTHON } from "../peers.js";

const peersMissing = !hasPeer("python3-aiohttp");

const SERVER_SCRIPT = fileURLToPath(new URL("./aiohttp_server.py", import.meta.url));
const START_TIMEOUT_MS = 10_000;

/** What `/compressed/{coding}` sends, before compression (see aiohttp_server.py). */
const TEXT = "aiohttp compressed this line for the aiohttp-ts client.\n".repeat(300);

/** The bytes `/download/{n}` sends: 0..255 repeated. */
function pattern(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = i & 0xff;
  return out;
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The Python server, running in a child process. */
interface PythonServer {
  child: ChildProcess;
  base: string;
  port: number;
  brotli: boolean;
  stderr(): string;
}

async function startPythonServer(): Promise<PythonServer> {
  // Port 0: the server binds a free port and names it in its READY line. (A port found free
  // beforehand could be taken by another process while Python starts.)
  const child = spawn(PYTHON, [SERVER_SCRIPT, "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const fail = (why: string, cause?: unknown): void => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`aiohttp_server.py: ${why}\n--- stderr ---\n${stderr}`, { cause }));
    };
    const timer = setTimeout(() => fail("no READY line in time"), START_TIMEOUT_MS);
    child.once("error", (err) => fail(`cannot start ${PYTHON}`, err));
    child.once("exit", (code) => fail(`exited with ${code} before READY`));
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      // The whole line: a chunk may end inside it.
      const line = /^READY (\d+) brotli=([01])\n/m.exec(stdout);
      if (line !== null) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve(line);
      }
    });
  });
  const port = Number(ready[1]);
  return {
    child,
    port,
    base: `http://127.0.0.1:${port}`,
    brotli: ready[2] === "1",
    stderr: () => stderr,
  };
}

describe.skipIf(peersMissing)("aiohttp-ts's ClientSession calls a Python aiohttp server", () => {
  let py: PythonServer;
  const sessions: ClientSession[] = [];

  /** A session on the Python server's base URL; closed after all tests. */
  function session(options: ClientSessionOptions = {}): ClientSession {
    const s = new ClientSession({ baseUrl: py.base, ...options });
    sessions.push(s);
    return s;
  }

  beforeAll(async () => {
    py = await startPythonServer();
    // The timeout tests time requests: the first one of the process would also load undici.
    await warmUpClient();
  }, START_TIMEOUT_MS + 5_000);

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    if (py !== undefined && py.child.exitCode === null) py.child.kill("SIGTERM");
  });

  describe("query strings and bodies", () => {
    test("aiohttp sees the default headers, session headers and Basic auth", async () => {
      const s = session({ headers: { "X-Session": "yes" }, auth: new BasicAuth("user", "pass") });
      const resp = await s.get("/headers", { headers: { "X-Request": "1" } });
      const headers = new Map((await resp.json<{ headers: [string, string][] }>()).headers);
      expect(headers.get("Host")).toBe(`127.0.0.1:${py.port}`);
      expect(headers.get("User-Agent")).toBe(`aiohttp-ts/${VERSION}`);
      expect(headers.get("Accept")).toBe("*/*");
      expect(headers.get("Accept-Encoding")).toMatch(/^gzip, deflate, br/);
      expect(headers.get("X-Session")).toBe("yes");
      expect(headers.get("X-Request")).toBe("1");
      expect(headers.get("Authorization")).toBe(`Basic ${btoa("user:pass")}`);
    });

    test("params from an object with arrays are merged after the URL's own query", async () => {
      const resp = await session().get("/query?first=1", {
        params: { tag: ["a", "b"], q: "hello world & more", n: 3 },
      });
      expect(resp.status).toBe(200);
      expect(await resp.json()).toEqual({
        query: [
          ["first", "1"],
          ["tag", "a"],
          ["tag", "b"],
          ["q", "hello world & more"],
          ["n", "3"],
        ],
      });
    });

    test("params as pairs keep order, repeats and non-ASCII text", async () => {
      const resp = await session().get("/query", {
        params: [
          ["k", "zoë"],
          ["k", "a=b;c"],
          ["empty", ""],
        ],
      });
      expect(await resp.json()).toEqual({
        query: [
          ["k", "zoë"],
          ["k", "a=b;c"],
          ["empty", ""],
        ],
      });
    });

    test("an object as data is sent as an urlencoded form", async () => {
      const resp = await session().post("/form", { data: { name: "zoë", note: "a&b c=d" } });
      expect(await resp.json()).toEqual({
        contentType: "application/x-www-form-urlencoded",
        fields: [
          ["name", "zoë"],
          ["note", "a&b c=d"],
        ],
      });
    });

    test("URLSearchParams as data keeps repeated keys", async () => {
      const form = new URLSearchParams([
        ["color", "red"],
        ["color", "blue"],
      ]);
      const resp = await session().post("/form", { data: form });
      expect(await resp.json()).toEqual({
        contentType: "application/x-www-form-urlencoded",
        fields: [
          ["color", "red"],
          ["color", "blue"],
        ],
      });
    });

    test("json is serialised with Content-Type application/json and parsed back", async () => {
      const value = { numbers: [1, 2, 3.5], name: "zoë", nested: { ok: true, none: null } };
      const resp = await session().post("/json", { json: value });
      expect(resp.status).toBe(201);
      expect(resp.contentType).toBe("application/json");
      expect(resp.charset).toBe("utf-8");
      expect(await resp.json()).toEqual({ contentType: "application/json", received: value });
    });

    test("the session's jsonSerialize is used for json bodies", async () => {
      const s = session({ jsonSerialize: (v) => JSON.stringify({ wrapped: v }) });
      const resp = await s.post("/json", { json: [1, 2] });
      expect(await resp.json()).toEqual({
        contentType: "application/json",
        received: { wrapped: [1, 2] },
      });
    });
  });

  describe("streaming", () => {
    test("a Readable body streams up chunked and arrives byte for byte", async () => {
      const size = 4 * 1024 * 1024 + 123;
      const data = pattern(size);
      async function* pieces(): AsyncGenerator<Buffer> {
        for (let at = 0; at < size; at += 65_536) yield data.subarray(at, at + 65_536);
      }
      const resp = await session().post("/upload", { data: Readable.from(pieces()) });
      const got = (await resp.json()) as Record<string, unknown>;
      expect(got).toMatchObject({
        size,
        sha256: sha256(data),
        chunked: true,
        contentType: "application/octet-stream",
      });
      // aiohttp read it with iter_chunked(65536): many pieces, not one buffered body.
      expect(got.chunks).toBeGreaterThan(16);
    });

    test("an async iterable body streams up as well", async () => {
      async function* lines(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < 1000; i++) yield new TextEncoder().encode(`line ${i}\n`);
      }
      const expected = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join("");
      const resp = await session().post("/upload", { data: lines() });
      expect(await resp.json()).toMatchObject({
        size: expected.length,
        sha256: sha256(Buffer.from(expected)),
      });
    });

    test("a large chunked download arrives intact through iterChunked", async () => {
      const size = 8 * 1024 * 1024;
      const resp = await session().get(`/download/${size}`);
      expect(resp.headers.get("Transfer-Encoding")).toBe("chunked");
      expect(resp.contentLength).toBeUndefined();
      const hash = createHash("sha256");
      let total = 0;
      let largest = 0;
      for await (const chunk of resp.content.iterChunked(65_536)) {
        hash.update(chunk);
        total += chunk.length;
        largest = Math.max(largest, chunk.length);
      }
      expect(total).toBe(size);
      expect(largest).toBeLessThanOrEqual(65_536);
      expect(hash.digest("hex")).toBe(sha256(pattern(size)));
      expect(resp.closed).toBe(true);
    });

    test("a download's content is piped straight into an upload", async () => {
      const size = 2 * 1024 * 1024;
      const s = session();
      const download = await s.get(`/download/${size}`);
      const resp = await s.post("/upload", { data: download.content });
      expect(await resp.json()).toMatchObject({ size, sha256: sha256(pattern(size)) });
    });
  });

  describe("compression", () => {
    test("expect100 waits for aiohttp's 100 Continue, then uploads a gzipped stream", async () => {
      const data = Buffer.from(TEXT.repeat(20));
      const resp = await session().post("/upload", {
        data: Readable.from([data]),
        expect100: true,
        compress: "gzip",
      });
      expect(await resp.json()).toMatchObject({ size: data.length, sha256: sha256(data) });
    });

    for (const compress of [true, "deflate", "gzip"] as const) {
      test(`compress: ${JSON.stringify(compress)} uploads a body aiohttp decompresses`, async () => {
        const data = Buffer.from(TEXT.repeat(20));
        const resp = await session().post("/upload", { data, compress });
        // aiohttp's server decompresses request bodies itself: it counts the original bytes.
        expect(await resp.json()).toMatchObject({
          size: data.length,
          sha256: sha256(data),
          chunked: true,
        });
      });
    }

    for (const coding of ["gzip", "deflate"] as const) {
      test(`a ${coding} body from aiohttp is decompressed by text()`, async () => {
        const resp = await session().get(`/compressed/${coding}`);
        expect(resp.headers.get("Content-Encoding")).toBe(coding);
        expect(Number(resp.headers.get("Content-Length"))).toBeLessThan(TEXT.length / 10);
        expect(await resp.text()).toBe(TEXT);
      });
    }

    test("autoDecompress: false hands over aiohttp's gzip bytes as sent", async () => {
      const resp = await session({ autoDecompress: false }).get("/compressed/gzip");
      const raw = await resp.read();
      expect(raw.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      expect(gunzipSync(raw).toString()).toBe(TEXT);
    });

    test("aiohttp's deflate is zlib-wrapped (RFC 9110 8.4.1.2) and decodes as such", async () => {
      const resp = await session({ autoDecompress: false }).get("/compressed/deflate");
      expect(inflateSync(await resp.read()).toString()).toBe(TEXT);
    });

    test("a br body from aiohttp is decompressed by text()", async (ctx) => {
      // aiohttp compresses with br only when `brotli` (or `brotlicffi`) is importable.
      ctx.skip(!hasPeer("python3-brotli"));
      expect(py.brotli).toBe(true);
      const resp = await session().get("/compressed/br");
      expect(resp.headers.get("Content-Encoding")).toBe("br");
      expect(await resp.text()).toBe(TEXT);
    });
  });

  describe("cookies", () => {
    test("cookies aiohttp sets are stored and sent back on a later request", async () => {
      const s = session({ cookieJar: new CookieJar({ unsafe: true }) });
      const set = await s.get("/cookies/set");
      expect([...set.cookies.keys()]).toEqual(["session", "theme", "scoped"]);
      expect(set.cookies.get("session")?.httpOnly).toBe(true);
      expect(set.cookies.get("theme")?.maxAge).toBe(3600);
      await set.release();
      const echo = await s.get("/cookies/echo");
      expect(await echo.json()).toEqual({
        session: "s3cr3t",
        theme: "dark",
        scoped: "only-under-cookies",
      });
    });

    test("a cookie with Path=/cookies/ is not sent outside that path", async () => {
      const s = session({ cookieJar: new CookieJar({ unsafe: true }) });
      await (await s.get("/cookies/set")).release();
      const other = await s.get("/elsewhere");
      expect(await other.json()).toEqual({ session: "s3cr3t", theme: "dark" });
    });

    test("the default jar refuses cookies from an IP-address host", async () => {
      const s = session();
      await (await s.get("/cookies/set")).release();
      expect(s.cookieJar.size).toBe(0);
      expect(await (await s.get("/cookies/echo")).json()).toEqual({});
    });

    test("per-request cookies are sent once and not stored", async () => {
      const s = session({ cookieJar: new CookieJar({ unsafe: true }) });
      const first = await s.get("/cookies/echo", { cookies: { once: "yes" } });
      expect(await first.json()).toEqual({ once: "yes" });
      expect(await (await s.get("/cookies/echo")).json()).toEqual({});
    });
  });

  describe("redirects", () => {
    const KINDS = ["relative", "relative-path", "absolute"] as const;
    const rewritten = new Set([301, 302, 303]);
    for (const code of [301, 302, 303, 307, 308]) {
      for (const kind of KINDS) {
        const what = rewritten.has(code) ? "GET without the body" : "POST with the body";
        test(`POST answered by a ${kind} ${code} is followed with ${what}`, async () => {
          const resp = await session().post(`/redirect/${code}/${kind}`, { data: "payload" });
          expect(resp.status).toBe(200);
          expect(resp.url.href).toBe(`${py.base}/redirect/target`);
          expect(resp.history.map((h) => h.status)).toEqual([code]);
          expect(resp.history[0]?.url.pathname).toBe(`/redirect/${code}/${kind}`);
          expect(await resp.json()).toEqual(
            rewritten.has(code)
              ? { method: "GET", body: "", contentType: null }
              : { method: "POST", body: "payload", contentType: "text/plain; charset=utf-8" },
          );
        });
      }
    }

    test("a 307 cannot replay a stream body that is already sent", async () => {
      const body = Readable.from([Buffer.from("one-shot")]);
      await expect(session().post("/redirect/307/relative", { data: body })).rejects.toBeInstanceOf(
        RedirectBodyError,
      );
    });

    test("a chain of redirects is followed and every hop kept in history", async () => {
      const resp = await session().get("/redirect/chain/3");
      expect(resp.status).toBe(200);
      expect(resp.history.map((h) => [h.status, h.url.pathname])).toEqual([
        [302, "/redirect/chain/3"],
        [302, "/redirect/chain/2"],
        [302, "/redirect/chain/1"],
      ]);
      expect(await resp.json()).toMatchObject({ method: "GET" });
    });

    test("more hops than maxRedirects raise TooManyRedirects with the history", async () => {
      const err = await session()
        .get("/redirect/chain/3", { maxRedirects: 2 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TooManyRedirects);
      expect((err as TooManyRedirects).history).toHaveLength(3);
    });

    describe("to another origin", () => {
      // The other origin: a node:http server that answers with the headers it got.
      const other = createHttpServer((req, res) => {
        res.setHeader("Content-Type", "application/json");
        res.end(JSON.stringify(req.headers));
      });
      let target = "";

      beforeAll(async () => {
        await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
        target = `http://127.0.0.1:${(other.address() as AddressInfo).port}/landing`;
      });

      afterAll(() => {
        other.close();
      });

      /** The headers the other origin got after a redirect from the Python server. */
      async function landed(options: ClientSessionOptions): Promise<Record<string, string>> {
        const resp = await session(options).get("/redirect-to", {
          params: { url: target },
          headers: { "X-Request": "kept" },
        });
        expect(resp.url.href).toBe(target);
        return resp.json<Record<string, string>>();
      }

      test("a cross-origin redirect drops the session's Basic auth", async () => {
        const seen = await landed({ auth: new BasicAuth("user", "pass") });
        expect(seen["x-request"]).toBe("kept");
        expect(seen.authorization).toBeUndefined();
      });

      test("a cross-origin redirect drops an Authorization from the session's headers", async () => {
        const seen = await landed({ headers: { Authorization: "Bearer session-token" } });
        expect(seen["x-request"]).toBe("kept");
        expect(seen.authorization).toBeUndefined();
      });
    });

    test("a same-origin redirect keeps Basic auth", async () => {
      const s = session({ auth: new BasicAuth("user", "pass") });
      const resp = await s.get("/redirect-to", { params: { url: "/headers" } });
      const headers = new Map((await resp.json<{ headers: [string, string][] }>()).headers);
      expect(headers.get("Authorization")).toBe(`Basic ${btoa("user:pass")}`);
    });

    test("HEAD does not follow a redirect unless asked to", async () => {
      const s = session();
      const plain = await s.head("/redirect/302/relative");
      expect(plain.status).toBe(302);
      const followed = await s.head("/redirect/302/relative", { allowRedirects: true });
      expect(followed.status).toBe(200);
      expect(followed.method).toBe("HEAD");
      expect(followed.history).toHaveLength(1);
    });

    test("allowRedirects: false returns the redirect itself", async () => {
      const resp = await session().get("/redirect/308/absolute", { allowRedirects: false });
      expect(resp.status).toBe(308);
      expect(resp.headers.get("Location")).toBe(`${py.base}/redirect/target`);
      expect(resp.history).toEqual([]);
      await resp.release();
    });
  });

  describe("timeouts", () => {
    test("sockRead expiring before the response head raises SocketTimeoutError", async () => {
      const started = Date.now();
      const err = await session()
        .get("/slow/head?delay=2000", { timeout: { sockRead: 200 } })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SocketTimeoutError);
      expect(err).toBeInstanceOf(ServerTimeoutError);
      expect((err as Error).message).toContain("/slow/head");
      expect(Date.now() - started).toBeLessThan(1500);
    });

    test("sockRead fires close to its value, not rounded up to a second", async () => {
      const started = performance.now();
      const resp = await session().get("/slow/body?delay=3000", { timeout: { sockRead: 250 } });
      await resp.content.readline();
      const firstLine = performance.now();
      await expect(resp.content.readline()).rejects.toBeInstanceOf(SocketTimeoutError);
      // The clock started after `started` and restarted with the first line.
      expect(performance.now() - started).toBeGreaterThanOrEqual(240);
      // Rounded up to a second it would fire about 1000 ms after the first line (the second
      // comes after 3000). Measured from the first line rather than from the request, which a
      // busy machine (or a first request loading undici) can make slow.
      expect(performance.now() - firstLine).toBeLessThan(750);
    });

    test("sockRead expiring between two body chunks fails the body read", async () => {
      const resp = await session().get("/slow/body?delay=2000", { timeout: { sockRead: 200 } });
      expect(resp.status).toBe(200);
      expect((await resp.content.readline()).toString()).toBe("first\n");
      await expect(resp.content.readline()).rejects.toBeInstanceOf(SocketTimeoutError);
    });

    test("a gap shorter than sockRead does not fail the read", async () => {
      const resp = await session().get("/slow/body?delay=100", { timeout: { sockRead: 1000 } });
      expect(await resp.text()).toBe("first\nsecond\n");
    });

    test("total covers the whole body: a steady trickle still times out", async () => {
      const started = Date.now();
      const resp = await session().get("/slow/trickle?chunks=30&every=100", {
        timeout: { total: 600, sockRead: 500 },
      });
      const err = await resp.text().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServerTimeoutError);
      // Each gap is 100 ms, well under sockRead: it is the total that expired.
      expect(err).not.toBeInstanceOf(SocketTimeoutError);
      expect((err as Error).message).toContain("total 600 ms");
      expect(Date.now() - started).toBeLessThan(2000);
    });

    test("total expiring before the response head raises ServerTimeoutError", async () => {
      const err = await session()
        .get("/slow/head?delay=2000", { timeout: { total: 200 } })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServerTimeoutError);
      expect((err as Error).message).toContain("/slow/head");
    });

    test("connect expiring while the pool is full raises ConnectionTimeoutError", async () => {
      const connector = new TCPConnector({ limit: 1 });
      const s = session({ connector });
      const busy = await s.get("/slow/body?delay=1000");
      const err = await s.get("/query", { timeout: { connect: 200 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionTimeoutError);
      busy.close();
    });
  });

  describe("connection failures", () => {
    test("a Content-Length body cut short by aiohttp raises ClientPayloadError", async () => {
      const resp = await session().get("/drop/length");
      expect(resp.status).toBe(200);
      expect(resp.contentLength).toBe(1000);
      await expect(resp.read()).rejects.toBeInstanceOf(ClientPayloadError);
    });

    test("a chunked body cut short by aiohttp raises ClientPayloadError", async () => {
      const resp = await session().get("/drop/chunked");
      expect(resp.status).toBe(200);
      await expect(resp.text()).rejects.toBeInstanceOf(ClientPayloadError);
    });

    test("the bytes before the cut can still be read from content", async () => {
      const resp = await session().get("/drop/chunked");
      expect((await resp.content.readline()).toString()).toBe("part one\n");
    });

    test("a connection closed before any response raises ServerDisconnectedError", async () => {
      await expect(session().get("/close")).rejects.toBeInstanceOf(ServerDisconnectedError);
    });

    test("a refused connection raises ClientConnectorError with host, port and errno", async () => {
      const port = await freePort();
      const err = await session()
        .get(`http://127.0.0.1:${port}/`)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientConnectorError);
      expect(err).toBeInstanceOf(ClientOSError);
      const e = err as ClientConnectorError;
      expect(e.code).toBe("AIOHTTP_CONNECTOR_ERROR");
      expect(e.errno).toBe("ECONNREFUSED");
      expect(e.host).toBe("127.0.0.1");
      expect(e.port).toBe(port);
      expect(e.message).toContain(`127.0.0.1:${port}`);
    });

    test("the Python server is still healthy after the failures", async () => {
      const resp = await session().get("/query", { params: { ok: "1" } });
      expect(await resp.json()).toEqual({ query: [["ok", "1"]] });
      expect(py.stderr()).not.toMatch(/Traceback/);
    });
  });
});
