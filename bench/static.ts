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

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  BENCH_DIR,
  buildUnless,
  environmentLine,
  killChildrenOnExit,
  logger,
  nonNegative,
  notMeasured,
  pkgVersion,
  positive,
  profileDirOption,
  profileFlags,
  profileReport,
  reproduceLine,
  runSettings,
  saveReport,
  selectPeers,
  sharedOptions,
  startServerChild,
} from "./common.js";
import {
  type Figures,
  measureServers,
  type PeerServer,
  runAutocannon,
  type ServersReportInput,
  sliceTable,
} from "./slices.js";

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

type RunningServer = PeerServer<Peer>;

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
  ...runSettings(argv),
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
  const buildNote = buildUnless(argv["skip-build"], log);
  const peers = selectPeers([...PEERS], argv.only, [BASELINE], "server");
  const profileDir = profileDirOption(argv, "aiohttp-ts-cpu-prof");
  const { dir, contents } = makeFiles();
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const loadBefore = loadavg();
  const started = new Date();
  log(
    `${peers.length} servers, ${FILES.length} files: ${settings.warmup} s warm-up + ` +
      `${settings.duration} s measured in ${settings.rounds} slice(s) each`,
  );

  const run = await measureServers(
    peers,
    (peer) =>
      startServer(
        peer,
        dir,
        contents,
        peer.id === OURS && profileDir !== null ? profileFlags(profileDir) : [],
      ),
    { id: BASELINE, name: "@fastify/static" },
    FILES,
    settings,
    (server, file, seconds) => runLoad(server, file, contents, seconds),
    log,
  );
  const report = formatReport({ ...run, started, buildNote, loadBefore, loadAfter: loadavg() });
  process.stdout.write(`\n${report}\n`);

  if (profileDir !== null) {
    const text = profileReport(profileDir, served.get(OURS), OURS, log);
    if (text !== null) process.stdout.write(`\n${text}\n`);
  }
  const partial =
    profileDir !== null || argv.only !== undefined || FILES.length !== ALL_FILES.length;
  saveReport(
    SECTION,
    report,
    argv["no-write"] || partial ? "--no-write, --profile, --only or --files" : null,
    log,
  );
}

// ---- processes -------------------------------------------------------------------------------

async function startServer(
  peer: Peer,
  dir: string,
  contents: Map<string, Buffer>,
  nodeArgs: string[],
): Promise<RunningServer> {
  const script = join(BENCH_DIR, "servers", peer.file);
  const { child, port } = await startServerChild(
    process.execPath,
    (port) => [...nodeArgs, script, String(port), dir],
    settings.pin,
    async (port) => {
      for (const file of FILES) {
        const got = await fetchBody(port, `/static/${file.name}`);
        if (got.status !== 200 || !got.body.equals(contents.get(file.name) ?? Buffer.alloc(0))) {
          throw new Error(
            `/static/${file.name} answered ${got.status} with ${got.body.length} bytes, expected 200 with ${file.size}`,
          );
        }
      }
    },
  );
  log(`${peer.label} ready on port ${port}`);
  return { peer, child, port };
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

/**
 * Runs bench/load.mjs (autocannon) against one server and file for `seconds`; the body of a
 * small file is compared on every response (comparing 10 MiB would cost the load side).
 */
async function runLoad(
  server: RunningServer,
  file: FileCase,
  contents: Map<string, Buffer>,
  seconds: number,
) {
  const expectBody = file.checkBody ? contents.get(file.name)?.toString("latin1") : undefined;
  const result = await runAutocannon(
    server,
    {
      url: `http://127.0.0.1:${server.port}/static/${file.name}`,
      connections: file.connections(),
      pipelining: 1,
      duration: seconds,
      warmup: 0,
      ...(expectBody === undefined ? {} : { expectBody }),
    },
    settings.pin,
  );
  served.set(server.peer.id, (served.get(server.peer.id) ?? 0) + result.requestsTotal);
  return result;
}

// ---- report ----------------------------------------------------------------------------------

type ReportInput = ServersReportInput<RunningServer>;

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
      ...sliceTable(servers, figures.get(file.label), BASELINE, "@fastify/static", true),
      "",
    );
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
