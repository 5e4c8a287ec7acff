// What the bench scripts (server, static, upload, client, ws) share: options and settings,
// building dist/, running peers in child processes, CPU accounting from /proc, the run's
// environment, table formatting and writing their RESULTS.md section. Each script keeps only
// what it measures and how it reports it; bench/slices.ts adds the autocannon runs that
// server.ts and static.ts share.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, release, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { formatProfile, summariseProfile } from "./cpu-profile.js";
import { writeResultsSection } from "./results-file.js";

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = dirname(BENCH_DIR);
/** The interpreter Python peers run under (a fixed path, so a virtualenv cannot swap it). */
export const PYTHON = "/usr/bin/python3";
/** How long a child server may take to print READY. */
const START_TIMEOUT_MS = 20_000;

// ---- logging and options ---------------------------------------------------------------------

/** A logger writing `[bench:{name}] message` to stderr, so stdout holds only the report. */
export function logger(name: string): (message: string) => void {
  return (message) => process.stderr.write(`[bench:${name}] ${message}\n`);
}

/**
 * The `parseArgs` options every script takes; each adds its own sizes. `retries` is the default
 * number of reruns of a slice or run that other processes disturbed.
 */
export function runOptions(retries: string) {
  return {
    quiet: { type: "string", default: "0.15" },
    retries: { type: "string", default: retries },
    pin: { type: "boolean", default: false },
    "skip-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  } as const;
}

/** `runOptions` and those of the scripts that compare several peers and can profile ours. */
export function sharedOptions(retries: string) {
  return {
    ...runOptions(retries),
    only: { type: "string" },
    profile: { type: "boolean", default: false },
    "profile-dir": { type: "string" },
  } as const;
}

/** The settings `runOptions` gives, checked. */
export function runSettings(argv: { quiet?: string; retries?: string; pin?: boolean }): {
  /** Other processes may use this many cores during a run before it is run again. */
  quiet: number;
  retries: number;
  pin: boolean;
} {
  return {
    quiet: nonNegative("quiet", argv.quiet),
    retries: Math.round(nonNegative("retries", argv.retries)),
    pin: argv.pin ?? false,
  };
}

/**
 * Where `--profile` writes CPU profiles: `--profile-dir`, or a new directory named after
 * `prefix` in the temporary directory; null without `--profile`.
 */
export function profileDirOption(
  argv: { profile?: boolean; "profile-dir"?: string },
  prefix: string,
): string | null {
  if (!argv.profile) return null;
  return argv["profile-dir"] ?? join(tmpdir(), `${prefix}-${Date.now()}`);
}

/** `--name`'s value as a number >= 0, or an error naming the option. */
export function nonNegative(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!(n >= 0)) throw new Error(`--${name} must be a number >= 0, got ${value}`);
  return n;
}

/** `--name`'s value as a number > 0, or an error naming the option. */
export function positive(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!(n > 0)) throw new Error(`--${name} must be a positive number, got ${value}`);
  return n;
}

/**
 * The peers `--only` names (comma-separated ids), plus those in `always` (the baseline, ...);
 * all of them when `only` is undefined. `kind` names them in the error for an unknown id.
 */
export function selectPeers<T extends { id: string }>(
  peers: T[],
  only: string | undefined,
  always: readonly string[],
  kind: string,
): T[] {
  if (only === undefined) return peers;
  const wanted = new Set(only.split(",").map((s) => s.trim()));
  const unknown = [...wanted].filter((id) => !peers.some((p) => p.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `Unknown ${kind}(s) ${unknown.join(", ")}; known: ${peers.map((p) => p.id).join(", ")}`,
    );
  }
  return peers.filter((p) => always.includes(p.id) || wanted.has(p.id));
}

// ---- versions and environment ----------------------------------------------------------------

/** The version of an installed package (`.` for this one), `?` when it cannot be read. */
export function pkgVersion(name: string): string {
  const file =
    name === "." ? join(ROOT, "package.json") : join(ROOT, "node_modules", name, "package.json");
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}

/** The versions of Python's aiohttp and of Python, or null when PYTHON cannot import aiohttp. */
export function pythonAiohttp(): { aiohttp: string; python: string } | null {
  const result = spawnSync(
    PYTHON,
    ["-c", "import aiohttp, sys; print(aiohttp.__version__, sys.version.split()[0])"],
    { encoding: "utf8" },
  );
  if (result.status !== 0) return null;
  const [aiohttp = "?", python = "?"] = result.stdout.trim().split(" ");
  return { aiohttp, python };
}

/** The commit measured, and whether src/ differed from it (read-only git queries). */
export function codeVersion(): string {
  const git = (...args: string[]): string | null => {
    const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const commit = git("rev-parse", "--short", "HEAD");
  if (commit === null) return "not a git checkout";
  const changed =
    git("status", "--porcelain", "--", "src")?.split("\n").filter(Boolean).length ?? 0;
  return changed === 0
    ? `commit ${commit}`
    : `commit ${commit} with ${changed} changed or new file(s) in src/`;
}

/** The report's first line: when, on what machine, how busy it was, and which code. */
export function environmentLine(started: Date, loadBefore: number[], loadAfter: number[]): string {
  const cpu = cpus();
  return (
    `Run ${started.toISOString().replace(/\.\d+Z$/, "Z")}: Node ${process.version}, ` +
    `${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), Linux ${release()}. ` +
    `Load average ${fmtLoad(loadBefore)} before, ${fmtLoad(loadAfter)} after. ` +
    `Code: ${codeVersion()}.`
  );
}

/** The report's last line: how to run `script` (a file in bench/) again. */
export function reproduceLine(npmScript: string, script: string): string {
  return `Reproduce: \`npm run ${npmScript}\` (options are listed at the top of ${relative(ROOT, join(BENCH_DIR, script))}).`;
}

// ---- build -----------------------------------------------------------------------------------

/** Builds dist/ (what is measured is the built package); returns a note for the results. */
export function build(log: (message: string) => void): string {
  log("npm run build");
  const result = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
  if (result.status === 0) return "built with `npm run build` just before the run";
  if (!existsSync(join(ROOT, "dist", "index.js"))) {
    throw new Error("npm run build failed and there is no dist/ to measure");
  }
  // tsc still emits when only type errors fail the build (others may be editing src/ meanwhile).
  log("npm run build reported errors; measuring the dist/ it emitted");
  return "`npm run build` reported type errors; dist/ as emitted";
}

/** Builds dist/ unless `skip` (--skip-build); returns a note for the results either way. */
export function buildUnless(skip: boolean | undefined, log: (message: string) => void): string {
  return skip ? "dist/ as found (--skip-build)" : build(log);
}

// ---- child processes -------------------------------------------------------------------------

const children = new Set<ChildProcess>();

/** Kills every child still running when this process exits, Ctrl-C included. */
export function killChildrenOnExit(): void {
  process.on("exit", () => {
    for (const child of children) child.kill("SIGKILL");
  });
  process.on("SIGINT", () => process.exit(130));
}

/**
 * Starts `command` in ROOT with piped output, on CPU `cpu` alone when `pin` (taskset). Children
 * run plain: no NODE_OPTIONS (tsx's loader, inspectors) leaks into them.
 */
export function spawnChild(
  command: string,
  args: string[],
  cpu: number,
  pin: boolean,
): ChildProcess {
  const [cmd, cmdArgs] = pin ? ["taskset", ["-c", String(cpu), command, ...args]] : [command, args];
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(cmd, cmdArgs, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** The last `max` characters a child writes to stderr, for error messages. */
function stderrTail(child: ChildProcess, max = 2000): () => string {
  let text = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    text = (text + chunk).slice(-max);
  });
  return () => text;
}

/** Resolves when a server child prints a line `READY`; rejects if it exits or takes too long. */
export function waitForReady(child: ChildProcess): Promise<void> {
  const stderr = stderrTail(child);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no READY within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    let out = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      out += chunk;
      if (/^READY$/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${signal ?? code}) before READY: ${stderr().trim()}`));
    });
  });
}

/** A server child that printed READY and passed its check. */
export interface ServerChild {
  child: ChildProcess;
  port: number;
}

/**
 * Starts a server child on a free port (`args` given the port), waits for its READY and runs
 * `check` against it; a child that fails either is killed and the error rethrown.
 */
export async function startServerChild(
  command: string,
  args: (port: number) => string[],
  pin: boolean,
  check: (port: number) => Promise<void> = async () => {},
): Promise<ServerChild> {
  const port = await freePort();
  const child = spawnChild(command, args(port), 0, pin);
  try {
    await waitForReady(child);
    await check(port);
    return { child, port };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}

/**
 * Starts each peer with `start`; a peer that cannot start is logged and listed in `skipped`
 * (its label, then `suffix`), not fatal.
 */
export async function startPeers<P extends { label: string }, S>(
  peers: readonly P[],
  start: (peer: P) => Promise<S>,
  log: (message: string) => void,
  suffix = "",
): Promise<{ started: S[]; skipped: string[] }> {
  const started: S[] = [];
  const skipped: string[] = [];
  for (const peer of peers) {
    try {
      started.push(await start(peer));
    } catch (err) {
      skipped.push(`${peer.label}${suffix}: ${(err as Error).message}`);
      log(`skipping ${peer.label}${suffix}: ${(err as Error).message}`);
    }
  }
  return { started, skipped };
}

/** Stops a child with SIGTERM, then SIGKILL if it has not exited 10 s later. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** How a child run to its end went. */
export interface ChildOutcome {
  code: number | null;
  signal: string | null;
  /** The last line of its stdout, where load generators and clients print their figures. */
  lastLine: string;
  /** The end of its stderr. */
  stderr: string;
}

/** Waits for a child to exit, killing it after `limitMs` so a hung run is reported, not waited on. */
export async function runToExit(child: ChildProcess, limitMs: number): Promise<ChildOutcome> {
  let out = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    out += chunk;
  });
  const stderr = stderrTail(child);
  const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
  clearTimeout(timer);
  return { code, signal, lastLine: out.trim().split("\n").pop() ?? "", stderr: stderr() };
}

/** A TCP port free on 127.0.0.1 just now, for a child server to listen on. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

// ---- CPU accounting --------------------------------------------------------------------------

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout) || 100;

/**
 * CPU time the whole machine spent in processes so far, ms: user, nice, system and steal from
 * /proc/stat. Interrupt time is left out, as no process is charged for it.
 */
function machineBusyMs(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]?.trim().split(/\s+/) ?? [];
  const [user, nice, system, , , , , steal] = fields.slice(1).map(Number);
  return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (steal ?? 0)) * 1000) / CLOCK_TICKS;
}

// /proc/PID/stat fields 14-15 (utime, stime) and 16-17 (cutime, cstime), counted from 0 after
// the parenthesised command name, which may itself hold spaces.
const UTIME = 11;
const CUTIME = 13;

/** The two CPU-time fields of /proc/`pid`/stat from `first` on, summed, ms. */
function statCpuMs(pid: number | "self", first: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[first]) + Number(fields[first + 1])) * 1000) / CLOCK_TICKS;
}

/** User + system CPU time of a process and all its threads so far, ms (Linux /proc). */
function processCpuMs(child: ChildProcess): number {
  return child.pid === undefined ? Number.NaN : treeCpuMs(child.pid);
}

/**
 * CPU time of `pid` and of the processes it started that are still running (a cluster
 * primary's workers), ms.
 */
function treeCpuMs(pid: number): number {
  try {
    let ms = statCpuMs(pid, UTIME);
    for (const child of childPids(pid)) {
      const childMs = treeCpuMs(child);
      if (!Number.isNaN(childMs)) ms += childMs;
    }
    return ms;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time of this process's children that have exited and been waited for, ms (cutime and
 * cstime): how a load generator that is not ours (h2load) is measured, across its run.
 */
export function waitedChildrenCpuMs(): number {
  return statCpuMs("self", CUTIME);
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .split(" ")
      .filter((s) => s !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** What a CPU meter read over one run. */
export interface CpuReading {
  /** CPU time the server process used, ms (all its threads). */
  serverCpuMs: number;
  /** CPU used by other processes on the machine, in cores. */
  otherCores: number;
}

/**
 * Starts measuring one run against `server`; the function returned ends it, given the CPU time
 * the load child reported, ms. What neither the server, the load child nor this process used
 * is "other load", which tells a run disturbed by the rest of the machine.
 */
export function startCpuMeter(server: ChildProcess): (loadCpuMs: number) => CpuReading {
  const serverBefore = processCpuMs(server);
  const machineBefore = machineBusyMs();
  const selfBefore = process.cpuUsage();
  const wallBefore = performance.now();
  return (loadCpuMs) => {
    const serverCpuMs = processCpuMs(server) - serverBefore;
    const self = process.cpuUsage(selfBefore);
    const others =
      machineBusyMs() - machineBefore - serverCpuMs - loadCpuMs - (self.user + self.system) / 1000;
    return { serverCpuMs, otherCores: Math.max(0, others) / (performance.now() - wallBefore) };
  };
}

/**
 * Runs `run`, and again up to `retries` times while other processes used more than `quiet` cores
 * during it; the quietest run counts. `onRetry` hears of each rerun and the run that caused it.
 */
export async function quietestRun<T extends { otherCores: number }>(
  run: () => Promise<T>,
  quiet: number,
  retries: number,
  onRetry: (disturbed: T) => void,
): Promise<T> {
  let result = await run();
  for (let retry = 0; result.otherCores > quiet && retry < retries; retry++) {
    onRetry(result);
    const again = await run();
    if (again.otherCores < result.otherCores) result = again;
  }
  return result;
}

/** What `interleavedRounds` counts as it goes; a script may share one across its calls. */
export interface RoundsTally {
  /** Peers whose run failed, with the reason, for the "Not measured" list. */
  skipped: string[];
  /** Runs measured, and how many were repeated because the machine was busy. */
  runs: number;
  retried: number;
}

/** How `interleavedRounds` runs and logs. */
export interface RoundsOptions<R> {
  rounds: number;
  /** See quietestRun. */
  quiet: number;
  retries: number;
  /** Names the workload in logs and in `skipped` (`{label} ({what})`). */
  what: string;
  /** The peer whose failure ends the bench instead of dropping it. */
  baseline: string;
  /** The figures of one run, for its log line. */
  describe: (result: R) => string;
  log: (message: string) => void;
}

/**
 * `rounds` rounds of `measure` for every peer, each round starting with a different peer so that
 * none always follows the same one and load from other processes falls on all alike. Each run
 * is the quietest of its reruns (quietestRun). A peer whose run fails is dropped and listed in
 * `tally.skipped`; the baseline failing ends the bench. Results are keyed by peer id.
 */
export async function interleavedRounds<
  P extends { id: string; label: string },
  R extends RunFigures,
>(
  peers: readonly P[],
  measure: (peer: P) => Promise<R>,
  options: RoundsOptions<R>,
  tally: RoundsTally,
): Promise<Map<string, R[]>> {
  const { rounds, what, log } = options;
  const results = new Map<string, R[]>(peers.map((p) => [p.id, []]));
  let active = [...peers];
  for (let round = 0; round < rounds; round++) {
    const order = active.map((_, i) => active[(i + round) % active.length] as P);
    for (const peer of order) {
      let result: R;
      try {
        result = await quietestRun(
          () => measure(peer),
          options.quiet,
          options.retries,
          (disturbed) => {
            log(
              `${what} ${peer.label}: other processes used ` +
                `${Math.round(100 * disturbed.otherCores)}% of a core, again`,
            );
            tally.retried++;
          },
        );
      } catch (err) {
        if (peer.id === options.baseline) throw err;
        tally.skipped.push(`${peer.label} (${what}): ${(err as Error).message}`);
        log(`dropping ${peer.label} (${what}): ${(err as Error).message}`);
        active = active.filter((p) => p !== peer);
        results.delete(peer.id);
        continue;
      }
      tally.runs++;
      results.get(peer.id)?.push(result);
      log(
        `${what} ${peer.label} ${round + 1}/${rounds}: ${options.describe(result)}, ` +
          `others ${Math.round(100 * result.otherCores)}%` +
          (result.failed > 0 ? `, ${result.failed} FAILED: ${result.firstError ?? ""}` : ""),
      );
    }
  }
  return results;
}

/** What every measured run reports, for `interleavedRounds`' log. */
export interface RunFigures {
  otherCores: number;
  failed: number;
  firstError?: string | null;
}

// ---- CPU profiles ----------------------------------------------------------------------------

/** The node flags that write a `.cpuprofile` into `dir` (created here) when the process exits. */
export function profileFlags(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return ["--cpu-prof", `--cpu-prof-dir=${dir}`];
}

/**
 * Ranks the hot spots of the newest profile in `dir` and writes them to `dir/summary.txt`;
 * `requests` (when known) gives per-request figures. Null when there is no profile.
 */
export function summariseProfileDir(
  dir: string,
  requests: number | undefined,
): { profile: string; text: string } | null {
  const profile = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (profile === undefined) return null;
  const text = formatProfile(summariseProfile(profile), requests);
  writeFileSync(join(dir, "summary.txt"), `${text}\n`);
  return { profile, text };
}

/**
 * `CPU profile of {what}:` with the profile's path and its hot spots (see summariseProfileDir),
 * or null, logged, when `dir` holds no profile.
 */
export function profileReport(
  dir: string,
  requests: number | undefined,
  what: string,
  log: (message: string) => void,
): string | null {
  const summary = summariseProfileDir(dir, requests);
  if (summary === null) log(`no .cpuprofile found in ${dir}`);
  return summary === null ? null : `CPU profile of ${what}: ${summary.profile}\n${summary.text}`;
}

// ---- figures and tables ----------------------------------------------------------------------

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A whole number with thousands separators, `-` when not finite. */
export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-";
}

/** A number to two decimals at most, `-` when not finite. */
export function fmtNum(n: number): string {
  return Number.isFinite(n) ? String(Math.round(n * 100) / 100) : "-";
}

/** Load averages as `1.00/0.50/0.25`. */
export function fmtLoad(load: number[]): string {
  return load.map((l) => l.toFixed(2)).join("/");
}

/** One Markdown table row. */
export function tableRow(cells: readonly (string | number)[]): string {
  return `| ${cells.join(" | ")} |`;
}

/**
 * A Markdown table's heading and rule. `align` has one letter a column, `l` (names) or `r`
 * (figures); by default the first column is left-aligned and the others right-aligned.
 */
export function tableHead(columns: readonly string[], align?: string): string[] {
  const rule = columns.map((_, i) =>
    (align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---",
  );
  return [tableRow(columns), `|${rule.join("|")}|`];
}

/** The "Not measured" list of peers that could not run, empty when all did. */
export function notMeasured(skipped: readonly string[]): string[] {
  return skipped.length === 0 ? [] : ["", "Not measured:", ...skipped.map((s) => `- ${s}`)];
}

/** `a` over `b` as `1.23x`, `-` when either is missing or the ratio is not finite. */
export function ratio(a: number | undefined, b: number | undefined): string {
  const r = (a ?? Number.NaN) / (b ?? Number.NaN);
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : "-";
}

/** A share (1 = 100%) as a whole percentage, e.g. a core's CPU time. */
export function percent(share: number): string {
  return `${Math.round(100 * share)}%`;
}

// ---- results ---------------------------------------------------------------------------------

/**
 * Replaces the script's `section` of bench/RESULTS.md with `report`, unless `keepBecause` says
 * why not (the options that make a run partial or not to be kept), which is logged instead.
 */
export function saveReport(
  section: string,
  report: string,
  keepBecause: string | null,
  log: (message: string) => void,
  placeholders: readonly string[] = [],
): void {
  if (keepBecause !== null) {
    log(`bench/RESULTS.md left as it is (${keepBecause})`);
  } else {
    writeResultsSection(join(BENCH_DIR, "RESULTS.md"), section, report, placeholders);
    log("wrote bench/RESULTS.md");
  }
}
