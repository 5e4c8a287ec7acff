// What bench/server.ts and bench/static.ts share: server processes loaded by autocannon
// (bench/load.mjs, in its own process), the measured time split into slices that the servers
// take in turns, and each server's figures and table row from its slices.

import { join } from "node:path";
import {
  BENCH_DIR,
  fmtInt,
  fmtNum,
  median,
  percent,
  quietestRun,
  ratio,
  runToExit,
  type ServerChild,
  spawnChild,
  startCpuMeter,
  startPeers,
  stopChild,
  tableHead,
  tableRow,
} from "./common.js";

/** What one autocannon run reports (see bench/load.mjs), with the CPU figures measured here. */
export interface LoadResult {
  /** CPU time the server process used during the run, ms (all its threads); added here. */
  serverCpuMs: number;
  /** CPU used by other processes on the machine during the run, in cores; added here. */
  otherCores: number;
  /** The load generator's own CPU time, ms. */
  cpuMs: number;
  requestsPerSecond: number;
  requestsTotal: number;
  duration: number;
  latencyAverage: number;
  latencyP50: number;
  latencyP99: number;
  latencyMax: number;
  /** Response bytes per second. */
  throughputAverage: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
}

/** bench/load.mjs's options for one run. */
export interface LoadOptions {
  url: string;
  connections: number;
  pipelining: number;
  /** Seconds measured. */
  duration: number;
  /** Seconds of warm-up inside the run (the benches warm up in runs of their own: 0). */
  warmup: number;
  /** Every response body must be this. */
  expectBody?: string;
}

/** A server child measured, with the peer it runs. */
export interface PeerServer<P extends { id: string; label: string }> extends ServerChild {
  peer: P;
}

/**
 * Runs bench/load.mjs (autocannon) with `options` against `server` (on CPU 1 when `pin`), and
 * meters the server's CPU and other processes' meanwhile.
 */
export async function runAutocannon(
  server: ServerChild,
  options: LoadOptions,
  pin: boolean,
): Promise<LoadResult> {
  const meter = startCpuMeter(server.child);
  const child = spawnChild(
    process.execPath,
    [join(BENCH_DIR, "load.mjs"), JSON.stringify(options)],
    1,
    pin,
  );
  // Bounded in time: a load run that does not finish is killed and reported.
  const { code, lastLine, stderr } = await runToExit(child, (options.duration + 30) * 1000);
  if (code !== 0 || lastLine === "") {
    throw new Error(`load generator failed (${code}) on ${options.url}: ${stderr.trim()}`);
  }
  const result = JSON.parse(lastLine) as Omit<LoadResult, "serverCpuMs" | "otherCores">;
  return { ...result, ...meter(result.cpuMs) };
}

/** One server's figures for one case, from its slices. */
export interface Figures {
  requestsPerSecond: number;
  /** Response bytes per second. */
  bytesPerSecond: number;
  /** Server CPU time per request, microseconds: other load moves it less than req/s. */
  cpuMicros: number;
  /** Server CPU time over wall time (1 = one core busy all along); low means starved of load. */
  cpuBusy: number;
  /** Median CPU used by other processes during the slices, in cores. */
  otherCores: number;
  p99: number;
  sliceMin: number;
  sliceMax: number;
  failures: number;
}

/**
 * Slices of one server and case, each figure the median over the slices, so that a slice that
 * other processes on the machine slowed down does not drag it.
 */
function combine(results: LoadResult[]): Figures {
  const cpuMs = results.reduce((n, r) => n + r.serverCpuMs, 0);
  const rates = results.map((r) => r.requestsTotal / r.duration);
  return {
    requestsPerSecond: median(rates),
    bytesPerSecond: median(results.map((r) => r.throughputAverage)),
    cpuMicros: median(results.map((r) => (1000 * r.serverCpuMs) / r.requestsTotal)),
    cpuBusy: cpuMs / (1000 * results.reduce((n, r) => n + r.duration, 0)),
    otherCores: median(results.map((r) => r.otherCores)),
    p99: median(results.map((r) => r.latencyP99)),
    sliceMin: Math.min(...rates),
    sliceMax: Math.max(...rates),
    failures: results.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx + r.mismatches, 0),
  };
}

/** How the slices are laid out (the scripts' options). */
export interface SliceSettings {
  /** Seconds of warm-up per server and case, not counted. */
  warmup: number;
  /** Seconds measured per server and case, in `rounds` slices. */
  duration: number;
  rounds: number;
  quiet: number;
  retries: number;
}

/** Each case's figures by peer id, and how many slices were measured and run again. */
export interface SliceRun {
  /** Keyed by the case's label, then by peer id. */
  figures: Map<string, Map<string, Figures>>;
  slices: number;
  retried: number;
}

/**
 * For each case in turn: a warm-up run per server, then `settings.rounds` rounds in which every
 * server takes one slice of the measured time, each round starting with a different server so
 * that none always follows the same one. `load` runs one server and case for some seconds.
 */
async function measureSlices<
  S extends PeerServer<{ id: string; label: string }>,
  C extends { label: string },
>(
  servers: readonly S[],
  cases: readonly C[],
  settings: SliceSettings,
  load: (server: S, what: C, seconds: number) => Promise<LoadResult>,
  log: (message: string) => void,
): Promise<SliceRun> {
  const run: SliceRun = { figures: new Map(), slices: 0, retried: 0 };
  for (const what of cases) {
    const byPeer = new Map<string, LoadResult[]>();
    for (const server of servers) {
      if (settings.warmup > 0) {
        await load(server, what, settings.warmup);
        log(`${what.label} ${server.peer.label}: warmed up`);
      }
      byPeer.set(server.peer.id, []);
    }
    const slice = settings.duration / settings.rounds;
    for (let round = 0; round < settings.rounds; round++) {
      const order = servers.map((_, i) => servers[(i + round) % servers.length] as S);
      for (const server of order) {
        // A slice during which other processes were busy is run again; the quietest one counts.
        const result = await quietestRun(
          () => load(server, what, slice),
          settings.quiet,
          settings.retries,
          (disturbed) => {
            log(
              `${what.label} ${server.peer.label}: other processes used ` +
                `${percent(disturbed.otherCores)} of a core, again`,
            );
            run.retried++;
          },
        );
        run.slices++;
        byPeer.get(server.peer.id)?.push(result);
        log(
          `${what.label} ${server.peer.label} ${round + 1}/${settings.rounds}: ` +
            `${Math.round(result.requestsTotal / result.duration)} req/s, p99 ${result.latencyP99} ms, ` +
            `server CPU ${Math.round(result.serverCpuMs / (10 * result.duration))}%, ` +
            `others ${percent(result.otherCores)}`,
        );
      }
    }
    const figures = new Map<string, Figures>();
    for (const [id, results] of byPeer) figures.set(id, combine(results));
    run.figures.set(what.label, figures);
  }
  return run;
}

/** What `measureServers` gathers, for the report. */
export interface ServersRun<S> extends SliceRun {
  /** The servers that started, in the order given. */
  servers: S[];
  /** The peers that could not start, and why. */
  skipped: string[];
}

/**
 * Starts each peer's server with `start` (those that cannot start are skipped), requires the
 * one whose id is `baseline`, measures them all on each case (`measureSlices`), and stops them.
 */
export async function measureServers<
  P extends { id: string; label: string },
  S extends PeerServer<P>,
  C extends { label: string },
>(
  peers: readonly P[],
  start: (peer: P) => Promise<S>,
  baseline: { id: string; name: string },
  cases: readonly C[],
  settings: SliceSettings,
  load: (server: S, what: C, seconds: number) => Promise<LoadResult>,
  log: (message: string) => void,
): Promise<ServersRun<S>> {
  const { started: servers, skipped } = await startPeers(peers, start, log);
  if (!servers.some((s) => s.peer.id === baseline.id)) {
    throw new Error(`${baseline.name} (the baseline) did not start; nothing to compare with`);
  }
  const run = await measureSlices(servers, cases, settings, load, log);
  for (const server of servers) await stopChild(server.child);
  return { ...run, servers, skipped };
}

/** A report's input: the run, and when and on what it ran. */
export interface ServersReportInput<S> extends ServersRun<S> {
  started: Date;
  buildNote: string;
  loadBefore: number[];
  loadAfter: number[];
}

/**
 * One case's table: a row per server measured, its req/s and CPU per request compared with
 * the baseline's (named `vs` in the headings); `withMiB` adds a MiB/s column after req/s.
 */
export function sliceTable(
  servers: readonly PeerServer<{ id: string; label: string }>[],
  byPeer: Map<string, Figures> | undefined,
  baseline: string,
  vs: string,
  withMiB = false,
): string[] {
  const base = byPeer?.get(baseline);
  const lines = tableHead([
    "Server",
    "req/s",
    ...(withMiB ? ["MiB/s"] : []),
    "p99 (ms)",
    `vs ${vs}`,
    "CPU/req (µs)",
    `vs ${vs} by CPU`,
    "server CPU use",
    "other load",
    "slices req/s (min-max)",
    "failed",
  ]);
  for (const server of servers) {
    const f = byPeer?.get(server.peer.id);
    if (f === undefined) continue;
    lines.push(
      tableRow([
        server.peer.label,
        fmtInt(f.requestsPerSecond),
        ...(withMiB ? [fmtNum(f.bytesPerSecond / (1024 * 1024))] : []),
        fmtNum(f.p99),
        ratio(f.requestsPerSecond, base?.requestsPerSecond),
        fmtNum(f.cpuMicros),
        ratio(base?.cpuMicros, f.cpuMicros),
        percent(f.cpuBusy),
        percent(f.otherCores),
        `${fmtInt(f.sliceMin)}-${fmtInt(f.sliceMax)}`,
        f.failures,
      ]),
    );
  }
  return lines;
}
