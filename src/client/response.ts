// The client's response (aiohttp's ClientResponse): status and headers at once, the body
// streamed through the shared StreamReader, decompressed, and the connection given back to the
// pool when the body is read or the response released.

import type { Readable } from "node:stream";
import { pipeline, Transform, type TransformCallback } from "node:stream";
import * as zlib from "node:zlib";
import type { Cookie } from "tough-cookie";
import { createZstdDecompress } from "../http/compression.js";
import { isJsonType, parseContentType, parseParams } from "../http/content-type.js";
import { splitOutsideQuotes } from "../http/header-syntax.js";
import { CIMultiDictProxy } from "../http/multidict.js";
import {
  MultipartError,
  MultipartReader,
  type MultipartReaderOptions,
} from "../http/multipart/index.js";
import { StreamClosedError, type StreamReadError, StreamReader } from "../http/stream-reader.js";
import { kReadFailure } from "../http/symbols.js";
import { detectCharset, isKnownCharset } from "./charset.js";
import {
  ClientPayloadError,
  ClientResponseError,
  ContentTypeError,
  DecompressionLimitError,
  type RequestInfo,
  ServerTimeoutError,
  SocketTimeoutError,
} from "./errors.js";
import { toughCookie } from "./lazy-deps.js";
import { checkOptions, type OptionNames } from "./option-check.js";
import { type ProgressCallback, ProgressCounter } from "./progress.js";
import { ChunkTracer } from "./tracing.js";
import type { HttpVersion } from "./types.js";

/** One parsed `Link` header entry (RFC 8288). */
export interface Link {
  readonly url: URL;
  readonly rel?: string;
  readonly params: Readonly<Record<string, string>>;
}

/** What a session hands to a new response (not meant to be built by users). */
export interface ResponseInit {
  method: string;
  url: URL;
  requestInfo: RequestInfo;
  status: number;
  reason: string;
  /** The response came over an HTTP/2 connection. */
  http2: boolean;
  headers: Record<string, string | string[] | undefined>;
  body: Readable | null;
  history: readonly ClientResponse[];
  /** Answered by the session's cache without reaching the server. */
  fromCache?: boolean;
  autoDecompress: boolean;
  maxDecompressedSize: number;
  readBufsize: number;
  /** `onDownloadProgress`: told of the bytes read off the wire, before decompression. */
  onProgress?: ProgressCallback | undefined;
  /** Tracing's `onResponseChunkReceived`: awaited for each chunk the reader gets. */
  onChunk?: ((chunk: Uint8Array) => Promise<void>) | undefined;
  /** Called once the body is done with (read, released or failed). */
  onDone: (response: ClientResponse) => void;
}

/** Options of `response.json()`. */
export interface JsonOptions {
  /** Parser; @default JSON.parse */
  loads?: (text: string) => unknown;
  /** Expected media type; `null` accepts any. @default "application/json" (and any +json) */
  contentType?: string | null;
  /** Decoding; @default the response charset, else UTF-8 */
  encoding?: string;
}

const JSON_OPTION_NAMES = {
  loads: true,
  contentType: true,
  encoding: true,
} as const satisfies OptionNames<JsonOptions>;

const HTTP_11: HttpVersion = Object.freeze({ major: 1, minor: 1 });
const HTTP_2: HttpVersion = Object.freeze({ major: 2, minor: 0 });

const DECODABLE = new Set(["gzip", "x-gzip", "deflate", "br", "zstd", "identity", ""]);

/** How long `release()` waits for the rest of a body it drains to keep the connection. */
const DRAIN_TIME_LIMIT_MS = 1_000;

/**
 * A response to a client request. Read its body to the end, or `release()`/`close()` it
 * (`await using` does that): until then it holds its connection and its slot under the
 * connector's `limit`. A response dropped unread is ended by the request's total timeout
 * (5 minutes by default), which frees both; with `timeout: { total: null }` it holds them
 * until the session is closed.
 */
export class ClientResponse implements AsyncDisposable {
  /** The status code. */
  readonly status: number;
  /** The reason phrase (HTTP/2 has none on the wire: the standard phrase of the status). */
  readonly reason: string;
  /**
   * The protocol version the response came in: `{ major: 2, minor: 0 }` over HTTP/2, else
   * `{ major: 1, minor: 1 }` (undici does not tell an HTTP/1.0 answer apart).
   */
  readonly version: HttpVersion;
  /** The method of the request that got this response. */
  readonly method: string;
  /** The URL of this response (after redirects: the last one). */
  readonly url: URL;
  /** What was sent. */
  readonly requestInfo: RequestInfo;
  /** The redirect responses that led here, oldest first. */
  readonly history: readonly ClientResponse[];
  readonly #rawHeaders: Record<string, string | string[] | undefined>;
  #headers: CIMultiDictProxy | undefined;
  #content: StreamReader | undefined;
  #body: Readable | null;
  #init: ResponseInit;
  #bodyBytes: Buffer | undefined;
  /** The body as undici's consumer gave it, until `read()` wants it as a Buffer. */
  #wholeBytes: Uint8Array | undefined;
  #counter: ProgressCounter | undefined;
  #tracer: ChunkTracer | undefined;
  #released = false;
  #done = false;
  /** `read()` has undici's consumer reading the body (see `#wholeBody`). */
  #consuming = false;

  /** Made by `ClientSession`; not meant to be called directly. */
  constructor(init: ResponseInit) {
    this.status = init.status;
    this.reason = init.reason;
    this.version = init.http2 ? HTTP_2 : HTTP_11;
    this.method = init.method;
    this.url = init.url;
    this.requestInfo = init.requestInfo;
    this.history = init.history;
    this.#rawHeaders = init.headers;
    this.#body = init.body;
    this.#init = init;
    if (init.body === null) this.#finish();
    else {
      // One listener for both (`#finish` runs once), and `on`: `once` wraps each. The body
      // closes after its end (undici's destroys itself): a read of the whole body finishes
      // in its own step, and a reader of `content` listens for the end itself.
      const finish = (): void => this.#finish();
      init.body.on("close", finish);
      init.body.on("error", finish);
    }
  }

  /**
   * Whether the session's cache answered without reaching the server (a fresh stored
   * response). `false` when the server was asked, a 304 revalidation included.
   */
  get fromCache(): boolean {
    return this.#init.fromCache ?? false;
  }

  /** Whether the status is below 400. */
  get ok(): boolean {
    return this.status < 400;
  }

  /** The URL as requested, fragment included (aiohttp's `real_url`). */
  get realUrl(): URL {
    return this.requestInfo.realUrl;
  }

  /** The headers, case-insensitive, repeated ones kept. */
  get headers(): CIMultiDictProxy {
    if (this.#headers === undefined) {
      const flat: string[] = [];
      for (const [name, value] of Object.entries(this.#rawHeaders)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) for (const v of value) flat.push(name, v);
        else flat.push(name, value);
      }
      this.#headers = CIMultiDictProxy.fromFlat(flat);
    }
    return this.#headers;
  }

  /** Header pairs as received (names lower-cased by the HTTP parser). */
  get rawHeaders(): ReadonlyArray<readonly [string, string]> {
    return [...this.headers];
  }

  /** The cookies this response sets, by name. */
  get cookies(): ReadonlyMap<string, Cookie> {
    const out = new Map<string, Cookie>();
    for (const line of this.headers.getAll("Set-Cookie")) {
      const c = toughCookie().Cookie.parse(line, { loose: true });
      if (c !== undefined) out.set(c.key, c);
    }
    return out;
  }

  /** The media type, lower-case; `application/octet-stream` when not given. */
  get contentType(): string {
    return parseContentType(this.#contentTypeHeader()).mimetype;
  }

  /** The charset of Content-Type, when given. */
  get charset(): string | undefined {
    return parseContentType(this.#contentTypeHeader()).charset;
  }

  // Read straight from the parser's (lower-cased) header object: `json()` needs only this
  // header, and building the multidict for it would cost more than the rest of the call.
  #contentTypeHeader(): string | undefined {
    const v = this.#rawHeaders["content-type"];
    return Array.isArray(v) ? v[0] : v;
  }

  /** The Content-Length header, when given. */
  get contentLength(): number | undefined {
    const v = this.headers.get("Content-Length");
    return v === undefined ? undefined : Number(v);
  }

  /** The parsed `Link` header, by `rel` (or by URL when there is no rel). */
  get links(): ReadonlyMap<string, Link> {
    const out = new Map<string, Link>();
    for (const header of this.headers.getAll("Link")) {
      for (const part of splitOutsideQuotes(header, ",", { angleBrackets: true })) {
        const m = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
        if (m === null) continue;
        const params = parseParams(m[2] ?? "");
        const url = new URL(m[1] ?? "", this.url);
        const rel = params.rel;
        const link: Link = rel === undefined ? { url, params } : { url, rel, params };
        out.set(rel ?? url.href, link);
      }
    }
    return out;
  }

  /**
   * The body as a stream: `read(n)`, `readany()`, `readline()`, `readexactly(n)`,
   * `iterChunked(n)`, `iterAny()`, `for await`. Reading it to the end gives the connection back.
   */
  get content(): StreamReader {
    if (this.#content === undefined) {
      // The connection is given back as soon as the body ends, not a turn later at its close.
      this.#body?.on("end", () => this.#finish());
      const body =
        this.#body === null ? null : this.#traced(this.#decoded(this.#counted(this.#body)));
      this.#content = new StreamReader(body, {
        highWaterMark: this.#init.readBufsize,
        mapError: (err) => this.#payloadError(err),
      });
    }
    return this.#content;
  }

  #counted(body: Readable): Readable {
    const onProgress = this.#init.onProgress;
    if (onProgress === undefined) return body;
    const length = this.headers.get("Content-Length");
    const counter = new ProgressCounter(onProgress, length === undefined ? null : Number(length));
    this.#counter = counter;
    return pipeline(body, counter, () => {}) as Readable;
  }

  #traced(body: Readable): Readable {
    const onChunk = this.#init.onChunk;
    if (onChunk === undefined) return body;
    const tracer = new ChunkTracer(onChunk);
    this.#tracer = tracer;
    return pipeline(body, tracer, () => {}) as Readable;
  }

  #decoded(body: Readable): Readable {
    // From the parser's header object: the multidict is built only for those who ask for it.
    const raw = this.#rawHeaders["content-encoding"];
    const encoding = ((Array.isArray(raw) ? raw[0] : raw) ?? "").trim().toLowerCase();
    if (!this.#init.autoDecompress || encoding === "" || encoding === "identity") return body;
    if (!DECODABLE.has(encoding)) return body;
    const decoder = createDecoder(encoding);
    if (decoder === null) return body;
    const limit = this.#init.maxDecompressedSize;
    const guarded =
      limit > 0
        ? pipeline(body, decoder, new SizeLimit(limit), () => {})
        : pipeline(body, decoder, () => {});
    return guarded as Readable;
  }

  #payloadError(err: StreamReadError): Error {
    const cause = (err.cause ?? err) as NodeJS.ErrnoException;
    // The caller's own progress callback threw: its error, as it threw it.
    if (this.#counter !== undefined && cause === this.#counter.thrown) return cause;
    if (this.#tracer !== undefined && cause === this.#tracer.thrown) return cause;
    const code = cause.code ?? "";
    if (code === "UND_ERR_BODY_TIMEOUT") {
      return new SocketTimeoutError(`Timeout on reading data from socket: ${this.url}`, { cause });
    }
    // The request's total timeout (or the caller's signal) ended the read: its own error says so.
    if (cause instanceof ServerTimeoutError) return cause;
    if (cause instanceof DOMException && cause.name === "AbortError" && cause !== err) return cause;
    if (cause instanceof DecompressionLimitError) {
      return new DecompressionLimitError(
        `Cannot decode the response body of ${this.url}: ${cause.message}`,
        { cause },
      );
    }
    return new ClientPayloadError(
      code.startsWith("Z_")
        ? `Cannot decode the response body of ${this.url}: ${cause.message}`
        : `Response payload is not completed: ${cause.message} (${this.url})`,
      { cause },
    );
  }

  /**
   * The body read part by part with the shared {@link MultipartReader} (aiohttp's
   * `MultipartReader.from_response`), for a `multipart/*` response. Malformed multipart fails
   * reads with `ClientPayloadError` (the reader's error as `cause`) unless `mapError` says
   * otherwise. Reading every part to the end gives the connection back.
   * @throws {ClientPayloadError} when the response is not `multipart/*` or has no boundary
   * @example
   * for await (const part of resp.multipart()) console.log(part.headers.get("Content-Type"));
   */
  multipart(options: MultipartReaderOptions = {}): MultipartReader {
    const type = this.#contentTypeHeader();
    if (parseContentType(type).type !== "multipart") {
      throw new ClientPayloadError(
        `The response of ${this.url} is not multipart (Content-Type: ${type ?? "none"})`,
      );
    }
    const mapError =
      options.mapError ??
      ((err: MultipartError) =>
        new ClientPayloadError(`Malformed multipart response from ${this.url}: ${err.message}`, {
          cause: err,
        }));
    try {
      return new MultipartReader(this.headers, this.content, { ...options, mapError });
    } catch (err) {
      if (!(err instanceof MultipartError)) throw err;
      throw mapError(err);
    }
  }

  /** Reads the whole body (decompressed). Gives the connection back. */
  read(): Promise<Buffer> {
    const read = this.#readBytes();
    if (read !== undefined) return Promise.resolve(read);
    if (this.#released && this.#content === undefined) {
      return Promise.reject(
        new ClientPayloadError("Cannot read the body: the response was released"),
      );
    }
    const whole = this.#wholeBody(() => this.#readBytes() ?? Buffer.alloc(0));
    // Over HTTP/2 nothing waits for the connection: the body is all there is to wait for.
    if (whole !== null && this.version === HTTP_2) return whole;
    return this.#readAll(whole);
  }

  /** The body already read whole, as a Buffer; `undefined` when it was not. */
  #readBytes(): Buffer | undefined {
    const whole = this.#wholeBytes;
    if (this.#bodyBytes === undefined && whole !== undefined) {
      // A view, made only now: asking a small Uint8Array for its buffer copies it off the heap.
      this.#bodyBytes = Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength);
    }
    return this.#bodyBytes;
  }

  async #readAll(whole: Promise<Buffer> | null): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await (whole ?? this.content.read());
      this.#bodyBytes = bytes;
    } finally {
      this.#finish();
    }
    await this.#connectionReusable();
    return bytes;
  }

  /**
   * The whole body by undici's own consumer, which takes each chunk as it is pushed (no
   * 'data' events, no reader), when nothing has to stand in between: no reader made yet, no
   * progress callback, no chunk tracing, nothing to decode. `null` otherwise. Fails as a read
   * through `content` does.
   */
  #wholeBody<T>(then: (whole: Uint8Array) => T): Promise<T> | null {
    const body = this.#body as (Readable & { bytes?: () => Promise<Uint8Array> }) | null;
    const init = this.#init;
    if (body === null || this.#content !== undefined || typeof body.bytes !== "function") {
      return null;
    }
    if (init.onProgress !== undefined || init.onChunk !== undefined) return null;
    if (init.autoDecompress && !isIdentity(this.#rawHeaders["content-encoding"])) return null;
    this.#consuming = true;
    return body.bytes().then(
      (bytes) => {
        this.#wholeBytes = bytes;
        this.#finish();
        return then(bytes);
      },
      () => {
        this.#finish();
        // Given up on by close() or release(), as a reader cancelled there.
        if (this.#released) return then(new Uint8Array(0));
        // undici's consumer reports a close before the end as its own abort error.
        const failure =
          body.errored === null
            ? new StreamClosedError()
            : StreamReader[kReadFailure](body.errored);
        throw this.#payloadError(failure);
      },
    );
  }

  /**
   * The body as text: with `encoding`, else the charset from Content-Type, else detected (BOM,
   * then a statistical detector), falling back to UTF-8.
   */
  text(encoding?: string): Promise<string> {
    // Over HTTP/2, a body read whole is decoded in the step that delivers it: one promise
    // (and one turn of the microtask queue) less per request than through read().
    if (
      this.version === HTTP_2 &&
      this.#bodyBytes === undefined &&
      this.#wholeBytes === undefined &&
      !this.#released
    ) {
      const whole = this.#wholeBody((body) => this.#decode(body, encoding));
      if (whole !== null) return whole;
    }
    return this.read().then((body) => this.#decode(body, encoding));
  }

  #decode(body: Uint8Array, encoding: string | undefined): string {
    // A charset label nobody knows is treated as absent, as aiohttp does; an explicit
    // `encoding` is the caller's choice and fails loudly below.
    const declared = this.charset;
    const charset =
      encoding ??
      (declared !== undefined && isKnownCharset(declared) ? declared : detectCharset(body));
    // UTF-8 (nearly every body) skips building a TextDecoder (a BOM is dropped).
    if (charset === "utf-8" || charset === "utf8" || charset === "UTF-8") return UTF8.decode(body);
    try {
      return new TextDecoder(charset).decode(body);
    } catch (err) {
      throw new ClientPayloadError(`Cannot decode the body of ${this.url} as ${charset}`, {
        cause: err,
      });
    }
  }

  /**
   * The body parsed as JSON. A Content-Type that is not JSON throws `ContentTypeError` unless
   * `contentType: null`. An empty body gives `null`, as aiohttp does.
   */
  async json<T = unknown>(options: JsonOptions = {}): Promise<T> {
    checkOptions("ClientResponse.json()", options, JSON_OPTION_NAMES);
    const expected = options.contentType === undefined ? "application/json" : options.contentType;
    if (expected !== null) {
      const actual = this.contentType;
      const matches = expected === "application/json" ? isJsonType(actual) : actual === expected;
      if (!matches) {
        await this.release();
        throw new ContentTypeError(this.requestInfo, {
          status: this.status,
          message: `Attempt to decode JSON with unexpected mimetype: ${actual}`,
          headers: this.headers,
          history: this.history,
        });
      }
    }
    // RFC 8259 8.1: JSON exchanged between systems is UTF-8 unless the charset says otherwise.
    const declared = this.charset;
    const charset =
      options.encoding ?? (declared !== undefined && isKnownCharset(declared) ? declared : "utf-8");
    const text = await this.text(charset);
    // JSON.parse skips surrounding whitespace itself; only a blank body needs the check.
    if (text.length === 0 || (text.charCodeAt(0) <= 0x20 && text.trim() === "")) return null as T;
    return (options.loads ?? JSON.parse)(text) as T;
  }

  /** Throws `ClientResponseError` when the status is 400 or above (and releases the body). */
  raiseForStatus(): void {
    if (this.ok) return;
    void this.release();
    throw new ClientResponseError(this.requestInfo, {
      status: this.status,
      message: this.reason,
      headers: this.headers,
      history: this.history,
    });
  }

  /**
   * Gives the connection back without reading the rest of the body: a short remainder is
   * drained so the connection can be reused, a long one closes it.
   */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const body = this.#body;
    if (body === null || this.#done) {
      this.#finish();
      return;
    }
    const dump = (body as Readable & { dump?: (o: { limit: number }) => Promise<void> }).dump;
    if (this.#content === undefined && !this.#consuming && typeof dump === "function") {
      // A remainder that trickles in (a hostile server, or a redirect's endless body) would
      // hold release(), and a redirect behind it, until the total timeout: past a short wait
      // the connection is closed instead of drained.
      const giveUp = setTimeout(() => body.destroy(), DRAIN_TIME_LIMIT_MS);
      await dump.call(body, { limit: 128 * 1024 }).catch(() => {});
      clearTimeout(giveUp);
      this.#finish();
      await this.#connectionReusable();
      return;
    }
    this.#content?.cancel();
    body.destroy();
    this.#finish();
  }

  /**
   * undici hands a finished keep-alive socket back to its pool one event-loop turn after the
   * response ends (a guard against servers that close anyway), so a request sent at once
   * would open a second connection. Waiting that turn here lets the caller's next request
   * reuse the connection, as sequential requests do in aiohttp.
   */
  #connectionReusable(): Promise<void> | undefined {
    // An HTTP/2 stream has no socket to hand back: the connection takes the next at once.
    if (this.#body === null || this.version === HTTP_2) return undefined;
    return new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Closes the connection at once (it is not reused). */
  close(): void {
    this.#released = true;
    this.#content?.cancel();
    this.#body?.destroy();
    this.#finish();
  }

  /** Whether the body is done with and the connection given back. */
  get closed(): boolean {
    return this.#done;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#init.onDone(this);
  }

  toString(): string {
    return `<ClientResponse(${this.url}) [${this.status} ${this.reason}]>`;
  }
}

class SizeLimit extends Transform {
  #seen = 0;
  constructor(readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.limit) {
      cb(new DecompressionLimitError(`decompressed body larger than ${this.limit} bytes`));
      return;
    }
    cb(null, chunk);
  }
}

/** Stateless for whole-body decoding: one for every response. */
const UTF8 = new TextDecoder();

/** Whether a Content-Encoding header (as the parser gave it) leaves the body as it is. */
function isIdentity(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return true;
  const encoding = value.trim().toLowerCase();
  return encoding === "" || encoding === "identity";
}

/** A decoder for a Content-Encoding, or null when the runtime has none for it. */
function createDecoder(encoding: string): Transform | null {
  switch (encoding) {
    case "gzip":
    case "x-gzip":
      // The default finish flush makes a stream cut before its trailer (CRC and size) an error:
      // a truncated body must not pass for a complete one.
      return zlib.createGunzip();
    case "deflate":
      return new DeflateDecoder();
    case "br":
      return zlib.createBrotliDecompress();
    case "zstd":
      return createZstdDecompress();
    default:
      return null;
  }
}

/**
 * RFC 9110 8.4.1.2 says "deflate" is zlib-wrapped, but servers send raw deflate too; the
 * first byte tells them apart (a zlib header has compression method 8 in its low nibble).
 */
class DeflateDecoder extends Transform {
  #inner: Transform | null = null;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.#inner === null) {
      const zlibWrapped = chunk.length > 0 && ((chunk[0] as number) & 0x0f) === 8;
      // As for gzip, a stream that ends before its final block is an error, as in aiohttp.
      const inner = zlibWrapped ? zlib.createInflate() : zlib.createInflateRaw();
      // Backpressure: one small input chunk can inflate a thousandfold, so the inner inflater
      // stops while our reader is full instead of filling memory ahead of it.
      inner.on("data", (d: Buffer) => {
        if (!this.push(d)) inner.pause();
      });
      inner.on("error", (err) => this.destroy(err));
      this.#inner = inner;
    }
    if (this.#inner.write(chunk)) cb();
    else this.#inner.once("drain", () => cb());
  }
  override _read(size: number): void {
    this.#inner?.resume();
    super._read(size);
  }
  override _flush(cb: TransformCallback): void {
    if (this.#inner === null) {
      cb();
      return;
    }
    this.#inner.once("end", () => cb());
    this.#inner.end();
  }
  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    // Frees the inflater's native memory when the body is abandoned midway.
    this.#inner?.destroy();
    cb(err);
  }
}
