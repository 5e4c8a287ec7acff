// Client benchmark (issue 3, section 6): GET + JSON decode, 50 in flight, 20,000 requests against
// a raw node:http server in another process. The built aiohttp-ts ClientSession against
// undici.request, global fetch, node:http with a keep-alive Agent, axios, got and Python
// aiohttp's client, each client in its own process, all in one run. Writes the "Client" section
// of bench/RESULTS.md.
//
//   npm run bench:client                      the full run (builds dist/ first)
//   npm run bench:client -- --only axios      undici.request (the baseline), ours and those named
//   npm run bench:client -- --profile         also CPU-profiles one extra run of our client and
//                                             ranks hot spots (--profile-client ID: another one)
// Options: --requests n (measured per client and round; default 20000), --concurrency n (50),
// --warmup n (requests before measuring, same process; 2000), --rounds n (5), --quiet cores (a
// run during which other processes used more is run again; 0.15), --retries n (2), --pin (server
// on CPU 0, clients on CPU 1), --skip-build, --no-write, --profile-dir path.

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
  quietestRun,
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

const BASELINE = "undici";
const OURS = "aiohttp-ts";
/** Issue 3's targets: req/s at least this times undici.request's, and this times axios'. */
const TARGET_VS_UNDICI = 0.8;
const TARGET_VS_AXIOS = 3;

interface Client {
  id: string;
  label: string;
  command: string;
  /** Arguments before the JSON options; node flags (profiling) go in front of them. */
  args: string[];
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
    requests: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "50" },
    warmup: { type: "string", default: "2000" },
    rounds: { type: "string", default: "5" },
    ...sharedOptions("2"),
    "profile-client": { type: "string", default: OURS },
  },
});

const settings = {
  requests: Math.round(positive("requests", argv.requests)),
  concurrency: Math.round(positive("concurrency", argv.concurrency)),
  warmup: Math.round(nonNegative("warmup", argv.warmup)),
  rounds: Math.round(positive("rounds", argv.rounds)),
  ...runSettings(argv),
};

killChildrenOnExit();

async function main(): Promise<void> {
  const buildNote = buildUnless(argv["skip-build"], log);
  const clients = selectPeers(allClients(), argv.only, [BASELINE, OURS], "client");
  const loadBefore = loadavg();
  const started = new Date();
  log(
    `${clients.length} clients: ${settings.rounds} round(s) of ${settings.requests} requests ` +
      `(after ${settings.warmup} warm-up) each, ${settings.concurrency} in flight, ` +
      `load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`,
  );

  const server = await startServer();
  const url = `http://127.0.0.1:${server.port}/json`;
  const results = new Map<string, RunResult[]>(clients.map((c) => [c.id, []]));
  const skipped: string[] = [];
  let active = [...clients];
  let runs = 0;
  let retried = 0;
  for (let round = 0; round < settings.rounds; round++) {
    // Each round starts with a different client, so no client always follows the same one.
    const order = active.map((_, i) => active[(i + round) % active.length] as Client);
    for (const client of order) {
      let result: RunResult;
      try {
        // A run during which other processes were busy is run again; the quietest one counts.
        result = await quietestRun(
          () => runClient(client, server, url, []),
          settings.quiet,
          settings.retries,
          (disturbed) => {
            log(
              `${client.label}: other processes used ${Math.round(100 * disturbed.otherCores)}% ` +
                "of a core, again",
            );
            retried++;
          },
        );
      } catch (err) {
        // A client that cannot run at all (a missing package) is reported, not fatal.
        skipped.push(`${client.label}: ${(err as Error).message}`);
        log(`dropping ${client.label}: ${(err as Error).message}`);
        active = active.filter((c) => c !== client);
        results.delete(client.id);
        continue;
      }
      runs++;
      results.get(client.id)?.push(result);
      log(
        `${client.label} ${round + 1}/${settings.rounds}: ` +
          `${Math.round((1000 * result.requests) / result.wallMs)} req/s, ` +
          `CPU ${fmtNum((1000 * result.cpuMs) / result.requests)} µs/req, ` +
          `others ${Math.round(100 * result.otherCores)}%` +
          (result.failed > 0 ? `, ${result.failed} FAILED: ${result.firstError ?? ""}` : ""),
      );
    }
  }
  if (!results.has(BASELINE)) throw new Error("undici.request (the baseline) did not run");

  let profileText: string | null = null;
  if (argv.profile) {
    const id = argv["profile-client"] ?? OURS;
    const client = clients.find((c) => c.id === id && c.command === process.execPath);
    if (client === undefined) throw new Error(`--profile-client ${id}: not a node client here`);
    const dir = argv["profile-dir"] ?? join(tmpdir(), `aiohttp-ts-client-prof-${Date.now()}`);
    // An extra run, not counted in the figures: the profiler slows the client down.
    const run = await runClient(client, server, url, profileFlags(dir));
    profileText = profileReport(dir, run.requests + settings.warmup, client.label, log);
  }

  await stopChild(server.child);
  const loadAfter = loadavg();

  const figures = new Map<string, Figures>();
  for (const [id, runsOf] of results) figures.set(id, combine(runsOf));
  const report = formatReport({
    clients: clients.filter((c) => figures.has(c.id)),
    figures,
    skipped,
    runs,
    retried,
    started,
    buildNote,
    loadBefore,
    loadAfter,
    serverBody: server.body,
  });
  process.stdout.write(`\n${report}\n`);
  if (profileText !== null) process.stdout.write(`\n${profileText}\n`);

  saveReport(
    SECTION,
    report,
    argv["no-write"] || argv.only !== undefined ? "--no-write or --only" : null,
    log,
  );
}

// ---- clients ---------------------------------------------------------------------------------

function allClients(): Client[] {
  const keepAlive = `http.Agent({ keepAlive: true, maxSockets: ${settings.concurrency} })`;
  const node = (
    id: string,
    label: string,
    file: string,
    version: string,
    setup: string,
  ): Client => ({
    id,
    label,
    command: process.execPath,
    args: [join(CLIENTS_DIR, file)],
    version,
    setup,
  });
  const clients = [
    node(
      OURS,
      "aiohttp-ts ClientSession",
      "aiohttp-ts.mjs",
      `aiohttp-ts ${pkgVersion(".")} (dist/), undici ${pkgVersion("undici")}`,
      `\`new ClientSession({ connector: new TCPConnector({ limit: ${settings.concurrency} }) })\`, ` +
        "`await (await session.get(url)).json()`",
    ),
    node(
      BASELINE,
      "undici.request",
      "undici.mjs",
      `undici ${pkgVersion("undici")}`,
      `\`new Agent({ connections: ${settings.concurrency} })\`, \`(await request(url, { dispatcher })).body.json()\``,
    ),
    node(
      "fetch",
      "global fetch",
      "fetch.mjs",
      `node ${process.versions.node} (undici ${process.versions.undici ?? "?"})`,
      "default global dispatcher, `await (await fetch(url)).json()`",
    ),
    node(
      "node-http",
      "node:http",
      "node-http.mjs",
      `node ${process.versions.node}`,
      `\`${keepAlive}\`, \`http.get\`, body gathered as a string, \`JSON.parse\``,
    ),
    node(
      "axios",
      "axios",
      "axios.mjs",
      `axios ${pkgVersion("axios")}`,
      `\`axios.create({ httpAgent: ${keepAlive} })\`, \`(await client.get(url)).data\``,
    ),
    node(
      "got",
      "got",
      "got.mjs",
      `got ${pkgVersion("got")}`,
      `\`got.extend({ agent: { http: ${keepAlive} }, retry: { limit: 0 } })\`, \`client.get(url).json()\``,
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
        `\`ClientSession(connector=TCPConnector(limit=${settings.concurrency}))\`, ` +
        `\`asyncio.gather\` of every request under \`Semaphore(${settings.concurrency})\`, \`await resp.json()\``,
    });
  } else {
    log(`Python aiohttp not available (${PYTHON} cannot import aiohttp): left out`);
  }
  return clients;
}

// ---- processes -------------------------------------------------------------------------------

interface RunningServer extends ServerChild {
  /** The body it answers, shown in the results. */
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
  nodeFlags: string[],
): Promise<RunResult> {
  const options = {
    url,
    requests: settings.requests,
    concurrency: settings.concurrency,
    warmup: settings.warmup,
  };
  const meter = startCpuMeter(server.child);
  const child = spawnChild(
    client.command,
    [...nodeFlags, ...client.args, JSON.stringify(options)],
    1,
    settings.pin,
  );
  // Bounded in time: a client that hangs is killed and reported (a generous 2 ms per request).
  const limitMs = 30_000 + 2 * (settings.requests + settings.warmup);
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
    served: settings.requests + settings.warmup,
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
  clients: Client[];
  figures: Map<string, Figures>;
  skipped: string[];
  /** Client runs measured, and how many were repeated because the machine was busy. */
  runs: number;
  retried: number;
  started: Date;
  buildNote: string;
  loadBefore: number[];
  loadAfter: number[];
  /** The JSON body the server answers. */
  serverBody: string;
}

function formatReport(input: ReportInput): string {
  const { clients, figures } = input;
  const cores = cpus().length;
  const base = figures.get(BASELINE);
  const lines: string[] = [
    environmentLine(input.started, input.loadBefore, input.loadAfter),
    "",
    "Method: GET + JSON decode. A raw `node:http` server in its own process answers " +
      `\`${input.serverBody}\` (${Buffer.byteLength(input.serverBody)} bytes, keep-alive) on 127.0.0.1. Each client runs ` +
      "in its own process (node clients as plain `node` on `.mjs` files in `bench/clients/`; " +
      `ours imports the built \`dist/\`, ${input.buildNote}), sends ${fmtInt(settings.warmup)} ` +
      `warm-up requests, then ${fmtInt(settings.requests)} measured ones, ${settings.concurrency} ` +
      "in flight, each body decoded as JSON by the client and its `message` field checked. " +
      `${settings.rounds} rounds; in each every client runs once, each round starting with a ` +
      "different client, so that load from other processes on the machine falls on all of them " +
      "alike. req/s and CPU/req are medians over the rounds; CPU/req is the client process's " +
      "user+system CPU time (all threads) during the measured requests over their number, which " +
      'other load moves less than req/s; "vs undici by CPU" is undici.request\'s CPU/req over the ' +
      'client\'s; "client CPU use" is that CPU time over wall time (100% = one core); server ' +
      "CPU/req is the server's CPU time while the client ran over the requests it answered; " +
      '"other load" is the median CPU that other processes used meanwhile (% of a core). A run ' +
      `during which they used more than ${Math.round(100 * settings.quiet)}% of a core was run ` +
      `again, up to ${settings.retries} times, keeping the quietest: ${input.retried} reruns for ` +
      `${input.runs} runs. Client and server share the ${cores} cores` +
      (settings.pin ? " (pinned: server on CPU 0, client on CPU 1)" : " (not pinned)") +
      ", identically for every client.",
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
  for (const client of clients) {
    const f = figures.get(client.id);
    if (f === undefined) continue;
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
  lines.push("");

  const failing = clients.filter((c) => (figures.get(c.id)?.failures ?? 0) > 0);
  for (const client of failing) {
    const error = figures.get(client.id)?.firstError?.split("\n")[0] ?? "";
    lines.push(`${client.label} failed requests; the first: \`${error}\``, "");
  }

  const ours = figures.get(OURS);
  if (ours !== undefined) {
    const axios = figures.get("axios");
    lines.push(
      `Targets (issue 3): at least ${TARGET_VS_UNDICI}x undici.request and at least ` +
        `${TARGET_VS_AXIOS}x axios in req/s (in brackets the same comparison by client CPU per ` +
        "request, which other load disturbs less).",
      "",
      `- vs undici.request: ${target(ours.requestsPerSecond, base?.requestsPerSecond, TARGET_VS_UNDICI)} ` +
        `(CPU ${ratio(base?.cpuMicros, ours.cpuMicros)})`,
    );
    if (axios !== undefined) {
      lines.push(
        `- vs axios: ${target(ours.requestsPerSecond, axios.requestsPerSecond, TARGET_VS_AXIOS)} ` +
          `(CPU ${ratio(axios.cpuMicros, ours.cpuMicros)})`,
      );
    }
    lines.push("");
  }

  lines.push("Clients as measured:", "", ...tableHead(["Client", "Version", "Set-up"], "lll"));
  for (const client of clients) lines.push(tableRow([client.label, client.version, client.setup]));
  lines.push(...notMeasured(input.skipped), "", reproduceLine("bench:client", "client.ts"));
  return lines.join("\n");
}

function target(ours: number, other: number | undefined, wanted: number): string {
  const r = ours / (other ?? Number.NaN);
  if (!Number.isFinite(r)) return "-";
  return `${r.toFixed(2)}x (${r >= wanted ? "met" : "NOT met"})`;
}

// Last, so that every module-level constant above is initialised before it runs.
await main();
