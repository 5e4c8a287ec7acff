// aiohttp's MultipartWriter: a multipart body built from parts (text, bytes, Blobs, streams,
// JSON, forms, other writers), read as bytes with backpressure, its length known when every
// part's is.

import { Readable } from "node:stream";
import { checkBoundary, quoteParam, randomBoundary } from "./writer-headers.js";
import { BodyPart, bytesBody, type PartHeaders, type PartValue, partBody } from "./writer-part.js";

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");

/**
 * A multipart body (`multipart/mixed` by default), sent as a request's `data` or read as a
 * stream. Parts are written in the order they were appended; nothing is read before the body
 * is.
 *
 * @example
 * const mp = new MultipartWriter("mixed");
 * mp.appendJson({ id: 1 });
 * mp.append(createReadStream("photo.jpg")).setContentDisposition("attachment", { filename: "photo.jpg" });
 * await session.post(url, { data: mp });
 */
export class MultipartWriter implements AsyncIterable<Uint8Array> {
  /** The subtype: `mixed`, `form-data`, `related`... */
  readonly subtype: string;
  /** The boundary between parts. */
  readonly boundary: string;
  readonly #parts: (BodyPart | MultipartWriter)[] = [];
  readonly #partHeaders = new Map<MultipartWriter, BodyPart>();
  #consumed = false;

  /**
   * @param subtype the `multipart/*` subtype
   * @param boundary the boundary; checked against RFC 2046 5.1.1
   * @default subtype "mixed"; boundary random (`----aiohttp-ts-` and 32 hex digits)
   * @throws {TypeError} when the boundary is invalid
   */
  constructor(subtype = "mixed", boundary?: string) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(subtype)) {
      throw new TypeError(`Invalid multipart subtype ${JSON.stringify(subtype)}`);
    }
    this.subtype = subtype;
    this.boundary = boundary === undefined ? randomBoundary() : checkBoundary(boundary);
  }

  /** `multipart/<subtype>; boundary=...`, the boundary quoted when it needs to be. */
  get contentType(): string {
    const b = /^[0-9A-Za-z'+_\-.]+$/.test(this.boundary)
      ? this.boundary
      : quoteParam(this.boundary);
    return `multipart/${this.subtype}; boundary=${b}`;
  }

  /** The headers of the whole body: its Content-Type. */
  get headers(): Readonly<Record<string, string>> {
    return { "Content-Type": this.contentType };
  }

  /** The number of parts. */
  get length(): number {
    return this.#parts.length;
  }

  /** Whether the body can be read more than once (no part is a stream). */
  get replayable(): boolean {
    return this.#parts.every((p) => p.replayable);
  }

  /** The body's byte length, or `null` when a part's is unknown. */
  get size(): number | null {
    const boundaryLine = this.boundary.length + 4;
    let total = this.boundary.length + 6; // --boundary--\r\n
    for (const part of this.#parts) {
      const size = part.size;
      if (size === null) return null;
      total += boundaryLine + this.#headerBytes(part).byteLength + size + 2;
    }
    return total;
  }

  /**
   * Appends a part. The Content-Type defaults to what the value implies (text/plain for a
   * string, a Blob's type, application/octet-stream); a MultipartWriter nests with its own.
   * In `multipart/form-data` a part without Content-Disposition gets `form-data;
   * name="section-N"`, as in aiohttp; elsewhere a part of known size gets Content-Length.
   * @param headers headers of the part; values with CR or LF are refused
   * @returns the part, to set its Content-Disposition
   */
  append(value: PartValue | MultipartWriter, headers: PartHeaders = {}): BodyPart {
    if (value instanceof MultipartWriter) {
      if (value === this) throw new TypeError("A MultipartWriter cannot contain itself");
      const part = new BodyPart(bytesBody(new Uint8Array(0), value.contentType), headers);
      part.headers.set("Content-Type", value.contentType);
      this.#partHeaders.set(value, part);
      this.#parts.push(value);
      return this.#complete(part);
    }
    const part = new BodyPart(partBody(value), headers);
    this.#parts.push(part);
    return this.#complete(part);
  }

  /** Appends `obj` as `application/json` (aiohttp's `append_json`). */
  appendJson(obj: unknown, headers: PartHeaders = {}): BodyPart {
    const text = JSON.stringify(obj);
    if (text === undefined) throw new TypeError("The value cannot be serialized as JSON");
    const part = new BodyPart(bytesBody(encoder.encode(text), "application/json"), headers);
    this.#parts.push(part);
    return this.#complete(part);
  }

  /** Appends fields as `application/x-www-form-urlencoded` (aiohttp's `append_form`). */
  appendForm(
    fields: Readonly<Record<string, string>> | Iterable<readonly [string, string]>,
    headers: PartHeaders = {},
  ): BodyPart {
    const pairs = Symbol.iterator in fields ? [...fields] : Object.entries(fields);
    const params = new URLSearchParams();
    for (const [k, v] of pairs) params.append(k, v);
    const text = params.toString();
    const type = "application/x-www-form-urlencoded";
    const part = new BodyPart(bytesBody(encoder.encode(text), type), headers);
    this.#parts.push(part);
    return this.#complete(part);
  }

  /**
   * The body's bytes. A body with a stream part can be read once; reading it again throws.
   * @throws {TypeError} when read a second time with a stream part
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#consumed && !this.replayable) {
      throw new TypeError("This multipart body has a stream part that was already read");
    }
    this.#consumed = true;
    const open = encoder.encode(`--${this.boundary}\r\n`);
    for (const part of this.#parts) {
      yield open;
      yield this.#headerBytes(part);
      const content = part instanceof MultipartWriter ? part : part.chunks();
      for await (const chunk of content) yield chunk;
      yield CRLF;
    }
    yield encoder.encode(`--${this.boundary}--\r\n`);
  }

  /** The body as a Node Readable (bytes, with backpressure from whoever reads it). */
  stream(): Readable {
    return Readable.from(this, { objectMode: false });
  }

  /** A short description for logs. */
  toString(): string {
    return `<MultipartWriter ${this.contentType} parts=${this.#parts.length}>`;
  }

  #complete(part: BodyPart): BodyPart {
    if (this.subtype === "form-data") {
      if (!part.headers.has("Content-Disposition")) {
        part.setContentDisposition("form-data", { name: `section-${this.#parts.length - 1}` });
      }
    }
    return part;
  }

  /** The header block of a part, with its blank line; read when the part is written. */
  #headerBytes(part: BodyPart | MultipartWriter): Uint8Array {
    const head = part instanceof MultipartWriter ? this.#partHeaders.get(part) : part;
    if (head === undefined) return CRLF;
    let text = "";
    for (const [name, value] of head.headers) text += `${name}: ${value}\r\n`;
    // aiohttp adds Content-Length to parts of known size, except in form-data (RFC 7578 4.8).
    const size = part.size;
    if (this.subtype !== "form-data" && size !== null && !head.headers.has("Content-Length")) {
      text += `Content-Length: ${size}\r\n`;
    }
    return encoder.encode(`${text}\r\n`);
  }
}
