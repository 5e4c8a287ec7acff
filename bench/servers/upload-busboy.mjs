// Upload baseline: @fastify/busboy used directly on node:http, streaming each file to disk.
// Usage: node upload-busboy.mjs PORT DIR
// Answers { bytes, peakHeapUsed, peakArrayBuffers } (see upload-heap.mjs).

import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import Busboy from "@fastify/busboy";
import { sampleHeap } from "./upload-heap.mjs";

const port = Number(process.argv[2]);
const dir = process.argv[3];

const server = createServer((req, res) => {
  const stopSampling = sampleHeap();
  const busboy = new Busboy({ headers: req.headers });
  const writes = [];
  let bytes = 0;
  busboy.on("file", (_field, file) => {
    const path = join(dir, randomUUID());
    const out = createWriteStream(path);
    writes.push(
      pipeline(file, out).then(async () => {
        bytes += out.bytesWritten;
        await unlink(path);
      }),
    );
  });
  busboy.on("finish", async () => {
    await Promise.all(writes);
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ bytes, ...stopSampling() }));
  });
  req.pipe(busboy);
});

server.listen(port, "127.0.0.1", () => console.log("READY"));
process.on("SIGTERM", () => process.exit(0));
