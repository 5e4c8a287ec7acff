// Memory per idle connection (issue 13, section 5): RSS and heap each idle WebSocket and each
// idle keep-alive HTTP connection costs our server, against a raw `ws` server and raw
// node:http. Each server runs in its own child process (node --expose-gc) and reports
// process.memoryUsage() after full collections: once after a warm-up (a few connections
// opened, used and closed), once with N connections open and idle; per connection is the
// difference over N. Writes the "Idle connection memory" section of bench/RESULTS.md; the full
// run of bench/ws.ts runs it too.
//
//   npm run bench:idle                        the full run (builds dist/ first)
// Options: --connections n (open at once; 5000), --rounds n (fresh servers per peer and
// kind, the median kept; 1), --used (each WebSocket measured exchanges a message before it
// idles, so permessage-deflate's zlib contexts are counted too), --skip-build, --no-write.

import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";
import {
  BENCH_DIR,
  buildUnless,
  environmentLine,
  freePort,
  logger,
  median,
  pkgVersion,
  ROOT,
  reproduceLine,
  saveReport,
  stopChild,
  tableHead,
  tableRow,
} from "./common.js";

export const IDLE_SECTION = "Idle connection memory (bench/idle-memory.ts)";
const SERVERS_DIR = join(BENCH_DIR, "servers");
const log = logger("idle");

/** Issue 13's target: ours at most this times the raw baseline, on RSS and on heap. */
const TARGET_VS_RAW = 1.3;
/** Connections opened at once while filling the server. */
const BATCH = 100;
/** Connections opened, used and closed before the first reading. */
const WARMUP_CONNECTIONS = 200;
/** Time left for the server to settle after opening or closing connections, ms. */
const SETTLE_MS = 500;
const START_TIMEOUT_MS = 15_000;
const KB = 1024;

type Kind = "websocket" | "http";

interface Peer {
  id: "ours" | "raw";
  script: string;
}

const PEERS: readonly Peer[] = [
  { id: "raw", script: "idle-raw.mjs" },
  { id: "ours", script: "idle-aiohttp-ts.mjs" },
];

/** What the server child reports: process.memoryUsage() after gc. */
type Usage = NodeJS.MemoryUsage;

/** Bytes per idle connection. */
export interface PerConnection {
  rss: number;
  heapUsed: number;
  /** Memory outside the JS heap (zlib contexts, buffers), arrayBuffers included. */
  external: number;
}

export interface IdleMemoryOptions {
  connections: number;
  rounds: number;
  /** Whether each measured WebSocket exchanges a message before idling. */
  used: boolean;
}

export interface IdleMemoryResult {
  options: IdleMemoryOptions;
  started: Date;
  loadBefore: number[];
  loadAfter: number[];
  /** Keyed by `kind/peer`. */
  figures: Map<string, PerConnection>;
  /** The WebSocket extension the first client of each peer got (permessage-deflate expected). */
  extensions: Map<string, string>;
}

/** Measures every peer for both kinds of connection. */
export async function measureIdleMemory(options: IdleMemoryOptions): Promise<IdleMemoryResult> {
  const result: IdleMemoryResult = {
    options,
    started: new Date(),
    loadBefore: loadavg(),
    loadAfter: [],
    figures: new Map(),
    extensions: new Map(),
  };
  for (const kind of ["websocket", "http"] as const) {
    for (const peer of PEERS) {
      const rounds: PerConnection[] = [];
      for (let i = 0; i < options.rounds; i++) {
        rounds.push(await measureOne(peer, kind, options.connections, result));
      }
      const figures = {
        rss: median(rounds.map((r) => r.rss)),
        heapUsed: median(rounds.map((r) => r.heapUsed)),
        external: median(rounds.map((r) => r.external)),
      };
      result.figures.set(`${kind}/${peer.id}`, figures);
      log(
        `${kind} ${peer.id}: ${kb(figures.rss)} KB RSS, ${kb(figures.heapUsed)} KB heap, ` +
          `${kb(figures.external)} KB external per connection`,
      );
    }
  }
  result.loadAfter = loadavg();
  return result;
}

/** One fresh server: warm up, read, open `n` idle connections, read again. */
async function measureOne(
  peer: Peer,
  kind: Kind,
  n: number,
  result: IdleMemoryResult,
): Promise<PerConnection> {
  const { child, port } = await startServer(peer);
  const open = (count: number, use: boolean): Promise<Closable[]> =>
    kind === "websocket" ? openWebSockets(port, count, use) : openHttp(port, count);
  const opened: Closable[] = [];
  try {
    const warm = await open(WARMUP_CONNECTIONS, true);
    for (const c of warm) c.close();
    await sleep(SETTLE_MS);
    const before = await memoryOf(child);
    opened.push(...(await open(n, result.options.used)));
    await sleep(SETTLE_MS);
    const after = await memoryOf(child);
    const first = opened[0];
    if (kind === "websocket" && first instanceof IdleWebSocket) {
      result.extensions.set(peer.id, first.ws.extensions || "none");
    }
    const external = (u: Usage): number => u.external + u.arrayBuffers;
    return {
      rss: (after.rss - before.rss) / n,
      heapUsed: (after.heapUsed - before.heapUsed) / n,
      external: (external(after) - external(before)) / n,
    };
  } finally {
    for (const c of opened) c.close();
    await stopChild(child);
  }
}

async function startServer(peer: Peer): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = fork(join(SERVERS_DIR, peer.script), [String(port)], {
    cwd: ROOT,
    env,
    execPath: process.execPath,
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = once(child, "message");
  const timer = setTimeout(() => child.kill("SIGKILL"), START_TIMEOUT_MS);
  try {
    const [message] = await Promise.race([
      ready,
      once(child, "exit").then(([code]) => {
        throw new Error(`${peer.script} exited (${String(code)}) before it was ready`);
      }),
    ]);
    if (message !== "ready") throw new Error(`${peer.script} said ${String(message)}`);
  } finally {
    clearTimeout(timer);
  }
  return { child, port };
}

async function memoryOf(child: ChildProcess): Promise<Usage> {
  const answer = once(child, "message");
  child.send("mem");
  const [usage] = await answer;
  return usage as Usage;
}

interface Closable {
  close(): void;
}

class IdleWebSocket implements Closable {
  constructor(readonly ws: WebSocket) {}
  close(): void {
    this.ws.terminate();
  }
}

/**
 * `n` WebSockets offering permessage-deflate; with `use`, each sends a message and gets its
 * echo (which makes both sides create their zlib contexts, and keep them: no context takeover
 * is not asked for).
 */
async function openWebSockets(port: number, n: number, use: boolean): Promise<Closable[]> {
  return inBatches(n, async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: true });
    ws.on("error", () => {});
    await once(ws, "open");
    if (use) {
      const echo = once(ws, "message");
      ws.send("hello");
      await echo;
    }
    return new IdleWebSocket(ws);
  });
}

/** `n` keep-alive HTTP/1.1 connections, each with one request answered. */
async function openHttp(port: number, n: number): Promise<Closable[]> {
  return inBatches(n, async () => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    await once(socket, "connect");
    socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await answered(socket);
    return { close: () => socket.destroy() };
  });
}

/** Resolves when a whole response (both servers answer `hello`) has arrived. */
function answered(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer): void => {
      text += chunk.toString("latin1");
      if (!text.endsWith("\r\n\r\nhello")) return;
      socket.off("data", onData);
      socket.off("close", onClose);
      resolve();
    };
    const onClose = (): void => reject(new Error(`connection closed after ${text.length} bytes`));
    socket.on("data", onData);
    socket.once("close", onClose);
  });
}

async function inBatches<T>(n: number, make: () => Promise<T>): Promise<T[]> {
  const all: T[] = [];
  for (let i = 0; i < n; i += BATCH) {
    const batch: Promise<T>[] = [];
    for (let j = i; j < Math.min(n, i + BATCH); j++) batch.push(make());
    all.push(...(await Promise.all(batch)));
  }
  return all;
}

function kb(bytes: number): string {
  return (bytes / KB).toFixed(1);
}

/** The section of bench/RESULTS.md: one table, then the targets. */
export function formatIdleReport(result: IdleMemoryResult, buildNote: string): string {
  const { connections, rounds } = result.options;
  const lines = [
    environmentLine(result.started, result.loadBefore, result.loadAfter),
    "",
    `Method: each server runs in its own process (\`node --expose-gc\`, ours on the built ` +
      `package, ${buildNote}) and reports \`process.memoryUsage()\` after two full ` +
      `collections: once after a warm-up (${WARMUP_CONNECTIONS} connections opened, used and ` +
      `closed), once with ${fmt(connections)} connections open and idle; per connection is the ` +
      `difference over ${fmt(connections)} (KB = 1024 bytes). WebSocket: the \`ws\` client offers ` +
      "permessage-deflate and both servers accept it (extensions agreed: " +
      `ours \`${result.extensions.get("ours") ?? "?"}\`, ws \`${result.extensions.get("raw") ?? "?"}\`); ` +
      (result.options.used
        ? "each connection sends one message, gets its echo, then idles (--used: both sides " +
          "now hold zlib contexts). "
        : "each connection opens and idles (with --used it first exchanges a message, and " +
          "both servers then also hold zlib contexts for it, about 230 KB RSS a connection " +
          "either way). ") +
      "Ours: the echo handler " +
      "of the WebSocket bench (`web.WebSocketResponse()`, default options, `for await` over " +
      "the messages) at /ws; raw: `new WebSocketServer({ server, perMessageDeflate: true, " +
      "clientTracking: false })` echoing on `message`. HTTP: one `GET /` answered `hello` on " +
      "each keep-alive connection, then idle; ours a route returning `new web.Response({ text " +
      "})` with `AppRunner(app, { accessLog: null })`, raw `http.createServer((req, res) => " +
      'res.end("hello"))` with `keepAliveTimeout` 75 s (ours). External counts memory outside ' +
      "the JS heap (zlib contexts, buffers); RSS includes it. " +
      (rounds > 1
        ? `${rounds} rounds, each on fresh servers; figures are medians.`
        : "One round, on fresh servers."),
    "",
    ...tableHead(
      [
        "Connection",
        "Server",
        "RSS/conn (KB)",
        "heap/conn (KB)",
        "external/conn (KB)",
        "RSS vs raw",
        "heap vs raw",
      ],
      "llrrrrr",
    ),
  ];
  const targets: string[] = [];
  for (const kind of ["websocket", "http"] as const) {
    const raw = result.figures.get(`${kind}/raw`);
    const ours = result.figures.get(`${kind}/ours`);
    const label = kind === "websocket" ? "idle WebSocket" : "idle keep-alive HTTP/1.1";
    const rawName =
      kind === "websocket" ? `ws ${pkgVersion("ws")}` : `node:http ${process.version}`;
    for (const [name, f] of [
      [rawName, raw],
      [`aiohttp-ts ${pkgVersion(".")}`, ours],
    ] as const) {
      if (f === undefined) continue;
      lines.push(
        tableRow([
          label,
          name,
          kb(f.rss),
          kb(f.heapUsed),
          kb(f.external),
          times(f.rss, raw?.rss),
          times(f.heapUsed, raw?.heapUsed),
        ]),
      );
    }
    if (raw !== undefined && ours !== undefined) {
      const rss = ours.rss / raw.rss;
      const heap = ours.heapUsed / raw.heapUsed;
      const met = rss <= TARGET_VS_RAW && heap <= TARGET_VS_RAW;
      targets.push(
        `- ${label}: RSS ${rss.toFixed(2)}x, heap ${heap.toFixed(2)}x ${rawName} ` +
          `(${met ? "met" : "NOT met"})`,
      );
    }
  }
  lines.push(
    "",
    `Target (issue 13): ours at most ${TARGET_VS_RAW}x the raw server on RSS and on heap per ` +
      "idle connection.",
    "",
    ...targets,
    "",
    reproduceLine("bench:idle", "idle-memory.ts"),
  );
  return lines.join("\n");
}

function times(a: number, b: number | undefined): string {
  if (b === undefined || b <= 0) return "-";
  return `${(a / b).toFixed(2)}x`;
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

/** `npm run bench:idle`: measure, print, and write the section unless told not to. */
async function main(): Promise<void> {
  const { values: argv } = parseArgs({
    options: {
      connections: { type: "string", default: "5000" },
      rounds: { type: "string", default: "1" },
      used: { type: "boolean", default: false },
      "skip-build": { type: "boolean", default: false },
      "no-write": { type: "boolean", default: false },
    },
  });
  const buildNote = buildUnless(argv["skip-build"], log);
  const result = await measureIdleMemory({
    connections: Math.round(Number(argv.connections)),
    rounds: Math.round(Number(argv.rounds)),
    used: argv.used,
  });
  const report = formatIdleReport(result, buildNote);
  process.stdout.write(`\n${report}\n`);
  saveReport(IDLE_SECTION, report, argv["no-write"] ? "--no-write" : null, log);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
