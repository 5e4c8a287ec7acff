// Upload benchmark (issue 9): a multipart upload of one large file (100 MiB by default) streamed
// to disk by the built aiohttp-ts through request.multipart(), against @fastify/busboy used
// directly on node:http, each server in its own process, uploaded to from this process, all in
// one run. Each server samples its heap during every upload. Writes the "Upload" section of
// bench/RESULTS.md.
//
//   npm run bench:upload
// Options: --size MiB (the file; default 100), --rounds n (uploads per server, interleaved; 15),
// --quiet cores (an upload during which other processes used more is run again; 0.15),
// --retries n (1), --pin (servers on CPU 0, this uploader on CPU 1 is not enforced),
// --skip-build, --no-write.

import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import {
  buildUnless,
  environmentLine,
  fmtNum,
  killChildrenOnExit,
  logger,
  median,
  pkgVersion,
  positive,
  quietestRun,
  ratio,
  reproduceLine,
  runOptions,
  runSettings,
  type ServerChild,
  saveReport,
  startCpuMeter,
  startServerChild,
  stopChild,
  tableHead,
  tableRow,
} from "./common.js";

const SECTION = "Upload (bench/upload.ts)";
const log = logger("upload");
const MiB = 1024 * 1024;
/** Issue 9's targets: throughput against busboy, and the server's heap during the upload. */
const TARGET_VS_BUSBOY = 0.9;
const HEAP_LIMIT = 64 * MiB;

interface Peer {
  id: string;
  label: string;
  script: string;
  version: string;
  setup: string;
}

const OURS = "aiohttp-ts";
const BASELINE = "busboy";
const PEERS: Peer[] = [
  {
    id: OURS,
    label: "aiohttp-ts",
    script: "bench/servers/upload-aiohttp-ts.mjs",
    version: `aiohttp-ts ${pkgVersion(".")} (dist/)`,
    setup:
      "`for await (const part of await request.multipart())`, " +
      "`pipeline(part.stream(), createWriteStream(path))`; `AppRunner(app, { accessLog: null })`",
  },
  {
    id: BASELINE,
    label: "busboy on node:http",
    script: "bench/servers/upload-busboy.mjs",
    version: `@fastify/busboy ${pkgVersion("@fastify/busboy")}, node ${process.versions.node}`,
    setup:
      "`req.pipe(new Busboy({ headers }))`, on 'file' `pipeline(file, createWriteStream(path))`, " +
      "answer on 'finish' after the writes",
  },
];

const { values: argv } = parseArgs({
  options: {
    size: { type: "string", default: "100" },
    rounds: { type: "string", default: "15" },
    ...runOptions("1"),
  },
});
const settings = {
  sizeMiB: positive("size", argv.size),
  rounds: positive("rounds", argv.rounds),
  ...runSettings(argv),
};

/** What a server answers for one upload. */
interface Reply {
  bytes: number;
  peakHeapUsed: number;
  peakArrayBuffers: number;
}

/** One upload as measured. */
interface Upload extends Reply {
  wallMs: number;
  serverCpuMs: number;
  otherCores: number;
}

const BLOCK = randomBytes(MiB);
const SLICE = 64 * 1024;

/** A multipart body: a small field, then `size` bytes of file, generated as it is sent. */
function uploadBody(size: number): { body: Readable; length: number; contentType: string } {
  const boundary = `----aiohttp-ts-bench-${randomBytes(12).toString("hex")}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nbench\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n` +
      "Content-Type: application/octet-stream\r\n\r\n",
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let sent = 0;
  let stage = 0;
  const body = new Readable({
    read() {
      if (stage === 0) {
        stage = 1;
        this.push(head);
      } else if (sent < size) {
        const offset = sent % MiB;
        const n = Math.min(SLICE, size - sent, MiB - offset);
        sent += n;
        this.push(BLOCK.subarray(offset, offset + n));
      } else if (stage === 1) {
        stage = 2;
        this.push(tail);
        this.push(null);
      }
    },
  });
  return {
    body,
    length: head.length + size + tail.length,
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

async function uploadOnce(port: number, size: number): Promise<{ wallMs: number; reply: Reply }> {
  const { body, length, contentType } = uploadBody(size);
  const started = performance.now();
  const req = request({
    host: "127.0.0.1",
    port,
    method: "POST",
    path: "/upload",
    agent: false,
    headers: { "Content-Type": contentType, "Content-Length": String(length) },
  });
  const response = once(req, "response") as Promise<[import("node:http").IncomingMessage]>;
  await pipeline(body, req);
  const [res] = await response;
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const wallMs = performance.now() - started;
  const text = Buffer.concat(chunks).toString();
  if (res.statusCode !== 200) throw new Error(`upload answered ${res.statusCode}: ${text}`);
  return { wallMs, reply: JSON.parse(text) as Reply };
}

interface Running extends ServerChild {
  peer: Peer;
}

async function startServer(peer: Peer, dir: string): Promise<Running> {
  const server = await startServerChild(
    "node",
    (port) => [peer.script, String(port), dir],
    settings.pin,
  );
  return { peer, ...server };
}

async function measure(server: Running, size: number): Promise<Upload> {
  const meter = startCpuMeter(server.child);
  const { wallMs, reply } = await uploadOnce(server.port, size);
  // This process is the uploader; the meter already counts it as neither server nor other load.
  const { serverCpuMs, otherCores } = meter(0);
  if (reply.bytes !== size)
    throw new Error(`${server.peer.id} stored ${reply.bytes} of ${size} bytes`);
  return { ...reply, wallMs, serverCpuMs, otherCores };
}

function mib(bytes: number): string {
  return fmtNum(bytes / MiB);
}

async function main(): Promise<void> {
  killChildrenOnExit();
  const started = new Date();
  const loadBefore = loadavg();
  const buildNote = buildUnless(argv["skip-build"], log);
  const size = Math.round(settings.sizeMiB * MiB);
  const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-bench-upload-"));
  const servers: Running[] = [];
  const results = new Map<string, Upload[]>(PEERS.map((p) => [p.id, []]));
  let reruns = 0;
  try {
    for (const peer of PEERS) servers.push(await startServer(peer, dir));
    // One upload each to warm up (JIT, file system), not counted.
    for (const server of servers) await measure(server, Math.min(size, 16 * MiB));
    for (let round = 0; round < settings.rounds; round++) {
      // Each round starts with the other server, so that drifting load falls on both alike.
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) {
        const upload = await quietestRun(
          () => measure(server, size),
          settings.quiet,
          settings.retries,
          (disturbed) => {
            reruns++;
            log(`${server.peer.id}: other load ${fmtNum(disturbed.otherCores)} cores, again`);
          },
        );
        results.get(server.peer.id)?.push(upload);
        log(
          `round ${round + 1} ${server.peer.id}: ${fmtNum(size / MiB / (upload.wallMs / 1000))} MiB/s, ` +
            `peak heap ${mib(upload.peakHeapUsed)} MiB`,
        );
      }
    }
  } finally {
    for (const server of servers) await stopChild(server.child);
    await rm(dir, { recursive: true, force: true });
  }

  const report = formatReport({
    started,
    loadBefore,
    loadAfter: loadavg(),
    buildNote,
    size,
    results,
    reruns,
  });
  process.stdout.write(`${report}\n`);
  saveReport(SECTION, report, argv["no-write"] ? "--no-write" : null, log);
  const ourHeap = Math.max(...(results.get(OURS) ?? []).map((u) => u.peakHeapUsed));
  if (!(ourHeap < HEAP_LIMIT)) {
    log(`aiohttp-ts peak heap ${mib(ourHeap)} MiB is over ${mib(HEAP_LIMIT)} MiB`);
    process.exitCode = 1;
  }
}

interface ReportInput {
  started: Date;
  loadBefore: number[];
  loadAfter: number[];
  buildNote: string;
  size: number;
  results: Map<string, Upload[]>;
  reruns: number;
}

interface Figures {
  mibPerSecond: number;
  cpuMsPerMiB: number;
  peakHeap: number;
  peakArrayBuffers: number;
  min: number;
  max: number;
}

function figures(uploads: Upload[], size: number): Figures {
  const rates = uploads.map((u) => size / MiB / (u.wallMs / 1000));
  return {
    mibPerSecond: median(rates),
    cpuMsPerMiB: median(uploads.map((u) => u.serverCpuMs / (size / MiB))),
    peakHeap: Math.max(...uploads.map((u) => u.peakHeapUsed)),
    peakArrayBuffers: Math.max(...uploads.map((u) => u.peakArrayBuffers)),
    min: Math.min(...rates),
    max: Math.max(...rates),
  };
}

/**
 * Ours over busboy in each round, whose two uploads ran back to back under much the same load
 * from other processes: the median of these moves less with that load than a ratio of medians.
 */
function pairedRatio(input: ReportInput): number {
  const ours = input.results.get(OURS) ?? [];
  const base = input.results.get(BASELINE) ?? [];
  return median(ours.map((u, i) => (base[i]?.wallMs ?? Number.NaN) / u.wallMs));
}

function formatReport(input: ReportInput): string {
  const paired = pairedRatio(input);
  const byPeer = new Map(
    PEERS.map((p) => [p.id, figures(input.results.get(p.id) ?? [], input.size)]),
  );
  const base = byPeer.get(BASELINE) as Figures;
  const ours = byPeer.get(OURS) as Figures;
  const lines = [
    environmentLine(input.started, input.loadBefore, input.loadAfter),
    "",
    `Method: one POST per upload on a new connection to 127.0.0.1, a \`multipart/form-data\` body ` +
      `with a small field and one file of ${mib(input.size)} MiB (random bytes, generated as sent ` +
      "by this process with `Content-Length`); each server streams the file to a new file in a " +
      "temporary directory, deletes it, and answers once it is on disk. Throughput is the file's " +
      "MiB over the wall time from the first byte sent to the answer read. Each server runs in its " +
      `own process (plain \`node\`; ours imports dist/, ${input.buildNote}). ` +
      `${settings.rounds} uploads per server, interleaved, each round starting with the other ` +
      'server, after one uncounted warm-up upload each; figures are medians. "vs busboy" is the ' +
      'ratio of the medians; "paired" the median over rounds of ours over busboy\'s in the same ' +
      "round (back to back, so under much the same load from other processes), which the target " +
      "is judged by. CPU/MiB is the server " +
      "process's user+system CPU time (all threads, from /proc) per MiB. Peak heap is the largest " +
      "`process.memoryUsage().heapUsed` the server sampled (every 5 ms and at the end) during any " +
      "upload; peak array buffers the same for `arrayBuffers` (Buffers live outside the heap). " +
      `An upload during which other processes used more than ${Math.round(100 * settings.quiet)}% ` +
      `of a core was run again, up to ${settings.retries} time(s), keeping the quietest: ` +
      `${input.reruns} reruns. ${cpus().length} cores, not pinned.`,
    "",
    ...tableHead([
      "Server",
      "MiB/s",
      "vs busboy",
      "CPU/MiB (ms)",
      "vs busboy by CPU",
      "peak heap (MiB)",
      "peak array buffers (MiB)",
      "rounds MiB/s (min-max)",
    ]),
  ];
  for (const peer of PEERS) {
    const f = byPeer.get(peer.id) as Figures;
    lines.push(
      tableRow([
        peer.label,
        fmtNum(f.mibPerSecond),
        ratio(f.mibPerSecond, base.mibPerSecond),
        fmtNum(f.cpuMsPerMiB),
        ratio(base.cpuMsPerMiB, f.cpuMsPerMiB),
        mib(f.peakHeap),
        mib(f.peakArrayBuffers),
        `${fmtNum(f.min)}-${fmtNum(f.max)}`,
      ]),
    );
  }
  const r = paired;
  // Three decimals where two would round a miss up to the target (0.897 is not 0.90).
  const shown = r < TARGET_VS_BUSBOY && r.toFixed(2) === TARGET_VS_BUSBOY.toFixed(2) ? 3 : 2;
  lines.push(
    "",
    `Targets (issue 9): upload throughput at least ${TARGET_VS_BUSBOY}x busboy used directly on ` +
      `node:http, and the server's heap under ${mib(HEAP_LIMIT)} MiB during the upload.`,
    "",
    `- throughput: ${r.toFixed(shown)}x busboy, paired (${r >= TARGET_VS_BUSBOY ? "met" : "NOT met"}; ` +
      `ratio of medians ${ratio(ours.mibPerSecond, base.mibPerSecond)}, ` +
      `CPU ${ratio(base.cpuMsPerMiB, ours.cpuMsPerMiB)})`,
    `- peak heap: ${mib(ours.peakHeap)} MiB (${ours.peakHeap < HEAP_LIMIT ? "met" : "NOT met"}; ` +
      `busboy ${mib(base.peakHeap)} MiB)`,
    "",
    "Peers as measured:",
    "",
    ...tableHead(["Peer", "Version", "Set-up"], "lll"),
    ...PEERS.map((p) => tableRow([p.label, p.version, p.setup])),
    "",
    reproduceLine("bench:upload", "upload.ts"),
  );
  return lines.join("\n");
}

await main();
