// The server over node:http2: its compatibility API hands requests and responses that mimic
// node:http's; these subclasses close the few gaps the rest of the server relies on, so an
// HTTP/2 stream goes through the same request loop as an HTTP/1.1 request, at no cost to it.

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import {
  constants,
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  Http2ServerRequest,
  Http2ServerResponse,
  type SecureServerOptions,
} from "node:http2";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import { kStreamedBody } from "./symbols.js";

/**
 * How a site speaks HTTP/2: `true` serves HTTP/2 over TLS, negotiated by ALPN, with HTTP/1.1
 * for clients that do not offer h2 (WebSockets included); `"h2c"` serves cleartext HTTP/2 to
 * clients that know it beforehand (prior knowledge), and no HTTP/1.1; `false` serves only
 * HTTP/1.1.
 */
export type Http2Mode = boolean | "h2c";

/** A node:http2 server behind a site. */
export type NodeHttp2Server = Http2SecureServer | Http2Server;

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

function forbidden(name: string, value: unknown): boolean {
  const lower = name.toLowerCase();
  if (CONNECTION_SPECIFIC.has(lower)) return true;
  return lower === "te" && String(value).trim().toLowerCase() !== "trailers";
}

/** An HTTP/2 request seen like an HTTP/1.1 one: a `Host` header and no pseudo-headers. */
export class H2Request extends Http2ServerRequest {
  #raw: string[];
  /** @internal */
  readonly [kStreamedBody]: boolean;

  constructor(...args: ConstructorParameters<typeof Http2ServerRequest>) {
    super(...args);
    const all = args[3];
    const raw: string[] = [];
    let host = false;
    for (let i = 0; i < all.length; i += 2) {
      const name = all[i] as string;
      if (name.charCodeAt(0) === 58 /* ":" */) continue;
      if (name === "host") host = true;
      raw.push(name, all[i + 1] as string);
    }
    // RFC 9113 8.3.1: `:authority` stands for Host, which the server reads.
    const authority = this.headers[":authority"];
    if (!host && typeof authority === "string") {
      raw.unshift("host", authority);
      this.headers.host = authority;
    }
    this.#raw = raw;
    this[kStreamedBody] = !args[0].endAfterHeaders && this.headers["content-length"] === undefined;
  }

  static {
    // node:http2 has a getter here (its types say a field, so no accessor can override it).
    Object.defineProperty(H2Request.prototype, "rawHeaders", {
      get(this: H2Request): string[] {
        return this.#raw;
      },
    });
  }
}

/**
 * An HTTP/2 response that takes what the server writes for HTTP/1.1: a reason phrase (HTTP/2
 * has none), flat header lists, and connection-specific headers, which are left out.
 */
export class H2Response extends Http2ServerResponse {
  /** HTTP/2 connections outlive a response; the server may still turn this off on shutdown. */
  shouldKeepAlive = true;

  static {
    // node:http2 lacks `destroyed` and `writableNeedDrain`, which its types declare as fields,
    // and calls a response finished when the client reset its stream: the server tells a
    // complete response from a client gone by `writableFinished`, as with node:http.
    Object.defineProperties(H2Response.prototype, {
      writableFinished: {
        get(this: H2Response): boolean {
          const stream = this.stream;
          return this.writableEnded && stream.writableFinished && !stream.aborted;
        },
      },
      destroyed: {
        get(this: H2Response): boolean {
          return this.stream.destroyed;
        },
      },
      writableNeedDrain: {
        get(this: H2Response): boolean {
          return this.stream.writableNeedDrain;
        },
      },
    });
  }

  override writeHead(
    statusCode: number,
    reasonOrHeaders?: string | OutgoingHttpHeaders | string[],
    headers?: OutgoingHttpHeaders | string[],
  ): this {
    const given = typeof reasonOrHeaders === "string" ? headers : reasonOrHeaders;
    if (given === undefined) return super.writeHead(statusCode);
    if (Array.isArray(given)) {
      const kept: string[] = [];
      for (let i = 0; i < given.length; i += 2) {
        const name = given[i] as string;
        const value = given[i + 1] as string;
        if (!forbidden(name, value)) kept.push(name, value);
      }
      // Node's compat writeHead takes flat lists like node:http's, which its types do not say.
      return super.writeHead(statusCode, kept as unknown as OutgoingHttpHeaders);
    }
    const kept: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(given)) {
      if (!forbidden(name, value)) kept[name] = value;
    }
    return super.writeHead(statusCode, kept);
  }
}

/** Whether a response goes out on an HTTP/2 stream. */
export function isHttp2Response(res: ServerResponse): boolean {
  return (res as unknown) instanceof H2Response;
}

/**
 * Resets the stream of an HTTP/2 response that cannot be finished: the client sees it
 * truncated (RFC 9113 8.1: a stream reset before END_STREAM), the connection stays up.
 */
export function resetStream(res: ServerResponse): void {
  (res as unknown as H2Response).stream.close(constants.NGHTTP2_INTERNAL_ERROR);
}

/** The limits node:http2 enforces itself. */
export interface Http2Limits {
  /** Largest header list a peer may send, bytes (the SETTINGS_MAX_HEADER_LIST_SIZE). */
  maxHeaderListSize: number;
  /** Most header fields in a request. */
  maxHeaders: number;
}

/**
 * A node:http2 server: over TLS with HTTP/1.1 by ALPN for the rest (`http2: true`), or
 * cleartext with prior knowledge (`"h2c"`).
 */
export function createNodeHttp2Server(
  mode: true | "h2c",
  tls: HttpsServerOptions | undefined,
  limits: Http2Limits,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): NodeHttp2Server {
  const options: SecureServerOptions = {
    Http2ServerRequest: H2Request,
    // Sound: H2Response is built by node:http2 with an H2Request, like its base class.
    Http2ServerResponse: H2Response as typeof Http2ServerResponse,
    settings: { maxHeaderListSize: limits.maxHeaderListSize },
    maxHeaderListPairs: limits.maxHeaders + 5,
  };
  // The compat objects stand in for node:http's; the server reads only what they provide.
  const listener = handler as unknown as (
    req: Http2ServerRequest,
    res: Http2ServerResponse,
  ) => void;
  if (mode === "h2c") {
    if (tls !== undefined) throw new TypeError('http2: "h2c" is cleartext HTTP/2: drop `ssl`');
    return createServer(options, listener);
  }
  if (tls === undefined) {
    throw new TypeError('http2: true needs `ssl` (browsers speak HTTP/2 only over TLS); or "h2c"');
  }
  return createSecureServer({ ...tls, ...options, allowHTTP1: true }, listener);
}
