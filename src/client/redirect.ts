// The rules of redirects (RFC 9110 15.4), for HTTP requests and WebSocket handshakes alike:
// which statuses redirect, where `Location` points, and what the next request sends.

import { InvalidUrlRedirectClientError, NonHttpUrlRedirectClientError } from "./errors.js";

/** RFC 9110 15.4: the statuses that redirect (300 and 304 do not: nothing to follow). */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * Turns a WebSocket URL into the HTTP URL its handshake goes to (RFC 6455 3: `ws` is `http`,
 * `wss` is `https`), in place. Other schemes stay as they are.
 */
export function toHttpScheme(url: URL): URL {
  if (url.protocol === "ws:") url.protocol = "http:";
  else if (url.protocol === "wss:") url.protocol = "https:";
  return url;
}

/** Options of `resolveLocation`. */
export interface LocationOptions {
  /** Re-encode raw spaces and non-ASCII in the Location, as browsers do. */
  readonly requote: boolean;
  /** Accept `ws:` / `wss:` targets (a WebSocket handshake), mapped to http(s). */
  readonly webSocket: boolean;
}

/**
 * The URL a `Location` value points to, resolved against the URL that answered (RFC 9110
 * 10.2.2), without a fragment. A value that is no URL, or one of another scheme than http(s),
 * is an error rather than a request sent somewhere unexpected.
 */
export function resolveLocation(location: string, current: URL, options: LocationOptions): URL {
  let next: URL;
  try {
    next = new URL(options.requote ? encodeURI(decodeURISafe(location)) : location, current);
  } catch (err) {
    throw new InvalidUrlRedirectClientError(location, "invalid redirect Location", {
      cause: err,
    });
  }
  if (options.webSocket) toHttpScheme(next);
  if (next.protocol !== "http:" && next.protocol !== "https:") {
    throw new NonHttpUrlRedirectClientError(
      location,
      `redirect to unsupported scheme ${next.protocol}`,
    );
  }
  next.hash = "";
  return next;
}

/**
 * The method of the request that follows a redirect, and whether it keeps the body.
 * RFC 9110 15.4.4: a 303 turns the request into a GET (HEAD stays HEAD); 15.4.2/15.4.3: user
 * agents turn a POST into a GET on 301 and 302. Every other redirect (307/308, and 301/302 after
 * a method other than POST) repeats the method with the same body.
 */
export function redirectedMethod(
  status: number,
  method: string,
): { readonly method: string; readonly keepsBody: boolean } {
  if (
    (status === 303 && method !== "HEAD") ||
    ((status === 301 || status === 302) && method === "POST")
  ) {
    return { method: "GET", keepsBody: false };
  }
  return { method, keepsBody: true };
}

function decodeURISafe(text: string): string {
  try {
    return decodeURI(text);
  } catch {
    return text;
  }
}
