// Streaming uploads (aiohttp client quickstart): send a large file without reading it into
// memory, send data as an async generator produces it, and pipe a download into an upload.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/streaming-upload.ts

import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientSession } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

interface Echo {
  data: string;
  headers: Record<string, string>;
}

await using session = new ClientSession({ baseUrl: BASE_URL });
const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-upload-"));

try {
  // A file: a Node Readable is streamed with chunked transfer encoding.
  const path = join(dir, "massive-body.txt");
  await writeFile(path, "a line of a large file\n".repeat(50_000));
  await using resp = await session.post("/post", {
    data: createReadStream(path),
    headers: { "Content-Type": "text/plain" },
  });
  const echo = await resp.json<Echo>();
  console.log(
    `file: ${echo.data.length} bytes arrived, Transfer-Encoding ${echo.headers["Transfer-Encoding"]}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

// An async generator: each piece is sent as it is produced.
async function* fileSender(): AsyncGenerator<Uint8Array> {
  for (let i = 1; i <= 3; i++) {
    yield new TextEncoder().encode(`chunk ${i}\n`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
{
  await using resp = await session.post("/post", { data: fileSender() });
  console.log("generator:", JSON.stringify((await resp.json<Echo>()).data));
}

// A download's content (a StreamReader) piped straight into an upload.
{
  await using download = await session.get("/stream/20");
  await using upload = await session.put("/put", {
    data: download.content,
    headers: { "Content-Type": "application/x-ndjson" },
  });
  const echo = await upload.json<Echo>();
  console.log("piped:", echo.data.trim().split("\n").length, "lines went from /stream/20 to /put");
}
