// Client benchmark, two cases against one raw node:http server in another process, each client
// in its own process, all in one run; writes the "Client" section of bench/RESULTS.md.
// - GET + JSON decode (issue 3, section 6; issue 10, section 4): 50 in flight, 20,000 requests.
//   The built aiohttp-ts ClientSession, plain and with a TraceConfig attached, against
//   undici.request, global fetch, node:http with a keep-alive Agent, axios, got and Python
//   aiohttp's client.
// - Multipart upload (issue 10, section 6): a 10 MiB file and a text field, 4 uploads in flight,
//   our FormData with a file stream against undici.request with undici's FormData (a Blob from
//   fs.openAsBlob) and axios with the form-data package; the server parses every body with
//   @fastify/busboy and answers what it read, which each client checks.
//
//   npm run bench:client                      the full run (builds dist/ first)
//   npm run bench:client -- --only axios      undici.request (the baseline), ours and those named
//   npm run bench:client -- --case upload     one case only (get, upload or all; default all)
//   npm run bench:client -- --profile         also CPU-profiles one extra GET run of our client
//                                             and ranks hot spots (--profile-client ID: another)
// Options: --requests n (GETs measured per client and round; default 20000), --concurrency n
// (50), --warmup n (GETs before measuring, same process; 2000), --uploads n (uploads measured per
// client and round; 100), --upload-concurrency n (4), --upload-warmup n (8), --upload-size MiB
// (10), --rounds n (5, both cases), --quiet cores (a run during which other processes used more
// is run again; 0.15), --retries n (2), --pin (server on CPU 0, clients on CPU 1), --skip-build,
// --no-write (also implied by --only and by --case other than all), --profile-dir path.

import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { get } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  BENCH_DIR,
  buildUnless,
  environmentLine,
  fmtInt,
  fmtNum,
  interleavedRounds,
  killChildrenOnExit,
  logger,
  median,
  nonNegative,
  notMeasured,
  PYTHON,
  percent,
  pkgVersion,
  positive,
  profileFlags,
  profileReport,
  pythonAiohttp,
  type RoundsTally,
  ratio,
  reproduceLine,
  runSettings,
  runToExit,
  type ServerChild,
  saveReport,
  selectPeers,
  sharedOptions,
  spawnChild,
  startCpuMeter,
  startServerChild,
  stopChild,
  tableHead,
  tableRow,
} from "./common.js";

const CLIENTS_DIR = join(BENCH_DIR, "clients");
const SECTION = "Client (bench/client.ts)";
const log = logger("client");
const MiB = 1024 * 1024;

const BASELINE = "undici";
const OURS = "aiohttp-ts";
const TRACED = "aiohttp-ts-traced";
/** Issue 3's targets: req/s at least this times undici.request's, and this times axios'. */
const TARGET_VS_UNDICI = 0.8;
const TARGET_VS_AXIOS = 3;
/** Issue 10's targets: GET req/s with a TraceConfig, and upload MiB/s, against undici's. */
const TARGET_TRACED_VS_UNDICI = 0.75;
const TARGET_UPLOAD_VS_UNDICI = 0.9;

const CASES = ["get", "upload"] as const;
type Case = (typeof CASES)[number];

interface Client {
  id: string;
  label: string;
  command: string;
  /** Arguments before the JSON options; node flags (profiling) go in front of them. */
  args: string[];
  /** Options of this client's own, given to it with the workload's. */
  options?: Record<string, unknown>;
  /** Versions shown in the results, e.g. `axios 1.21.1`. */
  version: string;
  /** How the client is set up, for the results. */
  setup: string;
}

/** What one client process reports (bench/clients/harness.mjs, aiohttp_client.py). */
interface ChildResult {
  requests: number;
  wallMs: number;
  /** The client's CPU time during the measured requests, ms. */
  cpuMs: number;
  /** The client's CPU time from start to exit, ms. */
  cpuTotalMs: number;
  failed: number;
  firstError?: string | null;
}

interface RunResult extends ChildResult {
  /** CPU the server process used while this client ran, ms (warm-up included). */
  serverCpuMs: number;
  /** Requests the server answered meanwhile (warm-up included). */
  served: number;
  /** CPU used by other processes during the run, in cores. */
  otherCores: number;
}

interface Figures {
  requestsPerSecond: number;
  /** Client CPU time per request, microseconds: other load moves it less than req/s. */
  cpuMicros: number;
  /** Client CPU time over wall time during the measured requests (1 = one core). */
  cpuBusy: number;
  /** Server CPU time per request while this client ran, microseconds. */
  serverCpuMicros: number;
  otherCores: number;
  roundMin: number;
  roundMax: number;
  failures: number;
  firstError: string | undefined;
}

const { values: argv } = parseArgs({
  options: {
    case: { type: "string", default: "all" },
    requests: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "50" },
    warmup: { type: "string", default: "2000" },
    uploads: { type: "string", default: "100" },
    "upload-concurrency": { type: "string", default: "4" },
    "upload-warmup": { type: "string", default: "8" },
    "upload-size": { type: "string", default: "10" },
    rounds: { type: "string", default: "5" },
    ...sharedOptions("2"),
    "profile-client": { type: "string", default: OURS },
  },
});

/** How many requests one client process sends, and how many at a time. */
interface Load {
  requests: number;
  concurrency: number;
  warmup: number;
}

const settings = {
  cases: caseOption(argv.case),
  get: {
    requests: Math.round(positive("requests", argv.requests)),
    concurrency: Math.round(positive("concurrency", argv.concurrency)),
    warmup: Math.round(nonNegative("warmup", argv.warmup)),
  } satisfies Load,
  upload: {
    requests: Math.round(positive("uploads", argv.uploads)),
    concurrency: Math.round(positive("upload-concurrency", argv["upload-concurrency"])),
    warmup: Math.round(nonNegative("upload-warmup", argv["upload-warmup"])),
  } satisfies Load,
  /** The uploaded file's size, bytes. */
  uploadSize: Math.round(positive("upload-size", argv["upload-size"]) * MiB),
  rounds: Math.round(positive("rounds", argv.rounds)),
  ...runSettings(argv),
};

function caseOption(value: string | undefined): readonly Case[] {
  if (value === "all") return CASES;
  const found = CASES.find((c) => c === value);
  if (found === undefined) throw new Error(`--case must be get, upload or all, got ${value}`);
  return [found];
}

killChildrenOnExit();

/** What one case is: its clients, what they send, and what their runs gave. */
interface CaseRun {
  clients: Client[];
  load: Load;
  figures: Map<string, Figures>;
}

/** The upload's file, made once in a temporary directory. */
interface UploadFile {
  dir: string;
  path: string;
  filename: string;
  contentType: string;
}

async function main(): Promise<void> {
  const buildNote = buildUnless(argv["skip-build"], log);
  const loadBefore = loadavg();
  const started = new Date();
  const tally: RoundsTally = { skipped: [], runs: 0, retried: 0 };
  const file = settings.cases.includes("upload") ? await makeUploadFile() : null;
  const getClients = allClients();
  const uploadClients = file === null ? [] : allUploadClients(file);
  // --only is checked against every case's clients, then keeps those of each case it names.
  selectPeers([...getClients, ...uploadClients], argv.only, [], "client");

  const server = await startServer();
  let getCase: CaseRun | null = null;
  let uploadCase: CaseRun | null = null;
  let profileText: string | null = null;
  try {
    if (settings.cases.includes("get")) {
      getCase = await measureCase(
        "GET",
        chosen(getClients, [BASELINE, OURS, TRACED]),
        settings.get,
        `http://127.0.0.1:${server.port}/json`,
        server,
        tally,
      );
      if (argv.profile) profileText = await profileGet(getCase, server);
    }
    if (file !== null) {
      uploadCase = await measureCase(
        "upload",
        chosen(uploadClients, [BASELINE, OURS]),
        settings.upload,
        `http://127.0.0.1:${server.port}/upload`,
        server,
        tally,
      );
    }
  } finally {
    await stopChild(server.child);
    if (file !== null) await rm(file.dir, { recursive: true, force: true });
  }
  const loadAfter = loadavg();

  const report = formatReport({
    get: getCase,
    upload: uploadCase,
    tally,
    started,
    buildNote,
    loadBefore,
    loadAfter,
    serverBody: server.body,
  });
  process.stdout.write(`\n${report}\n`);
  if (profileText !== null) process.stdout.write(`\n${profileText}\n`);

  const partial =
    argv["no-write"] || argv.only !== undefined || settings.cases.length < CASES.length;
  saveReport(SECTION, report, partial ? "--no-write, --only or --case" : null, log);
}

/** The clients of one case that `--only` keeps, with those of `always`. */
function chosen(clients: Client[], always: readonly string[]): Client[] {
  const wanted = argv.only?.split(",").map((s) => s.trim());
  if (wanted === undefined) return clients;
  return clients.filter((c) => always.includes(c.id) || wanted.includes(c.id));
}

/** Rounds of every client of a case, interleaved (see interleavedRounds), and their figures. */
async function measureCase(
  what: string,
  clients: Client[],
  load: Load,
  url: string,
  server: RunningServer,
  tally: RoundsTally,
): Promise<CaseRun> {
  log(
    `${what}: ${clients.length} clients, ${settings.rounds} round(s) of ${load.requests} ` +
      `(after ${load.warmup} warm-up) each, ${load.concurrency} in flight, load average ` +
      loadavg()
        .map((l) => l.toFixed(2))
        .join(" "),
  );
  const results = await interleavedRounds(
    clients,
    (client) => runClient(client, server, url, load, []),
    {
      ...settings,
      what,
      baseline: BASELINE,
      describe: (result) =>
        `${Math.round((1000 * result.requests) / result.wallMs)}/s, ` +
        `CPU ${fmtNum((1000 * result.cpuMs) / result.requests)} µs each`,
      log,
    },
    tally,
  );
  const figures = new Map<string, Figures>();
  for (const [id, runsOf] of results) figures.set(id, combine(runsOf));
  return { clients: clients.filter((c) => figures.has(c.id)), load, figures };
}

/** An extra GET run of --profile-client, not counted in the figures (the profiler slows it). */
async function profileGet(getCase: CaseRun, server: RunningServer): Promise<string | null> {
  const id = argv["profile-client"] ?? OURS;
  const client = getCase.clients.find((c) => c.id === id && c.command === process.execPath);
  if (client === undefined) throw new Error(`--profile-client ${id}: not a node client here`);
  const dir = argv["profile-dir"] ?? join(tmpdir(), `aiohttp-ts-client-prof-${Date.now()}`);
  const url = `http://127.0.0.1:${server.port}/json`;
  const run = await runClient(client, server, url, getCase.load, profileFlags(dir));
  return profileReport(dir, run.requests + getCase.load.warmup, client.label, log);
}

// ---- clients ---------------------------------------------------------------------------------

/** A client of `file` in bench/clients/, run by this node. */
function nodeClient(
  id: string,
  label: string,
  file: string,
  version: string,
  setup: string,
  options?: Record<string, unknown>,
): Client {
  return {
    id,
    label,
    command: process.execPath,
    args: [join(CLIENTS_DIR, file)],
    ...(options === undefined ? {} : { options }),
    version,
    setup,
  };
}

const keepAlive = (sockets: number) => `http.Agent({ keepAlive: true, maxSockets: ${sockets} })`;

function allClients(): Client[] {
  const { concurrency } = settings.get;
  const ours = `aiohttp-ts ${pkgVersion(".")} (dist/), undici ${pkgVersion("undici")}`;
  const session = `\`new ClientSession({ connector: new TCPConnector({ limit: ${concurrency} })`;
  const clients = [
    nodeClient(
      OURS,
      "aiohttp-ts ClientSession",
      "aiohttp-ts.mjs",
      ours,
      `${session} })\`, \`await (await session.get(url)).json()\``,
    ),
    nodeClient(
      TRACED,
      "aiohttp-ts ClientSession + TraceConfig",
      "aiohttp-ts.mjs",
      ours,
      `${session}, traceConfigs: [trace] })\`, \`trace\` a TraceConfig with one no-op async ` +
        "callback on `onRequestStart` and one on `onRequestEnd`; the same GET",
      { trace: true },
    ),
    nodeClient(
      BASELINE,
      "undici.request",
      "undici.mjs",
      `undici ${pkgVersion("undici")}`,
      `\`new Agent({ connections: ${concurrency} })\`, \`(await request(url, { dispatcher })).body.json()\``,
    ),
    nodeClient(
      "fetch",
      "global fetch",
      "fetch.mjs",
      `node ${process.versions.node} (undici ${process.versions.undici ?? "?"})`,
      "default global dispatcher, `await (await fetch(url)).json()`",
    ),
    nodeClient(
      "node-http",
      "node:http",
      "node-http.mjs",
      `node ${process.versions.node}`,
      `\`${keepAlive(concurrency)}\`, \`http.get\`, body gathered as a string, \`JSON.parse\``,
    ),
    nodeClient(
      "axios",
      "axios",
      "axios.mjs",
      `axios ${pkgVersion("axios")}`,
      `\`axios.create({ httpAgent: ${keepAlive(concurrency)} })\`, \`(await client.get(url)).data\``,
    ),
    nodeClient(
      "got",
      "got",
      "got.mjs",
      `got ${pkgVersion("got")}`,
      `\`got.extend({ agent: { http: ${keepAlive(concurrency)} }, retry: { limit: 0 } })\`, \`client.get(url).json()\``,
    ),
  ];
  const python = pythonAiohttp();
  if (python !== null) {
    clients.push({
      id: "aiohttp-py",
      label: "aiohttp (Python)",
      command: PYTHON,
      args: [join(CLIENTS_DIR, "aiohttp_client.py")],
      version: `aiohttp ${python.aiohttp} on Python ${python.python} (asyncio loop)`,
      setup:
        `\`ClientSession(connector=TCPConnector(limit=${concurrency}))\`, ` +
        `\`asyncio.gather\` of every request under \`Semaphore(${concurrency})\`, \`await resp.json()\``,
    });
  } else {
    log(`Python aiohttp not available (${PYTHON} cannot import aiohttp): left out`);
  }
  return clients;
}

function allUploadClients(file: UploadFile): Client[] {
  const { concurrency } = settings.upload;
  const options = {
    file: file.path,
    size: settings.uploadSize,
    filename: file.filename,
    contentType: file.contentType,
  };
  const fields = "`note` (text), then `file`";
  return [
    nodeClient(
      OURS,
      "aiohttp-ts ClientSession",
      "upload-aiohttp-ts.mjs",
      `aiohttp-ts ${pkgVersion(".")} (dist/), undici ${pkgVersion("undici")}`,
      `\`new ClientSession({ connector: new TCPConnector({ limit: ${concurrency} }) })\`; our ` +
        `\`FormData\`, ${fields} as \`addField("file", fs.createReadStream(path), { filename, ` +
        "contentType })`; `await (await session.post(url, { data: form })).json()`",
      options,
    ),
    nodeClient(
      BASELINE,
      "undici.request",
      "upload-undici.mjs",
      `undici ${pkgVersion("undici")}`,
      `\`new Agent({ connections: ${concurrency} })\`; undici's \`FormData\`, ${fields} as ` +
        '`append("file", await fs.openAsBlob(path, { type }), filename)` (the Blob made once); ' +
        "`(await request(url, { method: 'POST', body: form, dispatcher })).body.json()`",
      options,
    ),
    nodeClient(
      "axios",
      "axios",
      "upload-axios.mjs",
      `axios ${pkgVersion("axios")}, form-data ${pkgVersion("form-data")}`,
      `\`axios.create({ httpAgent: ${keepAlive(concurrency)}, maxBodyLength: Infinity })\`; the ` +
        `form-data package's \`FormData\`, ${fields} as \`append("file", ` +
        "fs.createReadStream(path), { filename, contentType })` (axios asks it for the length); " +
        "`(await client.post(url, form)).data`",
      options,
    ),
  ];
}

async function makeUploadFile(): Promise<UploadFile> {
  const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-bench-client-"));
  const filename = "upload.bin";
  const path = join(dir, filename);
  await writeFile(path, randomBytes(settings.uploadSize));
  return { dir, path, filename, contentType: "application/octet-stream" };
}

// ---- processes -------------------------------------------------------------------------------

interface RunningServer extends ServerChild {
  /** The body it answers a GET with, shown in the results. */
  body: string;
}

async function startServer(): Promise<RunningServer> {
  let body = "";
  const { child, port } = await startServerChild(
    process.execPath,
    (port) => [join(CLIENTS_DIR, "server.mjs"), String(port)],
    settings.pin,
    async (port) => {
      body = await probe(port);
    },
  );
  log(`server ready on port ${port}: ${body}`);
  return { child, port, body };
}

/** One GET from here, to check the server answers the JSON the clients expect. */
function probe(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`http://127.0.0.1:${port}/json`, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => {
        const ok =
          res.statusCode === 200 &&
          (JSON.parse(text) as { message?: unknown }).message === "Hello, World!";
        if (ok) resolve(text);
        else reject(new Error(`server answered ${res.statusCode} ${text}`));
      });
    }).on("error", reject);
  });
}

/** Runs one client process: warm-up, then the measured requests. */
async function runClient(
  client: Client,
  server: RunningServer,
  url: string,
  load: Load,
  nodeFlags: string[],
): Promise<RunResult> {
  const options = { url, ...load, ...client.options };
  const meter = startCpuMeter(server.child);
  const child = spawnChild(
    client.command,
    [...nodeFlags, ...client.args, JSON.stringify(options)],
    1,
    settings.pin,
  );
  // Bounded in time: a client that hangs is killed and reported (a generous 2 ms per GET, or
  // 100 ms per MiB uploaded).
  const each = client.options?.size === undefined ? 2 : (100 * settings.uploadSize) / MiB;
  const limitMs = 30_000 + each * (load.requests + load.warmup);
  const { code, signal, lastLine, stderr } = await runToExit(child, limitMs);
  if (code !== 0 || lastLine === "") {
    throw new Error(
      `client exited (${signal ?? code}) without figures: ${stderr.trim().split("\n").slice(-3).join(" | ")}`,
    );
  }
  const result = JSON.parse(lastLine) as ChildResult;
  return {
    ...result,
    ...meter(result.cpuTotalMs),
    served: load.requests + load.warmup,
  };
}

// ---- figures and report ----------------------------------------------------------------------

/** The rounds of one client, each figure the median, so one disturbed round does not drag it. */
function combine(runs: RunResult[]): Figures {
  const rates = runs.map((r) => (1000 * r.requests) / r.wallMs);
  return {
    requestsPerSecond: median(rates),
    cpuMicros: median(runs.map((r) => (1000 * r.cpuMs) / r.requests)),
    cpuBusy: median(runs.map((r) => r.cpuMs / r.wallMs)),
    serverCpuMicros: median(runs.map((r) => (1000 * r.serverCpuMs) / r.served)),
    otherCores: median(runs.map((r) => r.otherCores)),
    roundMin: Math.min(...rates),
    roundMax: Math.max(...rates),
    failures: runs.reduce((n, r) => n + r.failed, 0),
    firstError: runs.find((r) => r.firstError)?.firstError ?? undefined,
  };
}

interface ReportInput {
  get: CaseRun | null;
  upload: CaseRun | null;
  tally: RoundsTally;
  started: Date;
  buildNote: string;
  loadBefore: number[];
  loadAfter: number[];
  /** The JSON body the server answers a GET with. */
  serverBody: string;
}

function formatReport(input: ReportInput): string {
  const { get, upload, tally } = input;
  const cores = cpus().length;
  const lines: string[] = [
    environmentLine(input.started, input.loadBefore, input.loadAfter),
    "",
    "Each client runs in its own process (node clients as plain `node` on `.mjs` files in " +
      `\`bench/clients/\`; ours imports the built \`dist/\`, ${input.buildNote}) against one raw ` +
      "`node:http` server in its own process on 127.0.0.1 (`bench/clients/server.mjs`, " +
      "keep-alive), and sends warm-up requests before the measured ones. " +
      `${settings.rounds} rounds per case; in each every client runs once, each round starting ` +
      "with a different client, so that load from other processes on the machine falls on all " +
      "of them alike. Rates and CPU figures are medians over the rounds; client CPU is the " +
      "client process's user+system CPU time (all threads) during the measured requests over " +
      'their number, which other load moves less than rates; "by CPU" is undici.request\'s ' +
      'CPU per request over the client\'s; "client CPU use" is that CPU time over wall time ' +
      "(100% = one core); server CPU is the server's CPU time while the client ran over the " +
      'requests it answered; "other load" is the median CPU that other processes used ' +
      `meanwhile (% of a core). A run during which they used more than ` +
      `${Math.round(100 * settings.quiet)}% of a core was run again, up to ${settings.retries} ` +
      `times, keeping the quietest: ${tally.retried} reruns for ${tally.runs} runs. Client and ` +
      `server share the ${cores} cores` +
      (settings.pin ? " (pinned: server on CPU 0, client on CPU 1)" : " (not pinned)") +
      ", identically for every client.",
  ];
  if (get !== null) lines.push("", ...trimEnd(getSection(get, input.serverBody)));
  if (upload !== null) lines.push("", ...trimEnd(uploadSection(upload)));
  lines.push(
    "",
    "Clients as measured:",
    "",
    ...tableHead(["Case", "Client", "Version", "Set-up"], "llll"),
  );
  for (const client of get?.clients ?? []) {
    lines.push(tableRow(["GET", client.label, client.version, client.setup]));
  }
  for (const client of upload?.clients ?? []) {
    lines.push(tableRow(["upload", client.label, client.version, client.setup]));
  }
  lines.push(...notMeasured(tally.skipped), "", reproduceLine("bench:client", "client.ts"));
  return lines.join("\n");
}

function getSection(run: CaseRun, serverBody: string): string[] {
  const { figures, load } = run;
  const base = figures.get(BASELINE);
  const lines = [
    "### GET + JSON decode",
    "",
    `The server answers \`${serverBody}\` (${Buffer.byteLength(serverBody)} bytes). Each ` +
      `client sends ${fmtInt(load.warmup)} warm-up requests, then ${fmtInt(load.requests)} ` +
      `measured ones, ${load.concurrency} in flight, each body decoded as JSON by the client ` +
      "and its `message` field checked. The plain aiohttp-ts row has no TraceConfig and nobody " +
      "subscribed to its diagnostics channels: that is what tracing costs a session that does " +
      "not use it. The `+ TraceConfig` row is the same client with a TraceConfig attached.",
    "",
    ...tableHead([
      "Client",
      "req/s",
      "vs undici.request",
      "CPU/req (µs)",
      "vs undici by CPU",
      "client CPU use",
      "server CPU/req (µs)",
      "other load",
      "rounds req/s (min-max)",
      "failed",
    ]),
  ];
  for (const client of run.clients) {
    const f = figures.get(client.id) as Figures;
    lines.push(
      tableRow([
        client.label,
        fmtInt(f.requestsPerSecond),
        ratio(f.requestsPerSecond, base?.requestsPerSecond),
        fmtNum(f.cpuMicros),
        ratio(base?.cpuMicros, f.cpuMicros),
        percent(f.cpuBusy),
        fmtNum(f.serverCpuMicros),
        percent(f.otherCores),
        `${fmtInt(f.roundMin)}-${fmtInt(f.roundMax)}`,
        f.failures,
      ]),
    );
  }
  lines.push("", ...failures(run));

  const ours = figures.get(OURS);
  const traced = figures.get(TRACED);
  if (ours === undefined && traced === undefined) return lines;
  lines.push(
    `Targets (issue 3): at least ${TARGET_VS_UNDICI}x undici.request and at least ` +
      `${TARGET_VS_AXIOS}x axios in req/s; issue 10: at least ${TARGET_TRACED_VS_UNDICI}x ` +
      "undici.request with a TraceConfig attached (in brackets the same comparison by client " +
      "CPU per request, which other load disturbs less).",
    "",
  );
  const vs = (f: Figures, other: Figures | undefined, wanted: number) =>
    `${target(f.requestsPerSecond, other?.requestsPerSecond, wanted)} ` +
    `(CPU ${ratio(other?.cpuMicros, f.cpuMicros)})`;
  if (ours !== undefined) {
    lines.push(`- vs undici.request: ${vs(ours, base, TARGET_VS_UNDICI)}`);
    const axios = figures.get("axios");
    if (axios !== undefined) lines.push(`- vs axios: ${vs(ours, axios, TARGET_VS_AXIOS)}`);
  }
  if (traced !== undefined) {
    lines.push(
      `- with a TraceConfig, vs undici.request: ${vs(traced, base, TARGET_TRACED_VS_UNDICI)}`,
    );
  }
  if (ours !== undefined && traced !== undefined) {
    lines.push(
      `- with a TraceConfig, vs the same client without: ` +
        `${ratio(traced.requestsPerSecond, ours.requestsPerSecond)} in req/s; client CPU ` +
        `${fmtNum(traced.cpuMicros)} µs per request against ${fmtNum(ours.cpuMicros)} µs`,
    );
  }
  lines.push("");
  return lines;
}

function uploadSection(run: CaseRun): string[] {
  const { figures, load } = run;
  const base = figures.get(BASELINE);
  const mib = settings.uploadSize / MiB;
  const lines = [
    "### Multipart upload",
    "",
    `Each upload is a \`multipart/form-data\` POST of a ${fmtNum(mib)} MiB file (random bytes, ` +
      "written once to a temporary directory before the run and read from disk by every " +
      "upload) as part `file` after a short text field `note`. The server parses every body " +
      "to its end with `@fastify/busboy` (no disk writes) and answers the file bytes, the file " +
      "count and the fields it read, which the client checks. Each client sends " +
      `${fmtInt(load.warmup)} warm-up uploads, then ${fmtInt(load.requests)} measured ones, ` +
      `${load.concurrency} in flight. MiB/s counts the file's bytes (not the multipart framing).`,
    "",
    ...tableHead([
      "Client",
      "MiB/s",
      "uploads/s",
      "vs undici.request",
      "CPU/upload (ms)",
      "vs undici by CPU",
      "client CPU use",
      "server CPU/upload (ms)",
      "other load",
      "rounds MiB/s (min-max)",
      "failed",
    ]),
  ];
  for (const client of run.clients) {
    const f = figures.get(client.id) as Figures;
    lines.push(
      tableRow([
        client.label,
        fmtInt(f.requestsPerSecond * mib),
        fmtNum(f.requestsPerSecond),
        ratio(f.requestsPerSecond, base?.requestsPerSecond),
        fmtNum(f.cpuMicros / 1000),
        ratio(base?.cpuMicros, f.cpuMicros),
        percent(f.cpuBusy),
        fmtNum(f.serverCpuMicros / 1000),
        percent(f.otherCores),
        `${fmtInt(f.roundMin * mib)}-${fmtInt(f.roundMax * mib)}`,
        f.failures,
      ]),
    );
  }
  lines.push("", ...failures(run));
  const ours = figures.get(OURS);
  if (ours !== undefined) {
    lines.push(
      `Target (issue 10): at least ${TARGET_UPLOAD_VS_UNDICI}x undici.request in MiB/s (in ` +
        "brackets the same comparison by client CPU per upload).",
      "",
      `- vs undici.request: ${target(ours.requestsPerSecond, base?.requestsPerSecond, TARGET_UPLOAD_VS_UNDICI)} ` +
        `(CPU ${ratio(base?.cpuMicros, ours.cpuMicros)})`,
      "",
    );
  }
  return lines;
}

/** `lines` without the empty ones at its end. */
function trimEnd(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && lines[end - 1] === "") end--;
  return lines.slice(0, end);
}

/** A line for each client of the case that had failed requests, with the first error. */
function failures(run: CaseRun): string[] {
  const lines: string[] = [];
  for (const client of run.clients) {
    const f = run.figures.get(client.id);
    if (f === undefined || f.failures === 0) continue;
    const error = f.firstError?.split("\n")[0] ?? "";
    lines.push(`${client.label} failed requests; the first: \`${error}\``, "");
  }
  return lines;
}

function target(ours: number, other: number | undefined, wanted: number): string {
  const r = ours / (other ?? Number.NaN);
  if (!Number.isFinite(r)) return "-";
  return `${r.toFixed(2)}x (${r >= wanted ? "met" : "NOT met"})`;
}

// Last, so that every module-level constant above is initialised before it runs.
await main();
