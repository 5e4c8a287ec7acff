// `multipart/form-data` for `request.post()`: the multipart framing is parsed by Dicer, the
// parser inside @fastify/busboy (Busboy itself hides the part headers that FileField exposes);
// this module turns parts into fields and files, and enforces the form limits.

import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { Dicer } from "@fastify/busboy";
import { HTTPRequestEntityTooLarge } from "../exceptions.js";
import { FileField } from "./file-field.js";
import type { ResolvedFormLimits } from "./form-limits.js";
import { badRequest, describePart, type PartHeaders } from "./part-headers.js";
import type { UploadDir } from "./temp-files.js";

/** A value of `request.post()`: a text field, or a file (or other binary part). */
export type FormValue = string | FileField;

/** Where the body comes from: `readany()` returns an empty Buffer at its end. */
export interface BodySource {
  readany(): Promise<Buffer>;
}

/** What parsing a form needs besides the body. */
export interface FormParseOptions {
  readonly limits: ResolvedFormLimits;
  /** Most bytes of field and file content in total (0: no limit), the app's `clientMaxSize`. */
  readonly maxSize: number;
  /** The request's temporary directory, for files over `limits.maxMemoryFileSize`. */
  readonly uploadDir: () => UploadDir;
}

type Entry = [string, FormValue];

/** Dicer's part: a Readable that emits `header` with lower-cased names and latin1 values. */
type Part = Dicer.PartStream;

// RFC 2046 5.1.1: 1 to 70 characters, not ending in a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/** The multipart boundary of a `Content-Type`, or a 400 when it is missing or invalid. */
export function multipartBoundary(params: Readonly<Record<string, string>>): string {
  const boundary = params.boundary;
  if (boundary === undefined) throw badRequest("Missing boundary in multipart/form-data");
  if (!BOUNDARY.test(boundary)) throw badRequest("Invalid boundary in multipart/form-data");
  return boundary;
}

/**
 * Parses a `multipart/form-data` body into fields and files. Parts without a file name and
 * with no or a `text/*` Content-Type are strings; the others are `FileField`s. Over a limit
 * or on a malformed body it rejects with an `HTTPException` (413 or 400); temporary files
 * written until then are left to the request's cleanup.
 */
export function parseMultipart(
  body: BodySource,
  boundary: string,
  options: FormParseOptions,
): Promise<Entry[]> {
  const { limits } = options;
  const dicer = new Dicer({
    boundary,
    maxHeaderPairs: limits.maxPartHeaders + 1,
    // Enough for the most and longest lines allowed, so that a truncated block breaks a limit.
    maxHeaderSize: limits.maxPartHeaders * (limits.maxPartHeaderSize + 2) + 2,
  } as Dicer.Config);
  const counter = { total: 0 };
  const active = new Set<Part>();
  const results: Promise<Entry>[] = [];
  let parts = 0;
  let headless = 0;
  let failed: unknown = null;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });

  return new Promise<Entry[]>((resolve, reject) => {
    const fail = (err: unknown): void => {
      if (failed !== null) return;
      failed = err;
      stop();
      for (const part of active) part.destroy();
      dicer.destroy();
      reject(err);
    };
    dicer.on("part", (part: Part) => {
      part.on("error", () => {}); // reported through the part's reader or Dicer itself
      if (++parts > limits.maxParts) {
        fail(
          new HTTPRequestEntityTooLarge(limits.maxParts, parts, {
            text: `Too many parts in the form (at most ${limits.maxParts})`,
          }),
        );
        return;
      }
      headless++;
      active.add(part);
      part.once("header", (header: object) => {
        headless--;
        const reading = readPart(part, header as PartHeaders, options, counter);
        reading.then(
          () => active.delete(part),
          (err: unknown) => fail(err),
        );
        results.push(reading);
      });
    });
    dicer.on("error", (err: Error) => fail(badRequest(`Malformed multipart body: ${err.message}`)));
    const parsed = once(dicer, "finish");
    const fed = feed(body, dicer, parsed, stopped);
    Promise.all([parsed, fed])
      .then(async () => {
        if (failed !== null) return;
        if (headless > 0) throw badRequest("Malformed multipart body: a part has no headers");
        resolve(await Promise.all(results));
      }, fail)
      .catch(fail);
  });
}

/**
 * Writes the body into the parser with backpressure, until its end. Once the parser has seen
 * the final delimiter the rest (an epilogue) is read and dropped: Dicer may then hold the
 * callback of the last write forever, so its 'drain' is not waited for.
 */
async function feed(
  body: BodySource,
  dicer: Dicer,
  parsed: Promise<unknown>,
  stopped: Promise<void>,
): Promise<void> {
  let finished = false;
  parsed.then(
    () => {
      finished = true;
    },
    () => {},
  );
  for (;;) {
    const chunk = await Promise.race([body.readany(), stopped]);
    if (chunk === undefined) return;
    if (chunk.length === 0) break;
    if (finished) continue;
    if (!dicer.write(chunk)) await Promise.race([once(dicer, "drain"), parsed, stopped]);
  }
  if (!finished) dicer.end();
}

/** Reads one part into a string or a FileField, counting its bytes towards the total size. */
async function readPart(
  part: Part,
  header: PartHeaders,
  options: FormParseOptions,
  counter: { total: number },
): Promise<Entry> {
  const { limits, maxSize } = options;
  const meta = describePart(header, limits);
  const chunks: Buffer[] = [];
  let size = 0;
  let file: WriteStream | null = null;
  let path = "";
  try {
    for await (const chunk of part as AsyncIterable<Buffer>) {
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
  if (meta.filename === null) return [meta.name, decodeText(chunks, meta.charset)];
  const content = file === null ? { data: Buffer.concat(chunks, size) } : { path };
  return [
    meta.name,
    new FileField({
      name: meta.name,
      filename: meta.filename,
      contentType: meta.contentType ?? "application/octet-stream",
      headers: meta.headers,
      size,
      content,
    }),
  ];
}

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
