// The server over node:http2: each stream goes through the same request loop as an HTTP/1.1
// request, as a pair of objects that answer node:http's interface on the stream
// (http2-exchange.ts); HTTP/1.1 clients of a TLS site (ALPN fallback) get node:http's own.

import type { IncomingMessage, ServerResponse } from "node:http";
import {
  constants,
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type SecureServerOptions,
  type ServerHttp2Stream,
} from "node:http2";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import { performance } from "node:perf_hooks";
import {
  type ClosedCallback,
  H2IncomingRequest,
  H2ServerResponse,
  streamsOf,
} from "./http2-exchange.js";
import { kWhenClosed } from "./symbols.js";

/**
 * How a site speaks HTTP/2: `true` serves HTTP/2 over TLS, negotiated by ALPN, with HTTP/1.1
 * for clients that do not offer h2 (WebSockets included); `"h2c"` serves cleartext HTTP/2 to
 * clients that know it beforehand (prior knowledge), and no HTTP/1.1; `false` serves only
 * HTTP/1.1.
 */
export type Http2Mode = boolean | "h2c";

/** Streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
export const MAX_CONCURRENT_STREAMS = 100;

/** A node:http2 server behind a site. */
export type NodeHttp2Server = Http2SecureServer | Http2Server;

/** Whether a response goes out on an HTTP/2 stream. */
export function isHttp2Response(res: ServerResponse): boolean {
  return (res as unknown) instanceof H2ServerResponse;
}

/**
 * Runs `callback(request, response, started)` once the stream of an HTTP/2 response has
 * closed, with no closure made for it.
 */
export function whenStreamClosed<A, B>(
  res: ServerResponse,
  callback: ClosedCallback<A, B>,
  request: A,
  response: B,
  started: number,
): void {
  (res as unknown as H2ServerResponse)[kWhenClosed](callback, request, response, started);
}

/** Resets the stream of an HTTP/2 response that cannot be finished (see H2ServerResponse). */
export function resetStream(res: ServerResponse): void {
  (res as unknown as H2ServerResponse).reset();
}

/** The limits node:http2 enforces itself. */
export interface Http2Limits {
  /** Largest header list a peer may send, bytes (the SETTINGS_MAX_HEADER_LIST_SIZE). */
  maxHeaderListSize: number;
  /** Most header fields in a request. */
  maxHeaders: number;
  /** Milliseconds a request may take to arrive whole; 0 for no limit. */
  requestTimeout: number;
}

/** What a node:http2 server hands its requests to. */
export interface Http2Handlers {
  /** HTTP/1.1 requests of the ALPN fallback. */
  request: (req: IncomingMessage, res: ServerResponse) => void;
  /** Requests on HTTP/2 streams; `expect`: with an `Expect` header. */
  stream: (req: IncomingMessage, res: ServerResponse, expect: boolean) => void;
}

/**
 * A node:http2 server: over TLS with HTTP/1.1 by ALPN for the rest (`http2: true`), or
 * cleartext with prior knowledge (`"h2c"`).
 */
export function createNodeHttp2Server(
  mode: true | "h2c",
  tls: HttpsServerOptions | undefined,
  limits: Http2Limits,
  handlers: Http2Handlers,
): NodeHttp2Server {
  const options: SecureServerOptions = {
    settings: {
      maxHeaderListSize: limits.maxHeaderListSize,
      // node:http2 announces no limit by default: one connection could run any number of
      // handlers at once. RFC 9113 6.5.2 advises at least 100; streams past it are refused.
      maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
    },
    maxHeaderListPairs: limits.maxHeaders + 5,
    // node:http2's defaults, named here since they bound hostile clients (docs/security.md): a
    // session is closed after this many refused streams or invalid frames, and a SETTINGS
    // frame may carry this many entries. Rapid reset (CVE-2023-44487) and CONTINUATION floods
    // are bounded inside nghttp2 itself.
    maxSessionRejectedStreams: 100,
    maxSessionInvalidFrames: 1000,
    maxSettings: 32,
  };
  let server: NodeHttp2Server;
  if (mode === "h2c") {
    if (tls !== undefined) throw new TypeError('http2: "h2c" is cleartext HTTP/2: drop `ssl`');
    server = createServer(options);
  } else {
    if (tls === undefined) {
      throw new TypeError(
        'http2: true needs `ssl` (browsers speak HTTP/2 only over TLS); or "h2c"',
      );
    }
    server = createSecureServer({ ...tls, ...options, allowHTTP1: true });
    // node:http's machinery hands the fallback's HTTP/1.1 requests to 'request' listeners.
    server.on("request", handlers.request as never);
  }
  const arriving = limits.requestTimeout > 0 ? watchArrival(server, limits.requestTimeout) : null;
  const onStream = (
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    _flags: number,
    rawHeaders: string[],
  ): void => {
    // A request that came whole with its headers (most GETs) has nothing left to arrive.
    if (arriving !== null && !stream.endAfterHeaders) arriving(stream);
    const streams = streamsOf(stream.session as Http2Session);
    const req = new H2IncomingRequest(stream, headers, rawHeaders, streams);
    const res = new H2ServerResponse(stream, req, streams);
    // The objects answer the part of node:http's interface the server uses.
    const nodeReq = req as unknown as IncomingMessage;
    const nodeRes = res as unknown as ServerResponse;
    // RFC 9113 8.5: CONNECT tunnels are not served (nor RFC 8441's extended CONNECT).
    if (req.method === "CONNECT") {
      res.statusCode = 405;
      res.end();
    } else handlers.stream(nodeReq, nodeRes, headers.expect !== undefined);
  };
  // A 'request' listener makes node:http2 answer every stream through its compatibility
  // objects as well; streams are answered here only.
  for (const listener of server.listeners("stream")) {
    server.off("stream", listener as (...args: unknown[]) => void);
  }
  server.on("stream", onStream);
  return server;
}

/**
 * requestTimeout over HTTP/2: a stream whose request is still arriving that long after it
 * opened is reset (CANCEL), as node:http answers such an HTTP/1.1 request with 408; else a
 * slow upload would hold its stream and handler for ever. Returns what watches a stream; one
 * check every quarter of the timeout, as node:http checks its connections.
 */
function watchArrival(
  server: NodeHttp2Server,
  timeout: number,
): (stream: ServerHttp2Stream) => void {
  const arriving = new Map<ServerHttp2Stream, number>();
  whileOpen(server, Math.max(25, Math.min(30_000, Math.floor(timeout / 4))), () => {
    const deadline = performance.now() - timeout;
    // In opening order: the first one still in time ends the check.
    for (const [stream, opened] of arriving) {
      if (opened > deadline) break;
      arriving.delete(stream);
      if (!stream.destroyed && stream.state.remoteClose === 0) {
        stream.close(constants.NGHTTP2_CANCEL);
      }
    }
  });
  const arrived = function (this: ServerHttp2Stream): void {
    arriving.delete(this);
  };
  return (stream) => {
    arriving.set(stream, performance.now());
    // Once the body is in (or the stream is gone) there is nothing to cut.
    stream.once("end", arrived);
    stream.once("close", arrived);
  };
}

/** What the session sweep saw of a session last time. */
interface Seen {
  opened: number;
  /** When a sweep first found it with no stream open, or -1. */
  idleSince: number;
  /** Bytes its socket had written then. */
  written: number;
  /** When a sweep first found something to send and nothing written since, or -1. */
  stuckSince: number;
}

/**
 * keepaliveTimeout over HTTP/2, one sweep over the sessions every eighth of the timeout (a
 * session goes up to a quarter of it late) rather than a timer per session, which node:http2
 * would refresh on every frame:
 * - a session that has had no stream open for that long is told to go away (GOAWAY, then
 *   closed), as an idle HTTP/1.1 keep-alive connection is closed. Streams, not frames, are
 *   the activity: PINGs alone do not keep a connection open. One that is still there a
 *   timeout later is destroyed.
 * - a session with something to send (a response ended but its stream not closed, or frames
 *   queued) and not a byte written for that long is destroyed, its streams with it: a client
 *   that stopped reading, or a session node:http2 (Node 20) keeps after answering a peer's
 *   protocol error with GOAWAY, no longer reading or writing, whose streams would otherwise
 *   stay open, and their requests in flight, for good.
 */
export function sweepSessions(
  server: NodeHttp2Server,
  sessions: ReadonlySet<Http2Session>,
  timeout: number,
): void {
  const seen = new WeakMap<Http2Session, Seen>();
  const sweep = (session: Http2Session, now: number): void => {
    const streams = streamsOf(session);
    const written = session.socket.bytesWritten;
    let last = seen.get(session);
    if (last === undefined) {
      last = { opened: -1, idleSince: -1, written, stuckSince: -1 };
      seen.set(session, last);
    }
    if (last.opened !== streams.opened || streams.open > 0) {
      last.opened = streams.opened;
      last.idleSince = streams.open === 0 ? now : -1;
    } else if (last.idleSince < 0) {
      last.idleSince = now;
    } else if (now - last.idleSince >= timeout) {
      if (!session.closed) session.close();
      else if (now - last.idleSince >= 2 * timeout) session.destroy();
    }
    const sending = streams.ending > 0 || (session.state.outboundQueueSize ?? 0) !== 0;
    if (!sending || written !== last.written) {
      last.written = written;
      last.stuckSince = -1;
    } else if (last.stuckSince < 0) {
      last.stuckSince = now;
    } else if (now - last.stuckSince >= timeout) {
      session.destroy();
    }
  };
  whileOpen(server, Math.max(10, Math.min(30_000, Math.floor(timeout / 8))), () => {
    const now = performance.now();
    for (const session of sessions) if (!session.destroyed) sweep(session, now);
  });
}

/** Runs `check` every `ms` until `server` closes, without keeping the process alive. */
function whileOpen(server: NodeHttp2Server, ms: number, check: () => void): void {
  const timer = setInterval(check, ms);
  timer.unref();
  server.once("close", () => clearInterval(timer));
}
