// Streaming uploads keep the client's memory bounded: a 1 GiB body made by an async generator,
// and smaller ones from a Node Readable and a web ReadableStream, go to our own server in a
// child process (so its buffers do not count here) that reads slowly at first, then fast. The
// client's heap plus ArrayBuffer memory may not grow by more than 64 MiB meanwhile. It is
// sampled after a full garbage collection, so that it measures what the upload holds on to, not
// chunks already let go that V8 has not collected yet (those alone varied from 24 to 58 MiB).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type ServerProcess, startServerProcess, useSessions } from "../helpers.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
/** The bound of issue 10. */
const LIMIT = 64 * MiB;

// The server counts what it reads with `iterAny()`; its first 200 reads wait 5 ms each (a
// slow consumer for about a second, which the client must wait for rather than buffer), the
// rest go as fast as they come.
const SERVER = `
import { web } from ${JSON.stringify(new URL("src/index.ts", `file://${ROOT}`).href)};
const app = new web.Application({ clientMaxSize: 0 });
app.router.addPost("/sink", async (request) => {
  let size = 0;
  let reads = 0;
  for await (const chunk of request.content.iterAny()) {
    size += chunk.length;
    if (++reads <= 200) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return web.jsonResponse({ size, reads });
});
await web.runApp(app, { host: "127.0.0.1", port: Number(process.env.PORT), accessLog: null });
`;

/** `total` bytes in fresh 64 KiB chunks (each filled with its index), as a generator. */
async function* generated(total: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i * CHUNK < total; i++) {
    yield Buffer.allocUnsafeSlow(Math.min(CHUNK, total - i * CHUNK)).fill(i & 0xff);
  }
}

// The test process runs without --expose-gc; this gives a context of its own the `gc` global.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
// V8 frees the memory of dead ArrayBuffers on a background thread after a collection, and
// `arrayBuffers` counts them until it has: on Node 24, right after gc(), up to 57 MiB of chunks
// the upload had let go still counted (20 ms later, 0.1 MiB). Swept during the collection,
// what is counted is what the upload holds.
setFlagsFromString("--no-concurrent-array-buffer-sweeping");

/** Heap plus ArrayBuffer memory held now (after a full collection). */
function used(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Samples `used()` every 100 ms while `work` runs; resolves with its result and the peak. */
async function peakDuring<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = used();
  const timer = setInterval(() => {
    peak = Math.max(peak, used());
  }, 100);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, used()) };
  } finally {
    clearInterval(timer);
  }
}

describe("streaming uploads keep memory bounded", () => {
  let dir: string;
  let server: ServerProcess;
  const session = useSessions();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-upload-"));
    const file = join(dir, "sink.mts");
    await writeFile(file, SERVER);
    server = await startServerProcess(["--import", "tsx", file], { cwd: ROOT });
  }, 30_000);

  afterAll(async () => {
    server?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  async function upload(data: () => Parameters<ReturnType<typeof session>["post"]>[1]) {
    const s = session();
    // Warm up (undici loads, the connection opens) before the baseline.
    await (await s.post(`${server.baseUrl}/sink`, { data: "warm-up" })).json();
    const before = used();
    const started = performance.now();
    const { result, peak } = await peakDuring(async () => {
      const resp = await s.post(`${server.baseUrl}/sink`, data());
      return (await resp.json()) as { size: number; reads: number };
    });
    return { result, growth: peak - before, ms: performance.now() - started };
  }

  test("a 1 GiB async generator upload", async () => {
    const size = 1024 * MiB;
    let last = 0;
    const { result, growth, ms } = await upload(() => ({
      data: generated(size),
      onUploadProgress: (p) => {
        last = p.transferred;
      },
    }));
    console.log(
      `1 GiB generator upload: ${(ms / 1000).toFixed(1)} s, growth ${(growth / MiB).toFixed(1)} MiB`,
    );
    expect(result.size).toBe(size);
    // The server read it in many pieces, slowly at first: the client waited for it.
    expect(result.reads).toBeGreaterThan(200);
    expect(last).toBe(size);
    expect(growth).toBeLessThan(LIMIT);
    // About 2-3 s here; the bound leaves room for a busy 2-core machine.
    expect(ms).toBeLessThan(30_000);
  }, 120_000);

  test("a 256 MiB Node Readable upload", async () => {
    const size = 256 * MiB;
    const { result, growth } = await upload(() => ({ data: Readable.from(generated(size)) }));
    expect(result.size).toBe(size);
    expect(growth).toBeLessThan(LIMIT);
  }, 60_000);

  test("a 256 MiB web ReadableStream upload", async () => {
    const size = 256 * MiB;
    const { result, growth } = await upload(() => ({
      data: Readable.toWeb(Readable.from(generated(size))) as ReadableStream<Uint8Array>,
    }));
    expect(result.size).toBe(size);
    expect(growth).toBeLessThan(LIMIT);
  }, 60_000);
});
