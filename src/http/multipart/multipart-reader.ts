// The streaming multipart reader (aiohttp's MultipartReader), shared by the server's
// `request.multipart()` and the client's multipart responses. Parsing is Dicer's, the engine
// of busboy; this class turns its events into pull-based reads with backpressure end to end:
// a part that is not read stops Dicer, which stops reading the source, which stops the peer.

import { parseContentType } from "../content-type.js";
import { CIMultiDictProxy, type MultiDictInit } from "../multidict.js";
import { StreamReader } from "../stream-reader.js";
import { kFail } from "../symbols.js";
import { BodyPartReader } from "./body-part-reader.js";
import { dispositionFilename, parseContentDisposition } from "./content-disposition.js";
import { createDicer, type DicerHeader, type DicerParser, type DicerPart } from "./dicer.js";
import { MultipartError, MultipartLimitError } from "./errors.js";
import type { MultipartReaderOptions, ResolvedMultipartOptions } from "./types.js";

/** What a multipart body can be read from: the project's StreamReader or a Node Readable. */
export type MultipartSource = StreamReader | NodeJS.ReadableStream;

/** A part handed out by {@link MultipartReader}: a plain part, or a nested multipart body. */
export type MultipartPart = BodyPartReader | MultipartReader;

/** aiohttp's defaults: its header line limit and its header count limit. */
const DEFAULT_MAX_HEADER_SIZE = 8190;
const DEFAULT_MAX_HEADER_COUNT = 128;
const DEFAULT_MAX_DECODED_SIZE = 64 * 1024 ** 2;
/** RFC 2046 5.1.1: a boundary has 1 to 70 characters. */
const MAX_BOUNDARY_LENGTH = 70;
const NON_ASCII = /[\u0080-\uffff]/;

function identity(err: MultipartError): Error {
  return err;
}

/** A part Dicer has emitted, waiting for its header block. */
interface Pending {
  readonly part: DicerPart;
  header: DicerHeader | null;
  /** Set when Dicer moved past the part before its header block was complete. */
  headless: boolean;
}

/**
 * Reads a `multipart/*` body part by part, without buffering it: `for await (const part of
 * reader)` or `await reader.next()` (which is `null` after the last part). A part whose
 * Content-Type is itself `multipart/*` (such as a nested `multipart/mixed`) comes as a
 * MultipartReader of its own, with the same API; other parts are {@link BodyPartReader}s.
 * Reads reject with {@link MultipartError} on malformed input and
 * {@link MultipartLimitError} for headers over the limits; nothing hangs or spins.
 *
 * @example
 * const reader = MultipartReader.fromContentType(response.headers["content-type"], response);
 * for await (const part of reader) console.log(part.name, part.filename);
 */
export class MultipartReader implements AsyncIterable<MultipartPart> {
  /** The headers the reader was made from (for a nested reader, those of its part). */
  readonly headers: CIMultiDictProxy;
  /** For a nested reader, the `name` of its part's Content-Disposition; else `null`. */
  readonly name: string | null;
  /** For a nested reader, the `filename` of its part's Content-Disposition; else `null`. */
  readonly filename: string | null;
  /** The boundary from the Content-Type. */
  readonly boundary: string;

  readonly #source: StreamReader;
  readonly #options: ResolvedMultipartOptions;
  #dicer: DicerParser | null = null;
  /** Set while the pump waits for Dicer to drain. */
  #resumePump: (() => void) | null = null;
  /** Settles when the pump has stopped reading the source (it never rejects). */
  #pumped: Promise<void> = Promise.resolve();
  readonly #queue: Pending[] = [];
  #partsSeen = 0;
  #finished = false;
  #error: Error | null = null;
  #waiter: { resolve: (p: Pending | null) => void; reject: (err: Error) => void } | null = null;
  #current: MultipartPart | null = null;
  #chain: Promise<unknown> = Promise.resolve();

  /**
   * @param headers headers with the `Content-Type` (and its `boundary`) of the body
   * @param source the body
   * @param options limits and error mapping
   * @throws {MultipartError} `AIOHTTP_MULTIPART_BOUNDARY` when the Content-Type is not
   *   `multipart/*` or has no usable boundary
   */
  constructor(
    headers: CIMultiDictProxy | MultiDictInit,
    source: MultipartSource,
    options: MultipartReaderOptions = {},
  ) {
    this.headers = headers instanceof CIMultiDictProxy ? headers : new CIMultiDictProxy(headers);
    this.#options = {
      maxHeaderSize: options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
      maxHeaderCount: options.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT,
      maxDecodedSize: options.maxDecodedSize ?? DEFAULT_MAX_DECODED_SIZE,
      mapError: options.mapError ?? identity,
    };
    const disposition = parseContentDisposition(this.headers.get("Content-Disposition"));
    this.name = disposition.params.name ?? null;
    this.filename = dispositionFilename(disposition);
    this.boundary = this.#boundaryOf(this.headers.get("Content-Type"));
    this.#source = source instanceof StreamReader ? source : new StreamReader(source);
  }

  /**
   * A reader from a Content-Type value alone.
   * @param contentType e.g. `multipart/form-data; boundary=xyz`
   * @param source the body
   * @param options limits and error mapping
   */
  static fromContentType(
    contentType: string,
    source: MultipartSource,
    options: MultipartReaderOptions = {},
  ): MultipartReader {
    return new MultipartReader([["Content-Type", contentType]], source, options);
  }

  /**
   * The next part, or `null` after the last one. The unread rest of the previous part is
   * skipped first. Calls made before the previous one settled wait their turn.
   * @throws {MultipartError} on malformed input or headers over the limits (after `mapError`)
   */
  next(): Promise<MultipartPart | null> {
    const result = this.#chain.then(() => this.#next());
    this.#chain = result.catch(() => undefined);
    return result;
  }

  /** Reads every remaining part to the void, up to the final delimiter. */
  async release(): Promise<void> {
    for (;;) {
      const part = await this.next();
      if (part === null) return;
      await part.release();
    }
  }

  /** Whether the final delimiter has been read and every part handed out. */
  atEof(): boolean {
    return this.#finished && this.#queue.length === 0;
  }

  /** Yields the parts in order; like repeated `next()`. */
  async *[Symbol.asyncIterator](): AsyncIterator<MultipartPart> {
    for (;;) {
      const part = await this.next();
      if (part === null) return;
      yield part;
    }
  }

  /** @internal fails the waiting and later reads, and those of the current part, with `err` */
  [kFail](err: Error): void {
    this.#fail(err);
  }

  /** A short description for logs: the Content-Type read. */
  toString(): string {
    return `<MultipartReader ${this.headers.get("Content-Type") ?? ""}>`;
  }

  async #next(): Promise<MultipartPart | null> {
    const previous = this.#current;
    if (previous !== null) {
      // Still the current part while it is read to its end: should the source fail meanwhile,
      // #fail must reach it, or its release() waits for data that never comes (found by the
      // fuzz run: a nested multipart part skipped while the connection dropped hung forever).
      try {
        await previous.release();
      } finally {
        this.#current = null;
      }
    }
    if (this.#error !== null) throw this.#error;
    this.#start();
    const pending = await new Promise<Pending | null>((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#settle();
    });
    if (pending === null) {
      // Dicer reports the final delimiter before the source ends: the end is reported once the
      // pump has read the source to its end, so that whoever reads the source next (read()
      // after request.post()) does not find a read of the pump still waiting on it.
      await this.#pumped;
      return null;
    }
    if (pending.header === null) {
      pending.part.resume();
      throw this.#failWith(
        new MultipartError("A part's header block is not terminated by an empty line"),
      );
    }
    const headers = this.#headersOf(pending.header);
    const part = this.#partOf(headers, pending.part);
    this.#current = part;
    return part;
  }

  #partOf(headers: CIMultiDictProxy, data: DicerPart): MultipartPart {
    if (parseContentType(headers.get("Content-Type")).type === "multipart") {
      try {
        return new MultipartReader(headers, data, this.#options);
      } catch (err) {
        data.resume();
        throw this.#failWith(err as Error);
      }
    }
    return new BodyPartReader(headers, data, this.#options);
  }

  /** Checks a header block against the limits and makes it a multidict. */
  #headersOf(header: DicerHeader): CIMultiDictProxy {
    const { maxHeaderSize, maxHeaderCount } = this.#options;
    const pairs: Array<[string, string]> = [];
    // The block's size as received, assuming the usual "Name: value" layout; Dicer has dropped
    // what came past maxHeaderSize + 1 bytes, so a larger block still measures over the limit.
    let size = 0;
    for (const [name, values] of Object.entries(header)) {
      for (const value of values) {
        size += (size === 0 ? 0 : 2) + name.length + 2 + value.length;
        // Dicer hands out header bytes as latin1; RFC 7578 5.1 senders use UTF-8.
        pairs.push([
          name,
          NON_ASCII.test(value) ? Buffer.from(value, "latin1").toString("utf8") : value,
        ]);
      }
    }
    if (pairs.length > maxHeaderCount) {
      throw this.#failWith(new MultipartLimitError("headerCount", maxHeaderCount, pairs.length));
    }
    if (size > maxHeaderSize) {
      throw this.#failWith(new MultipartLimitError("headerSize", maxHeaderSize, size));
    }
    return new CIMultiDictProxy(pairs);
  }

  #boundaryOf(contentType: string | undefined): string {
    const parsed = parseContentType(contentType);
    if (parsed.type !== "multipart") {
      throw this.#options.mapError(
        new MultipartError(
          `Expected a multipart Content-Type, got ${JSON.stringify(contentType ?? "")}`,
          "AIOHTTP_MULTIPART_BOUNDARY",
        ),
      );
    }
    const boundary = parsed.params.boundary;
    if (boundary === undefined || boundary.length === 0 || boundary.length > MAX_BOUNDARY_LENGTH) {
      const why =
        boundary === undefined || boundary.length === 0
          ? "has no boundary"
          : "has a boundary over 70 characters";
      throw this.#options.mapError(
        new MultipartError(`The multipart Content-Type ${why}`, "AIOHTTP_MULTIPART_BOUNDARY"),
      );
    }
    return boundary;
  }

  /** Creates the parser and starts feeding it, on the first `next()`. */
  #start(): void {
    if (this.#dicer !== null) return;
    const dicer = createDicer({
      boundary: this.boundary,
      // One more than allowed, so that a part over a limit is seen to be over it; Dicer's
      // header bytes also hold the CRLF that ends the delimiter line.
      maxHeaderPairs: this.#options.maxHeaderCount + 1,
      maxHeaderSize: this.#options.maxHeaderSize + 3,
    });
    this.#dicer = dicer;
    dicer.on("part", this.#onPart);
    dicer.on("finish", this.#onFinish);
    dicer.on("error", this.#onDicerError);
    this.#pumped = this.#pump(dicer);
  }

  async #pump(dicer: DicerParser): Promise<void> {
    try {
      for (;;) {
        // One chunk as the source delivered it: readany() would copy what is buffered into one.
        const [chunk] = await this.#source.readchunk();
        if (this.#error !== null) return;
        if (chunk.length === 0) break;
        // After the final delimiter the rest (an epilogue, RFC 2046 5.1.1) is read to the end
        // and dropped: Dicer would ignore it, and may never call back a write it had paused.
        if (this.#finished) continue;
        if (!dicer.write(chunk)) await this.#drained(dicer);
        if (this.#error !== null) return;
      }
      if (!this.#finished) dicer.end();
    } catch (err) {
      if (this.#error === null) this.#fail(err as Error);
    }
  }

  /** Resolves on Dicer's 'drain', or when the reader fails (which ends the pump). */
  #drained(dicer: DicerParser): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        dicer.removeListener("drain", done);
        this.#resumePump = null;
        resolve();
      };
      this.#resumePump = done;
      dicer.once("drain", done);
    });
  }

  #onPart = (part: DicerPart): void => {
    this.#partsSeen++;
    this.#markHeadless();
    const pending: Pending = { part, header: null, headless: false };
    // Dicer also reports a truncated body on the part; the reader reports it once, itself.
    part.on("error", ignoreError);
    part.once("header", (header: DicerHeader) => {
      pending.header = header;
      this.#settle();
    });
    this.#queue.push(pending);
  };

  #onFinish = (): void => {
    if (this.#error !== null) return;
    this.#finished = true;
    this.#markHeadless();
    // Dicer reports the final delimiter without calling back the write it paused for the last
    // part, so no 'drain' follows: the pump goes on without it.
    this.#resumePump?.();
    this.#settle();
  };

  #onDicerError = (): void => {
    // Dicer's only error is "Unexpected end of multipart data".
    const message =
      this.#partsSeen === 0
        ? `The body has no "--${this.boundary}" delimiter (wrong or missing boundary)`
        : "The multipart body ended before its final delimiter (truncated)";
    this.#fail(this.#options.mapError(new MultipartError(message)));
  };

  /** Dicer has moved on: a part still without its header block will never get one. */
  #markHeadless(): void {
    const last = this.#queue.at(-1);
    if (last !== undefined && last.header === null) last.headless = true;
  }

  /** Hands the waiting `next()` its part, the end, or the error, when there is one. */
  #settle(): void {
    const waiter = this.#waiter;
    if (waiter === null) return;
    if (this.#error !== null) {
      this.#waiter = null;
      waiter.reject(this.#error);
      return;
    }
    const front = this.#queue[0];
    if (front !== undefined) {
      if (front.header === null && !front.headless) return;
      this.#queue.shift();
      this.#waiter = null;
      waiter.resolve(front);
    } else if (this.#finished) {
      this.#waiter = null;
      waiter.resolve(null);
    }
  }

  /** Fails the reader with a MultipartError (mapped) and returns what to throw. */
  #failWith(err: Error): Error {
    const mapped = err instanceof MultipartError ? this.#options.mapError(err) : err;
    this.#fail(mapped);
    return mapped;
  }

  #fail(err: Error): void {
    if (this.#error !== null) return;
    this.#error = err;
    this.#resumePump?.();
    const current = this.#current;
    if (current !== null) current[kFail](err);
    for (const pending of this.#queue) pending.part.resume();
    this.#queue.length = 0;
    this.#settle();
  }
}

function ignoreError(): void {
  // Reported by the reader instead.
}
