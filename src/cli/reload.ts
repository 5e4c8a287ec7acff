// `serve --reload`: a supervisor that runs the server in a child process and restarts it when
// a source file under the module's directory changes (node_modules, dist and dot-directories
// are ignored), with changes debounced so that an editor's burst of writes restarts once.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { type FSWatcher, statSync, watch } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { ExitCode } from "./errors.js";
import { splitSpec } from "./load-app.js";

/** Set in the child's environment: the child serves instead of supervising. */
export const RELOAD_CHILD_ENV = "AIOHTTP_TS_RELOAD_CHILD";

const DEBOUNCE_MS = 150;
/** How long a restart waits for the old server's graceful shutdown before killing it. */
const RESTART_GRACE_MS = 5_000;
const IGNORED = new Set(["node_modules", "dist"]);
/** Source files: a log, a database or an upload written by the server must not restart it. */
const SOURCES = new Set([".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx", ".json"]);

/** Whether a changed path (relative to the watched directory) should restart the server. */
export function isWatched(relative: string): boolean {
  if (!SOURCES.has(extname(relative))) return false;
  return !relative.split(/[\\/]/).some((part) => IGNORED.has(part) || part.startsWith("."));
}

/**
 * Tells real changes from noise: inotify reports a read that updates a file's access time
 * (the server importing its own module) as a "change" too, so a change counts only when the
 * file's mtime moved past the last one seen (or past the supervisor's start), or the file
 * appeared or went away.
 */
class ChangeFilter {
  readonly #since = Date.now();
  readonly #mtimes = new Map<string, number>();

  changed(file: string): boolean {
    let mtime: number;
    try {
      mtime = statSync(file).mtimeMs;
    } catch {
      this.#mtimes.delete(file);
      return true;
    }
    const last = this.#mtimes.get(file) ?? this.#since;
    this.#mtimes.set(file, mtime);
    return mtime > last;
  }
}

function log(message: string): void {
  process.stderr.write(`aiohttp-ts: ${message}\n`);
}

/**
 * Serves `spec` in a child process (`aiohttp-ts serve` with `serveArgs`) and restarts it on
 * changes until SIGINT/SIGTERM; resolves with the exit code once the last child is gone.
 */
export async function superviseReload(spec: string, serveArgs: string[]): Promise<ExitCode> {
  const dir = dirname(resolve(splitSpec(spec).module));
  const script = process.argv[1] ?? "";
  let child: ChildProcess | null = null;
  let stopping = false;
  let restarting = false;

  const start = (): void => {
    const proc = spawn(process.execPath, [...process.execArgv, script, "serve", ...serveArgs], {
      stdio: "inherit",
      env: { ...process.env, [RELOAD_CHILD_ENV]: "1" },
    });
    child = proc;
    proc.on("exit", (code, signal) => {
      if (child === proc) child = null;
      if (!stopping && !restarting) {
        log(`the server exited (${signal ?? `code ${code}`}); waiting for a change to restart it`);
      }
    });
  };

  /** Stops the running child (SIGKILL if it outlasts the grace period, a restart's or not). */
  const stopChild = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, "exit");
    proc.kill(signal);
    const killer = setTimeout(() => proc.kill("SIGKILL"), RESTART_GRACE_MS);
    await exited;
    clearTimeout(killer);
  };

  let timer: NodeJS.Timeout | undefined;
  let changed = "";
  const restart = async (): Promise<void> => {
    if (stopping || restarting) return;
    restarting = true;
    log(`${changed} changed, restarting`);
    await stopChild("SIGTERM");
    restarting = false;
    if (!stopping) start();
  };
  const filter = new ChangeFilter();
  const watcher: FSWatcher = watch(dir, { recursive: true }, (_event, filename) => {
    if (filename === null || !isWatched(String(filename))) return;
    const file = join(dir, String(filename));
    if (!filter.changed(file)) return;
    changed = file;
    clearTimeout(timer);
    timer = setTimeout(() => void restart(), DEBOUNCE_MS);
  });

  log(`watching ${dir} for changes`);
  start();

  const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
    let first: NodeJS.Signals | null = null;
    const onSignal = (sig: NodeJS.Signals): void => {
      // A second signal: the user wants out now.
      if (first !== null) child?.kill("SIGKILL");
      else resolveSignal((first = sig));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  stopping = true;
  clearTimeout(timer);
  watcher.close();
  await stopChild(signal);
  return ExitCode.OK;
}
