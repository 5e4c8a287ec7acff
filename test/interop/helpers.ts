// Shared by the interop tests: the application both peers (curl, Python's aiohttp client) call,
// a record of what the server saw, and runners that drive each peer as a child process.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { web } from "../../src/index.js";
import { TestServer } from "../../src/test-utils/index.js";
import { PYTHON } from "../peers.js";

const CLIENT_SCRIPT = fileURLToPath(new URL("./aiohttp_client.py", import.meta.url));

/** Bytes the small sub-application (`/small/`) accepts in a request body. */
export const SMALL_MAX_SIZE = 1024;

/** A text long and repetitive enough that compressing it is worth it. */
export const COMPRESSIBLE_TEXT = "aiohttp-ts compresses this line for the interop test.\n".repeat(
  200,
);

/** The body of `/text`. */
export const HELLO_TEXT = "hello from aiohttp-ts\n";

/** The pieces `/stream` writes, with a pause between them. */
export const STREAM_CHUNKS = ["first\n", "second\n", "third\n", "fourth\n", "fifth\n"];

/** One request as the server's access log saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  status: number;
  remotePort: number | null;
  headers: Record<string, string>;
}

class RecordingAccessLogger extends web.AbstractAccessLogger {
  readonly seen: SeenRequest[] = [];

  log(request: web.Request, response: web.StreamResponse | null): void {
    const peer = request.getExtraInfo("peername");
    this.seen.push({
      method: request.method,
      path: request.path,
      status: response?.status ?? request.rawResponse.statusCode,
      remotePort: peer === null ? null : peer[1],
      headers: Object.fromEntries(request.headers.entries()),
    });
  }
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The application every interop test calls. */
export function makeInteropApp(): web.Application {
  const app = new web.Application({ clientMaxSize: 4 * 1024 ** 2 });
  const r = app.router;

  r.addGet("/users/{id}/posts/{post:\\d+}", (request) =>
    web.jsonResponse({
      id: request.matchInfo.id,
      post: request.matchInfo.post,
      query: [...request.query.entries()],
    }),
  );

  r.addPost("/form", async (request) => {
    const form = await request.post();
    return web.jsonResponse({ contentType: request.contentType, fields: [...form.entries()] });
  });

  r.addPost("/json", async (request) => {
    const data = await request.json<{ numbers?: number[] }>();
    const sum = (data.numbers ?? []).reduce((a, b) => a + b, 0);
    return web.jsonResponse({ received: data, sum }, { status: 201 });
  });

  r.addGet("/text", () => new web.Response({ text: HELLO_TEXT }));

  // The client's port as the server sees it: equal across requests on one kept-alive connection.
  r.addGet("/conn", (request) => {
    const peer = request.getExtraInfo("peername");
    return web.jsonResponse({ remotePort: peer === null ? null : peer[1] });
  });

  r.addGet("/items", () => new web.Response({ text: "items" }));
  r.addDelete("/items", () => new web.Response({ status: 204 }));

  r.addGet("/compressed", () => {
    const resp = new web.Response({ text: COMPRESSIBLE_TEXT });
    resp.enableCompression();
    return resp;
  });

  r.addGet("/stream", async (request) => {
    const resp = new web.StreamResponse({ headers: { "Content-Type": "text/plain" } });
    await resp.prepare(request);
    for (const chunk of STREAM_CHUNKS) {
      await resp.write(chunk);
      // A pause so that each piece leaves in its own chunk rather than one coalesced write.
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    await resp.writeEof();
    return resp;
  });

  r.addGet("/cookies/set", () => {
    const resp = new web.Response({ text: "cookies set" });
    resp.setCookie("session", "s3cr3t", { httpOnly: true });
    resp.setCookie("theme", "dark", { maxAge: 3600, path: "/" });
    return resp;
  });

  r.addGet("/cookies/echo", (request) => web.jsonResponse(request.cookies));

  r.addPost("/upload", async (request) => {
    const body = await request.read();
    return web.jsonResponse({
      length: body.length,
      sha256: sha256(body),
      expect: request.headers.get("Expect") ?? null,
    });
  });

  const small = new web.Application({ clientMaxSize: SMALL_MAX_SIZE });
  small.router.addPost("/upload", async (request) => {
    const body = await request.read();
    return web.jsonResponse({ length: body.length });
  });
  app.addSubapp("/small/", small);

  return app;
}

/** A started server for the interop app and what its access log recorded. */
export interface InteropServer {
  server: TestServer;
  seen: SeenRequest[];
  url(path: string): string;
}

export async function startInteropServer(): Promise<InteropServer> {
  const logger = new RecordingAccessLogger();
  const server = new TestServer(makeInteropApp(), { accessLog: logger });
  await server.start();
  return { server, seen: logger.seen, url: (path) => server.makeUrl(path).toString() };
}

/** What a child process printed and how it ended. */
export interface Completed {
  stdout: string;
  stderr: string;
  /** Exit code, or null when killed by a signal (the timeout). */
  code: number | null;
}

/**
 * Runs a program with a timeout. A program that cannot be started throws an error that says
 * how to install it; a non-zero exit is returned, not thrown, for the caller to judge.
 */
export function run(
  file: string,
  args: readonly string[],
  options: { input?: string; timeout?: number; installHint: string },
): Promise<Completed> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: options.timeout ?? 15_000, maxBuffer: 64 * 1024 ** 2, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (err !== null && (err as NodeJS.ErrnoException).code === "ENOENT") {
          reject(
            new Error(
              `${file} is not installed, and the interop tests need it: ${options.installHint}. ` +
                "(test/peers.ts should have skipped this test: is the peer listed there?)",
              { cause: err },
            ),
          );
          return;
        }
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ stdout, stderr, code });
      },
    );
    // A peer that exits without reading its input must not crash the test run with EPIPE.
    child.stdin?.on("error", () => {});
    child.stdin?.end(options.input ?? "");
  });
}

// ---- curl ------------------------------------------------------------------------------

const CURL_HINT = "sudo apt-get install -y curl";

/** The fields of curl's `%{json}` write-out the tests use. */
export interface CurlInfo {
  http_code: number;
  http_version: string;
  num_connects: number;
  local_port: number;
  size_download: number;
  size_upload: number;
  method: string;
  exitcode: number;
  errormsg: string | null;
}

/** One transfer as curl saw it. */
export interface CurlTransfer {
  status: number;
  /** Response headers by lower-case name (curl's `%{header_json}`). */
  headers: Record<string, string[]>;
  body: Buffer;
  text: string;
  info: CurlInfo;
}

/** One curl operation: its own options, and one URL or several that share them. */
export interface CurlOperation {
  url: string | string[];
  args?: string[];
}

/** The result of one curl invocation. */
export interface CurlRun {
  transfers: CurlTransfer[];
  stderr: string;
  code: number | null;
}

const TRANSFER_END = "@@curl-transfer-end@@";

/**
 * Runs curl once with the operations joined by `--next`, so that every transfer shares one
 * connection pool (keep-alive works across them). Each URL's body goes to its own file, and
 * each transfer's status, headers and connection details come from curl's write-out.
 */
export async function curl(
  operations: CurlOperation | CurlOperation[],
  options: { input?: string } = {},
): Promise<CurlRun> {
  const ops = Array.isArray(operations) ? operations : [operations];
  const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-curl-"));
  try {
    const args: string[] = [];
    const bodies: string[] = [];
    ops.forEach((op, i) => {
      if (i > 0) args.push("--next");
      args.push("--silent", "--show-error", "--max-time", "10");
      args.push("--write-out", `{"headers":%{header_json},"info":%{json}}\\n${TRANSFER_END}\\n`);
      args.push(...(op.args ?? []));
      for (const url of Array.isArray(op.url) ? op.url : [op.url]) {
        const file = join(dir, `body-${bodies.length}`);
        bodies.push(file);
        args.push("--output", file, url);
      }
    });
    const done = await run("curl", args, {
      installHint: CURL_HINT,
      ...(options.input === undefined ? {} : { input: options.input }),
    });
    const outputs = done.stdout.split(TRANSFER_END).filter((part) => part.trim() !== "");
    const transfers = await Promise.all(
      outputs.map(async (part, i) => {
        const parsed = JSON.parse(part) as { headers: Record<string, string[]>; info: CurlInfo };
        // curl creates no file for a transfer without a body.
        const body = await readFile(bodies[i] as string).catch(() => Buffer.alloc(0));
        return {
          status: parsed.info.http_code,
          headers: parsed.headers,
          body,
          text: body.toString("utf8"),
          info: parsed.info,
        };
      }),
    );
    return { transfers, stderr: done.stderr, code: done.code };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The only transfer of a run, failing loudly when curl did not complete exactly one. */
export function onlyTransfer(result: CurlRun): CurlTransfer {
  if (result.transfers.length !== 1) {
    throw new Error(
      `expected one curl transfer, got ${result.transfers.length} (exit ${result.code}): ${result.stderr}`,
    );
  }
  return result.transfers[0] as CurlTransfer;
}

// ---- Python aiohttp --------------------------------------------------------------------

const PYTHON_HINT = "sudo apt-get install -y python3-aiohttp";

/** One request for the Python client (see aiohttp_client.py). */
export interface PyRequest {
  method?: string;
  url: string;
  params?: Array<[string, string]>;
  headers?: Array<[string, string]>;
  form?: Array<[string, string]>;
  json?: unknown;
  text?: string;
  bodySize?: number;
  expect100?: boolean;
  read?: "text" | "chunks";
}

/** One response as Python's aiohttp client saw it. */
export interface PyResult {
  status: number | null;
  reason: string | null;
  version: string | null;
  headers: Array<[string, string]>;
  body: string;
  bodyLength: number;
  chunks: number[];
  localPort: number | null;
  connection: "new" | "reused" | null;
  error: { type: string; message: string } | null;
}

/** A cookie in the Python session's jar. */
export interface PyCookie {
  name: string;
  value: string;
  path?: string;
  domain?: string;
  "max-age"?: string;
  expires?: string;
  httponly?: boolean;
  secure?: boolean;
  samesite?: string;
}

export interface PyRun {
  results: PyResult[];
  cookies: PyCookie[];
}

/** Sends the requests, in order, through one `aiohttp.ClientSession`. */
export async function aiohttpClient(requests: PyRequest[]): Promise<PyRun> {
  const done = await run(PYTHON, [CLIENT_SCRIPT], {
    input: JSON.stringify({ timeout: 10, requests }),
    installHint: PYTHON_HINT,
  });
  if (done.code !== 0) {
    throw new Error(`aiohttp_client.py exited with ${done.code}:\n${done.stderr}`);
  }
  return JSON.parse(done.stdout) as PyRun;
}

/** Sends one request and returns its result, failing loudly when the client raised. */
export async function aiohttpRequest(request: PyRequest): Promise<PyResult> {
  const { results } = await aiohttpClient([request]);
  const result = results[0] as PyResult;
  if (result.error !== null) {
    throw new Error(`aiohttp raised ${result.error.type}: ${result.error.message}`);
  }
  return result;
}

/** A response header from a Python result, matched case-insensitively (all values). */
export function pyHeaders(result: PyResult, name: string): string[] {
  const lower = name.toLowerCase();
  return result.headers.filter(([k]) => k.toLowerCase() === lower).map(([, v]) => v);
}

// ---- WebSocket peers -------------------------------------------------------------------

/**
 * Reports filed by name, for a test to wait on: a handler (ours or a peer's) files what it saw
 * when its connection ends, and the test takes it once it is there.
 */
export class Reports<T> {
  readonly #filed = new Map<string, T>();
  readonly #waiting = new Map<string, (report: T) => void>();

  /** `describe` names the source in the error when nothing is filed in time. */
  constructor(readonly describe: (name: string) => string = (name) => `connection ${name}`) {}

  file(name: string, report: T): void {
    this.#filed.set(name, report);
    this.#waiting.get(name)?.(report);
  }

  /** The report filed as `name`, waiting up to `timeout` ms for it. */
  async take(name: string, timeout = 3_000): Promise<T> {
    const filed = this.#filed.get(name);
    if (filed !== undefined) return filed;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<T>((resolve, reject) => {
        this.#waiting.set(name, resolve);
        timer = setTimeout(
          () => reject(new Error(`nothing reported for ${this.describe(name)} in ${timeout} ms`)),
          timeout,
        );
      });
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(name);
    }
  }
}
