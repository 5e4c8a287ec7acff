// Upload peer: the BUILT package (dist/), streaming each file part of a multipart upload to disk
// through request.multipart(). Usage: node upload-aiohttp-ts.mjs PORT DIR
// Answers { bytes, peakHeapUsed, peakArrayBuffers } (see upload-heap.mjs).

import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { web } from "../../dist/index.js";
import { sampleHeap } from "./upload-heap.mjs";

const port = Number(process.argv[2]);
const dir = process.argv[3];

const app = new web.Application();
app.router.addPost("/upload", async (request) => {
  const stopSampling = sampleHeap();
  let bytes = 0;
  for await (const part of await request.multipart()) {
    if (part.filename === null) {
      await part.release();
      continue;
    }
    const path = join(dir, randomUUID());
    const file = createWriteStream(path);
    await pipeline(part.stream(), file);
    bytes += file.bytesWritten;
    await unlink(path);
  }
  return web.jsonResponse({ bytes, ...stopSampling() });
});

const runner = new web.AppRunner(app, { accessLog: null });
await runner.setup();
await new web.TCPSite(runner, "127.0.0.1", port).start();
console.log("READY");
process.on("SIGTERM", () => process.exit(0));
