// `aiohttp-ts serve <module>:<factory>`, as `python -m aiohttp.web`: load the application
// from its factory and serve it with runApp; `--reload` hands over to the reload supervisor.

import { web } from "../index.js";
import { numberOption, parseCommand } from "./arguments.js";
import { ExitCode, UsageError } from "./errors.js";
import { loadApp } from "./load-app.js";
import { RELOAD_CHILD_ENV, superviseReload } from "./reload.js";

const OPTIONS = {
  host: { type: "string", short: "H", multiple: true },
  port: { type: "string", short: "P" },
  path: { type: "string", short: "U" },
  workers: { type: "string", short: "w" },
  "access-log-format": { type: "string" },
  "no-access-log": { type: "boolean" },
  reload: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Runs `serve` with `args` (the arguments after "serve"). */
export async function serveCommand(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommand("serve", args, OPTIONS);
  const [spec, ...factoryArgs] = positionals;
  if (spec === undefined) throw new UsageError("missing <module>:<factory>", "serve");

  const options: web.RunAppOptions = {};
  if (values.host !== undefined) options.host = values.host;
  if (values.port !== undefined) {
    const port = numberOption("serve", "port", values.port, { integer: true });
    if (port > 65535) throw new UsageError(`--port must be at most 65535, not ${port}`, "serve");
    options.port = port;
  }
  if (values.path !== undefined) options.path = values.path;
  if (values.workers !== undefined) {
    options.workers =
      values.workers === "auto"
        ? "auto"
        : numberOption("serve", "workers", values.workers, { min: 1, integer: true });
  }
  if (values["access-log-format"] !== undefined) {
    options.accessLogFormat = values["access-log-format"];
  }
  if (values["no-access-log"]) options.accessLog = null;

  if (values.reload && process.env[RELOAD_CHILD_ENV] === undefined) {
    return superviseReload(spec, withoutReloadFlag(args));
  }
  // The signals are ours, taken before the module loads: a SIGTERM while the module loads (by
  // a test, a script or systemd) shuts the server down instead of killing the process.
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  // Under the reload supervisor a terminal's Ctrl-C reaches this process and the supervisor
  // (which forwards it): a repeated signal must not kill the graceful shutdown, so `on`, not
  // `once`. Otherwise, as runApp does, a second signal kills at once.
  const listen = process.env[RELOAD_CHILD_ENV] === undefined ? "once" : "on";
  for (const sig of ["SIGINT", "SIGTERM"] as const) process[listen](sig, onSignal);
  const app = await loadApp(spec, factoryArgs);
  await web.runApp(app, { ...options, handleSignals: false, signal: stop.signal });
  return ExitCode.OK;
}

/** `args` without `--reload` (but leaving the factory's arguments after "--" alone). */
function withoutReloadFlag(args: readonly string[]): string[] {
  const end = args.indexOf("--");
  const ours = end === -1 ? args : args.slice(0, end);
  const rest = end === -1 ? [] : args.slice(end);
  return [...ours.filter((a) => a !== "--reload"), ...rest];
}
