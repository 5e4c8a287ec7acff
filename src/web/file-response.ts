// web.FileResponse (aiohttp's FileResponse): sends a file from disk in chunks with
// backpressure, with validators, conditional requests, ranges and precompressed siblings.

import { fileURLToPath } from "node:url";
import { acceptedCodings } from "./file/accept-encoding.js";
import { byteRangesBody } from "./file/byteranges.js";
import { evaluatePreconditions, ifRangeHolds, type Validators } from "./file/conditional.js";
import type { FileHandle } from "./file/descriptor.js";
import { fileETag } from "./file/etag.js";
import { formatHttpDate } from "./file/http-date.js";
import { contentTypeOf } from "./file/mime.js";
import { openFile, type SiblingSymlinks } from "./file/open.js";
import { type ByteRange, contentRange, parseRange } from "./file/ranges.js";
import { ChunkBuffers, sendRange } from "./file/send-range.js";
import type { Request } from "./request.js";
import { appendVary, StreamResponse, type StreamResponseOptions } from "./response.js";
import { STATUS_REASONS } from "./status.js";
import { kFinish, kSiblingSymlinks } from "./symbols.js";

/** Options of `FileResponse`. */
export interface FileResponseOptions extends StreamResponseOptions {
  /**
   * Bytes read from disk and written to the socket at a time; the most a response holds in
   * memory besides what the socket buffers.
   * @default 262144 (256 KiB)
   */
  chunkSize?: number;
}

const DEFAULT_CHUNK_SIZE = 256 * 1024;

/**
 * A response that sends a file when the server finishes it (or when `prepare()` is called):
 * 404 when it does not exist, 403 when it is a directory or cannot be read. A 200 response
 * carries `Last-Modified`, a strong `ETag` and `Accept-Ranges: bytes`, answers conditional
 * requests with 304 or 412 and `Range` requests with 206 (several ranges as
 * `multipart/byteranges`) or 416. A `.br`, `.zst` or `.gz` file beside it is sent instead
 * when the client accepts that coding.
 *
 * @example
 * app.router.addGet("/report", () => new web.FileResponse("./report.pdf"));
 */
export class FileResponse extends StreamResponse {
  /** The file's path. */
  readonly path: string;
  /** Bytes read and written at a time. */
  readonly chunkSize: number;
  #siblingSymlinks: SiblingSymlinks = "never";
  #sending: Promise<void> | null = null;
  // Bytes written straight to the socket, past StreamResponse's count.
  #copied = 0;
  // The Content-Encoding of the precompressed sibling being sent, if one is.
  #coding: string | null = null;

  constructor(path: string | URL, options: FileResponseOptions = {}) {
    const { chunkSize = DEFAULT_CHUNK_SIZE, ...rest } = options;
    super(rest);
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
      throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
    }
    this.path = typeof path === "string" ? path : fileURLToPath(path);
    this.chunkSize = chunkSize;
  }

  /**
   * @internal how a precompressed sibling that is a symlink is treated; static routes pass
   * their own rule
   */
  [kSiblingSymlinks](rule: SiblingSymlinks): this {
    this.#siblingSymlinks = rule;
    return this;
  }

  /** Sends the head and the file; calling it again does nothing. */
  override prepare(request: Request): Promise<void> {
    this.#sending ??= this.#send(request);
    return this.#sending;
  }

  /** @internal the server finishes the response: the file is sent now */
  override [kFinish](request: Request): Promise<void> {
    return this.prepare(request);
  }

  async #send(request: Request): Promise<void> {
    const headers = this.headers;
    // A Content-Encoding set by the user says what the file already is: no sibling replaces it.
    const accepts = headers.has("Content-Encoding")
      ? null
      : acceptedCodings(request.headers.get("Accept-Encoding"));
    const opened = await openFile(this.path, accepts, this.#siblingSymlinks);
    if (opened.varies) appendVary(headers);
    if (opened.kind !== "file") {
      await this.#sendError(request, opened.kind === "missing" ? 404 : 403);
      return;
    }
    const { handle, stats, coding } = opened;
    this.#coding = coding;
    try {
      if (coding !== null) headers.set("Content-Encoding", coding);
      const size = Number(stats.size);
      let ranges: ByteRange[] | null = null;
      if (this.status === 200) {
        const validators: Validators = {
          etag: fileETag(stats),
          lastModified: Math.floor(Number(stats.mtimeMs) / 1000),
        };
        // RFC 9110 8.8.1: a strong tag names one sequence of bytes; compressing on the fly
        // makes others from the same file, so the tag sent is weak then (as nginx does).
        const onTheFly = coding === null && this.compression;
        headers.set("ETag", onTheFly ? `W/${validators.etag}` : validators.etag);
        headers.set("Last-Modified", formatHttpDate(Number(stats.mtimeMs)));
        const outcome = evaluatePreconditions(request.headers, request.method, validators);
        if (outcome !== "proceed") {
          await this.#sendEmpty(request, outcome === "not-modified" ? 304 : 412);
          return;
        }
        // Compressing on the fly makes another representation, whose bytes no range of the
        // file's describes: such a response is sent whole, as nginx does.
        const rangeable = !onTheFly;
        if (rangeable) {
          headers.set("Accept-Ranges", "bytes");
          // RFC 9110 14.2: Range is for GET only; If-Range may veto it.
          const range = request.method === "GET" ? request.headers.get("Range") : undefined;
          if (range !== undefined && ifRangeHolds(request.headers, validators)) {
            const asked = parseRange(range, size);
            if (asked.kind === "unsatisfiable") {
              headers.set("Content-Range", `bytes */${size}`);
              await this.#sendEmpty(request, 416);
              return;
            }
            // Parts of an encoded sibling would each need their own coding: several ranges of
            // one are answered with the whole sibling.
            if (asked.kind === "ranges" && (asked.ranges.length === 1 || coding === null)) {
              ranges = asked.ranges;
            }
          }
        }
      }
      if (!headers.has("Content-Type")) headers.set("Content-Type", contentTypeOf(this.path));
      if (ranges === null) {
        this.contentLength = size;
        await super.prepare(request);
        if (request.method !== "HEAD") {
          await this.#copy(request, handle, new ChunkBuffers(this.chunkSize, size), 0, size - 1);
        }
      } else if (ranges.length === 1) {
        const only = ranges[0]!;
        const length = only.end - only.start + 1;
        this.setStatus(206);
        headers.set("Content-Range", contentRange(only, size));
        this.contentLength = length;
        await super.prepare(request);
        const buffers = new ChunkBuffers(this.chunkSize, length);
        await this.#copy(request, handle, buffers, only.start, only.end);
      } else {
        const body = byteRangesBody(ranges, size, headers.get("Content-Type")!);
        this.setStatus(206);
        headers.set("Content-Type", body.contentType);
        this.contentLength = body.length;
        await super.prepare(request);
        const buffers = new ChunkBuffers(this.chunkSize, body.length);
        for (const part of body.parts) {
          await this.write(part.head);
          await this.#copy(request, handle, buffers, part.range.start, part.range.end);
        }
        await this.write(body.tail);
      }
      await this.writeEof();
    } finally {
      // Not awaited: the response is complete without it, and a close cannot fail usefully.
      void handle.close().catch(() => {});
    }
  }

  /** Bytes of body written so far. */
  override get bodyLength(): number {
    return super.bodyLength + this.#copied;
  }

  /** Writes bytes `start` to `end` (included) of the file, a chunk at a time. */
  async #copy(
    request: Request,
    handle: FileHandle,
    buffers: ChunkBuffers,
    start: number,
    end: number,
  ): Promise<void> {
    // The socket takes the file's bytes straight from the read buffers unless a compressor
    // must see them (a precompressed sibling is never compressed again). Asked once the head
    // is out: an onResponsePrepare callback may have enabled compression.
    if (this.#coding !== null || !this.compression) {
      this.#copied += await sendRange(handle, request.rawResponse, buffers, start, end, this.path);
      return;
    }
    // Through write(), for the compressor: a fresh buffer each time, as it may keep the last.
    for (let position = start; position <= end; ) {
      const length = Math.min(buffers.size, end - position + 1);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      if (bytesRead === 0) throw new Error(`${this.path} is shorter than its announced length`);
      position += bytesRead;
      await this.write(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
    }
  }

  /** A bodiless answer to a condition or range: 304, 412 or 416. */
  async #sendEmpty(request: Request, status: number): Promise<void> {
    this.setStatus(status);
    if (status !== 304) this.contentLength = 0;
    await super.prepare(request);
    await this.writeEof();
  }

  /** 404 or 403, with the text an HTTP exception of that status has. */
  async #sendError(request: Request, status: number): Promise<void> {
    const text = `${status}: ${STATUS_REASONS[status]}`;
    const headers = this.headers;
    this.setStatus(status);
    headers.set("Content-Type", "text/plain; charset=utf-8");
    headers.delete("Content-Encoding");
    this.contentLength = Buffer.byteLength(text);
    await super.prepare(request);
    await this.writeEof(request.method === "HEAD" ? undefined : text);
  }
}
