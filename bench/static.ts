// Static file benchmark (issue 9, section 5): the built aiohttp-ts `router.addStatic` against
// Fastify's @fastify/static and Express's express.static, each in its own process, serving a
// 1 KiB and a 10 MiB file to autocannon in another process, all in one run. Writes the "Static
// files" section of bench/RESULTS.md. The baseline of the ratios is @fastify/static (the target
// is at least 1.0x it on both sizes).
//
//   npm run bench:static                      the full run (builds dist/ first)
//   npm run bench:static -- --only aiohttp-ts @fastify/static and the peers named
//   npm run bench:static -- --profile         also CPU-profiles our server and ranks hot spots
// Options: --files 1k,10m (the sizes to run), --duration s (measured, per size and server; default 8), --warmup s (2),
// --connections n (for 1 KiB; 100), --big-connections n (for 10 MiB; 10), --rounds n (measured
// time split into n interleaved slices; 4), --quiet cores (0.15), --retries n (2), --pin,
// --skip-build, --no-write, --profile-dir path.

import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  BENCH_DIR,
  build,
  environmentLine,
  fmtInt,
  fmtNum,
  freePort,
  killChildrenOnExit,
  logger,
  median,
  nonNegative,
  notMeasured,
  pkgVersion,
  positive,
  profileFlags,
  quietestRun,
  reproduceLine,
  runToExit,
  selectPeers,
  sharedOptions,
  spawnChild,
  startCpuMeter,
  stopChild,
  summariseProfileDir,
  tableHead,
  tableRow,
  waitForReady,
} from "./common.js";
import { writeResultsSection } from "./results-file.js";

const SECTION = "Static files (bench/static.ts)";
const log = logger("static");

const BASELINE = "fastify-static";
const OURS = "aiohttp-ts";

interface Peer {
  id: string;
  label: string;
  file: string;
  version: string;
}

interface FileCase {
  /** What `--files` names it by. */
  id: string;
  label: string;
  name: string;
  size: number;
  /** The body autocannon compares (small files only: comparing 10 MiB costs the load side). */
  checkBody: boolean;
  connections: () => number;
}

interface LoadResult {
  serverCpuMs: number;
  otherCores: number;
  cpuMs: number;
  requestsTotal: number;
  duration: number;
  latencyP99: number;
  throughputAverage: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
}

interface Figures {
  requestsPerSecond: number;
  bytesPerSecond: number;
  cpuMicros: number;
  cpuBusy: number;
  otherCores: number;
  p99: number;
  sliceMin: number;
  sliceMax: number;
  failures: number;
}

interface RunningServer {
  peer: Peer;
  child: ChildProcess;
  port: number;
}

const { values: argv } = parseArgs({
  options: {
    duration: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "100" },
    "big-connections": { type: "string", default: "10" },
    rounds: { type: "string", default: "4" },
    files: { type: "string", default: "1k,10m" },
    ...sharedOptions("2"),
  },
});

const settings = {
  duration: positive("duration", argv.duration),
  warmup: nonNegative("warmup", argv.warmup),
  connections: Math.round(positive("connections", argv.connections)),
  bigConnections: Math.round(positive("big-connections", argv["big-connections"])),
  rounds: Math.round(positive("rounds", argv.rounds)),
  quiet: nonNegative("quiet", argv.quiet),
  retries: Math.round(nonNegative("retries", argv.retries)),
  pin: argv.pin,
};

const ALL_FILES: readonly FileCase[] = [
  {
    id: "1k",
    label: "1 KiB file",
    name: "small.txt",
    size: 1024,
    checkBody: true,
    connections: () => settings.connections,
  },
  {
    id: "10m",
    label: "10 MiB file",
    name: "big.bin",
    size: 10 * 1024 * 1024,
    checkBody: false,
    connections: () => settings.bigConnections,
  },
];

const FILES = selectFiles(argv.files);

/** The file cases `--files` names (comma-separated ids). */
function selectFiles(ids: string): FileCase[] {
  const wanted = ids.split(",").map((s) => s.trim());
  const unknown = wanted.filter((id) => !ALL_FILES.some((f) => f.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `Unknown file(s) ${unknown.join(", ")}; known: ${ALL_FILES.map((f) => f.id).join(", ")}`,
    );
  }
  return ALL_FILES.filter((f) => wanted.includes(f.id));
}

const PEERS: readonly Peer[] = [
  {
    id: OURS,
    label: "aiohttp-ts addStatic",
    file: "static-aiohttp-ts.mjs",
    version: `aiohttp-ts ${pkgVersion(".")}`,
  },
  {
    id: BASELINE,
    label: "Fastify + @fastify/static",
    file: "static-fastify.mjs",
    version: `fastify ${pkgVersion("fastify")}, @fastify/static ${pkgVersion("@fastify/static")}`,
  },
  {
    id: "express",
    label: "Express express.static",
    file: "static-express.mjs",
    version: `express ${pkgVersion("express")}, serve-static ${pkgVersion("serve-static")}`,
  },
];

/** Requests each server answered in all load runs, warm-ups included (for profiles). */
const served = new Map<string, number>();
killChildrenOnExit();

/** The files served, written to a fresh directory for the run. */
function makeFiles(): { dir: string; contents: Map<string, Buffer> } {
  const dir = mkdtempSync(join(tmpdir(), "aiohttp-ts-bench-static-"));
  const contents = new Map<string, Buffer>();
  for (const file of FILES) {
    // Printable bytes, so the small file's body can be compared as text by autocannon.
    const content = Buffer.alloc(file.size);
    for (let i = 0; i < file.size; i++) content[i] = 97 + (i % 26);
    writeFileSync(join(dir, file.name), content);
    contents.set(file.name, content);
  }
  return { dir, contents };
}

async function main(): Promise<void> {
  const buildNote = argv["skip-build"] ? "dist/ as found (--skip-build)" : build(log);
  const peers = selectPeers([...PEERS], argv.only, [BASELINE], "server");
  const profileDir = argv.profile
    ? (argv["profile-dir"] ?? join(tmpdir(), `aiohttp-ts-cpu-prof-${Date.now()}`))
    : null;
  const { dir, contents } = makeFiles();
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const loadBefore = loadavg();
  const started = new Date();
  log(
    `${peers.length} servers, ${FILES.length} files: ${settings.warmup} s warm-up + ` +
      `${settings.duration} s measured in ${settings.rounds} slice(s) each`,
  );

  const servers: RunningServer[] = [];
  const skipped: string[] = [];
  for (const peer of peers) {
    const extra = peer.id === OURS && profileDir !== null ? profileFlags(profileDir) : [];
    try {
      servers.push(await startServer(peer, dir, contents, extra));
    } catch (err) {
      skipped.push(`${peer.label}: ${(err as Error).message}`);
      log(`skipping ${peer.label}: ${(err as Error).message}`);
    }
  }
  if (!servers.some((s) => s.peer.id === BASELINE)) {
    throw new Error("@fastify/static (the baseline) did not start; nothing to compare with");
  }

  const figures = new Map<string, Map<string, Figures>>();
  let slices = 0;
  let retried = 0;
  for (const file of FILES) {
    const byPeer = new Map<string, LoadResult[]>();
    const body = file.checkBody ? contents.get(file.name)?.toString("latin1") : undefined;
    for (const server of servers) {
      if (settings.warmup > 0) await runLoad(server, file, body, settings.warmup);
      byPeer.set(server.peer.id, []);
    }
    const slice = settings.duration / settings.rounds;
    for (let round = 0; round < settings.rounds; round++) {
      const order = servers.map((_, i) => servers[(i + round) % servers.length] as RunningServer);
      for (const server of order) {
        const result = await quietestRun(
          () => runLoad(server, file, body, slice),
          settings.quiet,
          settings.retries,
          (disturbed) => {
            log(
              `${file.label} ${server.peer.label}: other processes used ` +
                `${Math.round(100 * disturbed.otherCores)}% of a core, again`,
            );
            retried++;
          },
        );
        slices++;
        byPeer.get(server.peer.id)?.push(result);
        log(
          `${file.label} ${server.peer.label} ${round + 1}/${settings.rounds}: ` +
            `${Math.round(result.requestsTotal / result.duration)} req/s, ` +
            `server CPU ${Math.round(result.serverCpuMs / (10 * result.duration))}%, ` +
            `others ${Math.round(100 * result.otherCores)}%`,
        );
      }
    }
    const fileFigures = new Map<string, Figures>();
    for (const [id, results] of byPeer) fileFigures.set(id, combine(results));
    figures.set(file.label, fileFigures);
  }

  for (const server of servers) await stopChild(server.child);
  const loadAfter = loadavg();
  const report = formatReport({
    servers,
    figures,
    skipped,
    slices,
    retried,
    started,
    buildNote,
    loadBefore,
    loadAfter,
  });
  process.stdout.write(`\n${report}\n`);

  if (profileDir !== null) {
    const summary = summariseProfileDir(profileDir, served.get(OURS));
    if (summary === null) log(`no .cpuprofile found in ${profileDir}`);
    else process.stdout.write(`\nCPU profile of ${OURS}: ${summary.profile}\n${summary.text}\n`);
  }
  if (
    argv["no-write"] ||
    profileDir !== null ||
    argv.only !== undefined ||
    FILES.length !== ALL_FILES.length
  ) {
    log("bench/RESULTS.md left as it is (--no-write, --profile, --only or --files)");
  } else {
    writeResultsSection(join(BENCH_DIR, "RESULTS.md"), SECTION, report);
    log("wrote bench/RESULTS.md");
  }
}

// ---- processes -------------------------------------------------------------------------------

async function startServer(
  peer: Peer,
  dir: string,
  contents: Map<string, Buffer>,
  nodeArgs: string[],
): Promise<RunningServer> {
  const port = await freePort();
  const script = join(BENCH_DIR, "servers", peer.file);
  const child = spawnChild(
    process.execPath,
    [...nodeArgs, script, String(port), dir],
    0,
    settings.pin,
  );
  try {
    await waitForReady(child);
    for (const file of FILES) {
      const got = await fetchBody(port, `/static/${file.name}`);
      if (got.status !== 200 || !got.body.equals(contents.get(file.name) ?? Buffer.alloc(0))) {
        throw new Error(
          `/static/${file.name} answered ${got.status} with ${got.body.length} bytes, expected 200 with ${file.size}`,
        );
      }
    }
    log(`${peer.label} ready on port ${port}`);
    return { peer, child, port };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}

/** One GET on its own connection, to check that a server sends the file whole. */
function fetchBody(port: number, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${path}`)));
    req.on("error", reject);
  });
}

/** Runs bench/load.mjs (autocannon) against one server and file for `seconds`. */
async function runLoad(
  server: RunningServer,
  file: FileCase,
  expectBody: string | undefined,
  seconds: number,
): Promise<LoadResult> {
  const options = {
    url: `http://127.0.0.1:${server.port}/static/${file.name}`,
    connections: file.connections(),
    pipelining: 1,
    duration: seconds,
    warmup: 0,
    ...(expectBody === undefined ? {} : { expectBody }),
  };
  const meter = startCpuMeter(server.child);
  const child = spawnChild(
    process.execPath,
    [join(BENCH_DIR, "load.mjs"), JSON.stringify(options)],
    1,
    settings.pin,
  );
  const { code, lastLine, stderr } = await runToExit(child, (seconds + 30) * 1000);
  if (code !== 0 || lastLine === "") {
    throw new Error(`load generator failed (${code}) on ${options.url}: ${stderr.trim()}`);
  }
  const result = JSON.parse(lastLine) as Omit<LoadResult, "serverCpuMs" | "otherCores">;
  served.set(server.peer.id, (served.get(server.peer.id) ?? 0) + result.requestsTotal);
  return { ...result, ...meter(result.cpuMs) };
}

// ---- figures and report ----------------------------------------------------------------------

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

interface ReportInput {
  servers: RunningServer[];
  figures: Map<string, Map<string, Figures>>;
  skipped: string[];
  slices: number;
  retried: number;
  started: Date;
  buildNote: string;
  loadBefore: number[];
  loadAfter: number[];
}

function formatReport(input: ReportInput): string {
  const { servers, figures } = input;
  const lines: string[] = [
    environmentLine(input.started, input.loadBefore, input.loadAfter),
    "",
    "Method: each server runs in its own process on 127.0.0.1 (plain `node` on `.mjs` files in " +
      `bench/servers/static-*.mjs; ours imports the built \`dist/\`, ${input.buildNote}; ` +
      "access log off, every peer with its default static options) and serves the same " +
      "directory under `/static/`. autocannon runs in a separate process, pipelining 1, " +
      `${settings.connections} connections for the 1 KiB file and ${settings.bigConnections} ` +
      `for the 10 MiB one, a ${settings.warmup} s warm-up per server and file, then ` +
      `${settings.duration} s measured per server and file in ${settings.rounds} slice(s), the ` +
      "servers taking turns. The 1 KiB body is checked on every response (`expectBody`); the " +
      "10 MiB one once per server before the run. req/s, MiB/s, p99 and CPU/req are medians " +
      "over the slices; CPU/req is the server process's user+system CPU time (all threads, " +
      "libuv's file-system pool included) over the requests it answered. A slice during which " +
      `other processes used more than ${Math.round(100 * settings.quiet)}% of a core was run ` +
      `again, up to ${settings.retries} times, keeping the quietest: ${input.retried} reruns ` +
      `for ${input.slices} slices. Load generator and server share the ${cpus().length} cores` +
      (settings.pin ? " (pinned: server on CPU 0, load on CPU 1)." : " (not pinned)."),
    "",
  ];
  const base = (file: string): Figures | undefined => figures.get(file)?.get(BASELINE);
  for (const file of FILES) {
    lines.push(
      `### GET ${file.label}`,
      "",
      ...tableHead([
        "Server",
        "req/s",
        "MiB/s",
        "p99 (ms)",
        "vs @fastify/static",
        "CPU/req (µs)",
        "vs @fastify/static by CPU",
        "server CPU use",
        "other load",
        "slices req/s (min-max)",
        "failed",
      ]),
    );
    const b = base(file.label);
    for (const server of servers) {
      const f = figures.get(file.label)?.get(server.peer.id);
      if (f === undefined) continue;
      lines.push(
        tableRow([
          server.peer.label,
          fmtInt(f.requestsPerSecond),
          fmtNum(f.bytesPerSecond / (1024 * 1024)),
          fmtNum(f.p99),
          `${(f.requestsPerSecond / (b?.requestsPerSecond ?? Number.NaN)).toFixed(2)}x`,
          fmtNum(f.cpuMicros),
          `${((b?.cpuMicros ?? Number.NaN) / f.cpuMicros).toFixed(2)}x`,
          `${Math.round(100 * f.cpuBusy)}%`,
          `${Math.round(100 * f.otherCores)}%`,
          `${fmtInt(f.sliceMin)}-${fmtInt(f.sliceMax)}`,
          f.failures,
        ]),
      );
    }
    lines.push("");
  }
  if (servers.some((s) => s.peer.id === OURS)) {
    lines.push("Target (issue 9): at least 1.0x @fastify/static on both sizes (req/s).", "");
    for (const file of FILES) {
      const o = figures.get(file.label)?.get(OURS);
      const b = base(file.label);
      const ratio = (o?.requestsPerSecond ?? Number.NaN) / (b?.requestsPerSecond ?? Number.NaN);
      const cpu = (b?.cpuMicros ?? Number.NaN) / (o?.cpuMicros ?? Number.NaN);
      lines.push(
        `- ${file.label}: ${ratio.toFixed(2)}x @fastify/static (${ratio >= 1 ? "met" : "NOT met"}; ` +
          `CPU ${cpu.toFixed(2)}x)`,
      );
    }
    lines.push("");
  }
  lines.push(
    "Versions:",
    "",
    ...servers.map((s) => `- ${s.peer.label}: ${s.peer.version}`),
    ...notMeasured(input.skipped),
    "",
    reproduceLine("bench:static", "static.ts"),
  );
  return lines.join("\n");
}

// Last, so that every module-level constant above is initialised before it runs.
await main();
