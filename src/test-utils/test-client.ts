// TestClient (aiohttp's test_utils.TestClient): a ClientSession bound to a test server, whose
// requests take paths and whose responses and WebSockets end with it.

import { CookieJar } from "../client/cookie-jar.js";
import type { ClientResponse } from "../client/response.js";
import { ClientSession, type ClientSessionOptions } from "../client/session.js";
import type { RequestOptions } from "../client/types.js";
import type { ClientWebSocketResponse, WSConnectOptions } from "../client/websocket.js";
import type { AnyApplication } from "../web/application.js";
import type { BaseTestServer } from "./test-server.js";

/**
 * Options of the `ClientSession` behind a `TestClient`: any session option but `baseUrl`,
 * which is the server's URL.
 */
export interface TestClientOptions extends Omit<ClientSessionOptions, "baseUrl"> {
  /**
   * The session's cookie jar. Unlike a plain session's, the default keeps cookies set by an IP
   * address such as 127.0.0.1 (as aiohttp's test client does).
   * @default new CookieJar({ unsafe: true })
   */
  cookieJar?: Exclude<ClientSessionOptions["cookieJar"], undefined>;
}

/**
 * Sends requests to a test server by path, through a `ClientSession` of its own, so responses
 * are `ClientResponse`s and cookies persist between requests. `close()` releases the responses
 * it made, closes its WebSockets and the session, then the server.
 *
 * @example
 * await using client = await makeTestClient(app);
 * const resp = await client.get("/users/1");
 * expect(resp.status).toBe(200);
 * expect(await resp.json()).toEqual({ id: "1" });
 */
export class TestClient implements AsyncDisposable {
  readonly server: BaseTestServer;
  readonly #options: TestClientOptions;
  #session: ClientSession | undefined;
  readonly #responses = new Set<ClientResponse>();
  #closed = false;

  constructor(server: BaseTestServer, sessionOptions: TestClientOptions = {}) {
    this.server = server;
    this.#options = sessionOptions;
    // The session's baseUrl needs the port: known now if the server runs, else after start().
    if (server.started) this.#session = this.#makeSession();
  }

  /** Starts the server if it is not running. */
  async start(): Promise<this> {
    await this.server.start();
    this.#session ??= this.#makeSession();
    return this;
  }

  #makeSession(): ClientSession {
    return new ClientSession({
      ...this.#options,
      cookieJar: this.#options.cookieJar ?? new CookieJar({ unsafe: true }),
      baseUrl: this.server.baseUrl,
    });
  }

  /** The session requests go through (its `baseUrl` is the server's); after `start()`. */
  get session(): ClientSession {
    if (this.#session === undefined) {
      throw new Error("The test client has not started: call `await client.start()` first");
    }
    return this.#session;
  }

  /** The application under test. */
  get app(): AnyApplication {
    return this.server.app;
  }

  get host(): string {
    return this.server.host;
  }

  get port(): number {
    return this.server.port;
  }

  /** Whether `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The absolute URL of a path on the server. */
  makeUrl(path = "/"): URL {
    return this.server.makeUrl(path);
  }

  /**
   * Sends a request to a path of the server. Options are `ClientSession`'s: `params`, `data`,
   * `json`, `headers`, `cookies`, `allowRedirects` (redirects are followed by default, as in
   * aiohttp)...
   */
  async request(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<ClientResponse> {
    const resp = await this.session.request(method, this.makeUrl(path), options);
    // Responses already done with are dropped, so a long test does not keep every body.
    for (const r of this.#responses) if (r.closed) this.#responses.delete(r);
    this.#responses.add(resp);
    return resp;
  }

  get(path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.request("GET", path, options);
  }
  post(path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.request("POST", path, options);
  }
  put(path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.request("PUT", path, options);
  }
  patch(path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.request("PATCH", path, options);
  }
  delete(path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.request("DELETE", path, options);
  }
  /** HEAD does not follow redirects unless `allowRedirects: true`, as in aiohttp. */
  head(path: string, options: RequestOptions = {}): Promise<ClientResponse> {
    return this.request("HEAD", path, { allowRedirects: false, ...options });
  }
  options(path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.request("OPTIONS", path, options);
  }

  /** Opens a WebSocket to a path of the server (aiohttp's `client.ws_connect`). */
  wsConnect(path: string, options?: WSConnectOptions): Promise<ClientWebSocketResponse> {
    return this.session.wsConnect(this.makeUrl(path), options);
  }

  /**
   * Releases the responses it made (closing their connections), closes its WebSockets (1001,
   * going away) and the session, then shuts the server down.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const resp of this.#responses) resp.close();
    this.#responses.clear();
    await this.#session?.close();
    await this.server.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
