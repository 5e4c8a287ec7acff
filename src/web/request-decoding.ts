// Request bodies sent with `Content-Encoding` (gzip, deflate, br, zstd): the body is read through
// decompressors, and the reader on top caps the decompressed size, so a small compressed body
// cannot expand into memory (the reader pauses the decompressor, which stops inflating).

import type { IncomingMessage } from "node:http";
import { type Readable, Transform, type TransformCallback } from "node:stream";
import * as zlib from "node:zlib";
import { createZstdDecompress, HAS_ZSTD } from "../http/compression.js";
import { StreamClosedError, type StreamReadError, StreamReader } from "../http/stream-reader.js";
import {
  HTTPBadRequest,
  HTTPRequestEntityTooLarge,
  HTTPUnsupportedMediaType,
} from "./exceptions.js";

/**
 * The default of `ApplicationOptions.maxDecompressSize`, 32 MiB: the value of aiohttp 3.12's
 * `DEFAULT_MAX_DECOMPRESS_SIZE`. aiohttp applies it to each decompressed chunk; here it caps
 * a whole streamed body, since backpressure already bounds the memory per chunk.
 */
export const DEFAULT_MAX_DECOMPRESS_SIZE = 2 ** 25;

const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: () => zlib.createGunzip(),
  "x-gzip": () => zlib.createGunzip(),
  deflate: () => new InflateAny(),
  br: () => zlib.createBrotliDecompress(),
  ...(HAS_ZSTD ? { zstd: () => createZstdDecompress() as Transform } : {}),
};

/**
 * The codings of a `Content-Encoding` header in the order they were applied, without
 * `identity`; an empty list for a body sent as is. A coding this server cannot decode is a 415.
 */
export function requestCodings(header: string | undefined): string[] {
  if (header === undefined) return [];
  const codings: string[] = [];
  for (const item of header.split(",")) {
    const coding = item.trim().toLowerCase();
    if (coding === "" || coding === "identity") continue;
    if (DECODERS[coding] === undefined) {
      throw new HTTPUnsupportedMediaType({
        text: `Unsupported Content-Encoding: ${JSON.stringify(item.trim())}`,
      });
    }
    codings.push(coding);
  }
  return codings;
}

/**
 * A reader of the decoded body of `raw` (read from `body`: the message itself, or its HTTP/2
 * stream), which fails with 413 once more than `maxSize` decoded bytes came (0: no limit), and
 * with 400 when the data cannot be decoded.
 */
export function decodedReader(
  raw: IncomingMessage,
  body: Readable,
  codings: string[],
  maxSize: number,
): StreamReader {
  // The last coding applied is undone first.
  const decoders = [...codings].reverse().map((coding) => (DECODERS[coding] as () => Transform)());
  let source: NodeJS.ReadableStream = body;
  for (const decoder of decoders) source = source.pipe(decoder);
  const first = decoders[0] as Transform;
  const last = decoders[decoders.length - 1] as Transform;
  const stopDecoding = (err: Error): void => {
    body.unpipe(first);
    for (const decoder of decoders) decoder.destroy(err);
  };
  // pipe() does not pass on the end of a connection cut short, nor errors.
  const onClose = (): void => {
    if (!raw.complete) stopDecoding(connectionClosed());
  };
  body.once("close", onClose);
  for (const decoder of decoders) {
    decoder.on("error", (err: Error) => {
      body.off("close", onClose);
      body.unpipe(first);
      // The rest of the compressed body is read and dropped (not decoded), so that the 400 can
      // be answered without a stalled connection.
      body.resume();
      if (decoder !== last) last.destroy(err);
    });
  }
  last.once("end", () => body.off("close", onClose));
  return new StreamReader(last, {
    ...(maxSize > 0 ? { maxSize } : {}),
    onTooLarge: (received, limit) =>
      new HTTPRequestEntityTooLarge(limit, received, {
        text: `Decompressed request body larger than ${limit} bytes`,
      }),
    mapError: (err: StreamReadError) =>
      err instanceof StreamClosedError
        ? err
        : new HTTPBadRequest({
            text: `Cannot decode the request body (Content-Encoding: ${codings.join(", ")})`,
            cause: err,
          }),
  });
}

/**
 * `deflate` is the zlib format (RFC 9110 8.4.1.2), but some clients send a raw deflate stream;
 * like aiohttp, both are accepted, told apart by the first byte (a zlib header names method 8).
 */
class InflateAny extends Transform {
  #inner: zlib.Inflate | zlib.InflateRaw | null = null;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#inner ??= this.#start(chunk);
    if (this.#inner.write(chunk)) done();
    else this.#inner.once("drain", done);
  }

  override _flush(done: TransformCallback): void {
    const inner = this.#inner;
    if (inner === null) {
      done();
      return;
    }
    inner.once("end", () => done());
    inner.end();
  }

  override _read(size: number): void {
    this.#inner?.resume();
    super._read(size);
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    this.#inner?.destroy();
    done(err);
  }

  #start(first: Buffer): zlib.Inflate | zlib.InflateRaw {
    const inner =
      ((first[0] as number) & 0x0f) === 8 ? zlib.createInflate() : zlib.createInflateRaw();
    inner.on("data", (data: Buffer) => {
      if (!this.push(data)) inner.pause();
    });
    inner.on("error", (err) => this.destroy(err));
    return inner;
  }
}

function connectionClosed(): Error {
  return Object.assign(new Error("Connection closed before the body was complete"), {
    code: "ECONNRESET",
  });
}
