// How FileResponse should read a file: serves a 1 KiB and a 10 MiB file from plain node:http
// with each way of reading Node offers (Node has no sendfile(2) for sockets), and through
// FileResponse itself. The 1 KiB file is loaded by autocannon, the 10 MiB one by curl (4
// parallel transfers: autocannon spends a whole core parsing 10 MiB bodies). Prints
// requests/s or MiB/s, the server's CPU time per request (the steadier figure on a shared
// machine) and its peak RSS.
// Usage: npx tsx bench/file-send.ts [--duration 5] [--rounds 3] [--only a,b]

import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream, constants as fsc } from "node:fs";
import { type FileHandle, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs, promisify } from "node:util";
import { openFileHandle } from "../src/web/file/descriptor.js";
import { BENCH_DIR } from "./common.js";

const CHUNK = 256 * 1024;
const LARGE = 10 * 2 ** 20;

type Sender = (fh: FileHandle, size: number, res: ServerResponse) => Promise<void>;

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      res.off("close", onClose);
      resolve();
    };
    const onClose = (): void => {
      res.off("drain", onDrain);
      reject(new Error("closed"));
    };
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}

/** The ways of reading compared; each keeps at most a chunk or two in memory. */
const SENDERS: Record<string, Sender> = {
  // A fresh buffer per chunk, written, then wait for the socket (FileResponse's way).
  "read-fresh": async (fh, size, res) => {
    for (let pos = 0; pos < size; ) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      pos += bytesRead;
      if (pos >= size) res.end(buf);
      else if (!res.write(buf)) await drained(res);
    }
  },
  // The same, with the next read started before waiting for the socket.
  "read-ahead": async (fh, size, res) => {
    const readAt = (pos: number) => {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
      return fh.read(buf, 0, buf.length, pos).then((r) => r.buffer.subarray(0, r.bytesRead));
    };
    let pos = 0;
    let next = size > 0 ? readAt(0) : null;
    while (next !== null) {
      const buf = await next;
      pos += buf.length;
      next = pos < size ? readAt(pos) : null;
      if (next === null) res.end(buf);
      else if (!res.write(buf)) await drained(res);
    }
  },
  // One buffer reused: each write must be flushed to the kernel before the next read.
  "read-reuse": async (fh, size, res) => {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, size));
    for (let pos = 0; pos < size; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, size - pos), pos);
      pos += bytesRead;
      const chunk = buf.subarray(0, bytesRead);
      await new Promise<void>((resolve, reject) =>
        res.write(chunk, (err) => (err ? reject(err) : resolve())),
      );
    }
    res.end();
  },
  // Two buffers in turn: one is read into while the socket still holds the other.
  "read-pair": async (fh, size, res) => {
    const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    const flushed: (Promise<void> | null)[] = [null, null];
    let i = 0;
    for (let pos = 0; pos < size; i ^= 1) {
      await flushed[i];
      const { bytesRead } = await fh.read(bufs[i]!, 0, Math.min(CHUNK, size - pos), pos);
      pos += bytesRead;
      const chunk = bufs[i]!.subarray(0, bytesRead);
      flushed[i] = new Promise<void>((resolve, reject) =>
        res.write(chunk, (err) => (err ? reject(err) : resolve())),
      );
    }
    await Promise.all(flushed);
    res.end();
  },
  createReadStream: async (fh, _size, res) => {
    await pipeline(createReadStream("", { fd: fh, highWaterMark: CHUNK, autoClose: false }), res);
  },
  readableWebStream: async (fh, _size, res) => {
    await pipeline(Readable.fromWeb(fh.readableWebStream({ type: "bytes" })), res);
  },
};

/** The server's CPU time so far (µs) and peak RSS (KiB). */
function stats(): { cpuUs: number; maxRss: number } {
  const usage = process.resourceUsage();
  return { cpuUs: usage.userCPUTime + usage.systemCPUTime, maxRss: usage.maxRSS };
}

async function serve(strategy: string, listenPort: number, dir: string): Promise<void> {
  let port = listenPort;
  if (strategy === "StreamResponse") {
    // The read-fresh loop written through a StreamResponse: what the framework itself costs.
    const { web } = await import("../src/index.js");
    const app = new web.Application();
    app.router.addGet("/__stats", () => web.jsonResponse(stats()));
    app.router.addGet("/{name}", async (req) => {
      const fh = await open(join(dir, req.matchInfo.name!));
      try {
        const size = (await fh.stat()).size;
        const response = new web.StreamResponse();
        response.contentLength = size;
        await response.prepare(req);
        for (let pos = 0; pos < size; ) {
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          pos += bytesRead;
          await response.write(buf);
        }
        await response.writeEof();
        return response;
      } finally {
        await fh.close();
      }
    });
    const runner = new web.AppRunner(app, { accessLog: null });
    await runner.setup();
    const site = new web.TCPSite(runner, "127.0.0.1", port);
    await site.start();
    port = site.port;
  } else if (strategy === "FileResponse") {
    const { web } = await import("../src/index.js");
    const app = new web.Application();
    app.router.addGet("/__stats", () => web.jsonResponse(stats()));
    app.router.addGet("/{name}", (req) => new web.FileResponse(join(dir, req.matchInfo.name!)));
    const runner = new web.AppRunner(app, { accessLog: null });
    await runner.setup();
    const site = new web.TCPSite(runner, "127.0.0.1", port);
    await site.start();
    port = site.port;
  } else {
    // "-cb": the same way of reading on Node's callback fs API (FileResponse's descriptor.ts)
    // rather than fs/promises' FileHandle.
    const callbacks = strategy.endsWith("-cb");
    const send = SENDERS[strategy.replace(/-cb$/, "")]!;
    const server = createServer(async (req, res) => {
      if (req.url === "/__stats") {
        res.end(JSON.stringify(stats()));
        return;
      }
      const path = join(dir, req.url!.slice(1).split("?")[0]!);
      const fh = callbacks ? await openFileHandle(path, fsc.O_RDONLY) : await open(path);
      try {
        const size = Number((await fh.stat()).size);
        res.writeHead(200, {
          "Content-Length": size,
          "Content-Type": "application/octet-stream",
        });
        // The senders use only read() and stat() (createReadStream and readableWebStream are
        // not run with "-cb").
        await send(fh as FileHandle, size, res);
      } catch {
        res.destroy();
      } finally {
        await fh.close();
      }
    });
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
  }
  console.log(`READY ${port}`);
}

interface Figures {
  /** requests/s (1 KiB) or MiB/s (10 MiB) */
  rate: number;
  cpuUsPerRequest: number;
  maxRssMiB: number;
}

const run = promisify(execFile);

async function serverStats(port: number): Promise<{ cpuUs: number; maxRss: number }> {
  const reply = await fetch(`http://127.0.0.1:${port}/__stats`);
  return (await reply.json()) as { cpuUs: number; maxRss: number };
}

/** Autocannon on the small file: requests/s and how many were made. */
async function loadSmall(
  url: string,
  duration: number,
): Promise<{ rate: number; requests: number }> {
  const load = spawn(
    process.execPath,
    [
      join(BENCH_DIR, "load.mjs"),
      JSON.stringify({ url, connections: 10, pipelining: 1, warmup: 0, duration }),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  load.stdout.on("data", (d: Buffer) => (out += d.toString()));
  await once(load, "exit");
  const summary = JSON.parse(out) as {
    requestsPerSecond: number;
    requestsTotal: number;
    errors: number;
    non2xx: number;
  };
  if (summary.errors > 0 || summary.non2xx > 0) throw new Error(`errors: ${out}`);
  return { rate: summary.requestsPerSecond, requests: summary.requestsTotal };
}

/** curl, 4 transfers at a time, on the large file: MiB/s and how many were made. */
async function loadLarge(
  url: string,
  requests: number,
): Promise<{ rate: number; requests: number }> {
  const t0 = performance.now();
  const { stdout } = await run("curl", [
    "-sSZ",
    "--parallel-max",
    "4",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{size_download}\\n",
    `${url}?[1-${requests}]`,
  ]);
  const seconds = (performance.now() - t0) / 1000;
  const lines = stdout.trim().split("\n");
  if (lines.length !== requests || lines.some((l) => l !== `200 ${LARGE}`)) {
    throw new Error(`curl: ${stdout.slice(0, 200)}`);
  }
  return { rate: (requests * LARGE) / 2 ** 20 / seconds, requests };
}

async function measure(
  strategy: string,
  file: string,
  dir: string,
  duration: number,
): Promise<Figures> {
  let port = 0;
  const child = spawn(
    process.execPath,
    [...process.execArgv, process.argv[1]!, "--serve", strategy, "0", dir],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        const ready = /READY (\d+)/.exec(d.toString());
        if (ready === null) return;
        port = Number(ready[1]);
        resolve();
      });
      child.once("exit", () => reject(new Error(`${strategy} server exited`)));
    });
    const url = `http://127.0.0.1:${port}/${file}`;
    const small = file === "small.bin";
    // Warm-up: the JIT and the page cache.
    await (small ? loadSmall(url, 1) : loadLarge(url, 8));
    const before = await serverStats(port);
    const load = await (small ? loadSmall(url, duration) : loadLarge(url, 20 * duration));
    const after = await serverStats(port);
    return {
      rate: load.rate,
      // Minus the /__stats request itself, which is negligible next to thousands.
      cpuUsPerRequest: (after.cpuUs - before.cpuUs) / load.requests,
      maxRssMiB: after.maxRss / 1024,
    };
  } finally {
    child.kill("SIGTERM");
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: "string" },
      duration: { type: "string", default: "5" },
      rounds: { type: "string", default: "3" },
      only: { type: "string" },
    },
    allowPositionals: true,
  });
  if (values.serve !== undefined) {
    const [port, dir] = process.argv.slice(-2);
    await serve(values.serve, Number(port), dir!);
    process.on("SIGTERM", () => process.exit(0));
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), "bench-file-"));
  await writeFile(join(dir, "small.bin"), Buffer.alloc(1024, 1));
  await writeFile(join(dir, "large.bin"), Buffer.alloc(LARGE, 2));
  const strategies = [
    ...Object.keys(SENDERS),
    "read-fresh-cb",
    "read-pair-cb",
    "StreamResponse",
    "FileResponse",
  ].filter((s) => values.only === undefined || values.only.split(",").includes(s));
  const results = new Map<string, Figures[]>();
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const file of ["small.bin", "large.bin"]) {
        for (const strategy of strategies) {
          const figures = await measure(strategy, file, dir, Number(values.duration));
          const key = `${file}\t${strategy}`;
          results.set(key, [...(results.get(key) ?? []), figures]);
          process.stderr.write(`[bench:file] round ${round} ${key} ${JSON.stringify(figures)}\n`);
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log("| file | way of reading | rate | server CPU per request | server peak RSS |");
  console.log("|---|---|---:|---:|---:|");
  for (const [key, runs] of results) {
    const [file, strategy] = key.split("\t");
    const unit = file === "small.bin" ? "req/s" : "MiB/s";
    const rate = median(runs.map((r) => r.rate));
    const cpu = median(runs.map((r) => r.cpuUsPerRequest));
    const rss = Math.max(...runs.map((r) => r.maxRssMiB));
    console.log(
      `| ${file} | ${strategy} | ${rate.toFixed(0)} ${unit} | ${cpu.toFixed(0)} µs | ${rss.toFixed(0)} MiB |`,
    );
  }
}

await main();
