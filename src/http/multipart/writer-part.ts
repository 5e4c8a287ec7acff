// One part of a MultipartWriter (aiohttp's Payload): its headers, its size when known, and its
// bytes as a stream read once or, for values held in memory, as often as needed.

import { statSync } from "node:fs";
import { basename } from "node:path";
import { Readable } from "node:stream";
import { CIMultiDict } from "../multidict.js";
import { codedSize, encodeChunks, partCoding } from "./writer-coding.js";
import { checkHeaderValue, contentDisposition } from "./writer-headers.js";

/** What a part can be made of. */
export type PartValue =
  | string
  | Uint8Array
  | Blob
  | Readable
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>;

/** Headers given with a part: a record or name/value pairs. */
export type PartHeaders = Readonly<Record<string, string>> | Iterable<readonly [string, string]>;

/** The bytes of a part, with what is known about them. */
export interface PartBody {
  /** Byte length, or `null` when only reading will tell. */
  readonly size: number | null;
  /** Whether `chunks()` may be called more than once. */
  readonly replayable: boolean;
  /** The type the value implies (a Blob's own type, UTF-8 text...). */
  readonly contentType: string;
  /** A name the value carries: a File's name, a file stream's basename. */
  readonly filename: string | null;
  chunks(): AsyncIterable<Uint8Array>;
}

const OCTETS = "application/octet-stream";
const encoder = new TextEncoder();

/**
 * A part of a multipart body. `headers` may be changed until the writer is read; the
 * Content-Type defaults to what the value implies.
 */
export class BodyPart {
  /** The part's headers, written in this order. */
  readonly headers: CIMultiDict;
  readonly #body: PartBody;

  /**
   * @param body the bytes and what is known about them
   * @param headers headers of the caller, checked for line breaks
   */
  constructor(body: PartBody, headers: PartHeaders = {}) {
    this.#body = body;
    this.headers = new CIMultiDict();
    const pairs: Iterable<readonly [string, string]> =
      Symbol.iterator in headers ? headers : Object.entries(headers);
    for (const [name, value] of pairs) this.headers.add(name, checkHeaderValue(name, value));
    if (!this.headers.has("Content-Type")) this.headers.set("Content-Type", body.contentType);
    // A coding the writer cannot apply fails here, not once the body is being sent.
    partCoding(this.headers);
  }

  /**
   * The byte length of the content as written (base64 included), or `null` when unknown (a
   * stream, a compressed or quoted-printable part).
   */
  get size(): number | null {
    return codedSize(this.#body.size, partCoding(this.headers));
  }

  /** Whether the content can be written more than once. */
  get replayable(): boolean {
    return this.#body.replayable;
  }

  /** The name the value carries (a File's, a file stream's basename), or `null`. */
  get valueFilename(): string | null {
    return this.#body.filename;
  }

  /**
   * Sets Content-Disposition (aiohttp's `set_content_disposition`); parameter values are
   * quoted as browsers do, so they never break the header line.
   * @example part.setContentDisposition("attachment", { filename: "report.pdf" })
   */
  setContentDisposition(type: string, params: Readonly<Record<string, string>> = {}): this {
    this.headers.set("Content-Disposition", contentDisposition(type, params));
    return this;
  }

  /**
   * The content's bytes as written: compressed when the part's Content-Encoding is gzip or
   * deflate, then encoded when its Content-Transfer-Encoding is base64 or quoted-printable.
   * @throws {TypeError} for another coding in those headers
   */
  chunks(): AsyncIterable<Uint8Array> {
    const coding = partCoding(this.headers);
    const chunks = this.#body.chunks();
    return coding.compress === null && coding.transfer === null
      ? chunks
      : encodeChunks(chunks, coding);
  }
}

/** The body of a value: its bytes, its size when known and whether it can be read again. */
export function partBody(value: PartValue): PartBody {
  if (typeof value === "string") {
    return bytesBody(encoder.encode(value), "text/plain; charset=utf-8");
  }
  if (value instanceof Uint8Array) return bytesBody(value, OCTETS);
  if (value instanceof Blob) {
    return {
      size: value.size,
      replayable: true,
      contentType: value.type || OCTETS,
      filename: typeof File !== "undefined" && value instanceof File ? value.name : null,
      // Sound: Node's web ReadableStream is async-iterable; the DOM typings do not say so.
      chunks: () => value.stream() as unknown as AsyncIterable<Uint8Array>,
    };
  }
  if (value instanceof Readable) return readableBody(value);
  // A web ReadableStream is async-iterable in Node 20.
  return onceBody(value as AsyncIterable<Uint8Array>, null, null);
}

/** A body of bytes held in memory. */
export function bytesBody(bytes: Uint8Array, contentType: string): PartBody {
  return {
    size: bytes.byteLength,
    replayable: true,
    contentType,
    filename: null,
    async *chunks() {
      yield bytes;
    },
  };
}

/** A stream, read once; a file stream (`fs.createReadStream`) knows its name and size. */
function readableBody(stream: Readable): PartBody {
  const path = (stream as Readable & { path?: unknown }).path;
  if (typeof path !== "string" && !(path instanceof Buffer)) return onceBody(stream, null, null);
  const name = basename(path.toString());
  return onceBody(stream, fileStreamSize(stream, path), name);
}

/** The bytes a file stream will read: the file's size, or its `start`/`end` range. */
function fileStreamSize(stream: Readable, path: string | Buffer): number | null {
  const range = stream as Readable & { start?: number; end?: number; bytesRead?: number };
  if (range.bytesRead !== undefined && range.bytesRead > 0) return null;
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return null;
    size = stat.size;
  } catch {
    return null;
  }
  const start = range.start ?? 0;
  const end =
    range.end === undefined || range.end === Number.POSITIVE_INFINITY
      ? size - 1
      : Math.min(range.end, size - 1);
  return Math.max(0, end - start + 1);
}

function onceBody(
  source: AsyncIterable<Uint8Array>,
  size: number | null,
  filename: string | null,
): PartBody {
  let used = false;
  return {
    size,
    replayable: false,
    contentType: OCTETS,
    filename,
    chunks() {
      if (used) throw new TypeError("A part made of a stream can be written only once");
      used = true;
      return source;
    },
  };
}
