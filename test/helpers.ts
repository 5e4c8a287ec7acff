// Helpers shared by the server tests: servers that are closed after each test, requests over
// node:http (which, unlike fetch, sends a path and a Host header exactly as given), and raw TCP
// exchanges for checks at the protocol level.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { type EventEmitter, once } from "node:events";
import { readFile } from "node:fs/promises";
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http";
import { request as httpsRequest } from "node:https";
import { connect, createServer as createNetServer, type Socket } from "node:net";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { setImmediate as nextMacrotask, setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll } from "vitest";
import { ClientSession, type ClientSessionOptions, web } from "../src/index.js";
import {
  makeTestClient,
  type TestClient,
  type TestServerOptions,
} from "../src/test-utils/index.js";

/** A logger that drops the error and warning lines of tests that provoke them on purpose. */
export const quiet: web.Logger = { error() {}, warn() {} };

/** A handler that answers `body` as text/plain. */
export function textHandler(body: string): web.Handler {
  return () => new web.Response({ text: body });
}

/** An application whose only route (any method, any path) is `handler`. */
export function appWith(
  handler: web.Handler,
  options: web.ApplicationOptions = {},
): web.Application {
  const app = new web.Application(options);
  app.router.addRoute("*", "/{tail:.*}", handler);
  return app;
}

// ---------------------------------------------------------------------------------------------
// Client sessions that close after each test

/**
 * Registers an `afterEach` that closes every ClientSession the returned factory made during
 * the test; `defaults` are applied under each call's options.
 */
export function useSessions(
  defaults: () => ClientSessionOptions = () => ({}),
): (options?: ClientSessionOptions) => ClientSession {
  const sessions: ClientSession[] = [];
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
  });
  return (options) => {
    const s = new ClientSession({ ...defaults(), ...options });
    sessions.push(s);
    return s;
  };
}

/**
 * For a `beforeAll` of tests that time client requests: one request through a throwaway
 * session, so that what a process's first request pays once (loading undici, compiling its
 * HTTP parser: 100-700 ms on a busy machine) is not charged to the short timeout of whichever
 * test happens to run first.
 */
export async function warmUpClient(): Promise<void> {
  const server = createHttpServer((_req, res) => res.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  try {
    await using session = new ClientSession();
    await (await session.get(`http://127.0.0.1:${address.port}/`)).release();
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// Servers that close after each test

/** Starts an application on a free loopback port; the client is closed after the test. */
export type ServeFn = (app: web.AnyApplication, options?: TestServerOptions) => Promise<TestClient>;

/**
 * Registers an `afterEach` that closes every TestClient the returned `serve` started during the
 * test. Call it once, at the top of a file or of a `describe` block.
 */
export function useTestClients(): ServeFn {
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  return async (app, options) => {
    const client = await makeTestClient(
      app,
      options === undefined ? {} : { serverOptions: options },
    );
    clients.push(client);
    return client;
  };
}

/** An AppRunner that is set up, with one TCPSite listening on 127.0.0.1. */
export interface RunningApp {
  runner: web.AppRunner;
  port: number;
}

/** Sets up an AppRunner with exactly `options` and starts a TCPSite on a free loopback port. */
export type StartFn = (
  app: web.AnyApplication,
  options?: web.AppRunnerOptions,
) => Promise<RunningApp>;

/**
 * Registers an `afterEach` that cleans up every runner the returned `start` set up during the
 * test (a second cleanup is a no-op, so tests may clean up themselves). Unlike `useTestClients`
 * it adds no runner defaults, for tests of the runner's own options such as the access log.
 */
export function useRunners(): StartFn {
  const runners: web.AppRunner[] = [];
  afterEach(async () => {
    for (const runner of runners.splice(0)) {
      // Connections a test left mid-request would otherwise hold cleanup for shutdownTimeout.
      runner.server.closeAllConnections();
      await runner.cleanup();
    }
  });
  return async (app, options = {}) => {
    const runner = new web.AppRunner(app, options);
    await runner.setup();
    runners.push(runner);
    const site = new web.TCPSite(runner, "127.0.0.1", 0);
    await site.start();
    return { runner, port: site.port };
  };
}

/**
 * Registers a `beforeAll` that serves `makeApp()` on a free loopback port (no access log) and an
 * `afterAll` that cleans it up, for the tests of one `describe` block that share a server.
 * Returns a getter for the port, known once the `beforeAll` has run.
 */
export function useAppForAll(
  makeApp: () => web.AnyApplication | Promise<web.AnyApplication>,
): () => number {
  let runner: web.AppRunner | undefined;
  let port = 0;
  beforeAll(async () => {
    runner = new web.AppRunner(await makeApp(), { accessLog: null });
    await runner.setup();
    const site = new web.TCPSite(runner, "127.0.0.1", 0);
    await site.start();
    port = site.port;
  });
  afterAll(async () => {
    await runner?.cleanup();
  });
  return () => port;
}

// ---------------------------------------------------------------------------------------------
// Requests over node:http

/** The answer to `httpSend`. */
export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as UTF-8 text. */
  body: string;
  /** The body bytes as they came (not decompressed). */
  bytes: Buffer;
}

/** Options of `httpSend`. */
export interface HttpSendOptions {
  /** @default "GET" */
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Over TLS, accepting any certificate (the tests' certificates are self-signed). */
  tls?: boolean;
  /** Reads the body in small sips, so that the server's socket buffer stays full. */
  slowReader?: boolean;
}

/**
 * One request on its own connection (no pooling, so no state is carried between tests) to a
 * loopback port or a unix socket. It rejects when the connection fails or the response is cut.
 */
export function httpSend(
  target: number | { socketPath: string },
  path = "/",
  options: HttpSendOptions = {},
): Promise<HttpReply> {
  const { method = "GET", headers, body, tls = false, slowReader = false } = options;
  const send = tls ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: "127.0.0.1",
        ...(typeof target === "number" ? { port: target } : { socketPath: target.socketPath }),
        path,
        method,
        agent: false,
        ...(headers === undefined ? {} : { headers }),
        ...(tls ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          if (slowReader) {
            res.pause();
            setTimeout(() => res.resume(), 5);
          }
        });
        res.on("end", () => {
          const bytes = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: bytes.toString(),
            bytes,
          });
        });
        res.on("error", reject);
        res.on("aborted", () => reject(new Error("response aborted")));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------
// Raw TCP

/** A complete GET that asks the server to close the connection after answering. */
export function getRequest(target: string, extraHeaders = ""): string {
  return `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extraHeaders}\r\n`;
}

/** A raw connection to a loopback port that collects what the server sends. */
export class RawConnection {
  readonly socket: Socket;
  /** Everything received so far, as latin1 text (one character per byte). */
  data = "";
  /** Settles when the connection is closed, by either side or after an error. */
  readonly closed: Promise<void>;

  /** Connects; writes before the connection is up are queued. */
  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.setEncoding("latin1");
    this.socket.on("data", (d: string) => {
      this.data += d;
    });
    // A reset is how some servers refuse a request: what arrived before it is still the answer.
    this.socket.on("error", () => {});
    this.closed = new Promise((resolve) => this.socket.once("close", () => resolve()));
  }

  /** Connects and waits until the connection is up; rejects when it is refused. */
  static async open(port: number): Promise<RawConnection> {
    const conn = new RawConnection(port);
    await once(conn.socket, "connect");
    return conn;
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Writes each chunk in turn; a number waits that many milliseconds first. */
  async send(chunks: ReadonlyArray<RawChunk>): Promise<void> {
    for (const chunk of chunks) {
      if (typeof chunk === "number") await sleep(chunk);
      else if (!this.socket.destroyed) this.socket.write(chunk);
    }
  }

  /**
   * Waits until the received text contains `text`, failing after `ms` or when the connection
   * closes without it. (It used to poll every 5 ms: after a stall the deadline check ran
   * before the event loop had read the answer waiting in the socket.)
   */
  async waitFor(text: string, ms = 2000): Promise<void> {
    let check = (): void => {};
    const seen = new Promise<void>((resolve) => {
      check = () => {
        if (this.data.includes(text) || this.socket.destroyed) resolve();
      };
    });
    // Registered after the constructor's listener, so `data` already has the chunk.
    this.socket.on("data", check);
    this.socket.on("close", check);
    check();
    await settlesWithin(seen, ms);
    this.socket.off("data", check);
    this.socket.off("close", check);
    if (!this.data.includes(text)) {
      throw new Error(`never received ${JSON.stringify(text)}; got ${JSON.stringify(this.data)}`);
    }
  }

  /** Whether the connection closes within `ms`. */
  closesWithin(ms: number): Promise<boolean> {
    return settlesWithin(this.closed, ms);
  }

  /** Waits up to `ms` for the server to close, then drops the connection; returns all received. */
  async end(ms = 2000): Promise<string> {
    await this.closesWithin(ms);
    this.destroy();
    return this.data;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A piece of a raw request: bytes to write, or a pause in milliseconds. */
export type RawChunk = string | Buffer | number;

/** A raw response split at the end of its (first) head. */
export interface RawHead {
  /** The first line. */
  statusLine: string;
  /** The header lines after the status line, as sent. */
  headerLines: string[];
  /** Everything after the blank line that ends the head ("" when there is none). */
  rest: string;
}

/** Splits raw response text at the end of its first head. */
export function splitHead(raw: string): RawHead {
  const end = raw.indexOf("\r\n\r\n");
  const head = end === -1 ? raw : raw.slice(0, end);
  const [statusLine = "", ...headerLines] = head.split("\r\n");
  return { statusLine, headerLines, rest: end === -1 ? "" : raw.slice(end + 4) };
}

/** A chunked body taken apart by `dechunk`. */
export interface Dechunked {
  /** The data of every chunk, joined. */
  data: Buffer;
  /** Whether the last chunk (size 0) and the empty line after it came; nothing follows them. */
  complete: boolean;
}

/**
 * Takes apart a chunked body (RFC 9112 7.1) received as latin1 text, without trailers; throws
 * on bad framing or a chunk cut in the middle. Tests compare the data, not where the chunks
 * split: Node 24 sends the writes a response gets in one tick as one chunk, Node 20 one each.
 */
export function dechunk(body: string): Dechunked {
  const parts: string[] = [];
  let at = 0;
  while (at < body.length) {
    const lineEnd = body.indexOf("\r\n", at);
    const sizeText = lineEnd === -1 ? "" : body.slice(at, lineEnd);
    if (!/^[0-9a-f]+$/i.test(sizeText)) throw new Error(`bad chunk size at ${at}: ${body}`);
    const size = Number.parseInt(sizeText, 16);
    const start = lineEnd + 2;
    if (size === 0) {
      if (body.slice(start) !== "\r\n") throw new Error(`bad end of a chunked body: ${body}`);
      return { data: Buffer.from(parts.join(""), "latin1"), complete: true };
    }
    if (body.slice(start + size, start + size + 2) !== "\r\n") {
      throw new Error(`chunk of ${size} bytes cut or unterminated at ${start}: ${body}`);
    }
    parts.push(body.slice(start, start + size));
    at = start + size + 2;
  }
  return { data: Buffer.from(parts.join(""), "latin1"), complete: false };
}

/** What `rawExchange` received. */
export interface RawReply extends RawHead {
  /** Everything received, as latin1 text. */
  raw: string;
  /** Whether the server closed the connection within the timeout. */
  closed: boolean;
  /** Milliseconds from connecting until the server closed (or the timeout passed). */
  closedAfter: number;
}

/** Options of `rawExchange`. */
export interface RawExchangeOptions {
  /** How long, from connecting, to wait for the server to close. @default 3000 */
  timeoutMs?: number;
  /** Reject, rather than resolve with `closed: false`, when the server keeps the connection. */
  requireClose?: boolean;
}

/**
 * Connects, writes `request` (pieces may be separated by pauses), and collects what the server
 * sends until it closes the connection or the timeout passes.
 */
export async function rawExchange(
  port: number,
  request: RawChunk | ReadonlyArray<RawChunk>,
  options: RawExchangeOptions = {},
): Promise<RawReply> {
  const { timeoutMs = 3000, requireClose = false } = options;
  const t0 = performance.now();
  const conn = await RawConnection.open(port);
  void conn.send(Array.isArray(request) ? request : [request as RawChunk]);
  const closed = await conn.closesWithin(timeoutMs - (performance.now() - t0));
  const closedAfter = performance.now() - t0;
  conn.destroy();
  if (!closed && requireClose) {
    throw new Error(`server kept the connection open; received ${JSON.stringify(conn.data)}`);
  }
  return { raw: conn.data, ...splitHead(conn.data), closed, closedAfter };
}

// TLS material

/**
 * A self-signed certificate for the name `localhost` (and only it, so 127.0.0.1 is a name
 * mismatch), made with openssl in `dir`, valid for a day.
 */
export async function selfSignedCert(dir: string): Promise<{ key: string; cert: string }> {
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  await promisify(execFile)("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost",
    "-days",
    "1",
    "-keyout",
    keyPath,
    "-out",
    certPath,
  ]);
  return { key: await readFile(keyPath, "utf8"), cert: await readFile(certPath, "utf8") };
}

// Server programs in child processes

/** The port in runApp's banner `======== Running on http://127.0.0.1:PORT ========`. */
export function bannerPort(banner: string): number {
  const m = BANNER.exec(banner);
  if (m === null) throw new Error(`No port in banner ${JSON.stringify(banner)}`);
  return Number(m[1]);
}

const BANNER = /Running on https?:\/\/[^ ]+:(\d+) =/;

/** A server program started by `startServerProcess`. */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>`, with the port the program's banner named. */
  readonly baseUrl: string;
  /** What the program printed on stdout so far. */
  stdout(): string;
  /** Settles with the exit code (`null` when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Sends SIGKILL to the program and whatever it started, unless it has exited. */
  kill(): void;
}

/**
 * Starts `node <args>` (a server program that calls runApp) with PORT=0 in its environment
 * and resolves once its banner names the port it took. Letting the program bind port 0 rather
 * than handing it a port found free beforehand means no other process can take that port
 * while it starts. The program runs in its own process group, so that `kill` also ends a
 * process tsx started for it.
 */
export async function startServerProcess(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; startTimeoutMs?: number },
): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PORT: "0", ...options.env },
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const kill = (): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // The group is gone already.
    }
  };
  const port = await new Promise<number>((resolve, reject) => {
    const settle = (): void => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
    };
    const fail = (why: string): void => {
      settle();
      kill();
      reject(new Error(`${why}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
    };
    // Registered after the collecting listener, so `stdout` already has the chunk.
    const onData = (): void => {
      const m = BANNER.exec(stdout);
      if (m === null) return;
      settle();
      resolve(Number(m[1]));
    };
    const onExit = (code: number | null): void => fail(`${args.join(" ")} exited with ${code}`);
    const timer = setTimeout(
      () => fail(`${args.join(" ")} printed no banner in time`),
      options.startTimeoutMs ?? 15_000,
    );
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
  });
  return { child, baseUrl: `http://127.0.0.1:${port}`, stdout: () => stdout, exited, kill };
}

/** A line a child process wrote, and when it arrived (performance.now()). */
export interface Line {
  text: string;
  at: number;
}

/** The lines one output stream of a child process writes, for waiting on them. */
export class OutputLines {
  readonly lines: Line[] = [];
  #partial = "";
  #onLine = new Set<() => void>();

  constructor(stream: Readable | null) {
    stream?.setEncoding("utf8").on("data", (d: string) => this.#add(d));
  }

  #add(text: string): void {
    const parts = (this.#partial + text).split("\n");
    this.#partial = parts.pop() ?? "";
    const at = performance.now();
    for (const part of parts) this.lines.push({ text: part, at });
    if (parts.length > 0) for (const notify of this.#onLine) notify();
  }

  matching(pattern: RegExp): Line[] {
    return this.lines.filter((l) => pattern.test(l.text));
  }

  /** Resolves with the lines matching `pattern` once there are `count` of them. */
  async waitFor(pattern: RegExp, count = 1, ms = 15_000): Promise<Line[]> {
    let notify = (): void => {};
    const enough = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const seen = this.lines.map((l) => l.text).join("\n");
        reject(new Error(`fewer than ${count} lines match ${pattern}; got:\n${seen}`));
      }, ms);
      notify = () => {
        if (this.matching(pattern).length < count) return;
        clearTimeout(timer);
        resolve();
      };
    });
    this.#onLine.add(notify);
    notify();
    try {
      await enough;
    } finally {
      this.#onLine.delete(notify);
    }
    return this.matching(pattern).slice(0, count);
  }
}

// Ports

/** A port nothing listens on right now: bind port 0, read the port, close. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/**
 * `count` distinct free ports: all held at once while they are picked (picked one after the
 * other, a port let go may be handed out again at once).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createNetServer());
  try {
    return await Promise.all(
      servers.map(async (server) => {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(0, "127.0.0.1", resolve);
        });
        const address = server.address();
        if (address === null || typeof address === "string") throw new Error("no TCP address");
        return address.port;
      }),
    );
  } finally {
    await Promise.all(
      servers.map((server) =>
        server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : null,
      ),
    );
  }
}

// A forward proxy

/**
 * What a `ConnectProxy` was asked: the target (`host:port`), the method (`CONNECT`, or that of
 * an absolute-form request it forwarded) and the headers.
 */
export interface ConnectRequest {
  target: string;
  method: string;
  headers: IncomingHttpHeaders;
}

/** A forward proxy on loopback (`startConnectProxy`). */
export interface ConnectProxy {
  url: string;
  port: number;
  /** Every request, in order. */
  requests: ConnectRequest[];
  /** The targets of `requests`. */
  readonly targets: string[];
  close(): Promise<void>;
}

const REFUSED = (status: number): string =>
  `HTTP/1.1 ${status} Refused\r\nProxy-Authenticate: Basic realm="p"\r\nContent-Length: 0\r\n\r\n`;

/**
 * A forward proxy that tunnels CONNECT requests, forwards absolute-form ones and records them;
 * with `refuse`, it answers every request with that status (and a `Proxy-Authenticate`
 * challenge) instead.
 */
export async function startConnectProxy(options: { refuse?: number } = {}): Promise<ConnectProxy> {
  const requests: ConnectRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createHttpServer((req, res) => {
    if (!/^http:\/\//.test(req.url ?? "")) {
      res.writeHead(501).end("only CONNECT and absolute-form requests");
      return;
    }
    const url = new URL(req.url ?? "");
    requests.push({ target: url.host, method: req.method ?? "", headers: req.headers });
    if (options.refuse !== undefined) {
      res.socket?.end(REFUSED(options.refuse));
      return;
    }
    const headers = { ...req.headers };
    delete headers["proxy-authorization"];
    delete headers["proxy-connection"];
    const upstream = httpRequest(url, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connect", (req, client: Socket, head: Buffer) => {
    requests.push({ target: req.url ?? "", method: "CONNECT", headers: req.headers });
    client.on("error", () => client.destroy());
    sockets.add(client);
    if (options.refuse !== undefined) {
      client.end(REFUSED(options.refuse));
      return;
    }
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("error", () => client.destroy());
    upstream.on("close", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    requests,
    get targets() {
      return requests.map((r) => r.target);
    },
    async close() {
      // Tunnels are not the HTTP server's connections: it would wait for them to end.
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// Waiting for events

/**
 * Whether `promise` settles within `ms`. The verdict waits until the event loop has read the
 * I/O already waiting (setImmediate runs after the poll phase): Node runs due timers before
 * it reads sockets, so after a stall (a busy machine) a bare timer would beat an event that
 * came in time.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  const late = sleep(Math.max(0, ms), undefined, { signal: timer.signal })
    .then(() => nextMacrotask())
    .then(
      () => false,
      () => false,
    );
  const settled = promise.then(
    () => true,
    () => true,
  );
  const result = await Promise.race([settled, late]);
  timer.abort();
  return result;
}

/** Resolves once `emitter` has emitted `event` `n` more times. */
export function nthEvent(emitter: EventEmitter, event: string, n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const count = (): void => {
      seen += 1;
      if (seen < n) return;
      emitter.off(event, count);
      resolve();
    };
    emitter.on(event, count);
  });
}

/** Holds the event loop for `ms`, as a starved process or a long synchronous task does. */
export function blockEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Nothing else runs meanwhile: that is the point.
  }
}

// Assertions

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

/** A promise the test settles when it chooses: a gate a handler waits at, a sign it started. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Tests that fail before awaiting it must not also report an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
