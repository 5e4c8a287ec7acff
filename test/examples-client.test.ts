// Runs every client example under examples/client/ as a user would: the companion httpbin-like
// server (examples/client/server.ts) in its own process on a free port, then each example in
// its own process with BASE_URL pointing at it; each must exit 0 and print what it shows.
//
// The examples import "aiohttp-ts"; tsx resolves that through tsconfig.json's `paths` to src/,
// so no build is needed. As in test/examples.test.ts, the tsx CLI runs directly under node
// rather than through npx (npx does not relay signals to the program it started).

import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type ServerProcess, startServerProcess } from "./helpers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");
const START_TIMEOUT_MS = 15_000;
const EXAMPLE_TIMEOUT_MS = 20_000;

/** What an example printed and how it ended. */
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runExample(name: string, baseUrl: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TSX_CLI, `examples/client/${name}.ts`],
      {
        cwd: ROOT,
        env: { ...process.env, BASE_URL: baseUrl },
        timeout: EXAMPLE_TIMEOUT_MS,
        encoding: "utf8",
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Each example and lines (or patterns) its output must contain. */
const EXPECTED: Record<string, ReadonlyArray<string | RegExp>> = {
  "make-request": [
    /^200$/m,
    /"User-Agent":"aiohttp-ts\/[^"]+"/,
    "POST /post 200",
    "PUT /put 200",
    "DELETE /delete 200",
    "HEAD /get 200",
    "PATCH /patch 200",
    "baseUrl PUT /put -> 200",
  ],
  params: [
    "/get?key1=value1&key2=value2",
    "/get?key=value1&key=value2",
    'the server saw {"key":["value1","value2"]}',
    "/get?key=value+1",
    "/get?page=2&q=zo%C3%AB+%26+co",
  ],
  "response-content": [
    "status: 200 OK",
    "mimetype: application/json charset: utf-8",
    "Content-Encoding: gzip",
    "json(): true GET",
    "ContentTypeError: Attempt to decode JSON with unexpected mimetype: text/html",
    "json({ contentType: null }): text/plain X-Answer 42",
  ],
  "streaming-response": [
    "saved 5242880 bytes in 80 chunks",
    "line 0\nline 1\nline 2\n",
    /streamed \d{3,} bytes/,
  ],
  "custom-headers": [
    "Content-Type sent: image/gif",
    "Authorization: Basic bG9naW46cGFzcw==",
    "X-Client: override",
    /User-Agent: aiohttp-ts\//,
    "without User-Agent: true",
  ],
  cookies: [
    'session cookies: {"cookies_are":"working"}',
    "set by the first response: flavour, size",
    'sent back after the redirect: {"flavour":"oat","size":"xl"}',
    "jar size: 2",
    'for /cookies: {"flavour":"oat","size":"xl"}',
    "loaded jar size: 2",
    "after clearing 'size': 1",
    'with per-request cookies: {"once":"1"}',
    "on the next request: {}",
    "DummyCookieJar: {}",
  ],
  "post-data": [
    'form: {"key1":"value1","key2":"value2"} application/x-www-form-urlencoded',
    "bytes: 8 bytes, application/octet-stream",
    "text: Привет, Мир! | text/plain; charset=utf-8",
    'json: {"test":"object","n":[1,2]} application/json',
    'multipart: {"field":"value"} {"file":"file content\\n"}',
    "multipart Content-Type: multipart/form-data",
  ],
  multipart: [
    'form: {"title":"holidays"} file: intact',
    "framing: Content-Length",
    "text only: application/x-www-form-urlencoded",
    'generator: "line 1\\nline 2\\nline 3\\n" chunked',
    /^writer size: \d+ bytes$/m,
    'writer: {"meta":"{\\"id\\":7}","greeting":"hi"}',
    'part: application/json {"id":1}',
    "part: text/plain; charset=utf-8 hello",
  ],
  "upload-progress": [
    "upload 25% (1048576 of 4194304 bytes)",
    "upload 100% (4194304 of 4194304 bytes)",
    "the server got 4194304 bytes",
    /gzip: 320000 bytes as \d{3,4} on the wire, Content-Encoding gzip, 320000 bytes arrived/,
    "expect100: 413 at most 1 MiB here, 0 body bytes sent",
    'expect100: 200, the server got "small enough"',
    "download: 1048576 bytes read, progress 1048576 of 1048576",
  ],
  "streaming-upload": [
    "file: 1150000 bytes arrived, Transfer-Encoding chunked",
    'generator: "chunk 1\\nchunk 2\\nchunk 3\\n"',
    "piped: 20 lines went from /stream/20 to /put",
  ],
  timeouts: [
    'session timeouts: {"total":60000,"connect":0,"sockConnect":30000,"sockRead":0}',
    /total: ServerTimeoutError: Timeout \(total 500 ms\) on GET http:\/\/127\.0\.0\.1:\d+\/delay\/2/,
    "sockRead: SocketTimeoutError (a ServerTimeoutError: true)",
    "in time: 200",
    "signal: TimeoutError",
  ],
  "raise-for-status": [
    "status: 404 ok: false",
    "raiseForStatus(): 404 Not Found for /status/404",
    "session raiseForStatus: 500 AIOHTTP_RESPONSE_ERROR",
    "opted out: 503",
    "callback let through: 404",
    "callback: server failed with 502",
  ],
  "basic-auth": [
    'session auth: 200 {"authenticated":true,"user":"user"}',
    "request auth: 200 wrong password: 401",
    'WWW-Authenticate: Basic realm="Fake Realm"',
    /URL credentials: 200 url shown as http:\/\/127\.0\.0\.1:\d+\/basic-auth\/user\/pass$/m,
    "encode(): Basic bG9naW46cGFzcw==",
  ],
  "digest-auth": [
    'digest auth: 200 {"authenticated":true,"user":"user"}',
    "requests sent for the first call: 2",
    "second call: 200 requests sent: 1",
    "auth-int POST: 200",
    "auth-int with a stream: AIOHTTP_DIGEST_AUTH",
    "MD5: 200",
    "SHA-256-sess: 200",
    "SHA-512-256: 200",
    "wrong password: 401",
  ],
  redirects: [
    "final: 200 /get",
    "history: 302 /redirect/3 -> /redirect/2",
    "history: 302 /redirect/1 -> /get",
    "not followed: 302 Location: /get",
    "TooManyRedirects after 3 responses",
    '302: followed with GET, body ""',
    '303: followed with GET, body ""',
    '307: followed with POST, body "payload"',
    '308: followed with POST, body "payload"',
  ],
  tracing: [
    "first: GET /get 200 [dns miss localhost, new connection]",
    "second: GET /get 200 [dns hit localhost, reused connection]",
    "channel: / failed with ClientConnectorError",
  ],
  middlewares: [
    'bearer: the server saw "Bearer expired"',
    'bearer: 401 even with the token refreshed to "fresh"',
    "retry: 503 after 3 attempts",
    "GET /status/503 -> 503\nGET /status/503 -> 503\nGET /status/503 -> 503",
  ],
  tls: [
    "default: UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "with ca and serverHostname: 200 hello over TLS",
    "pinned: 200",
    "other pin: AIOHTTP_FINGERPRINT_MISMATCH",
  ],
  proxy: [
    "URL credentials: 200, Via: 1.1 example-proxy",
    "Proxy-Authorization reached the server: false",
    "proxy: null: 200, Via: none",
    "proxyAuth: 200, Via: 1.1 example-proxy",
    "no credentials: ClientHttpProxyError 407",
    "proxy down: ClientProxyConnectionError AIOHTTP_PROXY_CONNECTION_ERROR",
    "WebSocket via CONNECT: hello through the tunnel",
    "the proxy forwarded 2 requests, tunnelled 1, refused 1",
  ],
  connectors: [
    "statuses: 200,200,200,200,200,200",
    "took two rounds or more: true",
    "most connections in use at once: 3 (limit 3 )",
    "connector still open after the sessions closed: true",
    "connector closed: true",
  ],
};

describe("examples/client", () => {
  let server: ServerProcess | undefined;
  let baseUrl = "";

  beforeAll(async () => {
    server = await startServerProcess([TSX_CLI, "examples/client/server.ts"], {
      cwd: ROOT,
      startTimeoutMs: START_TIMEOUT_MS,
    });
    baseUrl = server.baseUrl;
  }, START_TIMEOUT_MS + 5_000);

  afterAll(() => server?.kill());

  for (const [name, expected] of Object.entries(EXPECTED)) {
    test.concurrent(
      `${name}.ts exits 0 and prints what it shows`,
      async () => {
        const run = await runExample(name, baseUrl);
        const context = `--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
        expect(run.code, context).toBe(0);
        for (const line of expected) {
          if (typeof line === "string") expect(run.stdout, context).toContain(line);
          else expect(run.stdout, context).toMatch(line);
        }
      },
      EXAMPLE_TIMEOUT_MS + 5_000,
    );
  }

  test("every example file has an entry here", async () => {
    const { readdir } = await import("node:fs/promises");
    const files = (await readdir(new URL("../examples/client/", import.meta.url)))
      .filter((f) => f.endsWith(".ts") && f !== "server.ts")
      .map((f) => f.slice(0, -3))
      .sort();
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });
});
