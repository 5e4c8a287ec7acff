// Buffered body reader with backpressure over a Node Readable, shared by the server (request
// bodies) and the client (response bodies); the counterpart of aiohttp's StreamReader.
import { Readable } from "node:stream";
import { kReadFailure } from "./symbols.js";

const DEFAULT_LIMIT = 2 ** 16;
const EMPTY = Buffer.alloc(0);

/** Error codes that mean the peer went away rather than that the stream itself failed. */
const CONNECTION_CLOSED_CODES: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
]);

/** Listener left on a source we stopped reading, so a late 'error' does not crash the process. */
function ignoreError(): void {
  // The reader has already settled; errors after that have nobody to report to.
}

function defaultTooLarge(_received: number, maxSize: number): Error {
  return new Error(`payload larger than ${maxSize} bytes`);
}

function toBuffer(data: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === "string") return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function errorCode(err: Error): unknown {
  return "code" in err ? err.code : undefined;
}

/** `readexactly()` reached the end of the stream before it had `expected` bytes. */
/**
 * What a reader fails with when its source emits `err`: `StreamClosedError` when the
 * connection went away, else `StreamReadError`, the source's error as `cause` either way.
 */
function readFailure(err: Error): StreamReadError {
  const code = errorCode(err);
  return typeof code === "string" && CONNECTION_CLOSED_CODES.has(code)
    ? new StreamClosedError(err)
    : new StreamReadError(`Reading the body failed: ${err.message}`, err);
}

export class IncompleteReadError extends Error {
  override name = "IncompleteReadError";
  /** Stable machine-readable code. */
  readonly code = "AIOHTTP_INCOMPLETE_READ";
  /** The bytes that were read before the end of the stream (they are consumed). */
  readonly partial: Buffer;
  /** How many bytes were asked for. */
  readonly expected: number;

  /**
   * @param partial the bytes read before the stream ended
   * @param expected how many bytes were asked for
   */
  constructor(partial: Buffer, expected: number) {
    super(`${partial.length} bytes read on a total of ${expected} expected bytes`);
    this.partial = partial;
    this.expected = expected;
  }
}

/** `readline()` or `readuntil()` found no separator within `lineLimit` bytes. */
export class LineTooLongError extends Error {
  override name = "LineTooLongError";
  /** Stable machine-readable code. */
  readonly code = "AIOHTTP_LINE_TOO_LONG";
  /** The limit that was exceeded, in bytes. */
  readonly limit: number;

  /** @param limit the limit that was exceeded, in bytes */
  constructor(limit: number) {
    super(`Line is longer than ${limit} bytes`);
    this.limit = limit;
  }
}

/** The source emitted 'error' while the body was being read; `cause` is the source's error. */
export class StreamReadError extends Error {
  override name = "StreamReadError";
  /** Stable machine-readable code. */
  readonly code: string = "AIOHTTP_STREAM_READ";

  /**
   * @param message what went wrong
   * @param cause the error the source emitted, if any
   */
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/**
 * The connection went away before the body was complete: the source closed without 'end', or
 * failed with a connection error such as `ECONNRESET` (an aborted request). aiohttp raises
 * `ClientConnectionResetError`/`ConnectionResetError` here.
 */
export class StreamClosedError extends StreamReadError {
  override name = "StreamClosedError";
  override readonly code: string = "AIOHTTP_STREAM_CLOSED";

  /** @param cause the source's error, if it had one */
  constructor(cause?: unknown) {
    super("Connection closed before the body was complete", cause);
  }
}

/** Options of {@link StreamReader}. */
export interface StreamReaderOptions {
  /**
   * Pause the source when more than this many bytes are buffered; it is resumed once the
   * consumer has read the buffer below this size.
   * @default 65536 (2**16)
   */
  highWaterMark?: number;
  /**
   * Most bytes read from the source in total. When the source delivers more, the reader stops
   * reading (it pauses the source and drops its listeners, but destroys nothing) and fails with
   * the error returned by `onTooLarge`.
   * @default Infinity
   */
  maxSize?: number;
  /**
   * Builds the error for a body over `maxSize`; the server answers it with 413.
   * @default (received, maxSize) => new Error(`payload larger than ${maxSize} bytes`)
   */
  onTooLarge?: (received: number, maxSize: number) => Error;
  /**
   * Longest line, separator included, that `readline()` and `readuntil()` accept.
   * @default 65536
   */
  lineLimit?: number;
  /**
   * Turns a failure of the source (a `StreamReadError`, or a `StreamClosedError` when it
   * closed early) into the error reads reject with; the HTTP client maps them to its own
   * error classes. @default the error as is
   */
  mapError?: (err: StreamReadError) => Error;
}

/**
 * Reads a byte stream in the ways aiohttp's `StreamReader` does: everything, up to `n` bytes,
 * exactly `n` bytes, lines, or chunks as they arrive. At most `highWaterMark` bytes (plus the
 * chunk in flight) are buffered unless a read needs more, so a slow consumer slows the peer
 * instead of filling memory. One read may wait for data at a time.
 *
 * @example
 * const reader = new StreamReader(req, { maxSize: 1024 ** 2 });
 * for await (const line of reader) console.log(line.toString());
 */
export class StreamReader implements AsyncIterable<Buffer> {
  #source: NodeJS.ReadableStream | null = null;
  readonly #highWaterMark: number;
  readonly #maxSize: number;
  readonly #onTooLarge: (received: number, maxSize: number) => Error;
  readonly #mapError: ((err: StreamReadError) => Error) | undefined;
  readonly #lineLimit: number;

  // The buffer is #chunks[#head..], of which the first #offset bytes of #chunks[#head] are read.
  #chunks: Buffer[] = [];
  #head = 0;
  #offset = 0;
  #size = 0;
  /** Bumped whenever the front of the buffer moves, so a paused readuntil() rescans. */
  #frontMoves = 0;

  #received = 0;
  #eof = false;
  #paused = false;
  #exception: Error | null = null;

  #wakeUp: (() => void) | null = null;
  #fail: ((err: Error) => void) | null = null;
  #eofPromise: Promise<void> | null = null;
  #eofResolve: (() => void) | null = null;
  #eofReject: ((err: Error) => void) | null = null;

  /**
   * Starts reading `source` right away, up to `highWaterMark` bytes.
   * @param source the body; `null` is an empty body, already at EOF
   * @param options limits, see {@link StreamReaderOptions}
   */
  constructor(source: NodeJS.ReadableStream | null, options?: StreamReaderOptions) {
    this.#highWaterMark = options?.highWaterMark ?? DEFAULT_LIMIT;
    this.#maxSize = options?.maxSize ?? Number.POSITIVE_INFINITY;
    this.#onTooLarge = options?.onTooLarge ?? defaultTooLarge;
    this.#mapError = options?.mapError;
    this.#lineLimit = options?.lineLimit ?? DEFAULT_LIMIT;
    if (!(this.#highWaterMark >= 0)) throw new RangeError("highWaterMark must be >= 0");
    if (!(this.#maxSize >= 0)) throw new RangeError("maxSize must be >= 0");
    if (!(this.#lineLimit >= 1)) throw new RangeError("lineLimit must be >= 1");

    if (source === null) {
      this.#eof = true;
      return;
    }
    if (source instanceof Readable) {
      // 'end' and 'close' are emitted once; a source past them would leave reads hanging.
      if (source.readableEnded) {
        this.#eof = true;
        return;
      }
      if (source.destroyed) {
        this.#exception = new StreamClosedError(source.errored ?? undefined);
        return;
      }
    }
    this.#source = source;
    source.on("data", this.#onData);
    source.on("end", this.#onEnd);
    source.on("error", this.#onError);
    source.on("close", this.#onClose);
    // A 'data' listener does not start a source that was explicitly paused before.
    source.resume();
  }

  /** @internal what a reader fails with when its source emits `err` (a body read without one) */
  static [kReadFailure](err: Error): StreamReadError {
    return readFailure(err);
  }

  /** A reader of an empty body: every read returns an empty Buffer. */
  static empty(): StreamReader {
    return new StreamReader(null);
  }

  /** Bytes received from the source so far, whether read or still buffered. */
  get totalBytes(): number {
    return this.#received;
  }

  /** Whether the source has ended (or the reader was cancelled); data may still be buffered. */
  isEof(): boolean {
    return this.#eof;
  }

  /** Whether the source has ended and everything buffered has been read. */
  atEof(): boolean {
    return this.#eof && this.#size === 0;
  }

  /** The error that reads reject with, or `null`. */
  exception(): Error | null {
    return this.#exception;
  }

  /**
   * Makes the waiting read, `waitEof()`, and every later read reject with `err`.
   * @param err the error to reject with, as is
   */
  setException(err: Error): void {
    this.#exception = err;
    const fail = this.#fail;
    if (fail !== null) {
      this.#wakeUp = null;
      this.#fail = null;
      fail(err);
    }
    const eofReject = this.#eofReject;
    if (eofReject !== null) {
      this.#eofResolve = null;
      this.#eofReject = null;
      eofReject(err);
    }
  }

  /**
   * Reads up to `n` bytes, waiting only until some data is available.
   * @param n how many bytes at most; negative reads everything until EOF
   * @returns the bytes, or an empty Buffer at EOF
   */
  async read(n = -1): Promise<Buffer> {
    this.#throwIfFailed();
    if (n === 0) return EMPTY;
    if (n < 0) return this.#readAll();
    if (!Number.isInteger(n)) throw new RangeError(`read() needs an integer, got ${n}`);
    while (this.#size === 0 && !this.#eof) await this.#wait("read");
    return this.#size === 0 ? EMPTY : this.#take(Math.min(n, this.#size));
  }

  /**
   * Reads whatever is buffered, waiting until something is.
   * @returns the bytes, or an empty Buffer at EOF
   */
  async readany(): Promise<Buffer> {
    this.#throwIfFailed();
    while (this.#size === 0 && !this.#eof) await this.#wait("readany");
    return this.#size === 0 ? EMPTY : this.#take(this.#size);
  }

  /**
   * Reads one chunk as the source delivered it. Like aiohttp, the flag says whether the chunk
   * ends an HTTP chunk of a chunked body; Node does not expose those boundaries, so it is
   * always `false`.
   * @returns `[chunk, false]`, or `[empty Buffer, false]` at EOF
   */
  async readchunk(): Promise<[Buffer, boolean]> {
    this.#throwIfFailed();
    while (this.#size === 0 && !this.#eof) await this.#wait("readchunk");
    if (this.#size === 0) return [EMPTY, false];
    return [this.#take(this.#chunks[this.#head].length - this.#offset), false];
  }

  /**
   * Reads one line, `\n` included.
   * @returns the line, the rest of the body if it does not end in `\n`, or an empty Buffer at EOF
   * @throws {LineTooLongError} when the line is longer than `lineLimit`; the data stays buffered
   */
  readline(): Promise<Buffer> {
    return this.readuntil("\n");
  }

  /**
   * Reads up to and including `separator`, which may span chunks.
   * @param separator what ends the piece, at least one byte
   * @default separator "\n"
   * @returns the piece, the rest of the body if `separator` never comes, or an empty Buffer at EOF
   * @throws {LineTooLongError} when the piece is longer than `lineLimit`; the data stays buffered
   */
  async readuntil(separator: Buffer | string = "\n"): Promise<Buffer> {
    const sep = typeof separator === "string" ? Buffer.from(separator) : separator;
    if (sep.length === 0) throw new RangeError("Separator should be at least one byte");
    this.#throwIfFailed();
    let from = 0;
    for (;;) {
      const at = this.#indexOf(sep, from);
      if (at !== -1) {
        const end = at + sep.length;
        if (end > this.#lineLimit) throw new LineTooLongError(this.#lineLimit);
        return this.#take(end);
      }
      if (this.#size > this.#lineLimit) throw new LineTooLongError(this.#lineLimit);
      if (this.#eof) return this.#size === 0 ? EMPTY : this.#take(this.#size);
      // Bytes scanned already hold no separator, except possibly its start at the very end.
      from = Math.max(0, this.#size - sep.length + 1);
      const frontMoves = this.#frontMoves;
      await this.#wait("readuntil");
      if (this.#frontMoves !== frontMoves) from = 0;
    }
  }

  /**
   * Reads exactly `n` bytes.
   * @param n how many bytes
   * @throws {IncompleteReadError} when the body ends first; the partial bytes are consumed
   */
  async readexactly(n: number): Promise<Buffer> {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`readexactly() needs an integer >= 0, got ${n}`);
    }
    this.#throwIfFailed();
    while (this.#size < n && !this.#eof) await this.#wait("readexactly");
    if (this.#size < n) {
      throw new IncompleteReadError(this.#size === 0 ? EMPTY : this.#take(this.#size), n);
    }
    return n === 0 ? EMPTY : this.#take(n);
  }

  /**
   * Yields pieces of exactly `n` bytes; only the last one may be shorter.
   * @param n the piece size, at least 1
   */
  async *iterChunked(n: number): AsyncIterableIterator<Buffer> {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`iterChunked() needs an integer >= 1, got ${n}`);
    }
    for (;;) {
      this.#throwIfFailed();
      while (this.#size < n && !this.#eof) await this.#wait("iterChunked");
      if (this.#size === 0) return;
      yield this.#take(Math.min(n, this.#size));
    }
  }

  /** Yields data as it arrives, like repeated `readany()`. */
  async *iterAny(): AsyncIterableIterator<Buffer> {
    for (;;) {
      const data = await this.readany();
      if (data.length === 0) return;
      yield data;
    }
  }

  /** Yields lines, like aiohttp's `async for line in content`. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }

  /**
   * Puts `data` back in front of the buffer, to be read again next.
   * @param data the bytes to push back; does not count towards `totalBytes`
   */
  unreadData(data: Buffer): void {
    if (data.length === 0) return;
    if (this.#offset > 0) {
      this.#chunks[this.#head] = this.#chunks[this.#head].subarray(this.#offset);
      this.#offset = 0;
    }
    if (this.#head > 0) this.#chunks[--this.#head] = data;
    else this.#chunks.unshift(data);
    this.#size += data.length;
    this.#frontMoves++;
    this.#pauseIfFull();
    this.#wake();
  }

  /**
   * Resolves when the source has ended (or the reader was cancelled without a reason).
   * @throws the reader's exception, when it has one
   */
  waitEof(): Promise<void> {
    if (this.#exception !== null) return Promise.reject(this.#exception);
    if (this.#eof) return Promise.resolve();
    this.#eofPromise ??= new Promise<void>((resolve, reject) => {
      this.#eofResolve = resolve;
      this.#eofReject = reject;
    });
    return this.#eofPromise;
  }

  /**
   * Stops reading: drops the source's listeners and the buffered data, and resumes the source
   * so the rest of the body is drained and the connection does not stall. The reader is at EOF
   * afterwards.
   * @param reason when given, the waiting and later reads reject with it
   */
  cancel(reason?: Error): void {
    const source = this.#source;
    if (source !== null) {
      this.#detach(source);
      source.on("error", ignoreError);
      source.resume();
    }
    this.#clear();
    this.#eof = true;
    if (reason !== undefined) {
      this.setException(reason);
    } else {
      this.#wake();
      this.#settleEof();
    }
  }

  #onData = (data: Buffer | Uint8Array | string): void => {
    const chunk = toBuffer(data);
    if (chunk.length === 0) return;
    this.#received += chunk.length;
    if (this.#received > this.#maxSize) {
      this.#failTooLarge();
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    this.#pauseIfFull();
    this.#wake();
  };

  #onEnd = (): void => {
    if (this.#source !== null) this.#detach(this.#source);
    this.#eof = true;
    this.#wake();
    this.#settleEof();
  };

  #onError = (err: Error): void => {
    if (this.#source !== null) this.#detach(this.#source);
    if (this.#eof || this.#exception !== null) return;
    const failure = readFailure(err);
    this.setException(this.#mapError?.(failure) ?? failure);
  };

  #onClose = (): void => {
    const source = this.#source;
    if (source === null) return;
    this.#detach(source);
    if (this.#eof || this.#exception !== null) return;
    const failure = new StreamClosedError(
      source instanceof Readable ? (source.errored ?? undefined) : undefined,
    );
    this.setException(this.#mapError?.(failure) ?? failure);
  };

  #failTooLarge(): void {
    const source = this.#source;
    if (source !== null) {
      this.#detach(source);
      source.on("error", ignoreError);
      source.pause();
    }
    this.#clear();
    this.setException(this.#onTooLarge(this.#received, this.#maxSize));
  }

  #detach(source: NodeJS.ReadableStream): void {
    source.removeListener("data", this.#onData);
    source.removeListener("end", this.#onEnd);
    source.removeListener("error", this.#onError);
    source.removeListener("close", this.#onClose);
    this.#source = null;
  }

  #throwIfFailed(): void {
    if (this.#exception !== null) throw this.#exception;
  }

  #wait(funcName: string): Promise<void> {
    if (this.#exception !== null) return Promise.reject(this.#exception);
    if (this.#wakeUp !== null) {
      return Promise.reject(
        new Error(`${funcName}() called while another read is already waiting for incoming data`),
      );
    }
    // The waiting read needs more than is buffered, even if that is over the high-water mark.
    this.#resume();
    return new Promise<void>((resolve, reject) => {
      this.#wakeUp = resolve;
      this.#fail = reject;
    });
  }

  #wake(): void {
    const wakeUp = this.#wakeUp;
    if (wakeUp !== null) {
      this.#wakeUp = null;
      this.#fail = null;
      wakeUp();
    }
  }

  #settleEof(): void {
    const eofResolve = this.#eofResolve;
    if (eofResolve !== null) {
      this.#eofResolve = null;
      this.#eofReject = null;
      eofResolve();
    }
  }

  #pauseIfFull(): void {
    if (this.#size > this.#highWaterMark && !this.#paused && this.#source !== null) {
      this.#paused = true;
      this.#source.pause();
    }
  }

  #resume(): void {
    if (this.#paused) {
      this.#paused = false;
      this.#source?.resume();
    }
  }

  async #readAll(): Promise<Buffer> {
    const blocks: Buffer[] = [];
    let total = 0;
    for (;;) {
      if (this.#size > 0) {
        total += this.#size;
        blocks.push(this.#chunks[this.#head].subarray(this.#offset));
        for (let i = this.#head + 1; i < this.#chunks.length; i++) blocks.push(this.#chunks[i]);
        this.#clear();
        this.#resume();
      } else if (this.#eof) {
        break;
      } else {
        await this.#wait("read");
      }
    }
    if (blocks.length === 0) return EMPTY;
    return blocks.length === 1 ? blocks[0] : Buffer.concat(blocks, total);
  }

  /** Removes and returns the first `n` bytes, 0 < n <= #size; copies only across chunks. */
  #take(n: number): Buffer {
    const first = this.#chunks[this.#head];
    const available = first.length - this.#offset;
    let out: Buffer;
    if (n < available) {
      out = first.subarray(this.#offset, this.#offset + n);
      this.#offset += n;
    } else if (n === available) {
      out = this.#offset === 0 ? first : first.subarray(this.#offset);
      this.#head++;
      this.#offset = 0;
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.#chunks[this.#head];
        const have = chunk.length - this.#offset;
        const want = n - filled;
        if (have <= want) {
          chunk.copy(out, filled, this.#offset);
          filled += have;
          this.#head++;
          this.#offset = 0;
        } else {
          chunk.copy(out, filled, this.#offset, this.#offset + want);
          filled += want;
          this.#offset += want;
        }
      }
    }
    this.#size -= n;
    this.#frontMoves++;
    if (this.#size === 0) {
      this.#clear();
    } else if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
      // Drop read chunks in batches so they can be collected, at amortised O(1) per chunk.
      this.#chunks.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.#size < this.#highWaterMark) this.#resume();
    return out;
  }

  #clear(): void {
    this.#chunks.length = 0;
    this.#head = 0;
    this.#offset = 0;
    this.#size = 0;
    this.#frontMoves++;
  }

  /** Position of `sep` in the buffered bytes at or after `from`, or -1. */
  #indexOf(sep: Buffer, from: number): number {
    let base = 0; // buffer position of the current chunk's first unread byte
    for (let i = this.#head; i < this.#chunks.length; i++) {
      const chunk = this.#chunks[i];
      const skip = i === this.#head ? this.#offset : 0;
      const length = chunk.length - skip;
      const end = base + length;
      if (from < end) {
        const hit = chunk.indexOf(sep, skip + Math.max(0, from - base));
        if (hit !== -1) return base + hit - skip;
        if (sep.length > 1 && i + 1 < this.#chunks.length) {
          // The separator may start near the end of this chunk and continue in the next ones.
          const start = Math.max(from, end - sep.length + 1);
          const window = this.#copy(start, Math.min(this.#size, end + sep.length - 1) - start);
          const spanning = window.indexOf(sep);
          if (spanning !== -1) return start + spanning;
        }
      }
      base = end;
    }
    return -1;
  }

  /** Copies `length` buffered bytes from position `start`, without consuming them. */
  #copy(start: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    let base = 0;
    for (let i = this.#head; i < this.#chunks.length && filled < length; i++) {
      const chunk = this.#chunks[i];
      const skip = i === this.#head ? this.#offset : 0;
      const chunkLength = chunk.length - skip;
      const from = start + filled - base;
      if (from < chunkLength) {
        const count = Math.min(chunkLength - from, length - filled);
        chunk.copy(out, filled, skip + from, skip + from + count);
        filled += count;
      }
      base += chunkLength;
    }
    return out;
  }
}
