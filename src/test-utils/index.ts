// Helpers for testing applications over real sockets (aiohttp's test_utils): a TestServer on
// 127.0.0.1 with a free port, and a TestClient whose paths are relative to it.

import { ClientSession } from "../client/session.js";
import type { ClientWebSocketResponse, WSConnectOptions } from "../client/websocket.js";
import type { AnyApplication } from "../web/application.js";
import { AppRunner, type AppRunnerOptions, TCPSite } from "../web/runner.js";

/** Options of `TestServer`. */
export interface TestServerOptions extends AppRunnerOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** @default 0 (a free port) */
  port?: number;
}

/** Runs an application on a loopback port for the duration of a test. */
export class TestServer {
  readonly app: AnyApplication;
  readonly host: string;
  readonly runner: AppRunner;
  #port: number;
  #site: TCPSite | null = null;

  constructor(app: AnyApplication, options: TestServerOptions = {}) {
    const { host = "127.0.0.1", port = 0, ...runnerOptions } = options;
    this.app = app;
    this.host = host;
    this.#port = port;
    this.runner = new AppRunner(app, { accessLog: null, shutdownTimeout: 5_000, ...runnerOptions });
  }

  /** Starts the application and listens. */
  async start(): Promise<this> {
    if (this.#site !== null) return this;
    await this.runner.setup();
    this.#site = new TCPSite(this.runner, this.host, this.#port);
    await this.#site.start();
    this.#port = this.#site.port;
    return this;
  }

  /** The bound port. */
  get port(): number {
    return this.#port;
  }

  /** Whether the server is listening. */
  get started(): boolean {
    return this.#site !== null;
  }

  /** `http://127.0.0.1:<port>` */
  get baseUrl(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `http://${host}:${this.#port}`;
  }

  /** An absolute URL for a path on this server. */
  makeUrl(path = "/"): URL {
    return new URL(path, this.baseUrl);
  }

  /** Shuts the application down gracefully. */
  async close(): Promise<void> {
    await this.runner.cleanup();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Request options of `TestClient`: those of `fetch`, plus `json` and `params`. */
export interface TestRequestInit extends RequestInit {
  /** Sent as a JSON body with `Content-Type: application/json`. */
  json?: unknown;
  /** Added to the query string. */
  params?: Record<string, string> | Iterable<[string, string]>;
}

/**
 * Sends requests to a `TestServer` by path. Plain requests go through `fetch` (their responses
 * are `fetch`'s); `wsConnect` uses a `ClientSession`.
 */
export class TestClient {
  readonly server: TestServer;
  #session: ClientSession | undefined;

  constructor(server: TestServer) {
    this.server = server;
  }

  /** Starts the server if it is not running. */
  async start(): Promise<this> {
    await this.server.start();
    return this;
  }

  get app(): AnyApplication {
    return this.server.app;
  }

  /** An absolute URL for a path. */
  makeUrl(path = "/"): URL {
    return this.server.makeUrl(path);
  }

  /** Sends a request; the response is `fetch`'s. */
  async request(method: string, path: string, init: TestRequestInit = {}): Promise<Response> {
    const { json, params, headers, body, ...rest } = init;
    const url = this.makeUrl(path);
    if (params !== undefined) {
      for (const [k, v] of Symbol.iterator in params ? params : Object.entries(params))
        url.searchParams.append(k, v);
    }
    const h = new Headers(headers);
    const payload = json === undefined ? body : JSON.stringify(json);
    if (json !== undefined && !h.has("content-type")) h.set("content-type", "application/json");
    const sent: RequestInit = { ...rest, method, headers: h, redirect: rest.redirect ?? "manual" };
    if (payload !== undefined) sent.body = payload;
    return fetch(url, sent);
  }

  get(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("GET", path, init);
  }
  post(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("POST", path, init);
  }
  put(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("PUT", path, init);
  }
  patch(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("PATCH", path, init);
  }
  delete(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("DELETE", path, init);
  }
  head(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("HEAD", path, init);
  }
  options(path: string, init?: TestRequestInit): Promise<Response> {
    return this.request("OPTIONS", path, init);
  }

  /** Opens a WebSocket to a path of the server (aiohttp's `client.ws_connect`). */
  wsConnect(path: string, options?: WSConnectOptions): Promise<ClientWebSocketResponse> {
    this.#session ??= new ClientSession();
    return this.#session.wsConnect(this.makeUrl(path), options);
  }

  /** Stops the server (and the session behind `wsConnect`). */
  async close(): Promise<void> {
    await this.#session?.close();
    await this.server.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Starts `app` on a free loopback port and returns a client for it. */
export async function makeTestClient(
  app: AnyApplication,
  options: TestServerOptions = {},
): Promise<TestClient> {
  const server = new TestServer(app, options);
  await server.start();
  return new TestClient(server);
}
