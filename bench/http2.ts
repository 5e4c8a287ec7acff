// HTTP/2 benchmark. Server side: h2load (Debian's nghttp2-client) GETs a small text route of our
// server (`http2: true` over TLS), Fastify (`http2: true`) and raw node:http2, each in
// processes of its own (three of each by default, warmed up to their steady state first), 100
// streams over 10 connections, rounds interleaved; two more yardsticks are the stream API doing
// aiohttp's minimum and the stream API in a process that has imported aiohttp-ts
// (bench/servers/). Client side: our ClientSession and undici's Agent (allowH2), each in its
// own process, against the raw node:http2 server.
// Targets (issue 12): server >= 0.9x node:http2 and >= Fastify; client >= 0.8x undici.
// Each run is measured for the CPU time the server process spent on it too, and run again (up to
// --retries times, the quietest counting) while other processes used more than --quiet cores:
// on a 2-core machine a run that shares its cores measures the neighbour, not the server.
// Run: npm run bench:http2 [-- --requests N (50000) --client-requests N (10000) --rounds N (7)
//   --warmup N (200000 requests to each server process before the rounds)
//   --processes N (3 processes of each server, taking its runs in turn)
//   --skip-build --no-write]; fewer or shorter rounds than the defaults let the machine's drift
//   decide the ratios (a run of 3 rounds of 30,000 requests moved by +-10%).
//   --only server|client   one part only (implies --no-write: RESULTS.md holds both parts)
//   --quiet cores (0.15), --retries n (2), --pin (servers on CPU 0, h2load or client on CPU 1)

import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  buildUnless,
  environmentLine,
  fmtInt,
  fmtNum,
  interleavedRounds,
  killChildrenOnExit,
  logger,
  median,
  notMeasured,
  pkgVersion,
  positive,
  type RoundsTally,
  type RunFigures,
  ratio,
  reproduceLine,
  runOptions,
  runSettings,
  type ServerChild,
  saveReport,
  spawnChild,
  startCpuMeter,
  startServerChild,
  stopChild,
  tableHead,
  tableRow,
  waitedChildrenCpuMs,
} from "./common.js";

const SECTION = "HTTP/2 (bench/http2.ts)";
const H2LOAD = "/usr/bin/h2load";
const CONNECTIONS = 10;
const STREAMS = 10;
const CLIENT_IN_FLIGHT = 100;
const PATH = "/hello/world";

const log = logger("http2");
const { values: argv } = parseArgs({
  options: {
    requests: { type: "string", default: "50000" },
    warmup: { type: "string", default: "200000" },
    processes: { type: "string", default: "3" },
    "client-requests": { type: "string", default: "10000" },
    rounds: { type: "string", default: "7" },
    only: { type: "string" },
    ...runOptions("2"),
  },
});
const only = argv.only;
if (only !== undefined && only !== "server" && only !== "client") {
  throw new Error(`--only must be server or client, got ${only}`);
}
const runServers = only !== "client";
const runClients = only !== "server";
const requests = positive("--requests", argv.requests);
const warmup = positive("--warmup", argv.warmup);
const processes = positive("--processes", argv.processes);
const clientRequests = positive("--client-requests", argv["client-requests"]);
const rounds = positive("--rounds", argv.rounds);
const settings = runSettings(argv);

interface Peer {
  id: string;
  label: string;
  script: string;
}
const SERVERS: readonly Peer[] = [
  { id: "ours", label: "aiohttp-ts (web.TCPSite, http2: true)", script: "h2-aiohttp-ts.mjs" },
  {
    id: "fastify",
    label: `Fastify ${pkgVersion("fastify")} (http2: true)`,
    script: "h2-fastify.mjs",
  },
  { id: "raw", label: "node:http2 createSecureServer (stream API)", script: "h2-raw.mjs" },
  {
    id: "raw-shape",
    label: "node:http2 stream API, async handler, 'close' tracked, Server and Date sent",
    script: "h2-raw-aiohttp-shape.mjs",
  },
  {
    id: "raw-imported",
    label: "node:http2 stream API, as the first, with aiohttp-ts imported and unused",
    script: "h2-raw-imported.mjs",
  },
  {
    id: "raw-compat",
    label: "node:http2 createSecureServer (compatibility API)",
    script: "h2-raw-compat.mjs",
  },
];
const CLIENTS: readonly { id: string; label: string }[] = [
  { id: "aiohttp-ts", label: "aiohttp-ts ClientSession({ http2: true })" },
  {
    id: "undici",
    label: `undici ${pkgVersion("undici")} Agent({ allowH2: true, connections: 1, pipelining: 100 }) request()`,
  },
];

/** A self-signed certificate for 127.0.0.1, made once for the run. */
function makeCert(dir: string): { key: string; cert: string } {
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  const r = spawnSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"],
      ...["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert],
    ],
    { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { key, cert };
}

/** The whole stdout of a child run to its end ("close": all output read), or an error naming `what`. */
async function runChild(child: ChildProcess, what: string, limitMs: number): Promise<string> {
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    err = (err + chunk).slice(-1000);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${what} exited ${code}: ${err.trim()}`);
  return out;
}

/** What one run measured. */
interface Run extends RunFigures {
  rate: number;
  /** CPU time of the server process per request, microseconds (server part only). */
  cpuMicros: number;
}

/**
 * Measures `run` (a child loading `server` to its end): the server's CPU time, and what other
 * processes used meanwhile. The load child's CPU time is read once it has been waited for.
 */
async function metered(server: ServerChild, count: number, run: () => Promise<number>) {
  const meter = startCpuMeter(server.child);
  const loadBefore = waitedChildrenCpuMs();
  const rate = await run();
  const { serverCpuMs, otherCores } = meter(waitedChildrenCpuMs() - loadBefore);
  return { rate, cpuMicros: (1000 * serverCpuMs) / count, otherCores, failed: 0 };
}

/** One h2load run against `port`; its req/s, after checking that every request succeeded. */
async function h2load(port: number, count = requests): Promise<number> {
  const args = ["-n", String(count), "-c", String(CONNECTIONS), "-m", String(STREAMS)];
  const child = spawnChild(H2LOAD, [...args, `https://127.0.0.1:${port}${PATH}`], 1, settings.pin);
  const out = await runChild(child, "h2load", 120_000);
  const done = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded/.exec(out);
  const rate = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out);
  const protocol = /Application protocol: (\S+)/.exec(out)?.[1];
  if (done === null || rate === null || done[1] !== done[2] || protocol !== "h2") {
    throw new Error(`h2load did not succeed on every request over h2:\n${out}`);
  }
  return Number(rate[1]);
}

/** One client run of `clientRequests` GETs; its req/s. */
async function clientRun(id: string, port: number, ca: string): Promise<number> {
  const url = `https://127.0.0.1:${port}${PATH}`;
  const script = join("bench", "clients", "h2-client.mjs");
  const args = [script, id, url, ca, String(clientRequests), String(CLIENT_IN_FLIGHT)];
  const out = await runChild(spawnChild("node", args, 1, settings.pin), id, 120_000);
  const { seconds } = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { seconds: number };
  return clientRequests / seconds;
}

async function main(): Promise<void> {
  killChildrenOnExit();
  if (spawnSync(H2LOAD, ["--version"]).status !== 0) {
    throw new Error(`${H2LOAD} is missing (Debian package nghttp2-client)`);
  }
  const started = new Date();
  const loadBefore = loadavg();
  const buildNote = buildUnless(argv["skip-build"], log);
  const dir = mkdtempSync(join(tmpdir(), "bench-h2-"));
  try {
    const { key, cert } = makeCert(dir);
    const start = (peer: Peer) => {
      const script = join("bench", "servers", peer.script);
      return startServerChild("node", (port) => [script, String(port), key, cert], settings.pin);
    };
    // Several processes of each server, its runs going to each in turn: one process's JIT can
    // settle a fifth slower than another's and stay so (bench/RESULTS.md), and the median of
    // one process's runs measured that process, not the server.
    const servers = new Map<string, ServerChild[]>();
    // The client part needs only the raw server, its target.
    for (const peer of runServers ? SERVERS : SERVERS.filter((p) => p.id === "raw")) {
      const children: ServerChild[] = [];
      for (let i = 0; i < (runServers ? processes : 1); i++) children.push(await start(peer));
      servers.set(peer.id, children);
    }
    const turns = new Map<string, number>();
    const nextOf = (id: string): ServerChild => {
      const children = servers.get(id) as ServerChild[];
      const turn = turns.get(id) ?? 0;
      turns.set(id, turn + 1);
      return children[turn % children.length] as ServerChild;
    };
    const tally: RoundsTally = { skipped: [], runs: 0, retried: 0 };
    const common = { rounds, quiet: settings.quiet, retries: settings.retries, log };
    // Each process warms up first, unmeasured, to its steady state: the JIT, and V8's young
    // generation, which a fresh process runs for its first 100,000-odd requests in a cheaper
    // regime than later, more so the smaller its heap (bench/RESULTS.md). A server serves
    // for hours; the first seconds after start-up are not what it costs.
    for (const children of servers.values()) {
      for (const child of children) await h2load(child.port, warmup);
    }
    let serverRuns = new Map<string, Run[]>();
    if (runServers) {
      serverRuns = await interleavedRounds(
        SERVERS,
        (peer) => {
          const server = nextOf(peer.id);
          return metered(server, requests, () => h2load(server.port));
        },
        {
          ...common,
          what: "server",
          baseline: "raw",
          describe: (r) => `${fmtInt(r.rate)} req/s, server CPU ${fmtNum(r.cpuMicros)} us/req`,
        },
        tally,
      );
    }
    let clientRuns = new Map<string, Run[]>();
    if (runClients) {
      const raw = (servers.get("raw") as ServerChild[])[0] as ServerChild;
      clientRuns = await interleavedRounds(
        CLIENTS,
        (client) => metered(raw, clientRequests, () => clientRun(client.id, raw.port, cert)),
        {
          ...common,
          what: "client",
          baseline: "undici",
          describe: (r) => `${fmtInt(r.rate)} req/s`,
        },
        tally,
      );
    }
    for (const children of servers.values()) {
      for (const child of children) await stopChild(child.child);
    }

    const med = (m: Map<string, Run[]>, id: string, pick: (r: Run) => number) =>
      median((m.get(id) ?? []).map(pick));
    const rate = (m: Map<string, Run[]>, id: string) => med(m, id, (r) => r.rate);
    const cpu = (id: string) => med(serverRuns, id, (r) => r.cpuMicros);
    const measured = <P extends { id: string }>(peers: readonly P[], m: Map<string, Run[]>) =>
      peers.filter((p) => m.has(p.id));
    const serverPart = [
      `### Server: h2load -n ${requests} -c ${CONNECTIONS} -m ${STREAMS} (${CONNECTIONS * STREAMS} streams over ${CONNECTIONS} connections)`,
      "",
      ...tableHead([
        "Server",
        "req/s (median)",
        "rounds",
        "vs node:http2",
        "vs compatibility API",
        "vs Fastify",
        "vs the stream API doing aiohttp's minimum",
        "vs the stream API with aiohttp-ts imported",
        "server CPU us/req",
        "CPU vs node:http2",
      ]),
      ...measured(SERVERS, serverRuns).map((p) =>
        tableRow([
          p.label,
          fmtInt(rate(serverRuns, p.id)),
          (serverRuns.get(p.id) ?? []).map((r) => fmtInt(r.rate)).join(", "),
          ratio(rate(serverRuns, p.id), rate(serverRuns, "raw")),
          ratio(rate(serverRuns, p.id), rate(serverRuns, "raw-compat")),
          ratio(rate(serverRuns, p.id), rate(serverRuns, "fastify")),
          ratio(rate(serverRuns, p.id), rate(serverRuns, "raw-shape")),
          ratio(rate(serverRuns, p.id), rate(serverRuns, "raw-imported")),
          fmtNum(cpu(p.id)),
          // Requests per CPU second, as the req/s columns: higher is better.
          ratio(cpu("raw"), cpu(p.id)),
        ]),
      ),
      "",
      "Targets: aiohttp-ts at least 0.9x node:http2 and at least 1.0x Fastify. Server CPU: user and system time of the server process (all its threads) during the run, per request; its ratio is requests per CPU second against node:http2's, so higher is better there too.",
      "",
    ];
    const clientPart = [
      `### Client: ${clientRequests} GETs, ${CLIENT_IN_FLIGHT} in flight, against the node:http2 server`,
      "",
      ...tableHead(["Client", "req/s (median)", "rounds", "vs undici"]),
      ...measured(CLIENTS, clientRuns).map((c) =>
        tableRow([
          c.label,
          fmtInt(rate(clientRuns, c.id)),
          (clientRuns.get(c.id) ?? []).map((r) => fmtInt(r.rate)).join(", "),
          ratio(rate(clientRuns, c.id), rate(clientRuns, "undici")),
        ]),
      ),
      "",
      "Target: aiohttp-ts at least 0.8x undici. Each client runs in its own process and warms up with up to 1,000 requests first. undici's Agent multiplexes on one connection (`connections: 1, pipelining: 100`; with its default `pipelining: 1` it runs one request per h2 connection and opened 100 of them), as ours does (src/client/h2-pool.ts).",
      "",
    ];
    const report = [
      environmentLine(started, loadBefore, loadavg()),
      "",
      `dist/: ${buildNote}. TLS with a self-signed RSA-2048 certificate; GET ${PATH} (a short text body); ${rounds} round(s), peers interleaved (each round starting with the next peer), each server ${processes} process(es) taking its runs in turn, each process warmed up first with ${fmtInt(warmup)} unmeasured requests (its steady state: V8 runs a fresh process's young generation in a cheaper regime for its first 100,000-odd requests, more so the smaller its heap), medians shown. A run during which other processes used more than ${Math.round(100 * settings.quiet)}% of a core was run again, up to ${settings.retries} times, keeping the quietest: ${tally.retried} reruns for ${tally.runs} runs; ${settings.pin ? "pinned (servers on CPU 0, h2load and clients on CPU 1)" : "not pinned"}. "vs node:http2" is against the stream-API baseline (\`stream.respond\`), the issue's raw node:http2. Fastify goes through node:http2's compatibility API (\`(req, res)\`), measured as a second baseline; ours answers streams itself (src/web/http2-exchange.ts). The third baseline is the stream API doing the least an aiohttp-style server does on each request (bench/servers/h2-raw-aiohttp-shape.mjs): an async handler awaited, the stream's 'close' tracked and its 'error' handled, \`Server\` and \`Date\` sent (with \`Server\`, node:http2 copies the head into a larger dictionary). The fourth is the first, unchanged, in a process that has also imported aiohttp-ts without using it (bench/servers/h2-raw-imported.mjs): how much of the gap is the size of the process's heap (in a fresh process, a larger heap ends V8's cheaper young-generation regime sooner; warmed up, every server is in the costlier one).`,
      "",
      ...(runServers ? serverPart : []),
      ...(runClients ? clientPart : []),
      ...notMeasured(tally.skipped),
      reproduceLine("bench:http2", "http2.ts"),
    ].join("\n");
    process.stdout.write(`${report}\n`);
    const noWrite = argv["no-write"] ? "--no-write" : only !== undefined ? "--only" : null;
    saveReport(SECTION, report, noWrite, log);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
