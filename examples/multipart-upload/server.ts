// Streaming uploads: request.multipart() reads a multipart/form-data body part by part, and each
// file goes to disk as it arrives (never all in memory), hashed on the way. The answer lists each
// file's size and sha256, and the text fields.
//
//   npx tsx examples/multipart-upload/server.ts
//   curl -F note=hello -F photo=@picture.jpg -F doc=@report.pdf http://127.0.0.1:8080/upload

import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { web } from "aiohttp-ts";

const uploads = await mkdtemp(join(tmpdir(), "uploads-"));

interface StoredFile {
  field: string | null;
  filename: string;
  size: number;
  sha256: string;
}

/** Writes one file part to a new file under `uploads`, hashing it on the way. */
async function store(part: web.BodyPartReader, filename: string): Promise<StoredFile> {
  const hash = createHash("sha256");
  let size = 0;
  // The client's filename is only reported: the file on disk gets a name of our own.
  await pipeline(
    part.stream(),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(join(uploads, randomUUID())),
  );
  return { field: part.name, filename, size, sha256: hash.digest("hex") };
}

const app = new web.Application();

app.router.addPost("/upload", async (request) => {
  const files: StoredFile[] = [];
  const fields: Record<string, string> = {};
  // A non-multipart request is a 400; a malformed body, found while reading, too.
  for await (const part of await request.multipart()) {
    if (part instanceof web.MultipartReader) {
      // A nested multipart/mixed part (several files under one field): the same API inside.
      for await (const inner of part) {
        if (inner instanceof web.BodyPartReader)
          files.push(await store(inner, inner.filename ?? ""));
      }
    } else if (part.filename !== null) {
      files.push(await store(part, part.filename));
    } else if (part.name !== null) {
      fields[part.name] = await part.text();
    }
  }
  return web.jsonResponse({ files, fields });
});

app.onCleanup.push(async () => {
  await rm(uploads, { recursive: true, force: true });
});

web.runApp(app, { port: Number(process.env.PORT ?? 8080) });
