// Streaming response content (aiohttp client quickstart): read a large body piece by piece
// from resp.content instead of all at once, here into a file with bounded memory.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/streaming-response.ts

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientSession } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";
const CHUNK_SIZE = 64 * 1024;

await using session = new ClientSession({ baseUrl: BASE_URL });
const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-example-"));

try {
  // The body is 5 MiB; at most one chunk of it is held in memory at a time.
  await using resp = await session.get(`/bytes/${5 * 1024 * 1024}`);
  const filename = join(dir, "download.bin");
  const fd = createWriteStream(filename);
  let chunks = 0;
  for await (const chunk of resp.content.iterChunked(CHUNK_SIZE)) {
    chunks++;
    // Respect the file's backpressure too.
    if (!fd.write(chunk)) await once(fd, "drain");
  }
  fd.end();
  await once(fd, "close");
  console.log(`saved ${(await stat(filename)).size} bytes in ${chunks} chunks`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

// Line by line: `for await` over content yields lines, as `async for line in resp.content`
// does in aiohttp (readline() one at a time works too; it returns an empty Buffer at the end).
{
  await using resp = await session.get("/stream/3");
  for await (const line of resp.content) {
    const { id } = JSON.parse(line.toString()) as { id: number };
    console.log("line", id);
  }
}

// Whatever has arrived, as it arrives: iterAny() (or readany() in a loop).
{
  await using resp = await session.get("/stream/5");
  let total = 0;
  for await (const chunk of resp.content.iterAny()) total += chunk.length;
  console.log("streamed", total, "bytes");
}
