// How a prepared request body goes on the wire when a request asks for more than undici's
// default framing: compressed on the fly (`compress`), chunked although its length is known
// (`chunked`), or counted as it is handed to the connection (`onUploadProgress`). Each is a
// stream stage, so a body of any size is never held in memory.

import { Readable, Transform, type TransformCallback } from "node:stream";
import { createDeflate, createGzip } from "node:zlib";
import type { FormData as UndiciFormData } from "undici";
import type { CIMultiDict } from "../http/multidict.js";
import type { PreparedBody } from "./body.js";
import { ClientOptionError } from "./errors.js";
import { undici } from "./lazy-deps.js";
import { countedUpload, type ProgressCallback } from "./progress.js";

/** The request options that change how a body is framed. */
export interface WireOptions {
  readonly compress?: boolean | "deflate" | "gzip" | undefined;
  readonly chunked?: boolean | undefined;
}

/** Upload slices: a large string or buffer body reports progress as it goes, not at the end. */
const SLICE = 64 * 1024;

/** The encoding `compress` asks for, or `null`; throws on a value that is not one. */
export function compressEncoding(compress: WireOptions["compress"]): "deflate" | "gzip" | null {
  if (compress === undefined || compress === false) return null;
  // aiohttp: `compress=True` means deflate.
  if (compress === true || compress === "deflate") return "deflate";
  if (compress === "gzip") return "gzip";
  throw new ClientOptionError(
    "compress",
    `compress must be true, false, "deflate" or "gzip", got ${JSON.stringify(compress)}`,
  );
}

/** Throws `ClientOptionError` for a body option of the wrong type (JavaScript callers). */
export function checkWireOptions(options: WireOptions & CheckedOptions): void {
  compressEncoding(options.compress);
  if (options.chunked !== undefined && typeof options.chunked !== "boolean") {
    throw new ClientOptionError(
      "chunked",
      `chunked must be a boolean, got ${typeof options.chunked}`,
    );
  }
  if (options.expect100 !== undefined && typeof options.expect100 !== "boolean") {
    throw new ClientOptionError(
      "expect100",
      `expect100 must be a boolean, got ${typeof options.expect100}`,
    );
  }
  for (const name of PROGRESS_OPTIONS) {
    const value = options[name];
    if (value !== undefined && typeof value !== "function") {
      throw new ClientOptionError(name, `${name} must be a function, got ${typeof value}`);
    }
  }
}

/** Made once: `checkWireOptions` runs for every request. */
const PROGRESS_OPTIONS = ["onUploadProgress", "onDownloadProgress"] as const;

/** The other request options `checkWireOptions` checks. */
interface CheckedOptions {
  readonly expect100?: boolean | undefined;
  readonly onUploadProgress?: ProgressCallback | undefined;
  readonly onDownloadProgress?: ProgressCallback | undefined;
}

/**
 * Checks the request's headers against `compress` and `chunked` as aiohttp does, and sets the
 * ones they imply on `headers`. Returns the coding to apply and whether the body goes chunked.
 */
export function frameHeaders(
  headers: CIMultiDict,
  options: WireOptions,
  hasBody: boolean,
): { encoding: "deflate" | "gzip" | null; chunked: boolean } {
  const encoding = compressEncoding(options.compress);
  let chunked = options.chunked === true;
  if (encoding !== null) {
    if (headers.has("Content-Encoding")) {
      throw new ClientOptionError(
        "compress",
        "compress cannot be set together with a Content-Encoding header",
      );
    }
    if (hasBody) {
      headers.set("Content-Encoding", encoding);
      // The compressed length is known only at the end: aiohttp sends it chunked.
      chunked = true;
    }
  }
  if (chunked && headers.has("Content-Length")) {
    const name = options.chunked === true ? "chunked" : "compress";
    throw new ClientOptionError(
      name,
      `${name} cannot be set together with a Content-Length header`,
    );
  }
  return { encoding: hasBody ? encoding : null, chunked: hasBody && chunked };
}

/** What undici is handed for `body`, with Content-Type when building it decided one. */
export interface WireBody {
  readonly body: PreparedBody["body"];
  /** Content-Type of a serialized FormData (its boundary), else `undefined`. */
  readonly contentType: string | undefined;
  /** The length to declare for a stream made of a body of known length, else `null`. */
  readonly contentLength: number | null;
}

/** No body: what most requests (a GET) send, shared. */
const NO_WIRE_BODY: WireBody = Object.freeze({
  body: null,
  contentType: undefined,
  contentLength: null,
});

/**
 * The body as sent: `prepared` itself when nothing is asked, else a stream that compresses,
 * hides the length (undici then sends it chunked) and counts, as asked. `declaredLength` is a
 * caller's Content-Length header, the total of a stream's progress; `knownLength` the length
 * of a stream body whose size is known (a multipart body of known parts) and that the caller
 * did not frame, declared unless the body is compressed or chunked.
 */
export function wireBody(
  prepared: PreparedBody,
  frame: { encoding: "deflate" | "gzip" | null; chunked: boolean },
  onProgress: ProgressCallback | undefined,
  declaredLength: number | null,
  knownLength: number | null = null,
): WireBody {
  const source = prepared.body;
  if (source === null && knownLength === null) return NO_WIRE_BODY;
  if (source === null || (frame.encoding === null && !frame.chunked && onProgress === undefined)) {
    return { body: source, contentType: undefined, contentLength: knownLength };
  }
  let contentType: string | undefined;
  let total: number | null = declaredLength ?? knownLength;
  let stream: Readable;
  if (typeof source === "string" || source instanceof Uint8Array) {
    const bytes = typeof source === "string" ? Buffer.from(source) : source;
    total = bytes.byteLength;
    stream = Readable.from(slices(bytes));
  } else if (source instanceof Readable) {
    stream = source;
  } else {
    const serialized = serializeForm(source);
    contentType = serialized.contentType;
    total = null;
    stream = serialized.stream;
  }
  if (frame.encoding !== null) {
    // Progress counts what goes on the wire: compressed bytes, whose total is not known.
    total = null;
    stream = pipe(stream, frame.encoding === "gzip" ? createGzip() : createDeflate());
  }
  if (onProgress !== undefined) stream = countedUpload(stream, onProgress, total);
  else if (frame.chunked && !stream.readableObjectMode) stream = pipe(stream, new PassObjects());
  // A stream has no length undici could see: what was known goes in a header.
  const contentLength = frame.chunked || total === null || total === declaredLength ? null : total;
  return { body: stream, contentType, contentLength };
}

/** `bytes` in slices, as views (no copy). */
function* slices(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += SLICE) {
    yield bytes.subarray(at, Math.min(at + SLICE, bytes.byteLength));
  }
}

/** undici's FormData as the bytes undici would send, and its Content-Type (the boundary). */
export function serializeForm(form: UndiciFormData): {
  stream: Readable;
  contentType: string | undefined;
} {
  const response = new (undici().Response)(form);
  const type = response.headers.get("Content-Type") ?? undefined;
  const web = response.body;
  const stream = web === null ? Readable.from([]) : Readable.fromWeb(web);
  return { stream, contentType: type };
}

/** `from` piped into `to`, an error of `from` ending `to` with it. */
function pipe<T extends Transform>(from: Readable, to: T): T {
  from.once("error", (err) => to.destroy(err));
  return from.pipe(to);
}

/**
 * A stage in object mode: undici reads the length of a byte-mode stream that has ended before
 * it starts writing, and would send a short one with Content-Length instead of chunked.
 */
class PassObjects extends Transform {
  constructor() {
    super({ readableObjectMode: true, readableHighWaterMark: 1 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, chunk);
  }
}
