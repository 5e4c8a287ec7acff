// Soak run (issue 13, section 5): one server process of ours (the built dist/) takes 500,000
// keep-alive requests and 20,000 WebSocket sessions at the same time, and one ClientSession,
// in a process of its own, makes 500,000 requests to a raw node:http server; both processes'
// memory is sampled after a full gc throughout. It exits 1 when a bound is crossed (see
// bench/soak-bounds.ts): memory growth after warm-up, file descriptors left open, unhandled
// rejections, uncaught exceptions or logged errors, failed requests, connections over the
// client's limit, or the time limit. Writes the "Soak (npm run soak)" section of
// bench/RESULTS.md.
//
//   npm run soak                 the full run (builds dist/ first); 9 minutes on 2 cores that
//                                other processes kept busy (load average 16)
//   npm run soak -- --quick      a tenth of every count, to check the script (RESULTS.md is
//                                left as it is)
// Options: --requests n (500000), --ws-sessions n (20000), --client-requests n (500000),
// --connections n (keep-alive connections to the server; 50), --ws-concurrency n (25),
// --ws-messages n (echoed per session; 3), --client-concurrency n (50), --client-limit n (the
// connector's limit; 20), --warmup fraction (of each count, before the baseline sample; 0.1),
// --sample-every s (2), --time-limit s (whole run; 600), --only server|client, --skip-build,
// --no-write. RESULTS.md is written only by a run of both parts at the default counts.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import {
  BENCH_DIR,
  buildUnless,
  environmentLine,
  fmtInt,
  logger,
  positive,
  ROOT,
  reproduceLine,
  saveReport,
  tableHead,
  tableRow,
} from "./common.js";
import {
  atMost,
  type Check,
  exactly,
  fdCount,
  fdsSettle,
  type MemorySample,
  type MemorySummary,
  mb,
  memoryChecks,
  signedMb,
  spreadMb,
  summarise,
} from "./soak-bounds.js";
import { httpLoad, newTally, startRawServer, type Tally, wsLoad } from "./soak-load.js";

const SECTION = "Soak (npm run soak)";
const log = logger("soak");
/** How long sockets closed by one process may take to be gone from the other's /proc, ms. */
const FD_SETTLE_MS = 10_000;

/** The counts of a full run, the only one whose results are kept in RESULTS.md. */
const FULL = { requests: "500000", wsSessions: "20000", clientRequests: "500000" };

const { values: argv } = parseArgs({
  options: {
    requests: { type: "string", default: FULL.requests },
    "ws-sessions": { type: "string", default: FULL.wsSessions },
    "client-requests": { type: "string", default: FULL.clientRequests },
    connections: { type: "string", default: "50" },
    "ws-concurrency": { type: "string", default: "25" },
    "ws-messages": { type: "string", default: "3" },
    "client-concurrency": { type: "string", default: "50" },
    "client-limit": { type: "string", default: "20" },
    warmup: { type: "string", default: "0.1" },
    "sample-every": { type: "string", default: "2" },
    "time-limit": { type: "string", default: "600" },
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    "skip-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});

const scale = argv.quick ? 0.1 : 1;
const count = (name: keyof typeof argv): number =>
  Math.round(positive(name, argv[name] as string) * scale);
const settings = {
  requests: count("requests"),
  wsSessions: count("ws-sessions"),
  clientRequests: count("client-requests"),
  connections: positive("connections", argv.connections),
  wsConcurrency: positive("ws-concurrency", argv["ws-concurrency"]),
  wsMessages: positive("ws-messages", argv["ws-messages"]),
  clientConcurrency: positive("client-concurrency", argv["client-concurrency"]),
  clientLimit: positive("client-limit", argv["client-limit"]),
  warmup: positive("warmup", argv.warmup),
  sampleEveryMs: positive("sample-every", argv["sample-every"]) * 1000,
  timeLimitMs: positive("time-limit", argv["time-limit"]) * 1000,
};
if (argv.only !== undefined && argv.only !== "server" && argv.only !== "client") {
  throw new Error(`--only must be server or client, got ${argv.only}`);
}
const parts = { server: argv.only !== "client", client: argv.only !== "server" };

// ---- child processes with an IPC channel ------------------------------------------------------

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});
process.on("SIGINT", () => process.exit(130));

/** Starts `node --expose-gc file` with an IPC channel; its stderr goes to ours. */
function spawnWithIpc(file: string): ChildProcess {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ["--expose-gc", file], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** The next message of `type` from `child`; rejects if it exits first. */
function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: { type?: string }): void => {
      if (message?.type !== type) return;
      settle();
      resolve(message as T);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      settle();
      reject(new Error(`child exited (${signal ?? code}) before sending ${type}`));
    };
    const settle = (): void => {
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/** Disconnects `child`'s IPC channel (each soak program then ends) and waits for its exit. */
async function endChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.disconnect();
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

// ---- the server part ----------------------------------------------------------------------------

interface ServerSample extends MemorySample {
  webSockets: number;
  inFlight: number;
  requests: number;
  unhandledRejections: number;
  uncaughtExceptions: number;
  loggedErrors: number;
  firstProblems: string[];
}

interface ServerResult {
  http: Tally;
  ws: Tally;
  loadMs: number;
  warmupMs: number;
  memory: MemorySummary;
  last: ServerSample;
  fds: { before: number; peak: number; after: number };
  checks: Check[];
}

async function soakServer(signal: AbortSignal): Promise<ServerResult> {
  const child = spawnWithIpc(join(BENCH_DIR, "servers", "soak-aiohttp-ts.mjs"));
  const { port } = await nextMessage<{ port: number }>(child, "ready");
  const pid = child.pid as number;
  const fdsBefore = fdCount(pid);
  let fdsPeak = fdsBefore;
  const sample = async (): Promise<ServerSample> => {
    const answer = nextMessage<ServerSample>(child, "sample");
    child.send({ type: "sample" });
    fdsPeak = Math.max(fdsPeak, fdCount(pid));
    return answer;
  };
  const pool = new Pool(`http://127.0.0.1:${port}`, {
    connections: settings.connections,
    pipelining: 1,
  });
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  const http = newTally();
  const ws = newTally();
  const load = (requests: number, sessions: number): Promise<unknown> =>
    Promise.all([
      httpLoad(pool, requests, settings.connections, http, signal),
      wsLoad(wsUrl, sessions, settings.wsConcurrency, settings.wsMessages, ws, signal),
    ]);

  const started = performance.now();
  const warmRequests = Math.round(settings.requests * settings.warmup);
  const warmSessions = Math.round(settings.wsSessions * settings.warmup);
  log(`server: warm-up, ${fmtInt(warmRequests)} requests and ${fmtInt(warmSessions)} sessions`);
  await load(warmRequests, warmSessions);
  const warmedUp = performance.now();
  const baseline = await sample();
  log(`server: after warm-up heap ${mb(baseline.heapUsed)} MB, RSS ${mb(baseline.rss)} MB`);

  const samples: ServerSample[] = [];
  let loading = true;
  const sampler = (async () => {
    while (loading) {
      await new Promise((resolve) => setTimeout(resolve, settings.sampleEveryMs));
      if (!loading) break;
      const s = await sample();
      samples.push(s);
      log(
        `server: ${fmtInt(http.done)} requests, ${fmtInt(ws.done)} sessions; ` +
          `heap ${mb(s.heapUsed)} MB, RSS ${mb(s.rss)} MB, ${s.webSockets} WebSockets open`,
      );
    }
  })();
  await load(settings.requests, settings.wsSessions);
  const ended = performance.now();
  loading = false;
  await sampler;
  const end = await sample();
  log(`server: at the end heap ${mb(end.heapUsed)} MB, RSS ${mb(end.rss)} MB`);

  await pool.close();
  const fdsAfter = await fdsSettle(pid, fdsBefore, FD_SETTLE_MS);
  const last = await sample();
  await endChild(child);

  const memory = summarise(baseline, samples, end);
  const checks: Check[] = [
    exactly("server: failed requests", http.failed, 0),
    exactly("server: requests done", http.done, warmRequests + settings.requests),
    exactly("server: failed WebSocket sessions", ws.failed, 0),
    exactly("server: WebSocket sessions done", ws.done, warmSessions + settings.wsSessions),
    ...memoryChecks("server", memory),
    exactly("server: open fds after every client left, vs before the first", fdsAfter, fdsBefore),
    exactly("server: WebSockets still open at the end", last.webSockets, 0),
    exactly("server: requests in flight at the end", last.inFlight, 0),
    exactly("server: unhandled rejections", last.unhandledRejections, 0),
    exactly("server: uncaught exceptions", last.uncaughtExceptions, 0),
    exactly("server: errors logged", last.loggedErrors, 0),
  ];
  return {
    http,
    ws,
    warmupMs: warmedUp - started,
    loadMs: ended - warmedUp,
    memory,
    last,
    fds: { before: fdsBefore, peak: fdsPeak, after: fdsAfter },
    checks,
  };
}

// ---- the client part ----------------------------------------------------------------------------

interface ClientSample extends MemorySample {
  phase: "baseline" | "load" | "end";
  done: number;
  active: number;
  waiting: number;
}

interface ClientDone {
  done: number;
  failed: number;
  warmupMs: number;
  loadMs: number;
  closed: boolean;
  unhandledRejections: number;
  uncaughtExceptions: number;
  firstError: string | null;
}

interface ClientResult {
  tally: ClientDone;
  memory: MemorySummary;
  end: ClientSample;
  connections: { accepted: number; peak: number; atEnd: number; afterClose: number };
  fds: { before: number; peak: number; after: number };
  checks: Check[];
}

async function soakClient(signal: AbortSignal): Promise<ClientResult> {
  const raw = await startRawServer();
  const child = spawnWithIpc(join(BENCH_DIR, "clients", "soak-aiohttp-ts.mjs"));
  try {
    await nextMessage(child, "ready");
    const pid = child.pid as number;
    const fdsBefore = fdCount(pid);
    let fdsPeak = fdsBefore;
    let baseline: ClientSample | null = null;
    let end: ClientSample | null = null;
    let atEnd = 0;
    const samples: ClientSample[] = [];
    const onSample = (message: ClientSample & { type?: string }): void => {
      if (message?.type !== "sample") return;
      fdsPeak = Math.max(fdsPeak, fdCount(pid));
      if (message.phase === "baseline") baseline = message;
      else if (message.phase === "end") {
        end = message;
        // Every request is done and the session still open: what its pool keeps.
        atEnd = raw.open;
      } else samples.push(message);
      log(
        `client (${message.phase}): ${fmtInt(message.done)} requests; heap ` +
          `${mb(message.heapUsed)} MB, RSS ${mb(message.rss)} MB, ${raw.open} connections`,
      );
    };
    child.on("message", onSample);
    const warmup = Math.round(settings.clientRequests * settings.warmup);
    const finished = nextMessage<ClientDone>(child, "done");
    const failed = nextMessage<{ message: string }>(child, "error").then((e) => {
      throw new Error(`client soak failed: ${e.message}`);
    });
    const timedOut = new Promise<never>((_, reject) => {
      const stop = (): void => reject(new Error("time limit reached"));
      if (signal.aborted) stop();
      else signal.addEventListener("abort", stop, { once: true });
    });
    child.send({
      type: "run",
      url: `http://127.0.0.1:${raw.port}`,
      requests: settings.clientRequests,
      warmup,
      concurrency: settings.clientConcurrency,
      limit: settings.clientLimit,
      sampleEveryMs: settings.sampleEveryMs,
    });
    log(`client: ${fmtInt(warmup)} requests of warm-up, then ${fmtInt(settings.clientRequests)}`);
    const tally = await Promise.race([finished, failed, timedOut]);
    child.off("message", onSample);
    const fdsAfter = await fdsSettle(pid, fdsBefore, FD_SETTLE_MS);
    const afterClose = raw.open;
    await endChild(child);
    if (baseline === null || end === null) throw new Error("the client sent no baseline or end");
    const first: ClientSample = baseline;
    const last: ClientSample = end;
    const memory = summarise(first, samples, last);
    const checks: Check[] = [
      exactly("client: failed requests", tally.failed, 0),
      exactly("client: requests done", tally.done, warmup + settings.clientRequests),
      ...memoryChecks("client", memory),
      atMost("client: most connections open at once", raw.peak, settings.clientLimit),
      atMost("client: connections its pool keeps at the end", atEnd, settings.clientLimit),
      exactly("client: connector slots in use at the end", last.active, 0),
      exactly("client: requests waiting for a slot at the end", last.waiting, 0),
      exactly("client: connections open after session.close()", afterClose, 0),
      exactly("client: open fds after session.close(), vs before it started", fdsAfter, fdsBefore),
      exactly("client: unhandled rejections", tally.unhandledRejections, 0),
      exactly("client: uncaught exceptions", tally.uncaughtExceptions, 0),
    ];
    return {
      tally,
      memory,
      end: last,
      connections: { accepted: raw.accepted, peak: raw.peak, atEnd, afterClose },
      fds: { before: fdsBefore, peak: fdsPeak, after: fdsAfter },
      checks,
    };
  } finally {
    await endChild(child);
    await raw.close();
  }
}

// ---- the report ---------------------------------------------------------------------------------

function rate(n: number, ms: number): string {
  return fmtInt((n * 1000) / ms);
}

function memoryRows(memory: MemorySummary): string[] {
  const { baseline, end, load, trend } = memory;
  const heap = load.map((s) => s.heapUsed);
  const rss = load.map((s) => s.rss);
  return [
    ...tableHead([
      "after a full gc (MB)",
      "after warm-up",
      `under load: min / median / max (${load.length} samples)`,
      "at the end",
      "change",
    ]),
    tableRow([
      "heapUsed",
      mb(baseline.heapUsed),
      spreadMb(heap),
      mb(end.heapUsed),
      signedMb(end.heapUsed - baseline.heapUsed),
    ]),
    tableRow([
      "RSS",
      mb(baseline.rss),
      spreadMb(rss),
      mb(end.rss),
      signedMb(end.rss - baseline.rss),
    ]),
    "",
    trend === null
      ? `Trend under load: not judged (fewer than 8 samples).`
      : `Trend under load (median heapUsed of the last quarter of the samples minus the first): ${signedMb(trend)} MB.`,
  ];
}

function report(
  started: Date,
  loadBefore: number[],
  buildNote: string,
  totalMs: number,
  server: ServerResult | null,
  client: ClientResult | null,
  checks: Check[],
): string {
  const s = settings;
  const lines = [
    environmentLine(started, loadBefore, loadavg()),
    "",
    `Method: every process runs the built dist/ (${buildNote}) with \`node --expose-gc\`; memory ` +
      `is sampled after two full collections, every ${s.sampleEveryMs / 1000} s under load, once ` +
      `after a warm-up of ${Math.round(s.warmup * 100)}% of each count (the baseline) and once at ` +
      "the end (nothing in flight, the same keep-alive connections still open). File descriptors " +
      "are counted in /proc. Whole run: " +
      `${(totalMs / 1000).toFixed(0)} s (time limit ${s.timeLimitMs / 1000} s).`,
  ];
  if (server !== null) {
    const { http, ws } = server;
    lines.push(
      "",
      "### Server: one process of ours",
      "",
      `Keep-alive requests over an undici Pool of ${s.connections} connections (GET /small, ` +
        `GET /json and POST /echo with 1 KiB in turn, every answer checked) and, at the same ` +
        `time, WebSocket sessions with the \`ws\` client, ${s.wsConcurrency} at once (open, ` +
        `${s.wsMessages} echoed messages, close with 1000).`,
      "",
      ...tableHead(["load", "done", "failed", "per second"]),
      tableRow([
        "HTTP requests (warm-up included)",
        fmtInt(http.done),
        fmtInt(http.failed),
        rate(http.done, server.warmupMs + server.loadMs),
      ]),
      tableRow([
        "WebSocket sessions (warm-up included)",
        fmtInt(ws.done),
        fmtInt(ws.failed),
        rate(ws.done, server.warmupMs + server.loadMs),
      ]),
      "",
      `Warm-up ${(server.warmupMs / 1000).toFixed(1)} s, then ${(server.loadMs / 1000).toFixed(1)} s under load.`,
      "",
      ...memoryRows(server.memory),
      "",
      `File descriptors: ${server.fds.before} before the first connection, at most ` +
        `${server.fds.peak} sampled under load, ${server.fds.after} after every client left. ` +
        `Unhandled rejections ${server.last.unhandledRejections}, uncaught exceptions ` +
        `${server.last.uncaughtExceptions}, errors logged ${server.last.loggedErrors}.`,
    );
  }
  if (client !== null) {
    const t = client.tally;
    lines.push(
      "",
      "### Client: one ClientSession in a process of its own",
      "",
      `Requests to a raw node:http server (the same three routes, every answer checked), ` +
        `${s.clientConcurrency} at a time through a TCPConnector with limit ${s.clientLimit}.`,
      "",
      ...tableHead(["load", "done", "failed", "per second"]),
      tableRow([
        "HTTP requests (warm-up included)",
        fmtInt(t.done),
        fmtInt(t.failed),
        rate(t.done, t.warmupMs + t.loadMs),
      ]),
      "",
      `Warm-up ${(t.warmupMs / 1000).toFixed(1)} s, then ${(t.loadMs / 1000).toFixed(1)} s under load.`,
      "",
      ...memoryRows(client.memory),
      "",
      `Connections: ${fmtInt(client.connections.accepted)} accepted by the server in all, at ` +
        `most ${client.connections.peak} open at once, ${client.connections.atEnd} kept by the ` +
        `pool at the end, ${client.connections.afterClose} after \`session.close()\`; connector ` +
        `slots in use at the end ${client.end.active}, waiters ${client.end.waiting}. File ` +
        `descriptors: ${client.fds.before} before, at most ${client.fds.peak} sampled, ` +
        `${client.fds.after} after \`session.close()\`. Unhandled rejections ` +
        `${t.unhandledRejections}, uncaught exceptions ${t.uncaughtExceptions}.`,
    );
  }
  const crossed = checks.filter((c) => !c.held);
  lines.push(
    "",
    "### Bounds",
    "",
    ...tableHead(["bound", "measured", "limit", "held"], "lrrl"),
    ...checks.map((c) => tableRow([c.name, c.measured, c.bound, c.held ? "yes" : "**NO**"])),
    "",
    crossed.length === 0 ? "Every bound held." : `${crossed.length} bound(s) crossed.`,
    "",
    "Why these bounds: heapUsed may grow by 8 MB at most from the baseline to the end, which " +
      "a leak of one 16-byte object per request over 500,000 requests crosses; RSS gets 64 MB, " +
      "as it also holds what V8 and malloc keep for reuse after a peak; the trend (4 MB) tells " +
      "growth that goes on from a heap that had settled. Counts of faults and of file " +
      "descriptors must come back exactly.",
    "",
    reproduceLine("soak", "soak.ts"),
  );
  return lines.join("\n");
}

// ---- main ---------------------------------------------------------------------------------------

const started = new Date();
const loadBefore = loadavg();
const buildNote = buildUnless(argv["skip-build"], log);
const t0 = performance.now();
const signal = AbortSignal.timeout(settings.timeLimitMs);
let server: ServerResult | null = null;
let client: ClientResult | null = null;
if (parts.server) server = await soakServer(signal);
if (parts.client) client = await soakClient(signal);
const totalMs = performance.now() - t0;
const checks = [
  ...(server?.checks ?? []),
  ...(client?.checks ?? []),
  atMost("whole run, s", Math.round(totalMs / 1000), settings.timeLimitMs / 1000),
];
const text = report(started, loadBefore, buildNote, totalMs, server, client, checks);
process.stdout.write(`${text}\n`);
for (const problem of server?.last.firstProblems ?? []) log(`server: ${problem}`);
if (server?.http.firstError) log(`first failed request: ${server.http.firstError}`);
if (server?.ws.firstError) log(`first failed session: ${server.ws.firstError}`);
if (client?.tally.firstError) log(`client: ${client.tally.firstError}`);
const fullCounts =
  argv.requests === FULL.requests &&
  argv["ws-sessions"] === FULL.wsSessions &&
  argv["client-requests"] === FULL.clientRequests;
const keepBecause = argv["no-write"]
  ? "--no-write"
  : argv.quick
    ? "--quick"
    : argv.only !== undefined
      ? "--only"
      : !fullCounts
        ? "not the full counts"
        : null;
saveReport(SECTION, text, keepBecause, log);
const crossed = checks.filter((c) => !c.held);
if (crossed.length > 0) {
  log(`${crossed.length} bound(s) crossed: ${crossed.map((c) => c.name).join("; ")}`);
  process.exit(1);
}
log("every bound held");
