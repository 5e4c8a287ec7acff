// Server benchmark (issue 2, section 9): the built aiohttp-ts against raw node:http, Fastify, Hono,
// Koa, Express and Python's aiohttp, each in its own process, loaded by autocannon from another
// process, all in one run. Writes the "Server" section of bench/RESULTS.md.
//
//   npm run bench:server                      the full run (builds dist/ first)
//   npm run bench:server -- --only fastify    node:http (the baseline) and the peers named
//   npm run bench:server -- --profile --only aiohttp-ts
//                                             also CPU-profiles our server and ranks hot spots
//                                             (--profile-server ID profiles another node peer)
//   npm run bench:server -- --workers 2 --only aiohttp-ts,aiohttp-ts-workers
//                                             adds our server under runApp({ workers: 2 }) (peer
//                                             aiohttp-ts-workers) to compare with one process
// Options: --duration s (measured, per route and server; default 8), --warmup s (2),
// --connections n (100), --rounds n (measured time split into n interleaved slices; 8),
// --quiet cores (a slice during which other processes used more is run again; 0.15),
// --retries n (3), --pin (server on CPU 0, load on CPU 1), --skip-build, --no-write,
// --profile-dir path, --workers n (adds the aiohttp-ts-workers peer; the results file is then
// left as it is).

import { once } from "node:events";
import { Socket } from "node:net";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  BENCH_DIR,
  buildUnless,
  environmentLine,
  fmtNum,
  killChildrenOnExit,
  logger,
  nonNegative,
  notMeasured,
  PYTHON,
  pkgVersion,
  positive,
  profileDirOption,
  profileFlags,
  profileReport,
  pythonAiohttp,
  reproduceLine,
  runSettings,
  saveReport,
  selectPeers,
  sharedOptions,
  startServerChild,
  tableHead,
} from "./common.js";
import {
  measureServers,
  type PeerServer,
  runAutocannon,
  type ServersReportInput,
  sliceTable,
} from "./slices.js";

const SECTION = "Server (bench/server.ts)";
const ROUTER_SECTION = "Router (bench/router.ts)";
const log = logger("server");

interface Peer {
  id: string;
  label: string;
  command: string;
  args: (port: number) => string[];
  /** Versions shown in the results, e.g. `fastify 5.12.8`. */
  version: string;
}

interface Route {
  label: string;
  path: string;
  body: string;
}

const ROUTES: readonly Route[] = [
  { label: "GET /hello/{name}", path: "/hello/bench", body: "Hello, bench" },
  { label: "GET /json", path: "/json", body: '{"message":"Hello, World!"}' },
];

const BASELINE = "node-http";
const OURS = "aiohttp-ts";

interface RunningServer extends PeerServer<Peer> {
  /** The response head of each route, as sent. */
  heads: Map<string, string>;
}

const { values: argv } = parseArgs({
  options: {
    duration: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "100" },
    rounds: { type: "string", default: "8" },
    ...sharedOptions("3"),
    "profile-server": { type: "string", default: OURS },
    workers: { type: "string" },
  },
});

const settings = {
  duration: positive("duration", argv.duration),
  warmup: nonNegative("warmup", argv.warmup),
  connections: Math.round(positive("connections", argv.connections)),
  rounds: Math.round(positive("rounds", argv.rounds)),
  ...runSettings(argv),
  pipelining: 1,
  workers: argv.workers === undefined ? null : Math.round(positive("workers", argv.workers)),
};

/** Requests each server answered in all load runs, warm-ups included (for profiles). */
const served = new Map<string, number>();
killChildrenOnExit();

async function main(): Promise<void> {
  const buildNote = buildUnless(argv["skip-build"], log);
  const peers = selectPeers(allPeers(), argv.only, [BASELINE], "server");
  const profileDir = profileDirOption(argv, "aiohttp-ts-cpu-prof");
  const loadBefore = loadavg();
  const started = new Date();
  log(
    `${peers.length} servers, ${ROUTES.length} routes: ${settings.warmup} s warm-up + ` +
      `${settings.duration} s measured in ${settings.rounds} slice(s), ` +
      `${settings.connections} connections, load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`,
  );

  const run = await measureServers(
    peers,
    (peer) =>
      startServer(
        peer,
        peer.id === argv["profile-server"] && profileDir !== null ? profileFlags(profileDir) : [],
      ),
    { id: BASELINE, name: "The node:http server" },
    ROUTES,
    settings,
    runLoad,
    log,
  );
  const report = formatReport({ ...run, started, buildNote, loadBefore, loadAfter: loadavg() });
  process.stdout.write(`\n${report}\n`);

  if (profileDir !== null) {
    const id = argv["profile-server"] ?? OURS;
    const text = profileReport(profileDir, served.get(id), id, log);
    if (text !== null) process.stdout.write(`\n${text}\n`);
  }

  saveReport(
    SECTION,
    report,
    argv["no-write"] || profileDir !== null || argv.only !== undefined || settings.workers !== null
      ? "--no-write, --profile, --only or --workers"
      : null,
    log,
    [ROUTER_SECTION],
  );
}

// ---- peers -----------------------------------------------------------------------------------

function allPeers(): Peer[] {
  const node = (id: string, label: string, file: string, version: string): Peer => ({
    id,
    label,
    command: process.execPath,
    args: (port) => [join(BENCH_DIR, "servers", file), String(port)],
    version,
  });
  const peers = [
    node(BASELINE, "node:http (raw)", "raw-node.mjs", `node ${process.versions.node}`),
    node(OURS, "aiohttp-ts", "aiohttp-ts.mjs", `aiohttp-ts ${pkgVersion(".")}`),
    ...(settings.workers === null
      ? []
      : [
          {
            id: "aiohttp-ts-workers",
            label: `aiohttp-ts, ${settings.workers} workers`,
            command: process.execPath,
            args: (port: number) => [
              join(BENCH_DIR, "servers", "aiohttp-ts-workers.mjs"),
              String(port),
              String(settings.workers),
            ],
            version: `aiohttp-ts ${pkgVersion(".")}, runApp({ workers: ${settings.workers} })`,
          },
        ]),
    node("fastify", "Fastify", "fastify.mjs", `fastify ${pkgVersion("fastify")}`),
    node(
      "hono",
      "Hono (node-server)",
      "hono.mjs",
      `hono ${pkgVersion("hono")}, @hono/node-server ${pkgVersion("@hono/node-server")}`,
    ),
    node("koa", "Koa", "koa.mjs", `koa ${pkgVersion("koa")}`),
    node("express", "Express", "express.mjs", `express ${pkgVersion("express")}`),
  ];
  const python = pythonAiohttp();
  if (python !== null) {
    peers.push({
      id: "aiohttp-py",
      label: "aiohttp (Python)",
      command: PYTHON,
      args: (port) => [join(BENCH_DIR, "servers", "aiohttp_server.py"), String(port)],
      version: `aiohttp ${python.aiohttp} on Python ${python.python}`,
    });
  } else {
    log(`Python aiohttp not available (${PYTHON} cannot import aiohttp): left out`);
  }
  return peers;
}

// ---- processes -------------------------------------------------------------------------------

async function startServer(peer: Peer, nodeArgs: string[]): Promise<RunningServer> {
  const heads = new Map<string, string>();
  const { child, port } = await startServerChild(
    peer.command,
    (port) => [...nodeArgs, ...peer.args(port)],
    settings.pin,
    async (port) => {
      for (const route of ROUTES) {
        const got = await probe(port, route.path);
        if (got.status !== 200 || got.body !== route.body) {
          throw new Error(
            `${route.path} answered ${got.status} ${JSON.stringify(got.body)}, expected 200 ${JSON.stringify(route.body)}`,
          );
        }
        heads.set(route.label, got.head);
      }
    },
  );
  log(`${peer.label} ready on port ${port}`);
  return { peer, child, port, heads };
}

/** Runs bench/load.mjs (autocannon) against one server and route for `seconds`. */
async function runLoad(server: RunningServer, route: Route, seconds: number) {
  const result = await runAutocannon(
    server,
    {
      url: `http://127.0.0.1:${server.port}${route.path}`,
      connections: settings.connections,
      pipelining: settings.pipelining,
      duration: seconds,
      warmup: 0,
      expectBody: route.body,
    },
    settings.pin,
  );
  served.set(server.peer.id, (served.get(server.peer.id) ?? 0) + result.requestsTotal);
  return result;
}

/** One keep-alive GET over a raw socket, to check the answer and keep its exact head. */
async function probe(
  port: number,
  path: string,
): Promise<{ status: number; head: string; body: string }> {
  const socket = new Socket();
  socket.connect(port, "127.0.0.1");
  await once(socket, "connect");
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  let data = Buffer.alloc(0);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no complete answer to ${path}`)), 5000);
      socket.on("error", reject);
      socket.on("data", (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        const end = data.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = data.subarray(0, end + 4).toString("latin1");
        const rest = data.subarray(end + 4);
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        let body: string | null = null;
        if (length !== null) {
          if (rest.length >= Number(length[1])) {
            body = rest.subarray(0, Number(length[1])).toString("utf8");
          }
        } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
          const text = rest.toString("latin1");
          if (text.endsWith("0\r\n\r\n")) body = dechunk(rest);
        }
        if (body === null) return;
        clearTimeout(timer);
        resolve({ status: Number(head.split(" ")[1]), head, body });
      });
    });
  } finally {
    socket.destroy();
  }
}

function dechunk(data: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf("\r\n", at);
    const size = Number.parseInt(data.subarray(at, eol).toString("latin1"), 16);
    if (!(size > 0)) break;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts).toString("utf8");
}

// ---- figures and report ----------------------------------------------------------------------

type ReportInput = ServersReportInput<RunningServer>;

function formatReport(input: ReportInput): string {
  const { servers, figures } = input;
  const cores = cpus().length;
  const lines: string[] = [
    environmentLine(input.started, input.loadBefore, input.loadAfter),
    "",
    "Method: each server runs in its own process on 127.0.0.1 (node peers as plain `node` on " +
      "`.mjs` files; ours imports the built `dist/`, " +
      `${input.buildNote}; access log off). autocannon runs in a separate process: ` +
      `${settings.connections} connections, pipelining ${settings.pipelining}, a ` +
      `${settings.warmup} s warm-up per server and route, then ${settings.duration} s measured ` +
      `per server and route in ${settings.rounds} slice(s) of ${fmtNum(settings.duration / settings.rounds)} s, ` +
      "the servers taking turns (each round starting with a different one) so that load from " +
      "other processes on the machine falls on all of them alike. Every response body is " +
      "checked (`expectBody`). req/s, p99 and CPU/req are medians over the slices; CPU/req is the " +
      "server process's user+system CPU time (all threads and any worker processes, from /proc) over the requests it " +
      'answered, which other load on the machine moves less than req/s; "vs node:http by CPU" is ' +
      "node:http's CPU/req over the server's, and \"server CPU use\" its CPU time over wall time " +
      '(100% = one core); "other load" is the median CPU that other processes used meanwhile ' +
      `(% of a core). A slice during which they used more than ${Math.round(100 * settings.quiet)}% ` +
      `of a core was run again, up to ${settings.retries} times, keeping the quietest run: ` +
      `${input.retried} reruns for ${input.slices} slices. ` +
      `The load generator and the server share the ${cores} cores` +
      (settings.pin ? " (pinned: server on CPU 0, load on CPU 1)" : " (not pinned)") +
      ", identically for every server.",
    "",
  ];
  const base = (route: string): number =>
    figures.get(route)?.get(BASELINE)?.requestsPerSecond ?? Number.NaN;
  const baseCpu = (route: string): number =>
    figures.get(route)?.get(BASELINE)?.cpuMicros ?? Number.NaN;
  for (const route of ROUTES) {
    lines.push(
      `### ${route.label}`,
      "",
      ...sliceTable(servers, figures.get(route.label), BASELINE, "node:http"),
      "",
    );
  }

  const busiest = Math.max(
    ...[...figures.values()].flatMap((byPeer) => [...byPeer.values()].map((f) => f.cpuBusy)),
  );
  if (busiest < 0.9) {
    lines.push(
      `No server used more than ${Math.round(100 * busiest)}% of a core: autocannon (one ` +
        "thread, on the same cores) could not load them fully, so req/s tells more about the " +
        "load generator than about the servers and the req/s ratios squeeze towards 1. The " +
        "CPU-per-request ratios are the better comparison here.",
      "",
    );
  }
  const ours = servers.some((s) => s.peer.id === OURS);
  const fastify = servers.some((s) => s.peer.id === "fastify");
  if (ours) {
    lines.push(
      "Targets (issue 2): at least 0.90x raw node:http and at least Fastify on both routes " +
        "(req/s; in brackets the same comparison by CPU per request, which other load disturbs less).",
      "",
    );
    for (const route of ROUTES) {
      const f = figures.get(route.label);
      const o = f?.get(OURS);
      const ratio = (o?.requestsPerSecond ?? Number.NaN) / base(route.label);
      const cpuRatio = baseCpu(route.label) / (o?.cpuMicros ?? Number.NaN);
      const fy = f?.get("fastify");
      let line =
        `- ${route.label}: ${ratio.toFixed(2)}x node:http (${ratio >= 0.9 ? "met" : "NOT met"}; ` +
        `CPU ${cpuRatio.toFixed(2)}x)`;
      if (fastify && fy !== undefined) {
        const vsFastify = (o?.requestsPerSecond ?? Number.NaN) / fy.requestsPerSecond;
        const cpuVsFastify = fy.cpuMicros / (o?.cpuMicros ?? Number.NaN);
        line +=
          `, ${vsFastify.toFixed(2)}x Fastify (${vsFastify >= 1 ? "met" : "NOT met"}; ` +
          `CPU ${cpuVsFastify.toFixed(2)}x)`;
      }
      lines.push(line);
    }
    lines.push("");
  }

  lines.push(
    "Response heads (bytes of status line and headers; headers beyond Content-Type, " +
      "Content-Length, Date, Connection and Keep-Alive):",
    "",
    ...tableHead(
      ["Server", "Version", "/hello head", "/json head", "JSON Content-Type", "extra headers"],
      "llrrll",
    ),
  );
  for (const server of servers) {
    const hello = server.heads.get(ROUTES[0]?.label ?? "") ?? "";
    const json = server.heads.get(ROUTES[1]?.label ?? "") ?? "";
    lines.push(
      `| ${server.peer.label} | ${server.peer.version} | ${hello.length} | ${json.length} | ` +
        `${header(json, "content-type") ?? "-"} | ${extraHeaders(json).join(", ") || "-"} |`,
    );
  }
  lines.push(...notMeasured(input.skipped), "", reproduceLine("bench:server", "server.ts"));
  return lines.join("\n");
}

function header(head: string, name: string): string | undefined {
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).toLowerCase() === name)
      return line.slice(colon + 1).trim();
  }
  return undefined;
}

function extraHeaders(head: string): string[] {
  const usual = new Set(["content-type", "content-length", "date", "connection", "keep-alive"]);
  return head
    .split("\r\n")
    .slice(1)
    .map((line) => line.slice(0, line.indexOf(":")))
    .filter((name) => name !== "" && !usual.has(name.toLowerCase()));
}

// Last, so that every module-level constant above is initialised before it runs.
await main();
