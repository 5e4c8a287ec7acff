// Servers for tests (aiohttp's BaseTestServer, TestServer and RawTestServer): an application,
// or a bare handler, listening on a loopback port for the duration of a test.

import type { ServerOptions as HttpsServerOptions } from "node:https";
import { type AnyApplication, Application } from "../web/application.js";
import type { Request } from "../web/request.js";
import { MatchInfo } from "../web/router/match-info.js";
import type { Resource } from "../web/router/resource.js";
import type { Handler } from "../web/router/route.js";
import { type AbstractRouter, UrlDispatcher } from "../web/router/url-dispatcher.js";
import { AppRunner, type AppRunnerOptions, TCPSite } from "../web/runner.js";

/** Options of `TestServer` and `RawTestServer`; the runner's options pass through. */
export interface TestServerOptions extends AppRunnerOptions {
  /** The address to listen on. @default "127.0.0.1" */
  host?: string;
  /** The port to listen on (0: a free one, read it from `server.port` once started). @default 0 */
  port?: number;
  /** TLS options of the server (`key`, `cert`...): it serves HTTPS. @default undefined (HTTP) */
  ssl?: HttpsServerOptions;
  /** The scheme of the URLs `makeUrl()` gives. @default "https" with `ssl`, else "http" */
  scheme?: "http" | "https";
  /** The runner's access log (`null`: none). @default null */
  accessLog?: Exclude<AppRunnerOptions["accessLog"], undefined>;
  /** How long `close()` waits for requests still running, ms. @default 5000 */
  shutdownTimeout?: number;
}

/** What `TestServer` and `RawTestServer` share: start, URLs, close. */
export abstract class BaseTestServer implements AsyncDisposable {
  /** The application served (for a `RawTestServer`, the one wrapping its handler). */
  readonly app: AnyApplication;
  readonly host: string;
  readonly scheme: "http" | "https";
  readonly runner: AppRunner;
  readonly #ssl: HttpsServerOptions | undefined;
  #port: number;
  #site: TCPSite | null = null;
  #closed = false;

  protected constructor(app: AnyApplication, options: TestServerOptions) {
    const { host = "127.0.0.1", port = 0, ssl, scheme, ...runnerOptions } = options;
    this.app = app;
    this.host = host;
    this.#port = port;
    this.#ssl = ssl;
    this.scheme = scheme ?? (ssl === undefined ? "http" : "https");
    this.runner = new AppRunner(app, { accessLog: null, shutdownTimeout: 5_000, ...runnerOptions });
  }

  /** Starts the application and listens; a second call does nothing. */
  async start(): Promise<this> {
    if (this.#site !== null) return this;
    if (this.#closed) throw new Error("The test server is closed: make a new one");
    await this.runner.setup();
    const site = new TCPSite(
      this.runner,
      this.host,
      this.#port,
      this.#ssl === undefined ? {} : { ssl: this.#ssl },
    );
    await site.start();
    this.#site = site;
    this.#port = site.port;
    return this;
  }

  /** The bound port (the real one once started on port 0). */
  get port(): number {
    return this.#port;
  }

  /** Whether `start()` has run. */
  get started(): boolean {
    return this.#site !== null;
  }

  /** Whether `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** `http://127.0.0.1:<port>` (`https://` with `ssl`). */
  get baseUrl(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `${this.scheme}://${host}:${this.#port}`;
  }

  /**
   * The absolute URL of a path on this server. A path is appended as it is (`//a` stays a
   * path); an absolute URL is refused, as aiohttp's `make_url` asserts.
   */
  makeUrl(path = "/"): URL {
    if (URL.canParse(path)) {
      throw new TypeError(`makeUrl() takes a path on the test server, not a URL: ${path}`);
    }
    return new URL(path.startsWith("/") ? this.baseUrl + path : `${this.baseUrl}/${path}`);
  }

  /** Shuts the application down gracefully (onShutdown, open WebSockets, onCleanup). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.runner.cleanup();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Runs an application on a loopback port for the duration of a test. */
export class TestServer extends BaseTestServer {
  constructor(app: AnyApplication, options: TestServerOptions = {}) {
    super(app, options);
  }
}

/**
 * Serves a bare handler, with no routing and no middlewares (aiohttp's `RawTestServer`): every
 * request, whatever its method and path, goes to `handler`, which returns a response or throws
 * an `HTTPException` as a route handler does.
 */
export class RawTestServer extends BaseTestServer {
  readonly handler: Handler;

  constructor(handler: Handler, options: TestServerOptions = {}) {
    // One route for every method and path: the handler sees every request as it came.
    const router = new RawRouter(handler);
    const logger = options.logger === undefined ? {} : { logger: options.logger };
    super(new Application({ router, ...logger }), options);
    this.handler = handler;
  }
}

/** A router whose one catch-all route leaves `matchInfo` empty, as no route was matched. */
class RawRouter implements AbstractRouter {
  readonly #routes = new UrlDispatcher();

  constructor(handler: Handler) {
    this.#routes.addRoute("*", "/{tail:.*}", handler);
  }

  resolve(request: Request): MatchInfo {
    const matched = this.#routes.resolve(request);
    // A target that is not a path (`OPTIONS *`) matches nothing: its 404 stands.
    return matched.route === null ? matched : new MatchInfo({}, matched.route);
  }

  freeze(): void {
    this.#routes.freeze();
  }

  get frozen(): boolean {
    return this.#routes.frozen;
  }

  resources(): Iterable<Resource> {
    return this.#routes.resources();
  }
}
