// Request bodies: what a caller passes as `data` or `json`, turned into what undici sends, with
// the Content-Type it implies and whether it can be sent again (redirects, retries).

import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import type { FormData as UndiciFormData } from "undici";
import { FormData as AiohttpFormData } from "../http/form-data.js";
import { MultipartWriter } from "../http/multipart/writer.js";
import { StreamReader } from "../http/stream-reader.js";
import { undici } from "./lazy-deps.js";
import type { RequestData } from "./types.js";

/** A body ready for undici. */
export interface PreparedBody {
  readonly body: string | Uint8Array | Readable | UndiciFormData | null;
  /** The type the body implies; a Content-Type header of the caller's wins. */
  readonly contentType: string | undefined;
  /** Whether `prepareBody` can build the same body again (a stream is read only once). */
  readonly replayable: boolean;
  /** The length of a stream body known in advance (a multipart body of known parts). */
  readonly contentLength?: number;
}

/** No body at all: no Content-Type either. */
export const NO_BODY: PreparedBody = Object.freeze({
  body: null,
  contentType: undefined,
  replayable: true,
});

const OCTETS = "application/octet-stream";
const URLENCODED = "application/x-www-form-urlencoded";

/** The body of `json` (serialized with `serialize`) or `data`. */
export function prepareBody(
  data: RequestData | undefined,
  json: unknown,
  serialize: (value: unknown) => string,
): PreparedBody {
  if (json !== undefined) {
    return { body: serialize(json), contentType: "application/json", replayable: true };
  }
  if (data === undefined) return NO_BODY;
  if (typeof data === "string") {
    return { body: data, contentType: "text/plain; charset=utf-8", replayable: true };
  }
  if (data instanceof Uint8Array) return { body: data, contentType: OCTETS, replayable: true };
  if (data instanceof URLSearchParams) {
    return { body: data.toString(), contentType: URLENCODED, replayable: true };
  }
  if (data instanceof AiohttpFormData) {
    const encoded = data.encode();
    if (!(encoded instanceof MultipartWriter)) {
      return { body: encoded.body, contentType: encoded.contentType, replayable: true };
    }
    return multipartBody(encoded);
  }
  if (data instanceof MultipartWriter) return multipartBody(data);
  if (typeof FormData !== "undefined" && data instanceof FormData) {
    // undici writes the multipart body, its length and its boundary in Content-Type, but only
    // for its own FormData class: Node's global one comes from another copy of undici and fails
    // inside undici 7 ("action is not a function"). Copying the entries is cheap (files are
    // Blobs, not read here) and gives a fresh body for every replay.
    return { body: toUndiciFormData(data), contentType: undefined, replayable: true };
  }
  if (data instanceof Blob) {
    const stream = Readable.fromWeb(data.stream() as NodeReadableStream<Uint8Array>);
    return { body: stream, contentType: data.type || OCTETS, replayable: false };
  }
  if (data instanceof StreamReader) {
    return { body: Readable.from(data.iterAny()), contentType: OCTETS, replayable: false };
  }
  if (data instanceof Readable) return { body: data, contentType: OCTETS, replayable: false };
  if (typeof ReadableStream !== "undefined" && data instanceof ReadableStream) {
    const stream = Readable.fromWeb(data as NodeReadableStream<Uint8Array>);
    return { body: stream, contentType: OCTETS, replayable: false };
  }
  if (Symbol.asyncIterator in (data as object)) {
    const stream = Readable.from(data as AsyncIterable<Uint8Array>);
    return { body: stream, contentType: OCTETS, replayable: false };
  }
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(data as Record<string, string | number | boolean>)) {
    form.append(k, String(v));
  }
  return { body: form.toString(), contentType: URLENCODED, replayable: true };
}

/** A multipart body: streamed, with its length when every part's is known. */
function multipartBody(writer: MultipartWriter): PreparedBody {
  const size = writer.size;
  const base = { body: writer.stream(), contentType: writer.contentType };
  // A FormData or a writer of in-memory parts gives the same bytes again on a redirect.
  const replayable = writer.replayable;
  return size === null ? { ...base, replayable } : { ...base, replayable, contentLength: size };
}

function toUndiciFormData(form: FormData): UndiciFormData {
  const out = new (undici().FormData)();
  for (const [name, value] of form) {
    if (typeof value === "string") out.append(name, value);
    else out.append(name, value, value.name);
  }
  return out;
}
