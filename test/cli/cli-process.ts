// Running the built command (`node dist/cli/main.js`, built by `npm test` before vitest) as a
// child process: to completion with some stdin, or in the background while waiting for lines.

import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The built command. */
export const MAIN = `${ROOT}dist/cli/main.js`;
/** The served-module fixtures (run from here: see fixtures/tsconfig.json). */
export const FIXTURES = `${ROOT}test/cli/fixtures`;

/**
 * The environment of the command: colour switches removed so that a test's own (vitest may
 * set FORCE_COLOR) do not decide what a pipe gets; `extra` added.
 */
function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  delete env.NODE_DISABLE_COLORS;
  // Node's tty takes any CI variable to mean a terminal of two colours, so .ci/run's CI=true
  // would switch the colours off in the runs that test them.
  delete env.CI;
  return { ...env, ...extra };
}

function checkBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\``);
}

/** What a finished run printed and how it ended. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of `runCli` and `startCli`. */
export interface CliOptions {
  /** @default the repository root */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which then ends (stdin is empty otherwise). */
  input?: string;
}

/** Runs `aiohttp-ts <args>` to completion. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const cli = startCli(args, options);
  const code = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** A running command. */
export interface RunningCli {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Settles with the exit code (`null` when a signal ended it). */
  readonly exited: Promise<number | null>;
  /**
   * Resolves with the first match of `pattern` in stdout after character `from` (default: the
   * start); rejects if the command exits first.
   */
  waitFor(pattern: RegExp, from?: number): Promise<RegExpExecArray>;
}

const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  running.clear();
});

/**
 * Starts `aiohttp-ts <args>` in the background; it is killed after the test unless it has
 * exited.
 */
export function startCli(args: string[], options: CliOptions = {}): RunningCli {
  checkBuilt();
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: cliEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
  });
  running.add(child);
  child.stdin.end(options.input ?? "");
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  const waitFor = (pattern: RegExp, from = 0): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = pattern.exec(stdout.slice(from));
        if (m === null) return false;
        child.stdout.off("data", check);
        child.off("close", onClose);
        resolve(m);
        return true;
      };
      const onClose = (code: number | null): void => {
        if (check()) return;
        child.stdout.off("data", check);
        reject(
          new Error(
            `aiohttp-ts ${args.join(" ")} exited with ${code} before printing ${pattern}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
          ),
        );
      };
      // Registered after the collecting listener, so `stdout` already has the chunk.
      if (!check()) {
        child.stdout.on("data", check);
        child.once("close", onClose);
      }
    });
  return { child, stdout: () => stdout, stderr: () => stderr, exited, waitFor };
}

/** The URL in runApp's banner (`======== Running on http://127.0.0.1:PORT ========`). */
export const BANNER_URL = /Running on (http:\/\/127\.0\.0\.1:\d+) =/;

/** Quotes `arg` for a POSIX shell. */
function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

/**
 * Runs `aiohttp-ts <args>` on a terminal: util-linux's `script` gives it a pseudo-terminal for
 * stdin, stdout and stderr, whose output (both streams, with "\r\n" line ends) comes back as
 * stdout. TERM asks for colours.
 */
export async function runOnTerminal(args: string[], options: CliOptions = {}): Promise<CliResult> {
  checkBuilt();
  const command = [process.execPath, MAIN, ...args].map(shellQuote).join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], {
    cwd: options.cwd ?? ROOT,
    env: cliEnv({ TERM: "xterm-256color", ...options.env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  return { code, stdout, stderr };
}
