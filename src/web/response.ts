// Responses (aiohttp's StreamResponse, Response, json_response): headers stay mutable until
// `prepare()` sends them; a StreamResponse then writes its body in pieces, a Response at once.

import type { ServerResponse } from "node:http";
import type { Transform } from "node:stream";
import {
  BrotliCompress,
  createBrotliCompress,
  createDeflate,
  createGzip,
  type Zlib,
  constants as zc,
} from "node:zlib";
import { type SerializeOptions, serialize as serializeCookie } from "cookie";
import { formatContentType, parseContentType } from "../http/content-type.js";
import { CIMultiDict, type MultiDictInit } from "../http/multidict.js";
import { kAppendFlat } from "../http/symbols.js";
import { VERSION } from "../version.js";
import { acceptedCodings } from "./file/accept-encoding.js";
import { type ResponseKey, StateStore } from "./keys.js";
import type { Request } from "./request.js";
import { reportIgnoredChange, SentHeaders } from "./sent-headers.js";
import { STATUS_REASONS } from "./status.js";
import {
  kCtx,
  kCut,
  kFinish,
  kHeadTarget,
  kPresetContentType,
  kPresetJson,
  kRespondPlain,
  kSendHead,
  kSendWhole,
  kWholeLength,
  kWriteHead,
} from "./symbols.js";

/** Sent in the `Server` header unless a response sets its own. */
export const SERVER_SOFTWARE = `aiohttp-ts/${VERSION}`;

/** Options of `StreamResponse`. */
export interface StreamResponseOptions {
  /** @default 200 */
  status?: number;
  /** @default the standard reason phrase of `status` */
  reason?: string;
  headers?: MultiDictInit | CIMultiDict;
}

/** Options of `response.setCookie`. */
export interface CookieOptions {
  expires?: Date;
  domain?: string;
  /** Seconds, as in the Set-Cookie attribute. */
  maxAge?: number;
  /** @default "/" */
  path?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: "Strict" | "Lax" | "None" | "strict" | "lax" | "none" | boolean;
  partitioned?: boolean;
  priority?: "low" | "medium" | "high";
}

/** Compression codings `enableCompression` can apply. */
export type ContentCoding = "gzip" | "deflate" | "br";

/** Thrown when writing to a response whose client has gone away. */
export class ClientDisconnectedError extends Error {
  override readonly name = "ClientDisconnectedError";
  readonly code = "AIOHTTP_CLIENT_DISCONNECTED";
  constructor(cause?: unknown) {
    super("Cannot write to closing transport: the client has disconnected", { cause });
  }
}

/** Thrown when a header name or value would corrupt the response (CR, LF, NUL...). */
export class InvalidHeaderError extends TypeError {
  override readonly name = "InvalidHeaderError";
  readonly code = "AIOHTTP_INVALID_HEADER";
}

/** One settled promise shared by every response prepared without hooks. */
const DONE: Promise<void> = Promise.resolve();

/** A Node response that takes a plain head directly (H2ServerResponse). */
type PlainHeadTarget = ServerResponse & {
  [kRespondPlain]?: (
    statusCode: number,
    contentType: string | undefined,
    contentLength: number | null,
    server: string,
  ) => void;
};

/** A compressor between a response and its socket. */
type Encoder = Transform & Zlib;

/**
 * The response a handler prepared itself, by the Node response it writes to: should the
 * handler fail afterwards, the server finds it there (a cloned request shares the Node
 * response, not the clone's state).
 */
const preparedOn = new WeakMap<ServerResponse, StreamResponse>();

/** @internal the response whose `prepare()` sent the head on `res`, if one did */
export function preparedResponse(res: ServerResponse): StreamResponse | undefined {
  return preparedOn.get(res);
}

/** A response whose body is written in pieces after `prepare()`. */
export class StreamResponse {
  #status: number;
  // Headers are built on first use: most responses only ever need a Content-Type, kept in
  // #presetType until then, so the common case allocates no multidict.
  #headers: CIMultiDict | undefined;
  #presetType: string | undefined;
  #sentLength: number | null = null;
  /** What few responses set (see ResponseMore), made when first needed. */
  #more: ResponseMore | undefined;
  #keepAlive: boolean | undefined;
  #chunked = false;
  #prepared: Promise<void> | null = null;
  // Set once the status line and headers are written; `onResponsePrepare` callbacks run
  // between `prepare()` being called and this, so they can still change the head.
  #headWritten = false;
  #res: ServerResponse | null = null;
  #eof = false;
  #bodyLength = 0;
  #req: Request | null = null;

  constructor(options: StreamResponseOptions = {}) {
    this.#status = options.status === undefined ? 200 : checkStatus(options.status);
    if (options.reason !== undefined || options.headers !== undefined) {
      const more = this.#m();
      more.reason = options.reason;
      more.initHeaders = options.headers;
    }
  }

  #m(): ResponseMore {
    return (this.#more ??= new ResponseMore());
  }

  /** The headers multidict, built on first use. */
  #h(): CIMultiDict {
    if (this.#headers === undefined) {
      const more = this.#more;
      const h = new CIMultiDict(more?.initHeaders);
      if (this.#presetType !== undefined) h.set("Content-Type", this.#presetType);
      this.#headers = h;
      if (more !== undefined) more.initHeaders = undefined;
      this.#presetType = undefined;
    }
    return this.#headers;
  }

  /**
   * @internal sets Content-Type without building the headers when possible; with `ifAbsent`
   * a Content-Type among the given headers wins
   */
  [kPresetContentType](value: string, ifAbsent = false): void {
    if (this.#headers === undefined && this.#more?.initHeaders === undefined) {
      this.#presetType = value;
      return;
    }
    const h = this.#h();
    if (!ifAbsent || !h.has("Content-Type")) h.set("Content-Type", value);
  }

  // ---- status and headers --------------------------------------------------------------

  /** The status code. */
  get status(): number {
    return this.#status;
  }

  /** The reason phrase. */
  get reason(): string {
    return this.#more?.reason ?? STATUS_REASONS[this.#status] ?? "Unknown";
  }

  /** Changes the status (and reason); throws once the response is prepared, as in aiohttp. */
  setStatus(status: number, reason?: string): void {
    if (this.#headWritten)
      throw new Error("Cannot change the status: the response is already prepared");
    this.#status = checkStatus(status);
    if (reason !== undefined || this.#more !== undefined) this.#m().reason = reason;
  }

  /**
   * The headers: mutable until the response is prepared (so a middleware can add headers after
   * the handler ran, and `onResponsePrepare` callbacks just before they are sent); afterwards
   * what was sent, and changes are ignored, as in aiohttp (reported once per route when the
   * application's `debug` is on).
   */
  get headers(): CIMultiDict {
    if (!this.#headWritten) return this.#h();
    const more = this.#m();
    if (more.sentHeaders === undefined) {
      // The head is out, so the multidict is ours to complete with what was sent.
      const h = this.#h();
      if (this.#sentLength !== null && !h.has("Content-Length")) {
        h.set("Content-Length", String(this.#sentLength));
      }
      more.sentHeaders = new SentHeaders(h, (what) => reportIgnoredChange(this.#req, what));
    }
    return more.sentHeaders;
  }

  /** The media type, `application/octet-stream` when none is set. */
  get contentType(): string {
    return parseContentType(this.headers.get("Content-Type")).mimetype;
  }

  /** Sets the media type, keeping the charset; ignored once prepared. */
  set contentType(value: string) {
    if (this.#ignored("contentType")) return;
    this.#h().set("Content-Type", formatContentType(value, this.charset));
  }

  /** The charset of Content-Type, when set. */
  get charset(): string | undefined {
    return parseContentType(this.headers.get("Content-Type")).charset;
  }

  /** Sets the charset of Content-Type; ignored once prepared. */
  set charset(value: string | undefined) {
    if (this.#ignored("charset")) return;
    const h = this.#h();
    const type = h.has("Content-Type") ? this.contentType : "application/octet-stream";
    h.set("Content-Type", formatContentType(type, value));
  }

  /** The Content-Length header as a number, when set. */
  get contentLength(): number | undefined {
    const v = this.headers.get("Content-Length");
    return v === undefined ? undefined : Number(v);
  }

  /** Sets (or, with `undefined`, removes) Content-Length; ignored once prepared. */
  set contentLength(value: number | undefined) {
    if (this.#ignored("contentLength")) return;
    if (value === undefined) this.#h().delete("Content-Length");
    else {
      if (!Number.isSafeInteger(value) || value < 0)
        throw new RangeError(`Invalid Content-Length ${value}`);
      this.#h().set("Content-Length", String(value));
    }
  }

  /**
   * Sends the body with chunked transfer encoding (the default when no length is known);
   * ignored once prepared.
   */
  enableChunkedEncoding(): void {
    if (this.#ignored("enableChunkedEncoding()")) return;
    this.#chunked = true;
  }

  /** Whether chunked encoding was requested. */
  get chunked(): boolean {
    return this.#chunked;
  }

  /**
   * Compresses the body. Without a coding, picks the best one the client accepts
   * (`br`, then `gzip`, then `deflate`); nothing is compressed when it accepts none, nor when
   * the response has a `Content-Encoding` of its own (other than `identity`) when it is
   * prepared. A streamed body is flushed through the compressor at each `write()`, so the
   * client can decode each piece at once. Ignored once prepared.
   */
  enableCompression(coding?: ContentCoding): void {
    if (this.#ignored("enableCompression()")) return;
    this.#m().compression = coding ?? "auto";
  }

  /** Whether compression was enabled. */
  get compression(): boolean {
    return (this.#more?.compression ?? null) !== null;
  }

  // ---- cookies -------------------------------------------------------------------------

  /** Adds a `Set-Cookie` header; setting the same name again replaces it. Ignored once prepared. */
  setCookie(name: string, value: string, options: CookieOptions = {}): void {
    if (this.#ignored(`setCookie(${JSON.stringify(name)})`)) return;
    const opts: SerializeOptions = { path: options.path ?? "/" };
    if (options.expires !== undefined) opts.expires = options.expires;
    if (options.domain !== undefined) opts.domain = options.domain;
    if (options.maxAge !== undefined) opts.maxAge = options.maxAge;
    if (options.secure !== undefined) opts.secure = options.secure;
    if (options.httpOnly !== undefined) opts.httpOnly = options.httpOnly;
    if (options.sameSite !== undefined) {
      opts.sameSite =
        typeof options.sameSite === "string"
          ? (options.sameSite.toLowerCase() as "lax" | "strict" | "none")
          : options.sameSite;
    }
    if (options.partitioned !== undefined) opts.partitioned = options.partitioned;
    if (options.priority !== undefined) opts.priority = options.priority;
    let text: string;
    try {
      text = serializeCookie(name, value, opts);
    } catch (err) {
      throw new InvalidHeaderError(
        `Invalid cookie ${JSON.stringify(name)}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    (this.#m().cookies ??= new Map()).set(name, text);
  }

  /** Tells the client to delete a cookie (an expired `Set-Cookie`). Ignored once prepared. */
  delCookie(
    name: string,
    options: Pick<CookieOptions, "domain" | "path" | "secure" | "httpOnly" | "sameSite"> = {},
  ): void {
    if (this.#ignored(`delCookie(${JSON.stringify(name)})`)) return;
    this.setCookie(name, "", { ...options, maxAge: 0, expires: new Date(0) });
  }

  /** The `Set-Cookie` values to be sent, by cookie name. */
  get cookies(): ReadonlyMap<string, string> {
    return this.#more?.cookies ?? new Map();
  }

  // ---- connection ----------------------------------------------------------------------

  /** Whether the connection stays open after this response (`undefined`: the server decides). */
  get keepAlive(): boolean | undefined {
    return this.#keepAlive;
  }

  /** Closes the connection after this response. */
  forceClose(): void {
    this.#keepAlive = false;
  }

  // ---- state ---------------------------------------------------------------------------

  /** Stores per-response state. */
  set<T>(key: ResponseKey<T>, value: T): void {
    (this.#m().state ??= new StateStore()).set(key as ResponseKey<unknown>, value);
  }

  /** Reads per-response state. */
  get<T>(key: ResponseKey<T>): T | undefined {
    return this.#more?.state?.get(key as ResponseKey<unknown>) as T | undefined;
  }

  has(key: ResponseKey<unknown>): boolean {
    return this.#more?.state?.has(key) === true;
  }

  // ---- sending -------------------------------------------------------------------------

  /** Whether the status line and headers have been sent (`prepare()` has run its hooks). */
  get prepared(): boolean {
    return this.#headWritten;
  }

  /** Bytes of body written so far (before compression). */
  get bodyLength(): number {
    return this.#bodyLength;
  }

  /**
   * Sends the status line and headers. Runs the applications' `onResponsePrepare` signals
   * first, so they can still change headers. Calling it again does nothing.
   */
  prepare(request: Request): Promise<void> {
    if (this.#prepared !== null) return this.#prepared;
    const preparing = this.#prepare(request);
    // Once the head is out, later calls get the shared settled promise and this one, awaited
    // by its caller, can go (a WebSocket would keep it as long as its connection); a failure
    // stays, so that later calls fail the same way.
    this.#prepared = this.#headWritten ? DONE : preparing;
    return preparing;
  }

  async #prepare(request: Request): Promise<void> {
    this.#req = request;
    const apps = request.matchResult?.apps;
    if (apps !== undefined) {
      for (const app of apps) {
        for (const fn of app.onResponsePrepare) await fn(request, this);
      }
    }
    this[kWriteHead](request, null);
    // A connection taken over while the head went out (a WebSocket) has no response left.
    if (this.#res !== null) preparedOn.set(this.#res, this);
    this.#prepared = DONE;
  }

  /**
   * @internal sends the head; `bodyLength` is the length of a body about to be sent whole,
   * `null` when it will be streamed
   */
  [kWriteHead](request: Request, bodyLength: number | null): void {
    // A hook rather than an override calling `super[kWriteHead]`: V8 (Node 20) looks a
    // computed super property up in the runtime, 28 ns a call against 2.
    bodyLength ??= this[kWholeLength]();
    const res = this[kHeadTarget](request);
    this.#req = request;
    this.#res = res;
    this.#prepared ??= DONE;
    const status = this.#status;
    // RFC 9110 6.4.1: 1xx, 204 and 304 have no content, so no length either.
    const noBody = status < 200 || status === 204 || status === 304;
    const more = this.#more;
    const compression = more?.compression ?? null;
    const encoded = compression !== null && this.#alreadyEncoded();
    const coding =
      compression === null || noBody || encoded ? null : pickCoding(compression, request);
    // RFC 9110 12.5.5, 15.4.5: the coding is chosen from Accept-Encoding, so every answer says
    // so, also an uncompressed one to a client that accepts none and a 304 (as nginx's gzip_vary).
    const negotiated = compression === "auto" && !encoded;
    const untouched =
      this.#headers === undefined &&
      more?.initHeaders === undefined &&
      coding === null &&
      !negotiated;
    const cookies = more?.cookies;
    if (untouched && cookies === undefined && res !== null) {
      const respond = (res as PlainHeadTarget)[kRespondPlain];
      if (respond !== undefined) {
        // Over HTTP/2: no flat list to build and convert back (see H2ServerResponse).
        const length = noBody || bodyLength === null || this.#chunked ? null : bodyLength;
        this.#sentLength = length;
        this.#closeIfDone(request, res);
        try {
          respond.call(res, status, this.#presetType, length, SERVER_SOFTWARE);
        } catch (err) {
          throw headError(err);
        }
        this.#headWritten = true;
        return;
      }
    }
    const flat: string[] = [];
    let hasServer = false;

    if (untouched) {
      // Nobody touched the headers: only what the response itself decided goes out.
      if (this.#presetType !== undefined) flat.push("Content-Type", this.#presetType);
      if (!noBody && bodyLength !== null && !this.#chunked) {
        flat.push("Content-Length", String(bodyLength));
        this.#sentLength = bodyLength;
      }
    } else {
      const h = this.#h();
      if (negotiated) appendVary(h);
      if (coding !== null) {
        h.set("Content-Encoding", coding);
        h.delete("Content-Length");
        appendVary(h);
      } else if (noBody) {
        h.delete("Content-Length");
        h.delete("Transfer-Encoding");
      } else if (bodyLength !== null && !this.#chunked) {
        h.set("Content-Length", String(bodyLength));
      }
      if (this.#chunked && !noBody) h.delete("Content-Length");
      h[kAppendFlat](flat);
      hasServer = h.has("Server");
    }
    if (!hasServer) flat.push("Server", SERVER_SOFTWARE);
    if (cookies !== undefined) {
      for (const cookie of cookies.values()) flat.push("Set-Cookie", cookie);
    }
    this.#closeIfDone(request, res);
    try {
      // Node checks every name and value (RFC 9110 5.1 and 5.5) and throws before sending
      // anything, so a CR/LF in a value can never reach the wire.
      this[kSendHead](request, flat);
    } catch (err) {
      throw headError(err);
    }
    this.#headWritten = true;
    if (coding !== null && res !== null && request.method !== "HEAD") {
      this.#m().encoder = encoderFor(coding, res);
    }
  }

  /** Before the head goes out: the connection closes after it if asked, or shutting down. */
  #closeIfDone(request: Request, res: ServerResponse | null): void {
    if (res !== null && (this.#keepAlive === false || request[kCtx].closing)) {
      res.shouldKeepAlive = false;
    }
  }

  /** @internal the length of a body known whole before the head goes out; `null`: streamed */
  [kWholeLength](): number | null {
    return null;
  }

  /** Whether the handler set a Content-Encoding of its own: such a body is sent as it is. */
  #alreadyEncoded(): boolean {
    const encoding = this.#h().get("Content-Encoding");
    return encoding !== undefined && encoding.trim().toLowerCase() !== "identity";
  }

  /**
   * @internal the Node response the head (and body) go to; `null` for a response that writes
   * its head itself and never asks node:http for one (a WebSocket's 101)
   */
  [kHeadTarget](request: Request): ServerResponse | null {
    return request.rawResponse;
  }

  /** @internal writes the status line and headers (`flat`: name, value, name, value...) */
  [kSendHead](request: Request, flat: string[]): void {
    request.rawResponse.writeHead(this.#status, this.reason, flat);
  }

  /**
   * @internal sends the head and a whole body in one write; for responses without prepare
   * hooks and compression, the common case
   */
  [kSendWhole](request: Request, body: string | Uint8Array | null): void {
    const length =
      body === null ? 0 : typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
    this[kWriteHead](request, length);
    this.#eof = true;
    const res = request.rawResponse;
    // RFC 9110 9.3.2 and 15.3.5/15.4.5: HEAD, 204 and 304 carry no body (Node drops it too).
    const status = this.#status;
    const bodyless = request.method === "HEAD" || status < 200 || status === 204 || status === 304;
    if (length === 0 || bodyless) {
      res.end();
      return;
    }
    this.#bodyLength += length;
    res.end(body);
  }

  /**
   * Writes a piece of the body. Resolves when the data is handed to the socket, waiting while
   * the socket's buffer is full, so a fast producer cannot grow memory without bound. With
   * compression, each piece is flushed through the compressor, so the client can decode it
   * at once (streamed events are not held back until the compressor's buffer fills).
   */
  async write(chunk: string | Uint8Array): Promise<void> {
    if (this.#eof) throw new Error("Cannot write after writeEof()");
    const res = this.#res;
    if (res === null) throw new Error("Response is not prepared: call prepare(request) first");
    if (res.destroyed) throw new ClientDisconnectedError();
    const data = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    this.#bodyLength += data.length;
    const encoder = this.#more?.encoder ?? null;
    if (encoder === null) {
      if (!res.write(data)) await drained(res);
      return;
    }
    encoder.write(data);
    await syncFlush(encoder);
    // The compressed output went on to the socket as the encoder made it: wait for the socket,
    // not the encoder, or a slow client would let it pile up in the response's buffer.
    if (res.writableNeedDrain) await drained(res);
  }

  /** Flushes what compression holds back, so the client sees it now (for server-sent events). */
  async drain(): Promise<void> {
    const encoder = this.#more?.encoder ?? null;
    if (encoder !== null) await syncFlush(encoder);
  }

  /** Ends the body, optionally with a last piece. Resolves when everything is flushed. */
  async writeEof(data?: string | Uint8Array): Promise<void> {
    if (this.#eof) return;
    if (this.#res === null)
      throw new Error("Response is not prepared: call prepare(request) first");
    this.#eof = true;
    const res = this.#res;
    if (data !== undefined && data.length > 0) {
      this.#bodyLength += typeof data === "string" ? Buffer.byteLength(data) : data.length;
    }
    if (res.destroyed) return;
    const encoder = this.#more?.encoder ?? null;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        res.off("close", done);
        resolve();
      };
      res.once("close", done);
      const last = data !== undefined && data.length > 0 ? data : undefined;
      if (encoder === null) {
        if (last === undefined) res.end(done);
        else res.end(last, done);
        return;
      }
      // The encoder ends the response once it has produced its last bytes (encoderFor).
      res.once("finish", done);
      if (last === undefined) encoder.end();
      else encoder.end(last);
    });
  }

  /** Whether `writeEof()` was called. */
  get eof(): boolean {
    return this.#eof;
  }

  /**
   * @internal called by the server once the handler returned this response; `undefined` when
   * everything was handed to the socket synchronously
   */
  [kFinish](request: Request): Promise<void> | undefined {
    return this.#finishStream(request);
  }

  async #finishStream(request: Request): Promise<void> {
    if (this.#prepared === null) await this.prepare(request);
    else await this.#prepared;
    if (!this.#eof) await this.writeEof();
  }

  /**
   * @internal the handler failed after prepare(): sends what was written but is held back (the
   * head, which Node keeps until the first write; what the compressor holds) and ends the body
   * here. The server then closes the connection, so the client sees the body cut short.
   */
  async [kCut](): Promise<void> {
    this.#eof = true;
    const res = this.#res;
    if (res === null || res.destroyed) return;
    const encoder = this.#more?.encoder ?? null;
    if (encoder !== null) {
      // What the compressor holds goes to the socket as it comes out (encoderFor); destroying
      // the encoder afterwards keeps it from ending the body properly.
      await syncFlush(encoder);
      encoder.destroy();
      if (res.destroyed) return;
    }
    if (this.#bodyLength === 0) res.flushHeaders();
    // Node corks a response at its first write in a tick and uncorks it on the next tick (Node
    // 24 keeps a chunked body's writes in the response itself until then): the server closes
    // the connection before that tick, so hand them to the socket now.
    for (let n = res.writableCorked; n > 0; n--) res.uncork();
  }

  /**
   * Whether a change must be ignored because the head is out (aiohttp ignores them too; an
   * exception would break every stream behind a middleware written for plain responses).
   */
  #ignored(what: string): boolean {
    if (!this.#headWritten) return false;
    reportIgnoredChange(this.#req, what);
    return true;
  }

  toString(): string {
    const state = this.#eof ? "eof" : this.#headWritten ? "prepared" : "not prepared";
    return `<${this.constructor.name} ${this.status} ${this.reason} ${state}>`;
  }
}

/**
 * What few responses set: a reason phrase, headers given to the constructor, cookies, state,
 * compression, and the view of the headers once sent. Apart from the response, so that the
 * common one (and a WebSocket's, kept as long as its connection) has 14 fields, not 20.
 */
class ResponseMore {
  reason: string | undefined = undefined;
  initHeaders: StreamResponseOptions["headers"] = undefined;
  cookies: Map<string, string> | undefined = undefined;
  state: StateStore<ResponseKey<unknown>> | undefined = undefined;
  compression: ContentCoding | "auto" | null = null;
  encoder: Encoder | null = null;
  sentHeaders: SentHeaders | undefined = undefined;
}

/** Options of `Response`. */
export interface ResponseOptions extends StreamResponseOptions {
  /** Raw body. A string is sent as UTF-8. */
  body?: string | Uint8Array | null;
  /** Text body; sets `text/plain; charset=utf-8` unless `contentType` says otherwise. */
  text?: string | null;
  contentType?: string;
  charset?: string;
}

/** A response with the whole body in memory, sent with a `Content-Length`. */
export class Response extends StreamResponse {
  #body: Uint8Array | string | null = null;

  constructor(options: ResponseOptions = {}) {
    super(options);
    const { body, text, contentType, charset } = options;
    if (body != null && text != null) throw new TypeError("Response takes body or text, not both");
    if (text != null) {
      if (typeof text !== "string")
        throw new TypeError(`text must be a string, got ${typeof text}`);
      if (contentType?.includes("charset"))
        throw new TypeError("charset must be given apart from contentType");
      const cs = charset ?? "utf-8";
      this[kPresetContentType](
        contentType === undefined && cs === "utf-8"
          ? "text/plain; charset=utf-8"
          : formatContentType(contentType ?? "text/plain", cs),
      );
      this.#body = cs === "utf-8" || cs === "utf8" ? text : encodeText(text, cs);
    } else {
      if (contentType !== undefined) {
        this[kPresetContentType](formatContentType(contentType, charset));
      } else if (charset !== undefined) {
        this[kPresetContentType](formatContentType("application/octet-stream", charset));
      } else if (body != null) {
        this[kPresetContentType]("application/octet-stream", true);
      }
      this.#body = body ?? null;
    }
  }

  /** The body as bytes, or `null`. */
  get body(): Buffer | null {
    const b = this.#body;
    if (b === null) return null;
    return typeof b === "string"
      ? Buffer.from(b, "utf8")
      : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  set body(value: string | Uint8Array | null) {
    if (this.prepared) throw new Error("Cannot change the body: the response is already prepared");
    this.#body = value;
  }

  /** The body decoded with the response's charset. */
  get text(): string | null {
    const b = this.#body;
    if (b === null) return null;
    if (typeof b === "string") return b;
    return new TextDecoder(this.charset ?? "utf-8").decode(b);
  }

  set text(value: string) {
    if (this.prepared) throw new Error("Cannot change the body: the response is already prepared");
    const headers = this.headers;
    if (!headers.has("Content-Type")) headers.set("Content-Type", "text/plain; charset=utf-8");
    this.#body = value;
  }

  /** @internal sends the whole body at once when nothing has to run first */
  override [kFinish](request: Request): Promise<void> | undefined {
    if (!this.prepared && !this.compression && !hasPrepareHooks(request)) {
      this[kSendWhole](request, this.#body);
      return undefined;
    }
    return this.#finishWhole(request);
  }

  async #finishWhole(request: Request): Promise<void> {
    if (!this.prepared) {
      if (hasPrepareHooks(request)) await this.prepare(request);
      else this[kWriteHead](request, this.#bodyLengthForHead());
    }
    // The head announced the body's length, also when the handler called prepare() itself;
    // send the body unless the handler already wrote its own through write().
    if (this.eof) return;
    const b = this.#body;
    await this.writeEof(b === null || this.bodyLength > 0 ? undefined : b);
  }

  /** @internal the body and type of `jsonResponse(data)` without options, its hot path */
  [kPresetJson](text: string): void {
    this[kPresetContentType]("application/json; charset=utf-8");
    this.#body = text;
  }

  #bodyLengthForHead(): number {
    const b = this.#body;
    return b === null ? 0 : typeof b === "string" ? Buffer.byteLength(b) : b.byteLength;
  }

  /** @internal the head announces the body's length, also when prepare() sends it */
  override [kWholeLength](): number | null {
    return this.#bodyLengthForHead();
  }
}

/** Options of `jsonResponse`. */
export interface JsonResponseOptions extends StreamResponseOptions {
  /** @default "application/json" */
  contentType?: string;
  /** Serializer; @default JSON.stringify */
  dumps?: (data: unknown) => string;
}

/** A `Response` with a JSON body (aiohttp's `json_response`). */
export function jsonResponse(data: unknown, options?: JsonResponseOptions): Response {
  const text = (options?.dumps ?? JSON.stringify)(data);
  if (typeof text !== "string")
    throw new TypeError("jsonResponse: the data cannot be serialized to JSON");
  if (options === undefined) {
    const response = new Response();
    response[kPresetJson](text);
    return response;
  }
  const { dumps: _dumps, contentType = "application/json", ...rest } = options;
  return new Response({ ...rest, text, contentType });
}

/** What writing a head threw: node's refusal of a name or value as an InvalidHeaderError. */
function headError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ERR_INVALID_CHAR" || code === "ERR_INVALID_HTTP_TOKEN") {
    return new InvalidHeaderError((err as Error).message, { cause: err });
  }
  return err;
}

/** Whether an application on the request's route has `onResponsePrepare` callbacks. */
function hasPrepareHooks(request: Request): boolean {
  const apps = request.matchResult?.apps;
  if (apps === undefined) return false;
  // Indexed: the for-of iterator cost an object (79 B) a response under h2load.
  for (let i = 0; i < apps.length; i++) {
    if ((apps[i]?.onResponsePrepare.length ?? 0) > 0) return true;
  }
  return false;
}

function checkStatus(status: number): number {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new RangeError(`Invalid HTTP status code ${status}`);
  }
  return status;
}

function encodeText(text: string, charset: string): Uint8Array {
  const cs = charset.toLowerCase();
  if (cs === "latin1" || cs === "iso-8859-1" || cs === "ascii" || cs === "us-ascii") {
    return Buffer.from(text, "latin1");
  }
  if (cs === "utf-16le" || cs === "utf16le") return Buffer.from(text, "utf16le");
  throw new TypeError(
    `Cannot encode text as ${charset}; pass body bytes with that charset instead`,
  );
}

function pickCoding(choice: ContentCoding | "auto", request: Request): ContentCoding | null {
  if (choice !== "auto") return choice;
  const accepts = acceptedCodings(request.headers.get("Accept-Encoding"));
  for (const coding of ["br", "gzip", "deflate"] as const) {
    if (accepts(coding)) return coding;
  }
  return null;
}

/**
 * A compressor whose output goes straight on to `res` as it is produced. Not `pipe()`: a pipe
 * stops reading the compressor while the socket is full, so a flush would wait for the client;
 * `write()` waits for the socket itself instead, which bounds what can be buffered to about
 * one compressed piece.
 */
function encoderFor(coding: ContentCoding, res: ServerResponse): Encoder {
  const encoder: Encoder =
    coding === "br"
      ? createBrotliCompress({ params: { [zc.BROTLI_PARAM_QUALITY]: 4 } })
      : coding === "gzip"
        ? createGzip()
        : createDeflate();
  encoder.on("data", (out: Buffer) => {
    if (!res.destroyed) res.write(out);
  });
  encoder.once("end", () => {
    if (!res.destroyed) res.end();
  });
  // A compressor only fails on a bug or exhausted memory: the body cannot be completed.
  encoder.once("error", (err) => res.destroy(err));
  return encoder;
}

/**
 * Resolves once the compressor has emitted everything written to it so far, as bytes the
 * client can decode now: Z_SYNC_FLUSH (RFC 1951 3.2.4, an empty stored block) for gzip and
 * deflate, BROTLI_OPERATION_FLUSH for br. Neither ends the stream nor resets the dictionary.
 */
function syncFlush(encoder: Encoder): Promise<void> {
  const kind = encoder instanceof BrotliCompress ? zc.BROTLI_OPERATION_FLUSH : zc.Z_SYNC_FLUSH;
  return new Promise<void>((resolve) => encoder.flush(kind, () => resolve()));
}

/** @internal adds Accept-Encoding to the Vary header */
export function appendVary(h: CIMultiDict): void {
  const vary = h.get("Vary");
  if (vary === undefined) h.set("Vary", "Accept-Encoding");
  else if (!vary.toLowerCase().includes("accept-encoding"))
    h.set("Vary", `${vary}, Accept-Encoding`);
}

/**
 * Resolves at the socket's next 'drain', rejects if the client goes away first. Two plain
 * listeners: `events.once` with an AbortSignal costs an AbortError per wait, and a slow
 * client makes a large body wait on every piece.
 */
function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.reject(new ClientDisconnectedError());
  return new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      res.off("close", onClose);
      resolve();
    };
    const onClose = (): void => {
      res.off("drain", onDrain);
      reject(new ClientDisconnectedError());
    };
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}
