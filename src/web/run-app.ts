// runApp (aiohttp's run_app): serve an application until SIGINT or SIGTERM, then shut down
// gracefully and return, so the process exits 0 once nothing else keeps it alive. With
// `workers`, the same program runs as a primary that supervises N serving worker processes.

import cluster from "node:cluster";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import type { Server as NetServer } from "node:net";
import type { AnyApplication } from "./application.js";
import {
  AppRunner,
  type AppRunnerOptions,
  type BaseSite,
  SockSite,
  TCPSite,
  UnixSite,
} from "./runner.js";
import { untilStopped } from "./stop-signal.js";
import { WorkerPool } from "./worker-pool.js";
import {
  isShutdownMessage,
  type ReadyMessage,
  type WorkersOption,
  workerCount,
  workerId,
} from "./workers.js";

/** Options of `runApp`. */
export interface RunAppOptions extends AppRunnerOptions {
  /** Host(s) to bind; @default "0.0.0.0" */
  host?: string | readonly string[];
  /** TCP port; @default 8080 (8443 with `ssl`) */
  port?: number;
  /** Serve on a unix socket instead of (or, with `host`/`port` given, besides) TCP. */
  path?: string | readonly string[];
  /** Serve on already-bound sockets. */
  sock?: NetServer | { fd: number } | ReadonlyArray<NetServer | { fd: number }>;
  /** Let several processes share the port (Linux, Node >= 22.12). */
  reusePort?: boolean;
  /** Pending-connection queue length; @default 128 */
  backlog?: number;
  /** TLS options: serve HTTPS. */
  ssl?: HttpsServerOptions;
  /** Where the start-up banner goes; `null` for none. @default console.log */
  print?: ((message: string) => void) | null;
  /** Shut down on SIGINT/SIGTERM; @default true */
  handleSignals?: boolean;
  /** Shut down when this aborts (for tests and embedding). */
  signal?: AbortSignal;
  /**
   * Worker processes serving the application (node:cluster), sharing the port: a whole number
   * >= 1, or `"auto"` for one per core (`os.availableParallelism()`). With more than 1, this
   * process becomes the primary: it forks that many copies of the program (same script,
   * arguments and environment), each of which evaluates the module again and serves from its
   * own `runApp` call; it restarts a worker that crashes and on SIGINT/SIGTERM shuts them all
   * down gracefully. Anything else throws a RangeError.
   * @default 1 (this process serves; no cluster)
   * @example await web.runApp(createApp(), { port: 8080, workers: 4 });
   */
  workers?: WorkersOption;
}

/**
 * Serves `app` until SIGINT/SIGTERM (or `options.signal`), then shuts down gracefully:
 * stop accepting, `onShutdown`, in-flight requests finish (up to `shutdownTimeout`), idle
 * connections close, `onCleanup` and cleanup contexts run. Resolves when all that is done.
 * With `workers` > 1 it does that in each worker process and, in the primary, resolves once
 * every worker has exited.
 */
export async function runApp(
  app: AnyApplication | Promise<AnyApplication>,
  options: RunAppOptions = {},
): Promise<void> {
  const { workers, ...serveOptions } = options;
  const count = workerCount(workers);
  if (workerId() !== null) return serveInWorker(app, serveOptions);
  const application = await app;
  if (count === 1) return serve(application, serveOptions, bannerPrinter(serveOptions, null));
  if (!cluster.isPrimary) {
    throw new Error("runApp with workers must be called in the primary process of a cluster");
  }
  if (serveOptions.sock !== undefined) {
    throw new Error("runApp cannot share `sock` sockets with workers: use host/port or path");
  }
  const pool = new WorkerPool({
    workers: count,
    shutdownTimeout: serveOptions.shutdownTimeout ?? 60_000,
    logger: serveOptions.logger ?? application.logger,
    onReady: (sites) => bannerPrinter(serveOptions, count)(sites),
  });
  pool.start();
  await untilStopped(serveOptions.handleSignals ?? true, serveOptions.signal);
  await pool.stop();
}

type ServeOptions = Omit<RunAppOptions, "workers">;

/** Writes runApp's start-up banner through `print` (the primary's names the worker count). */
function bannerPrinter(options: ServeOptions, workers: number | null): (sites: string[]) => void {
  return (sites) => {
    const out = options.print === undefined ? console.log : options.print;
    if (out === null) return;
    const processes = workers === null ? "" : `${workers} worker processes; `;
    out(`======== Running on ${sites.join(", ")} ========\n(${processes}Press CTRL+C to quit)`);
  };
}

/**
 * A worker started by runApp's primary: serves like a single process, but tells the primary
 * when it is ready (the primary prints the banner) and also shuts down when the primary asks.
 * It then disconnects from the primary, so that the process can exit and the primary knows
 * the exit was asked for.
 */
async function serveInWorker(
  app: AnyApplication | Promise<AnyApplication>,
  options: ServeOptions,
): Promise<void> {
  const asked = new AbortController();
  const onMessage = (message: unknown): void => {
    if (isShutdownMessage(message)) asked.abort();
  };
  // Listening before the app starts, so that a request to stop is never missed.
  process.on("message", onMessage);
  try {
    const signal =
      options.signal === undefined ? asked.signal : AbortSignal.any([asked.signal, options.signal]);
    await serve(await app, { ...options, signal }, (sites) => {
      const ready: ReadyMessage = { aiohttpTs: "ready", sites };
      // A failed send means the primary is gone, and cluster ends this worker anyway.
      process.send?.(ready, undefined, {}, () => {});
    });
  } finally {
    process.off("message", onMessage);
    cluster.worker?.disconnect();
  }
}

/** Serves in this process until stopped; `onListening` gets the site names once all listen. */
async function serve(
  application: AnyApplication,
  options: ServeOptions,
  onListening: (sites: string[]) => void,
): Promise<void> {
  const {
    host,
    port,
    path,
    sock,
    reusePort,
    backlog,
    ssl,
    print: _print,
    handleSignals = true,
    signal,
    ...runnerOptions
  } = options;
  const runner = new AppRunner(application, runnerOptions);
  await runner.setup();
  const sites: BaseSite[] = [];
  try {
    const siteOpts = {
      ...(ssl === undefined ? {} : { ssl }),
      ...(backlog === undefined ? {} : { backlog }),
    };
    const paths = path === undefined ? [] : typeof path === "string" ? [path] : path;
    const socks =
      sock === undefined ? [] : Array.isArray(sock) ? sock : [sock as NetServer | { fd: number }];
    const tcp =
      (paths.length === 0 && socks.length === 0) || host !== undefined || port !== undefined;
    if (tcp) {
      const hosts = host === undefined ? ["0.0.0.0"] : typeof host === "string" ? [host] : host;
      const p = port ?? (ssl === undefined ? 8080 : 8443);
      for (const h of hosts) {
        sites.push(new TCPSite(runner, h, p, { ...siteOpts, ...(reusePort ? { reusePort } : {}) }));
      }
    }
    for (const p of paths) sites.push(new UnixSite(runner, p, siteOpts));
    for (const s of socks) sites.push(new SockSite(runner, s, siteOpts));
    for (const site of sites) await site.start();
  } catch (err) {
    await runner.cleanup();
    throw err;
  }
  // The signal handlers go in before the banner: whoever waits for the banner may signal at
  // once, and a SIGTERM without a handler would kill the process.
  const stopped = untilStopped(handleSignals, signal);
  onListening(sites.map((s) => s.name));
  await stopped;
  await runner.cleanup();
}
