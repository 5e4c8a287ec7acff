// HTTP exceptions (aiohttp's web_exceptions): one class per status, thrown or returned from a
// handler or middleware and turned into a response by the application.

import { parseContentType } from "../http/content-type.js";
import { CIMultiDict, type MultiDictInit } from "../http/multidict.js";
// This module's own exports are the table the stable names and codes come from (identityOf).
import * as exported from "./exceptions.js";
import { STATUS_REASONS } from "./status.js";

/** Options shared by every HTTP exception. */
export interface HTTPExceptionOptions {
  /** Extra response headers. */
  headers?: MultiDictInit | CIMultiDict;
  /** Reason phrase; @default the standard one for the status */
  reason?: string;
  /** Body text; @default `"<status>: <reason>"` for errors, nothing for 204 and 304 */
  text?: string;
  /** Raw body; wins over `text`. */
  body?: string | Uint8Array;
  /** Content type of `text`/`body`; @default the Content-Type in `headers`, else "text/plain" */
  contentType?: string;
  /** Original error, kept as `cause`. */
  cause?: unknown;
}

/** Base class of every HTTP exception; `status` is the status code sent. */
export class HTTPException extends Error {
  /** The status code this class stands for. */
  static readonly statusCode: number = 500;
  /** Whether the response has no body by definition (204, 304). */
  static readonly emptyBody: boolean = false;

  override name = "HTTPException";
  /**
   * Stable machine-readable code: "AIOHTTP_" and the class name in upper snake case
   * (`HTTPNotFound` -> "AIOHTTP_HTTP_NOT_FOUND"). A subclass written outside the package has
   * the code of the package class it extends (and its own `name`).
   */
  readonly code: string;
  readonly status: number;
  readonly reason: string;
  readonly headers: CIMultiDict;
  readonly text: string | null;
  readonly body: string | Uint8Array | null;
  readonly contentType: string;

  constructor(options: HTTPExceptionOptions = {}) {
    const ctor = new.target as typeof HTTPException;
    const status = ctor.statusCode;
    const reason = options.reason ?? STATUS_REASONS[status] ?? "Unknown";
    super(
      `${status}: ${reason}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    const identity = identityOf(ctor);
    this.name = identity.name;
    this.code = identity.code;
    this.status = status;
    this.reason = reason;
    this.headers = new CIMultiDict(options.headers);
    // As in aiohttp, a Content-Type among the headers stands unless contentType is given.
    const fromHeaders = this.headers.get("Content-Type");
    this.contentType =
      options.contentType ??
      (fromHeaders === undefined ? "text/plain" : parseContentType(fromHeaders).mimetype);
    if (ctor.emptyBody) {
      this.text = null;
      this.body = null;
    } else {
      this.body = options.body ?? null;
      this.text = this.body === null ? (options.text ?? `${status}: ${reason}`) : null;
    }
  }
}

/** 2xx: a success answered by throwing, e.g. `throw new web.HTTPNoContent()`. */
export class HTTPSuccessful extends HTTPException {}
/** 3xx. */
export class HTTPRedirection extends HTTPException {}
/** 4xx and 5xx. */
export class HTTPError extends HTTPException {}
/** 4xx. */
export class HTTPClientError extends HTTPError {}
/** 5xx. */
export class HTTPServerError extends HTTPError {}

/** A redirect carrying a `Location`: `new web.HTTPFound("/login")`. */
export class HTTPMove extends HTTPRedirection {
  readonly location: string;
  constructor(location: string | URL | { toString(): string }, options: HTTPExceptionOptions = {}) {
    const loc = String(location);
    if (!loc) throw new TypeError("HTTP redirects need a location");
    super(options);
    this.location = loc;
    this.headers.set("Location", loc);
  }
}

/** 405, with the `Allow` header built from the allowed methods. */
export class HTTPMethodNotAllowed extends HTTPClientError {
  static override readonly statusCode = 405;
  readonly method: string;
  readonly allowedMethods: ReadonlySet<string>;
  constructor(
    method: string,
    allowedMethods: Iterable<string>,
    options: HTTPExceptionOptions = {},
  ) {
    super(options);
    this.method = method.toUpperCase();
    this.allowedMethods = new Set([...allowedMethods].map((m) => m.toUpperCase()));
    this.headers.set("Allow", [...this.allowedMethods].sort().join(","));
  }
}

/** 413, raised when a request body exceeds the application's `clientMaxSize`. */
export class HTTPRequestEntityTooLarge extends HTTPClientError {
  static override readonly statusCode = 413;
  readonly maxSize: number;
  readonly actualSize: number | null;
  constructor(maxSize: number, actualSize: number | null, options: HTTPExceptionOptions = {}) {
    const text =
      options.text ??
      `Maximum request body size ${maxSize} exceeded, actual body size ${actualSize ?? "unknown"}`;
    super({ ...options, text });
    this.maxSize = maxSize;
    this.actualSize = actualSize;
  }
}

/** 451, with an optional `Link` to the blocking authority. */
export class HTTPUnavailableForLegalReasons extends HTTPClientError {
  static override readonly statusCode = 451;
  readonly link: string | null;
  constructor(link?: string | URL | null, options: HTTPExceptionOptions = {}) {
    super(options);
    this.link = link == null ? null : String(link);
    if (this.link !== null) this.headers.set("Link", `<${this.link}>; rel="blocked-by"`);
  }
}

// The fixed-status classes, one per status that aiohttp has.
export class HTTPOk extends HTTPSuccessful {
  static override readonly statusCode = 200;
}
export class HTTPCreated extends HTTPSuccessful {
  static override readonly statusCode = 201;
}
export class HTTPAccepted extends HTTPSuccessful {
  static override readonly statusCode = 202;
}
export class HTTPNonAuthoritativeInformation extends HTTPSuccessful {
  static override readonly statusCode = 203;
}
export class HTTPNoContent extends HTTPSuccessful {
  static override readonly statusCode = 204;
  static override readonly emptyBody = true;
}
export class HTTPResetContent extends HTTPSuccessful {
  static override readonly statusCode = 205;
  static override readonly emptyBody = true;
}
export class HTTPPartialContent extends HTTPSuccessful {
  static override readonly statusCode = 206;
}
export class HTTPMultipleChoices extends HTTPMove {
  static override readonly statusCode = 300;
}
export class HTTPMovedPermanently extends HTTPMove {
  static override readonly statusCode = 301;
}
export class HTTPFound extends HTTPMove {
  static override readonly statusCode = 302;
}
export class HTTPSeeOther extends HTTPMove {
  static override readonly statusCode = 303;
}
export class HTTPNotModified extends HTTPRedirection {
  static override readonly statusCode = 304;
  static override readonly emptyBody = true;
}
export class HTTPUseProxy extends HTTPMove {
  static override readonly statusCode = 305;
}
export class HTTPTemporaryRedirect extends HTTPMove {
  static override readonly statusCode = 307;
}
export class HTTPPermanentRedirect extends HTTPMove {
  static override readonly statusCode = 308;
}
export class HTTPBadRequest extends HTTPClientError {
  static override readonly statusCode = 400;
}
export class HTTPUnauthorized extends HTTPClientError {
  static override readonly statusCode = 401;
}
export class HTTPPaymentRequired extends HTTPClientError {
  static override readonly statusCode = 402;
}
export class HTTPForbidden extends HTTPClientError {
  static override readonly statusCode = 403;
}
export class HTTPNotFound extends HTTPClientError {
  static override readonly statusCode = 404;
}
export class HTTPNotAcceptable extends HTTPClientError {
  static override readonly statusCode = 406;
}
export class HTTPProxyAuthenticationRequired extends HTTPClientError {
  static override readonly statusCode = 407;
}
export class HTTPRequestTimeout extends HTTPClientError {
  static override readonly statusCode = 408;
}
export class HTTPConflict extends HTTPClientError {
  static override readonly statusCode = 409;
}
export class HTTPGone extends HTTPClientError {
  static override readonly statusCode = 410;
}
export class HTTPLengthRequired extends HTTPClientError {
  static override readonly statusCode = 411;
}
export class HTTPPreconditionFailed extends HTTPClientError {
  static override readonly statusCode = 412;
}
export class HTTPRequestURITooLong extends HTTPClientError {
  static override readonly statusCode = 414;
}
export class HTTPUnsupportedMediaType extends HTTPClientError {
  static override readonly statusCode = 415;
}
export class HTTPRequestRangeNotSatisfiable extends HTTPClientError {
  static override readonly statusCode = 416;
}
export class HTTPExpectationFailed extends HTTPClientError {
  static override readonly statusCode = 417;
}
export class HTTPMisdirectedRequest extends HTTPClientError {
  static override readonly statusCode = 421;
}
export class HTTPUnprocessableEntity extends HTTPClientError {
  static override readonly statusCode = 422;
}
export class HTTPFailedDependency extends HTTPClientError {
  static override readonly statusCode = 424;
}
export class HTTPTooEarly extends HTTPClientError {
  static override readonly statusCode = 425;
}
export class HTTPUpgradeRequired extends HTTPClientError {
  static override readonly statusCode = 426;
}
export class HTTPPreconditionRequired extends HTTPClientError {
  static override readonly statusCode = 428;
}
export class HTTPTooManyRequests extends HTTPClientError {
  static override readonly statusCode = 429;
}
export class HTTPRequestHeaderFieldsTooLarge extends HTTPClientError {
  static override readonly statusCode = 431;
}
export class HTTPInternalServerError extends HTTPServerError {
  static override readonly statusCode = 500;
}
export class HTTPNotImplemented extends HTTPServerError {
  static override readonly statusCode = 501;
}
export class HTTPBadGateway extends HTTPServerError {
  static override readonly statusCode = 502;
}
export class HTTPServiceUnavailable extends HTTPServerError {
  static override readonly statusCode = 503;
}
export class HTTPGatewayTimeout extends HTTPServerError {
  static override readonly statusCode = 504;
}
export class HTTPVersionNotSupported extends HTTPServerError {
  static override readonly statusCode = 505;
}
export class HTTPVariantAlsoNegotiates extends HTTPServerError {
  static override readonly statusCode = 506;
}
export class HTTPInsufficientStorage extends HTTPServerError {
  static override readonly statusCode = 507;
}
export class HTTPNotExtended extends HTTPServerError {
  static override readonly statusCode = 510;
}
export class HTTPNetworkAuthenticationRequired extends HTTPServerError {
  static override readonly statusCode = 511;
}

/** `HTTPRequestURITooLong` -> "AIOHTTP_HTTP_REQUEST_URI_TOO_LONG". */
function codeFromName(name: string): string {
  const snake = name
    .replace(/([a-z\d])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toUpperCase();
  return `AIOHTTP_${snake}`;
}

interface Identity {
  readonly name: string;
  readonly code: string;
}

// Names and codes come from the export names rather than from `ctor.name`: a minifier that
// renames the classes leaves export names alone.
const IDENTITIES: ReadonlyMap<Function, Identity> = new Map(
  Object.entries(exported)
    .filter(([, value]) => value === HTTPException || value.prototype instanceof HTTPException)
    .map(([name, cls]) => [cls, { name, code: codeFromName(name) }]),
);

/**
 * The name and code of an exception class. A user's subclass keeps its own name and the code of
 * the nearest class of this module it extends: codes are the package's.
 */
function identityOf(ctor: Function): Identity {
  for (let cls: Function | null = ctor; cls !== null; cls = Object.getPrototypeOf(cls)) {
    const known = IDENTITIES.get(cls);
    if (known !== undefined) return cls === ctor ? known : { name: ctor.name, code: known.code };
  }
  // Not reached: every exception extends HTTPException, which is in the table.
  return { name: ctor.name, code: "AIOHTTP_HTTP_EXCEPTION" };
}
