// runApp (aiohttp's run_app): serve an application until SIGINT or SIGTERM, then shut down
// gracefully and return, so the process exits 0 once nothing else keeps it alive.

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
}

/**
 * Serves `app` until SIGINT/SIGTERM (or `options.signal`), then shuts down gracefully:
 * stop accepting, `onShutdown`, in-flight requests finish (up to `shutdownTimeout`), idle
 * connections close, `onCleanup` and cleanup contexts run. Resolves when all that is done.
 */
export async function runApp(
  app: AnyApplication | Promise<AnyApplication>,
  options: RunAppOptions = {},
): Promise<void> {
  const application = await app;
  const {
    host,
    port,
    path,
    sock,
    reusePort,
    backlog,
    ssl,
    print,
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

  const out = print === undefined ? console.log : print;
  if (out !== null) {
    const names = sites.map((s) => s.name).join(", ");
    out(`======== Running on ${names} ========\n(Press CTRL+C to quit)`);
  }

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      if (handleSignals) {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
      signal?.removeEventListener("abort", stop);
      resolve();
    };
    if (handleSignals) {
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    }
    if (signal?.aborted) stop();
    else signal?.addEventListener("abort", stop, { once: true });
  });
  await runner.cleanup();
}
