// One HTTP/2 stream seen as node:http's request and response pair. The server's request loop,
// Request and StreamResponse read and write node:http's objects; these two answer the part of
// that interface they use, straight on the stream. node:http2's own compatibility objects do
// the same and more (a Readable per request, a header store, trailers on every response) at
// 40% of the stream API's throughput; these add next to nothing to it.

import {
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  validateHeaderName,
  validateHeaderValue,
} from "node:http";
import { constants, type Http2Session, type ServerHttp2Stream } from "node:http2";
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
// The module's own, as node's date cache uses its internal one: a test's fake timers (which
// replace the global) must not stop the Date of responses from moving on.
import { setTimeout } from "node:timers";
import {
  kAllFields,
  kAuthority,
  kBodyStream,
  kFirstField,
  kPeer,
  kRespondPlain,
  kStreamedBody,
  kWhenClosed,
} from "./symbols.js";

// RFC 9113 8.2.2: connection-specific fields are malformed in HTTP/2 (Node throws on most of
// them); `TE` is allowed with the value "trailers" only.
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

/** Listener for a stream's 'error': a reset or a failed write, which 'close' reports too. */
function ignoreStreamError(): void {}

/** The response answering a stream, for the stream's shared 'close' listener. */
const kResponse = Symbol("response");

type AnsweredStream = ServerHttp2Stream & { [kResponse]: H2ServerResponse | undefined };

/**
 * A session's streams: how many are open, how many were ever opened, how many are ending; and
 * what every request on it asks of its connection, read once.
 */
export interface SessionStreams {
  open: number;
  opened: number;
  /** Streams whose response has ended but which have not closed: something is left to send. */
  ending: number;
  /** The connection (node:http2's guarded view of the session's socket). */
  readonly socket: Socket;
  /**
   * The peer's address: through the guarded view it costs a proxy trap, a bound lookup and a
   * getter on every request (0.24 us under h2load).
   */
  readonly remoteAddress: string | undefined;
}

/** A session's SessionStreams, kept on the session: a property read, where a WeakMap hashes. */
const kStreams = Symbol("streams");

type CountedSession = Http2Session & { [kStreams]?: SessionStreams };

/** The stream counts of `session`. */
export function streamsOf(session: Http2Session): SessionStreams {
  const counted = session as CountedSession;
  let streams = counted[kStreams];
  if (streams === undefined) {
    const socket = session.socket as Socket;
    streams = { open: 0, opened: 0, ending: 0, socket, remoteAddress: socket.remoteAddress };
    counted[kStreams] = streams;
  }
  return streams;
}

/** One listener for every stream: no closure per stream. `this` is the stream. */
function onStreamClose(this: AnsweredStream): void {
  this[kResponse]?.closed();
}

/** An HTTP/2 request read like an HTTP/1.1 one: a `Host` header and no pseudo-headers. */
export class H2IncomingRequest {
  readonly stream: ServerHttp2Stream;
  readonly method: string;
  readonly url: string;
  /** The connection (node:http2's guarded view of the session's socket). */
  readonly socket: Socket;
  /** @internal */
  readonly [kStreamedBody]: boolean;
  /** @internal the peer's address, as the session read it */
  readonly [kPeer]: string | undefined;
  /**
   * @internal the fields as node:http2 gave them, pseudo-headers first (RFC 9113 8.3: nghttp2
   * refuses a request otherwise), and where the others start: the server checks its limits on
   * these, so that most requests never copy them into `rawHeaders`.
   */
  readonly [kAllFields]: string[];
  /** @internal */
  readonly [kFirstField]: number;
  /** @internal RFC 9113 8.3.1: `:authority` stands for Host, when the request has no Host */
  readonly [kAuthority]: string | undefined;
  #headers: IncomingHttpHeaders;
  #rawHeaders: string[] | undefined;

  constructor(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    all: string[],
    streams: SessionStreams,
  ) {
    this.stream = stream;
    this.#headers = headers;
    // The pseudo-headers are read off node's list rather than its header object, a dictionary
    // whose every lookup is a hash probe. nghttp2 lets each through once at most, `:method`
    // always, `:path` in all but CONNECT (RFC 9113 8.3.1).
    let method = "";
    let url = "/";
    let authority: string | undefined;
    let first = 0;
    for (; first < all.length; first += 2) {
      const name = all[first] as string;
      if (name.charCodeAt(0) !== 58 /* ":" */) break;
      if (name === ":method") method = all[first + 1] as string;
      else if (name === ":path") url = all[first + 1] as string;
      else if (name === ":authority") authority = all[first + 1];
    }
    this[kAllFields] = all;
    this[kFirstField] = first;
    this[kAuthority] = authority;
    this.method = method;
    this.url = url;
    this.socket = streams.socket;
    this[kPeer] = streams.remoteAddress;
    // HTTP/2 frames the body itself: one comes unless the headers ended the stream.
    this[kStreamedBody] = !stream.endAfterHeaders && headers["content-length"] === undefined;
  }

  /**
   * Header fields by lower-case name (node:http2's object), with `host` from `:authority`.
   * Made on first use: adding a key to node's object costs a dictionary insert.
   */
  get headers(): IncomingHttpHeaders {
    const headers = this.#headers;
    if (this.#rawHeaders === undefined) this.#fields();
    return headers;
  }

  /** Header fields as received, without pseudo-headers: name, value, name, value... */
  get rawHeaders(): string[] {
    return this.#rawHeaders ?? this.#fields();
  }

  /** Makes `rawHeaders` and gives `headers` the Host that `:authority` stands for. */
  #fields(): string[] {
    const all = this[kAllFields];
    const first = this[kFirstField];
    const headers = this.#headers;
    const authority = this[kAuthority];
    let raw: string[];
    if (headers.host === undefined && authority !== undefined && first >= 2) {
      // The last pseudo-header's place, copied with the rest, takes the Host.
      raw = all.slice(first - 2);
      raw[0] = "host";
      raw[1] = authority;
      headers.host = authority;
    } else {
      raw = all.slice(first);
    }
    this.#rawHeaders = raw;
    return raw;
  }

  get httpVersion(): string {
    return "2.0";
  }

  get httpVersionMajor(): number {
    return 2;
  }

  get httpVersionMinor(): number {
    return 0;
  }

  /** @internal where the body comes from: the stream's readable side */
  get [kBodyStream](): Readable {
    return this.stream;
  }

  /** Whether the whole body came (a stream reset before its end leaves it false). */
  get complete(): boolean {
    return this.stream.readableEnded;
  }

  get readableEnded(): boolean {
    return this.stream.readableEnded;
  }

  /** Reads and drops the rest of the body. */
  resume(): this {
    this.stream.resume();
    return this;
  }
}

type Listener = (...args: unknown[]) => void;

/** What the server runs when a response's stream has closed (see H2ServerResponse[kWhenClosed]). */
export type ClosedCallback<A, B> = (request: A, response: B, started: number) => void;

/**
 * An HTTP/2 response that takes what the server writes for HTTP/1.1: a reason phrase (HTTP/2
 * has none), flat header lists, and connection-specific headers, which are left out. Its
 * events ('close', 'finish', 'drain') are the stream's.
 */
export class H2ServerResponse {
  readonly stream: ServerHttp2Stream;
  readonly req: H2IncomingRequest;
  statusCode = 200;
  /** HTTP/2 connections outlive a response; the server may still turn this off on shutdown. */
  shouldKeepAlive = true;
  #ended = false;
  /**
   * 'close' listeners, kept here and called by the stream's one shared listener: the server
   * waits for most responses to close, and node's `once` costs a wrapper and a bind each time.
   */
  #onClose: Listener[] | null = null;
  /** The server's completion of the request, kept as fields (see [kWhenClosed]). */
  #whenClosed: ClosedCallback<unknown, unknown> | null = null;
  #whenClosedRequest: unknown = null;
  #whenClosedResponse: unknown = null;
  #whenClosedStarted = 0;
  #isClosed = false;
  readonly #streams: SessionStreams;

  constructor(stream: ServerHttp2Stream, req: H2IncomingRequest, streams: SessionStreams) {
    this.stream = stream;
    this.req = req;
    // Without a listener a reset stream's error would be thrown; 'close' tells the server.
    stream.on("error", ignoreStreamError);
    (stream as AnsweredStream)[kResponse] = this;
    stream.on("close", onStreamClose);
    streams.open++;
    streams.opened++;
    this.#streams = streams;
  }

  /** @internal the stream closed: called once, by its 'close' listener */
  closed(): void {
    this.#isClosed = true;
    // node:http2 keeps a closed stream reachable a while longer (its native handle); through
    // this link it kept the whole exchange, the request's headers and the server's Request
    // too. Those then outlived a young-generation GC and were promoted: 0.6-0.7 KB a request
    // more to promote, and a third more scavenging time under h2load (bench/RESULTS.md).
    (this.stream as AnsweredStream)[kResponse] = undefined;
    this.#streams.open--;
    if (this.#ended) this.#streams.ending--;
    const callback = this.#whenClosed;
    if (callback !== null) {
      const request = this.#whenClosedRequest;
      const response = this.#whenClosedResponse;
      this.#whenClosed = this.#whenClosedRequest = this.#whenClosedResponse = null;
      callback(request, response, this.#whenClosedStarted);
    }
    const listeners = this.#onClose;
    if (listeners === null) return;
    this.#onClose = null;
    for (const listener of listeners) listener();
  }

  /**
   * @internal runs `callback(request, response, started)` once the stream has closed (at once
   * if it has): the server waits so for most HTTP/2 responses, whose last write is still in
   * node's buffers when they end, and a closure and listener list for each cost 200 bytes.
   * One callback at a time.
   */
  [kWhenClosed]<A, B>(callback: ClosedCallback<A, B>, request: A, response: B, started: number) {
    if (this.#isClosed) {
      callback(request, response, started);
      return;
    }
    this.#whenClosed = callback as ClosedCallback<unknown, unknown>;
    this.#whenClosedRequest = request;
    this.#whenClosedResponse = response;
    this.#whenClosedStarted = started;
  }

  get socket(): Socket {
    return this.req.socket;
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  get writableEnded(): boolean {
    return this.#ended;
  }

  /** As node:http's: the whole response went out; not when the client reset the stream. */
  get writableFinished(): boolean {
    const stream = this.stream;
    return this.#ended && stream.writableFinished && !stream.aborted;
  }

  get writableLength(): number {
    return this.stream.writableLength;
  }

  get writableNeedDrain(): boolean {
    return this.stream.writableNeedDrain;
  }

  writeHead(
    statusCode: number,
    reasonOrHeaders?: string | OutgoingHttpHeaders | string[],
    headers?: OutgoingHttpHeaders | string[],
  ): this {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return this;
    const given = typeof reasonOrHeaders === "string" ? headers : reasonOrHeaders;
    const out: OutgoingHttpHeaders = { ":status": statusCode };
    if (Array.isArray(given)) {
      for (let i = 0; i < given.length; i += 2) {
        add(out, given[i] as string, given[i + 1] as string);
      }
    } else if (given !== undefined) {
      for (const [name, value] of Object.entries(given)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) for (const one of value) add(out, name, one);
        else add(out, name, String(value));
      }
    }
    // Ours rather than node's: see httpDate().
    if (out.date === undefined) out.date = httpDate();
    this.statusCode = statusCode;
    stream.respond(out);
    return this;
  }

  /**
   * @internal the head of a response whose headers nobody touched: `Content-Type` (when
   * given), `Content-Length` (when not `null`) and `Server`. An object literal, one shape per
   * case: node:http2's respond() copies it (for-in) several times faster than one built key by
   * key, and no flat list nor per-name checks are needed for names known to be valid.
   */
  [kRespondPlain](
    statusCode: number,
    contentType: string | undefined,
    contentLength: number | null,
    server: string,
  ): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    this.statusCode = statusCode;
    const date = httpDate();
    if (contentType === undefined) {
      stream.respond(
        contentLength === null
          ? { ":status": statusCode, server, date }
          : { ":status": statusCode, "content-length": contentLength, server, date },
      );
      return;
    }
    checkValue("Content-Type", contentType);
    stream.respond(
      contentLength === null
        ? { ":status": statusCode, "content-type": contentType, server, date }
        : {
            ":status": statusCode,
            "content-type": contentType,
            "content-length": contentLength,
            server,
            date,
          },
    );
  }

  /** Sends the head now, with what was set so far. */
  flushHeaders(): void {
    if (!this.stream.headersSent && !this.stream.destroyed) this.writeHead(this.statusCode);
  }

  /** `100 Continue` before the final head. */
  writeContinue(): void {
    const stream = this.stream;
    if (!stream.headersSent && !stream.destroyed) stream.additionalHeaders({ ":status": 100 });
  }

  write(chunk: string | Uint8Array, callback?: (err?: Error | null) => void): boolean {
    const stream = this.stream;
    if (!stream.headersSent) this.writeHead(this.statusCode);
    // A HEAD request or a 204/304 ended the stream with the head (Node does it in respond()):
    // the body is dropped, as node:http drops it.
    if (stream.writableEnded) {
      if (callback !== undefined) process.nextTick(callback);
      return true;
    }
    return stream.write(chunk, callback);
  }

  end(chunkOrCallback?: string | Uint8Array | (() => void), callback?: () => void): this {
    let chunk: string | Uint8Array | undefined;
    if (typeof chunkOrCallback === "function") callback = chunkOrCallback;
    else chunk = chunkOrCallback;
    const stream = this.stream;
    if (this.#ended || stream.destroyed) {
      if (callback !== undefined) process.nextTick(callback);
      return this;
    }
    this.#ended = true;
    this.#streams.ending++;
    if (!stream.headersSent) this.writeHead(this.statusCode);
    if (stream.writableEnded) {
      if (callback === undefined) return this;
      if (stream.writableFinished) process.nextTick(callback);
      else stream.once("finish", callback);
      return this;
    }
    if (callback !== undefined) stream.once("finish", callback);
    if (chunk === undefined || chunk.length === 0) stream.end();
    else stream.end(chunk);
    return this;
  }

  destroy(err?: Error): void {
    this.stream.destroy(err);
  }

  on(event: string, listener: Listener): this {
    if (event === "close" && !this.stream.closed) this.#addCloseListener(listener);
    else this.stream.on(event, listener);
    return this;
  }

  /** 'close' comes once: `on` and `once` are the same for it. */
  once(event: string, listener: Listener): this {
    if (event === "close" && !this.stream.closed) this.#addCloseListener(listener);
    else this.stream.once(event, listener);
    return this;
  }

  off(event: string, listener: Listener): this {
    const listeners = this.#onClose;
    const at = event === "close" && listeners !== null ? listeners.indexOf(listener) : -1;
    if (at >= 0) listeners?.splice(at, 1);
    else this.stream.off(event, listener);
    return this;
  }

  #addCloseListener(listener: Listener): void {
    if (this.#onClose === null) this.#onClose = [listener];
    else this.#onClose.push(listener);
  }

  removeListener(event: string, listener: Listener): this {
    return this.off(event, listener);
  }

  /**
   * Resets the stream of a response that cannot be finished: the client sees it truncated
   * (RFC 9113 8.1: a stream reset before END_STREAM), the connection stays up.
   */
  reset(): void {
    this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
}

let dateText: string | undefined;

function forgetDate(): void {
  dateText = undefined;
}

/**
 * The `Date` of a response sent now: node:http2 adds the same (RFC 9110 6.6.1) when a head has
 * none, but as the last key of the header object it copies, and one key past its starting
 * size (`:status`, Content-Type, Content-Length, Server and Date) that store costs about 1 us
 * a response under h2load (CPU profile: 1.2 us on that one line, 0.01 us without `Server`).
 * Given with the head, it is copied with the other keys at no cost to speak of. Cached for
 * the second as node caches its own: forgotten by an unref'd timer at the next second, so
 * that a response does not even read the clock (Date.now() took 0.09 us a response).
 */
function httpDate(): string {
  if (dateText === undefined) {
    const now = new Date();
    dateText = now.toUTCString();
    setTimeout(forgetDate, 1000 - now.getMilliseconds()).unref();
  }
  return dateText;
}

/**
 * Names already checked, as given, with their HTTP/2 form (`null`: left out). A response
 * sends the same few names again and again; the cache is bounded, since a handler could send
 * names taken from requests.
 */
const checkedNames = new Map<string, string | null>();
const CHECKED_NAMES_MAX = 256;

/** `name` lower-cased, `null` for a connection-specific field; throws for an invalid name. */
function h2Name(name: string): string | null {
  let lower = checkedNames.get(name);
  if (lower !== undefined) return lower;
  validateHeaderName(name);
  const lowered = name.toLowerCase();
  lower = CONNECTION_SPECIFIC.has(lowered) ? null : lowered;
  if (checkedNames.size === CHECKED_NAMES_MAX) checkedNames.clear();
  checkedNames.set(name, lower);
  return lower;
}

/** Values already checked: a handler sends the same few content types again and again. */
const checkedValues = new Set<string>();

/** Throws as node:http does for a value it would refuse (a CR or LF above all). */
function checkValue(name: string, value: string): void {
  if (checkedValues.has(value)) return;
  validateHeaderValue(name, value);
  if (checkedValues.size === CHECKED_NAMES_MAX) checkedValues.clear();
  checkedValues.add(value);
}

/**
 * Adds a field to an HTTP/2 header object: lower-case names, repeated ones as lists; the
 * connection-specific ones left out. Names and values are checked as node:http checks them
 * (a CR or LF must never reach the peer's decoder), with node:http's error codes.
 */
function add(out: OutgoingHttpHeaders, name: string, value: string): void {
  const lower = h2Name(name);
  if (lower === null) return;
  if (lower === "te" && value.trim().toLowerCase() !== "trailers") return;
  validateHeaderValue(name, value);
  const had = out[lower];
  if (had === undefined) out[lower] = value;
  else if (Array.isArray(had)) had.push(value);
  else out[lower] = [String(had), value];
}
