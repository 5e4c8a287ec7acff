// One part of a multipart body (aiohttp's BodyPartReader): its headers, and its bytes read
// whole, in chunks, decoded, as text/JSON/form fields, or piped as a Node Readable.

import { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { parseContentType } from "../content-type.js";
import type { CIMultiDictProxy } from "../multidict.js";
import { StreamReader } from "../stream-reader.js";
import { kFail } from "../symbols.js";
import { dispositionFilename, parseContentDisposition } from "./content-disposition.js";
import { decodePart } from "./decode.js";
import { MultipartError } from "./errors.js";
import type { MultipartReaderOptions } from "./types.js";

/** Options of {@link BodyPartReader.read}. */
export interface PartReadOptions {
  /**
   * Undo the part's Content-Transfer-Encoding (base64, quoted-printable) and Content-Encoding
   * (gzip, deflate, br), as aiohttp's `read(decode=True)`.
   * @default false
   */
  decode?: boolean;
}

/** Default size of {@link BodyPartReader.readChunk}, as aiohttp's `read_chunk()`. */
export const DEFAULT_CHUNK_SIZE = 8192;

/**
 * A body part that is not itself multipart. Its data is read once, in whichever way suits:
 * `read()` buffers it all, `readChunk()`/`for await`/`stream()` stream it with backpressure.
 * Moving the reader to the next part skips whatever of this one was not read.
 *
 * @example
 * for await (const part of await request.multipart()) {
 *   if (part instanceof BodyPartReader && part.filename !== null) {
 *     await pipeline(part.stream(), createWriteStream(join(dir, randomUUID())));
 *   }
 * }
 */
export class BodyPartReader implements AsyncIterable<Buffer> {
  /** The part's headers (names as received, lower-cased by the parser). */
  readonly headers: CIMultiDictProxy;
  /** The `name` parameter of the part's Content-Disposition (the form field), or `null`. */
  readonly name: string | null;
  /**
   * The `filename` of the part's Content-Disposition, `filename*` (RFC 8187) preferred, or
   * `null`. It is what the client sent: never use it as a path without sanitising it.
   */
  readonly filename: string | null;
  readonly #data: Readable;
  /** The reader of `#data`, made on the first read; `stream()` before that hands `#data` out. */
  #content: StreamReader | null = null;
  /** What `stream()` handed out, when it did before any other read. */
  #stream: Readable | null = null;
  #failure: Error | null = null;
  readonly #mapError: (err: MultipartError) => Error;
  readonly #maxDecodedSize: number;

  /**
   * Made by {@link MultipartReader} for each part.
   * @param headers the part's headers
   * @param data the part's bytes
   * @param options `mapError` turns decoding errors into the errors thrown; `maxDecodedSize`
   *   bounds what decoding may inflate to (see {@link MultipartReaderOptions})
   */
  constructor(
    headers: CIMultiDictProxy,
    data: Readable,
    options: Pick<MultipartReaderOptions, "mapError" | "maxDecodedSize"> = {},
  ) {
    this.headers = headers;
    this.#data = data;
    this.#mapError = options.mapError ?? ((err) => err);
    this.#maxDecodedSize = options.maxDecodedSize ?? 0;
    const disposition = parseContentDisposition(headers.get("Content-Disposition"));
    this.name = disposition.params.name ?? null;
    this.filename = dispositionFilename(disposition);
  }

  /** The media type of the part, lower-cased; `text/plain` when not given (RFC 2046 5.1). */
  get contentType(): string {
    const header = this.headers.get("Content-Type");
    return header === undefined ? "text/plain" : parseContentType(header).mimetype;
  }

  /**
   * The `charset` of the part's Content-Type.
   * @param fallback what to return when there is none
   */
  getCharset(fallback: string): string {
    return parseContentType(this.headers.get("Content-Type")).charset ?? fallback;
  }

  /**
   * Reads the rest of the part into memory.
   * @param options `decode` undoes the part's encodings
   */
  async read(options: PartReadOptions = {}): Promise<Buffer> {
    const data = await this.#reader().read();
    return options.decode === true ? this.decode(data) : data;
  }

  /**
   * Reads up to `size` bytes, as they arrive, undecoded.
   * @param size the most bytes to return, @default 8192
   * @returns the bytes, or an empty Buffer at the end of the part
   */
  readChunk(size: number = DEFAULT_CHUNK_SIZE): Promise<Buffer> {
    return this.#reader().read(size);
  }

  /**
   * Undoes the part's Content-Transfer-Encoding and Content-Encoding on `data`.
   * @throws {MultipartError} `AIOHTTP_MULTIPART_ENCODING` for an unknown or corrupt encoding
   */
  decode(data: Buffer): Buffer {
    try {
      return decodePart(data, this.headers, this.#maxDecodedSize);
    } catch (err) {
      throw err instanceof MultipartError ? this.#mapError(err) : err;
    }
  }

  /**
   * Reads the rest of the part, decoded, as text.
   * @param encoding the charset, @default the part's charset, else UTF-8
   */
  async text(encoding?: string): Promise<string> {
    const data = await this.read({ decode: true });
    return this.#toText(data, encoding ?? this.getCharset("utf-8"));
  }

  /**
   * Reads the rest of the part, decoded, as JSON; `null` for an empty part (as aiohttp).
   * @throws {MultipartError} `AIOHTTP_MULTIPART_MALFORMED` when it is not valid JSON
   */
  async json<T = unknown>(): Promise<T | null> {
    const data = await this.read({ decode: true });
    if (data.length === 0) return null;
    const text = this.#toText(data, this.getCharset("utf-8"));
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      const detail = (err as Error).message;
      throw this.#mapError(new MultipartError(`Malformed JSON in part: ${detail}`, undefined, err));
    }
  }

  /**
   * Reads the rest of the part, decoded, as `application/x-www-form-urlencoded` fields, in
   * order and with repeated names kept; `[]` for an empty part.
   */
  async form(): Promise<Array<[string, string]>> {
    const data = await this.read({ decode: true });
    if (data.length === 0) return [];
    const text = this.#toText(data, this.getCharset("utf-8")).trimEnd();
    return [...new URLSearchParams(text)];
  }

  /** Reads the rest of the part to the void, so that the reader can move on. */
  async release(): Promise<void> {
    const out = this.#stream;
    if (out !== null) {
      // Whoever took stream() reads it; an unread one is drained here. Its errors are theirs.
      if (out.readableFlowing === null) out.resume();
      await finished(out).catch(() => undefined);
      return;
    }
    const content = this.#reader();
    while ((await content.readany()).length > 0) {
      // discarded
    }
  }

  /** Whether the part has been read to its end. */
  atEof(): boolean {
    if (this.#content !== null) return this.#content.atEof();
    return this.#data.readableEnded;
  }

  /**
   * The rest of the part as a Node Readable (not decoded), for `pipeline()` to a file or
   * another stream; it pulls from the body only as fast as its consumer reads. Errors of the
   * body (truncated, the peer went away) destroy the stream with that error. It can be taken
   * once, and the part is not read otherwise afterwards.
   */
  stream(): Readable {
    if (this.#stream !== null) throw new Error("stream() of this part was already taken");
    if (this.#content !== null) return Readable.from(this.#chunks(), { objectMode: false });
    // Nothing read yet: forward the parser's chunks with no buffering stage between. The
    // parser's own stream is not handed out: it ends (short) after a truncated body, and the
    // reader's error must win.
    const data = this.#data;
    const out = new Readable({
      read: () => {
        data.resume();
      },
      destroy: (err, callback) => {
        // A consumer that gives up early must not stall the parser: the rest is drained.
        data.resume();
        callback(err);
      },
    });
    data.on("data", (chunk: Buffer) => {
      // A destroyed stream takes nothing more (push() is false): the rest drains to the void.
      if (!out.push(chunk) && !out.destroyed) data.pause();
    });
    data.once("end", () => out.push(null));
    this.#stream = out;
    if (this.#failure !== null) out.destroy(this.#failure);
    return out;
  }

  /** Yields the rest of the part in chunks as they arrive, not decoded. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.#chunks();
  }

  /** @internal fails the waiting read and every later one with `err` */
  [kFail](err: Error): void {
    if (this.#failure !== null) return;
    this.#failure = err;
    if (this.#content !== null) {
      if (this.#content.exception() === null) this.#content.setException(err);
    } else if (this.#stream !== null) {
      this.#stream.destroy(err);
    }
  }

  /** A short description for logs: the part's name and filename. */
  toString(): string {
    return `<BodyPartReader name=${JSON.stringify(this.name)} filename=${JSON.stringify(this.filename)}>`;
  }

  /** The reader of the part's bytes, made on first use. */
  #reader(): StreamReader {
    if (this.#stream !== null) {
      throw new Error("This part was handed out as stream(); read that instead");
    }
    if (this.#content === null) {
      this.#content = new StreamReader(this.#data);
      if (this.#failure !== null) this.#content.setException(this.#failure);
    }
    return this.#content;
  }

  async *#chunks(): AsyncGenerator<Buffer> {
    const content = this.#reader();
    for (;;) {
      const chunk = await content.readany();
      if (chunk.length === 0) return;
      yield chunk;
    }
  }

  #toText(data: Buffer, charset: string): string {
    const name = charset.toLowerCase();
    if (name === "utf-8" || name === "utf8") return data.toString("utf8");
    try {
      // Not fatal, as request.text(): undecodable bytes become U+FFFD, they do not throw.
      return new TextDecoder(name).decode(data);
    } catch (err) {
      throw this.#mapError(
        new MultipartError(`Unsupported charset: ${charset}`, "AIOHTTP_MULTIPART_ENCODING", err),
      );
    }
  }
}
