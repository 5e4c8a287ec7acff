// The URL of a request: resolved against the session's base, the query parameters added, the
// credentials taken out; and small facts about URLs the client needs in several places.

import { hasControlCharacter } from "../http/header-syntax.js";
import { MultiDictProxy } from "../http/multidict.js";
import { BasicAuth } from "./auth.js";
import { InvalidUrlClientError, NonHttpUrlClientError } from "./errors.js";
import { toHttpScheme } from "./redirect.js";
import type { Params } from "./types.js";

/** The host without the brackets of an IPv6 literal (`[::1]` -> `::1`). */
export function hostOf(url: URL): string {
  return url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
}

/** The port, or the scheme's default (443 for https/wss, else 80). */
export function portOf(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "https:" || url.protocol === "wss:" ? 443 : 80;
}

/** Where a request goes, and with which credentials. */
export interface RequestTarget {
  /** The URL to send to: no fragment, no credentials; a ws(s) URL mapped to http(s). */
  readonly target: URL;
  /** The URL as asked for, without credentials (aiohttp's `real_url`). */
  readonly realUrl: URL;
  /**
   * The `auth` option, else the credentials in the URL, else the session's (only to the
   * `baseUrl` origin when one is set).
   */
  readonly auth: BasicAuth | undefined;
}

/**
 * Resolves `url` (against `base`), adds `params` to its query and takes its credentials out.
 * Credentials in the URL and an `auth` option together are refused: which one was meant?
 */
export function requestTarget(
  url: string | URL,
  base: URL | undefined,
  params: Params | undefined,
  auth: BasicAuth | undefined,
  sessionAuth: BasicAuth | undefined,
): RequestTarget {
  // A string already found plain (http, https or ws(s), a host, no fragment, no credentials)
  // needs only its parse: most requests repeat a few URLs.
  if (typeof url === "string" && base === undefined && params === undefined && PLAIN.has(url)) {
    const target = toHttpScheme(new URL(url));
    return { target, realUrl: target, auth: auth ?? sessionAuth };
  }
  // The URL parser drops tabs, CRs and LFs and trims other control characters silently: the
  // request would go somewhere else than written, so a URL holding them is refused instead.
  if (typeof url === "string" && hasControlCharacter(url)) {
    throw new InvalidUrlClientError(
      JSON.stringify(url),
      "control characters (CR, LF, tab, NUL...) are not allowed in a URL",
    );
  }
  let target: URL;
  try {
    target = base === undefined ? new URL(String(url)) : new URL(String(url), base);
  } catch (err) {
    throw new InvalidUrlClientError(String(url), "not a valid URL", { cause: err });
  }
  toHttpScheme(target);
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new NonHttpUrlClientError(String(url), `unsupported scheme ${target.protocol}`);
  }
  if (target.hostname === "") throw new InvalidUrlClientError(String(url), "no host");
  if (params !== undefined) {
    for (const [k, v] of paramPairs(params)) target.searchParams.append(k, v);
  }
  // A copy only when the URL sent differs from the one asked for (a fragment, credentials).
  const realUrl =
    target.hash === "" && target.username === "" && target.password === ""
      ? target
      : new URL(target);
  // Only when there is one: a URL setter makes Node serialize the whole URL again.
  if (target.hash !== "") target.hash = "";
  const urlAuth = BasicAuth.fromUrl(target);
  if (urlAuth === undefined) {
    if (realUrl === target && typeof url === "string" && base === undefined && params === undefined)
      rememberPlain(url);
    // As aiohttp: with a baseUrl, the session's credentials belong to its origin only.
    const scoped = base === undefined || target.origin === base.origin ? sessionAuth : undefined;
    return { target, realUrl, auth: auth ?? scoped };
  }
  if (auth !== undefined) throw new TypeError("Cannot combine auth and credentials in the URL");
  target.username = "";
  target.password = "";
  realUrl.username = "";
  realUrl.password = "";
  return { target, realUrl, auth: urlAuth };
}

/**
 * URL strings `requestTarget` found plain, given without base or params: the same checks would
 * pass again. Bounded (a crawler meets many URLs): cleared when full.
 */
const PLAIN = new Set<string>();
const PLAIN_LIMIT = 256;

function rememberPlain(url: string): void {
  if (PLAIN.size >= PLAIN_LIMIT) PLAIN.clear();
  PLAIN.add(url);
}

function* paramPairs(params: Params): Iterable<[string, string]> {
  if (typeof params === "string") {
    yield* new URLSearchParams(params);
    return;
  }
  if (params instanceof URLSearchParams || params instanceof MultiDictProxy) {
    for (const [k, v] of params) yield [k, String(v)];
    return;
  }
  if (Symbol.iterator in (params as object)) {
    for (const [k, v] of params as Iterable<readonly [string, string | number | boolean]>)
      yield [k, String(v)];
    return;
  }
  for (const [k, v] of Object.entries(params as Record<string, unknown>)) {
    if (Array.isArray(v)) for (const item of v) yield [k, String(item)];
    else yield [k, String(v)];
  }
}
