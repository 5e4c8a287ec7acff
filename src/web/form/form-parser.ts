// `multipart/form-data` for `request.post()`: the parts come from the shared MultipartReader
// (on Dicer, the parser inside @fastify/busboy), as aiohttp's post() reads its own
// multipart(); this module turns them into fields and files and enforces the form limits.

import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { finished } from "node:stream/promises";
import type { CIMultiDictProxy } from "../../http/multidict.js";
import type { BodyPartReader } from "../../http/multipart/body-part-reader.js";
import { MultipartReader, type MultipartSource } from "../../http/multipart/multipart-reader.js";
import { HTTPRequestEntityTooLarge } from "../exceptions.js";
import { FileField } from "./file-field.js";
import type { ResolvedFormLimits } from "./form-limits.js";
import { multipartHttpError } from "./multipart-errors.js";
import { badRequest, describePart } from "./part-headers.js";
import type { UploadDir } from "./temp-files.js";

/** A value of `request.post()`: a text field, or a file (or other binary part). */
export type FormValue = string | FileField;

/** What parsing a form needs besides the body. */
export interface FormParseOptions {
  readonly limits: ResolvedFormLimits;
  /** Most bytes of field and file content in total (0: no limit), the app's `clientMaxSize`. */
  readonly maxSize: number;
  /** The request's temporary directory, for files over `limits.maxMemoryFileSize`. */
  readonly uploadDir: () => UploadDir;
}

type Entry = [string, FormValue];

/**
 * Parses a `multipart/form-data` body into fields and files. Parts without a file name and
 * with no or a `text/*` Content-Type are strings; the others are `FileField`s. Over a limit
 * or on a malformed body it rejects with an `HTTPException` (413 or 400); temporary files
 * written until then are left to the request's cleanup.
 */
export async function parseMultipart(
  headers: CIMultiDictProxy,
  body: MultipartSource,
  options: FormParseOptions,
): Promise<Entry[]> {
  const { limits } = options;
  const reader = new MultipartReader(headers, body, {
    // Each line is held to maxPartHeaderSize below, as aiohttp does; the block's bound only
    // keeps what the parser buffers in proportion.
    maxHeaderSize: limits.maxPartHeaders * (limits.maxPartHeaderSize + 2),
    maxHeaderCount: limits.maxPartHeaders,
    // A part decoding (below) past what the whole form may hold is a 413; without a limit on
    // the form, the reader's own cap still stops a bomb.
    ...(options.maxSize > 0 ? { maxDecodedSize: options.maxSize } : {}),
    mapError: multipartHttpError,
  });
  const entries: Entry[] = [];
  const counter = { total: 0 };
  for await (const part of reader) {
    if (entries.length === limits.maxParts) {
      throw new HTTPRequestEntityTooLarge(limits.maxParts, entries.length + 1, {
        text: `Too many parts in the form (at most ${limits.maxParts})`,
      });
    }
    if (part instanceof MultipartReader) {
      throw badRequest("A form field cannot be a nested multipart body; use request.multipart()");
    }
    entries.push(await readPart(part, options, counter));
  }
  return entries;
}

/** Reads one part into a string or a FileField, counting its bytes towards the total size. */
async function readPart(
  part: BodyPartReader,
  options: FormParseOptions,
  counter: { total: number },
): Promise<Entry> {
  const { limits, maxSize } = options;
  const meta = describePart(part, limits);
  const chunks: Buffer[] = [];
  let size = 0;
  let file: WriteStream | null = null;
  let path = "";
  try {
    for await (const chunk of part) {
      counter.total += chunk.length;
      if (maxSize > 0 && counter.total > maxSize) {
        throw new HTTPRequestEntityTooLarge(maxSize, counter.total);
      }
      size += chunk.length;
      if (file !== null) {
        await write(file, chunk);
        continue;
      }
      chunks.push(chunk);
      if (meta.filename !== null && size > limits.maxMemoryFileSize) {
        path = await options.uploadDir().newFile();
        file = createWriteStream(path, { flags: "wx" });
        file.on("error", () => {}); // seen through write() and finished()
        for (const held of chunks.splice(0)) await write(file, held);
      }
    }
    if (file !== null) {
      file.end();
      await finished(file);
    }
  } catch (err) {
    file?.destroy();
    throw err;
  }
  let onDisk = file !== null;
  if (isEncoded(part)) {
    // aiohttp's post() undoes a part's Content-Transfer-Encoding and Content-Encoding too. The
    // encoded bytes were counted and are at most maxSize, so decoding them whole is bounded.
    const decoded = part.decode(onDisk ? await readFile(path) : Buffer.concat(chunks, size));
    counter.total += decoded.length - size;
    if (maxSize > 0 && counter.total > maxSize) {
      throw new HTTPRequestEntityTooLarge(maxSize, counter.total);
    }
    chunks.splice(0, chunks.length, decoded);
    size = decoded.length;
    if (!onDisk && meta.filename !== null && size > limits.maxMemoryFileSize) {
      path = await options.uploadDir().newFile();
      onDisk = true;
    }
    if (onDisk) await writeFile(path, decoded);
  }
  if (meta.filename === null) return [meta.name, decodeText(chunks, meta.charset)];
  const content = onDisk ? { path } : { data: Buffer.concat(chunks, size) };
  return [
    meta.name,
    new FileField({
      name: meta.name,
      filename: meta.filename,
      contentType: meta.contentType ?? "application/octet-stream",
      headers: part.headers,
      size,
      content,
    }),
  ];
}

/** Whether the part has a Content-Transfer-Encoding or Content-Encoding to undo. */
function isEncoded(part: BodyPartReader): boolean {
  const transfer = part.headers.get("Content-Transfer-Encoding")?.trim().toLowerCase();
  const coding = part.headers.get("Content-Encoding")?.trim().toLowerCase();
  return (
    !(transfer === undefined || PLAIN_TRANSFER.has(transfer)) ||
    !(coding === undefined || coding === "" || coding === "identity")
  );
}

/** RFC 2045 6.1: transfer encodings that leave the bytes as they are. */
const PLAIN_TRANSFER = new Set(["", "7bit", "8bit", "binary"]);

async function write(file: WriteStream, chunk: Buffer): Promise<void> {
  if (file.errored !== null) throw file.errored;
  if (!file.write(chunk)) await once(file, "drain");
}

function decodeText(chunks: Buffer[], charset: string): string {
  const bytes = Buffer.concat(chunks);
  const lower = charset.toLowerCase();
  if (lower === "utf-8" || lower === "utf8") return bytes.toString("utf8");
  try {
    return new TextDecoder(lower).decode(bytes);
  } catch (err) {
    throw badRequest(`Unsupported charset in a form field: ${charset}`, err);
  }
}
