// The headers a request goes out with, for HTTP requests and WebSocket handshakes alike:
// defaults, the session's headers, the request's, credentials and cookies, in that order.

import { ACCEPT_ENCODING } from "../http/compression.js";
import { hasControlCharacter, isToken } from "../http/header-syntax.js";
import { CIMultiDict, CIMultiDictProxy, type MultiDictInit } from "../http/multidict.js";
import { kAppendFlat, kViewOf } from "../http/symbols.js";
import { VERSION } from "../version.js";
import type { BasicAuth } from "./auth.js";
import { NO_BODY, type PreparedBody } from "./body.js";
import { CookieJar, DummyCookieJar, formatCookieHeader } from "./cookie-jar.js";
import { kMayHoldCookies } from "./symbols.js";
import type { HeadersInit, SessionConfig } from "./types.js";
import { frameHeaders, type WireOptions } from "./wire-body.js";

/** What one request adds to the session's headers. */
export interface HeaderParts {
  readonly url: URL;
  /** The request's own headers. */
  readonly extra: CIMultiDict;
  /** Default headers not to add (lower-case names). */
  readonly skip: ReadonlySet<string>;
  readonly auth: BasicAuth | undefined;
  /** Cookies of this request only, over the jar's. */
  readonly cookies: Readonly<Record<string, string>> | undefined;
  /** The type the body implies; `null` when there is no body (no Content-Type at all). */
  readonly contentType: string | undefined | null;
  /**
   * A redirect left the first origin: the session's `Authorization` and `Cookie` headers stay
   * behind (RFC 9110 15.4: credentials belong to the origin they were given for).
   */
  readonly leftOrigin: boolean;
}

/** Headers that carry credentials, left out after a redirect to another origin. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(["authorization", "cookie"]);

/** The headers of one request (or one redirect hop). */
export function requestHeaders(session: SessionConfig, parts: HeaderParts): CIMultiDict {
  const { url, extra, skip } = parts;
  const h = new CIMultiDict();
  h.set("Host", url.host);
  if (!skip.has("user-agent")) h.set("User-Agent", `aiohttp-ts/${VERSION}`);
  if (!skip.has("accept")) h.set("Accept", "*/*");
  if (!skip.has("accept-encoding")) h.set("Accept-Encoding", ACCEPT_ENCODING);
  // Session headers replace default ones, request headers replace both; repeats are kept.
  overlay(h, session.headers, parts.leftOrigin ? CREDENTIAL_HEADERS : undefined);
  overlay(h, extra);
  if (parts.auth !== undefined && !extra.has("Authorization")) {
    h.set("Authorization", parts.auth.encode());
  }
  const jar = session.jar;
  const jarCookies = jar.filterCookies(url);
  const all = parts.cookies === undefined ? jarCookies : { ...jarCookies, ...parts.cookies };
  if (Object.keys(all).length > 0) {
    const header = formatCookieHeader(all, jar instanceof CookieJar ? jar.quoteCookie : true);
    const existing = h.get("Cookie");
    h.set("Cookie", existing === undefined ? header : `${existing}; ${header}`);
  }
  if (parts.contentType === null) h.delete("Content-Type");
  else if (parts.contentType !== undefined && !h.has("Content-Type")) {
    h.set("Content-Type", parts.contentType);
  }
  return h;
}

/** One hop's headers as sent, and what they say about the body. */
export interface RequestHead {
  /** What `requestInfo.headers` shows: a view, since nothing changes them once built. */
  readonly headers: CIMultiDictProxy;
  /** Names and values in turn, as undici takes them; checked by `checkHeaderSyntax`. */
  readonly flat: readonly string[];
  /** The coding the body is compressed with and whether it goes chunked (`frameHeaders`). */
  readonly frame: ReturnType<typeof frameHeaders>;
  /** The Content-Length header as a number, `null` when there is none. */
  readonly declaredLength: number | null;
  /**
   * The length to declare for a stream body of known length (a multipart body of known parts),
   * unless the caller framed the body with headers of their own; else `null`.
   */
  readonly knownLength: number | null;
}

/**
 * The head of a hop from its headers (which `frameHeaders` may complete): their syntax checked
 * before anything is sent.
 */
export function requestHead(
  headers: CIMultiDict,
  options: WireOptions,
  body: PreparedBody,
): RequestHead {
  const frame = frameHeaders(headers, options, body.body !== null);
  const declared = headers.get("Content-Length");
  const flat: string[] = [];
  headers[kAppendFlat](flat);
  checkHeaderSyntax(flat);
  // undici sends a stream chunked unless told its length: a multipart body of known parts
  // declares it, unless the caller framed the body with headers of their own.
  const knownLength =
    body.contentLength !== undefined &&
    !headers.has("Content-Length") &&
    !headers.has("Transfer-Encoding")
      ? body.contentLength
      : null;
  return {
    headers: CIMultiDictProxy[kViewOf](headers),
    flat,
    frame,
    declaredLength: declared === undefined ? null : Number(declared),
    knownLength,
  };
}

/** Hosts whose plain head a session keeps at most (a crawler meets many). */
const PLAIN_HEADS_PER_SESSION = 64;
const plainHeads = new WeakMap<SessionConfig, Map<string, RequestHead>>();

/**
 * The head of a hop that adds nothing to the default headers (no headers, credentials, cookies
 * or body of its own, none in the session, no cookie in the jar for it): the same for every
 * such request to a host, so it is built and checked once per session and host rather than
 * for each request (most requests of a benchmark or a crawler). `null` for any other hop.
 * Nothing may change what it gives: it is shared (`flat` is frozen, `headers` a read-only view).
 */
export function plainRequestHead(
  session: SessionConfig,
  parts: HeaderParts,
  options: WireOptions,
): RequestHead | null {
  if (
    parts.contentType !== null ||
    parts.extra.size !== 0 ||
    parts.auth !== undefined ||
    parts.cookies !== undefined ||
    parts.skip !== session.skipAutoHeaders ||
    session.headers.size !== 0 ||
    hasCookiesFor(session.jar, parts.url)
  ) {
    return null;
  }
  let byHost = plainHeads.get(session);
  if (byHost === undefined) {
    byHost = new Map();
    plainHeads.set(session, byHost);
  }
  const host = parts.url.host;
  let head = byHost.get(host);
  if (head === undefined) {
    head = requestHead(requestHeaders(session, parts), options, NO_BODY);
    Object.freeze(head.flat);
    if (byHost.size >= PLAIN_HEADS_PER_SESSION) byHost.clear();
    byHost.set(host, head);
  }
  return head;
}

/**
 * Whether `jar` has a cookie to send to `url`; our own jars (not a subclass, which may filter
 * otherwise) answer without a lookup when they hold none.
 */
function hasCookiesFor(jar: SessionConfig["jar"], url: URL): boolean {
  const kind = Object.getPrototypeOf(jar) as unknown;
  if (kind === DummyCookieJar.prototype) return false;
  if (kind === CookieJar.prototype && !(jar as CookieJar)[kMayHoldCookies]()) return false;
  return hasKeys(jar.filterCookies(url));
}

function hasKeys(record: object): boolean {
  for (const _ in record) return true;
  return false;
}

/**
 * Adds `layer` to `target`: a name in `layer` replaces every value `target` had for it, and
 * all of `layer`'s values for a name are kept. Names in `skip` (lower-case) are left out.
 */
function overlay(target: CIMultiDict, layer: CIMultiDict, skip?: ReadonlySet<string>): void {
  if (layer.size === 0) return;
  const replaced = new Set<string>();
  for (const [k, v] of layer) {
    const lower = k.toLowerCase();
    if (skip?.has(lower)) continue;
    if (!replaced.has(lower)) {
      target.delete(k);
      replaced.add(lower);
    }
    target.add(k, v);
  }
}

/** A caller's headers as a mutable multidict of our own. */
export function toHeaders(init: HeadersInit | undefined): CIMultiDict {
  if (init === undefined) return new CIMultiDict();
  if (typeof Headers !== "undefined" && init instanceof Headers) return new CIMultiDict([...init]);
  return new CIMultiDict(init as MultiDictInit);
}

/** Header names, lower-cased, as a set. */
export function lowerSet(names: Iterable<string> | undefined): ReadonlySet<string> {
  return new Set([...(names ?? [])].map((n) => n.toLowerCase()));
}

/**
 * Refuses, with a TypeError and before anything is sent, a header whose name is not a token or
 * whose value has control characters. `flat` is names and values in turn. undici would refuse
 * them too, but only once a connection slot is taken, and as a connection error that a retry
 * middleware would retry.
 */
export function checkHeaderSyntax(flat: readonly string[]): void {
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] ?? "";
    if (!isToken(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}`);
    // RFC 9110 5.5: visible characters, spaces and tabs. A CR or LF would end the line and
    // start another header (header injection); servers refuse a NUL.
    if (hasControlCharacter(flat[i + 1] ?? "", true)) {
      throw new TypeError(
        `Invalid value for header ${name}: control characters (CR, LF, NUL...) are refused`,
      );
    }
  }
}
