// Running an application (aiohttp's web_runner and run_app): a runner owns the application's
// lifecycle, sites are the sockets it listens on, runApp ties them to SIGINT/SIGTERM.

import { once } from "node:events";
import type { Server as HttpServer } from "node:http";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import type { Server as NetServer } from "node:net";
import type { AnyApplication } from "./application.js";
import type { Http2Mode } from "./http2.js";
import { type NodeServer, type ServerOptions, WebServer } from "./server.js";
import { kAddSite, kListen, kScheme } from "./symbols.js";

/** Options of `AppRunner`. */
export interface AppRunnerOptions extends ServerOptions {
  /** How long graceful shutdown waits for in-flight requests, ms; @default 60_000 */
  shutdownTimeout?: number;
}

/** Owns an application's lifecycle and the server its sites share. */
export class AppRunner {
  readonly app: AnyApplication;
  readonly #options: AppRunnerOptions;
  #server: WebServer | null = null;
  #sites = new Set<BaseSite>();
  #cleanedUp = false;

  constructor(app: AnyApplication, options: AppRunnerOptions = {}) {
    this.app = app;
    this.#options = options;
  }

  /** The request-handling server; available after `setup()`. */
  get server(): WebServer {
    if (this.#server === null) throw new Error("Call `await runner.setup()` first");
    return this.#server;
  }

  /** The sites started on this runner. */
  get sites(): ReadonlySet<BaseSite> {
    return this.#sites;
  }

  /** Addresses the sites listen on (`{ address, port }` objects or unix paths). */
  get addresses(): Array<ReturnType<HttpServer["address"]>> {
    return [...this.#sites].map((s) => s.address);
  }

  /** Freezes the application and runs its startup signals. */
  async setup(): Promise<void> {
    if (this.#server !== null) throw new Error("The runner is already set up");
    // Built first: a bad option (an unknown access log specifier) fails before the app freezes.
    this.#server = new WebServer(this.app, this.#options);
    this.app.freeze();
    try {
      await this.app.startup();
    } catch (err) {
      // Undo what started (cleanup contexts that yielded) before reporting the failure.
      await this.app.cleanup().catch((cleanupErr: unknown) => {
        this.app.logger.error("Error cleaning up after a failed startup", cleanupErr);
      });
      this.#server = null;
      throw err;
    }
  }

  /**
   * Graceful shutdown: stop accepting, run `onShutdown`, close open WebSockets with 1001
   * (going away), end open event streams, let in-flight requests finish (up to
   * `shutdownTimeout`), close the remaining connections, run `onCleanup` and cleanup contexts.
   */
  async cleanup(): Promise<void> {
    if (this.#cleanedUp || this.#server === null) return;
    this.#cleanedUp = true;
    const server = this.#server;
    server.stopAccepting();
    const closed = [...this.#sites].map((s) => s.stop());
    let shutdownError: unknown;
    try {
      await this.app.shutdown();
    } catch (err) {
      shutdownError = err;
    }
    // WebSocket handlers run until their connection closes: tell the clients the server is
    // going away, so those handlers end like any other request.
    await server.closeWebSockets();
    server.closeEventStreams();
    const timeout = this.#options.shutdownTimeout ?? 60_000;
    const drained = await server.drain(timeout);
    if (!drained) {
      this.app.logger.warn?.(
        `Shutdown timeout: ${server.inFlight} request(s) still running were cut off`,
      );
    }
    server.closeAllConnections();
    await Promise.all(closed);
    this.#sites.clear();
    await this.app.cleanup();
    if (shutdownError !== undefined) throw shutdownError;
  }

  /** @internal a site registers itself when it starts */
  [kAddSite](site: BaseSite): void {
    if (this.#server === null)
      throw new Error("Call `await runner.setup()` before starting a site");
    this.#sites.add(site);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }
}

/** Options every site takes. */
export interface SiteOptions {
  /** TLS options (`key`, `cert`...): the site serves HTTPS. */
  ssl?: HttpsServerOptions;
  /** Pending-connection queue length; @default 128 */
  backlog?: number;
  /**
   * HTTP/2 on this site: `true` (with `ssl`) negotiates h2 by ALPN and serves HTTP/1.1, with
   * WebSockets, to the other clients; `"h2c"` serves cleartext HTTP/2 with prior knowledge.
   * @default the runner's `http2` option (false)
   */
  http2?: Http2Mode;
}

/** A listening socket of a runner. */
export abstract class BaseSite {
  readonly runner: AppRunner;
  readonly #options: SiteOptions;
  #http: NodeServer | null = null;

  constructor(runner: AppRunner, options: SiteOptions = {}) {
    this.runner = runner;
    this.#options = options;
  }

  /** The node:http (node:https, node:http2) server behind the site (after `start()`). */
  get httpServer(): NodeServer {
    if (this.#http === null) throw new Error("The site has not started");
    return this.#http;
  }

  /** What the socket is bound to. */
  get address(): ReturnType<HttpServer["address"]> {
    return this.#http?.address() ?? null;
  }

  /** `http://host:port` (or `http://unix:/path:`) for logs. */
  abstract get name(): string;

  /** @internal binds `server` to the site's socket with a pending-connection queue of `backlog` */
  protected abstract [kListen](server: NodeServer, backlog: number): Promise<void>;

  /** Starts listening. */
  async start(): Promise<void> {
    this.runner[kAddSite](this);
    const { ssl, http2 } = this.#options;
    const server =
      http2 === undefined
        ? this.runner.server.createNodeServer(ssl)
        : this.runner.server.createNodeServer(ssl, http2);
    this.#http = server;
    await this[kListen](server, this.#options.backlog ?? 128);
  }

  /** Stops listening (connections are handled by the runner's cleanup). */
  async stop(): Promise<void> {
    const server = this.#http;
    if (server === null || !server.listening) return;
    const closed = once(server, "close");
    server.close();
    await closed;
  }

  /** @internal `http` or `https`, for the site's name */
  protected get [kScheme](): string {
    return this.#options.ssl === undefined ? "http" : "https";
  }
}

/** Binds `server` to a socket (listen options, a bound `net.Server`, or `{ fd }`). */
async function listenOn(
  server: NodeServer,
  args: Record<string, unknown> | NetServer | { fd: number },
  backlog: number,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once("error", onError);
    const done = (): void => {
      server.off("error", onError);
      resolve();
    };
    if ("listen" in args || "fd" in args) server.listen(args as NetServer, backlog, done);
    else server.listen({ backlog, ...args }, done);
  });
}

/** Options of `TCPSite`. */
export interface TCPSiteOptions extends SiteOptions {
  /** Let several processes bind the same port (Linux; needs Node >= 22.12 or 23.1). */
  reusePort?: boolean;
  /** Only IPv6 when host is `::`. */
  ipv6Only?: boolean;
}

/** Listens on a TCP host and port (port 0: any free port). */
export class TCPSite extends BaseSite {
  readonly host: string;
  #port: number;
  readonly #reusePort: boolean;
  readonly #ipv6Only: boolean;

  constructor(runner: AppRunner, host = "0.0.0.0", port = 8080, options: TCPSiteOptions = {}) {
    super(runner, options);
    this.host = host;
    this.#port = port;
    this.#reusePort = options.reusePort ?? false;
    this.#ipv6Only = options.ipv6Only ?? false;
    if (this.#reusePort && !supportsReusePort()) {
      throw new Error(`reusePort needs Node.js >= 22.12 (or 23.1); this is ${process.version}`);
    }
  }

  /** The bound port (the real one after starting on port 0). */
  get port(): number {
    const addr = this.address;
    return typeof addr === "object" && addr !== null ? addr.port : this.#port;
  }

  get name(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `${this[kScheme]}://${host}:${this.port}`;
  }

  /** @internal */
  protected async [kListen](server: NodeServer, backlog: number): Promise<void> {
    const args = {
      host: this.host,
      port: this.#port,
      ...(this.#reusePort ? { reusePort: true } : {}),
      ...(this.#ipv6Only ? { ipv6Only: true } : {}),
    };
    await listenOn(server, args, backlog);
    this.#port = this.port;
  }
}

/** Listens on a unix domain socket. */
export class UnixSite extends BaseSite {
  readonly path: string;

  constructor(runner: AppRunner, path: string, options: SiteOptions = {}) {
    super(runner, options);
    this.path = path;
  }

  get name(): string {
    return `${this[kScheme]}://unix:${this.path}:`;
  }

  /** @internal */
  protected async [kListen](server: NodeServer, backlog: number): Promise<void> {
    await listenOn(server, { path: this.path }, backlog);
  }
}

/** Serves on a socket that is already bound: a listening `net.Server` or `{ fd }`. */
export class SockSite extends BaseSite {
  readonly sock: NetServer | { fd: number };

  constructor(runner: AppRunner, sock: NetServer | { fd: number }, options: SiteOptions = {}) {
    super(runner, options);
    this.sock = sock;
  }

  get name(): string {
    const addr = this.address;
    if (typeof addr === "object" && addr !== null)
      return `${this[kScheme]}://${addr.address}:${addr.port}`;
    return `${this[kScheme]}://${String(addr)}`;
  }

  /** @internal */
  protected async [kListen](server: NodeServer, backlog: number): Promise<void> {
    await listenOn(server, this.sock, backlog);
  }
}

function supportsReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}
