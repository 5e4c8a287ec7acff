// Conditional requests (RFC 9110 13) against a file's validators: whether to send it, answer
// 304 Not Modified, or 412 Precondition Failed, and whether If-Range lets a Range through.

import type { CIMultiDictProxy } from "../../http/multidict.js";
import { etagMatches, parseEntityTags } from "./etag.js";
import { parseHttpDate } from "./http-date.js";

/** What the response's representation is compared with. */
export interface Validators {
  /** The strong ETag sent with the response. */
  etag: string;
  /** Last-Modified in whole seconds since the epoch (the precision the header has). */
  lastModified: number;
}

/** The outcome of a request's preconditions. */
export type Precondition = "proceed" | "not-modified" | "failed";

/** Evaluates the preconditions in the order RFC 9110 13.2.2 gives. */
export function evaluatePreconditions(
  headers: CIMultiDictProxy,
  method: string,
  validators: Validators,
): Precondition {
  // Steps 1 and 2: If-Match, else If-Unmodified-Since.
  const ifMatch = listHeader(headers, "If-Match");
  if (ifMatch !== undefined) {
    if (!etagMatches(validators.etag, parseEntityTags(ifMatch), false)) return "failed";
  } else {
    const since = dateHeader(headers, "If-Unmodified-Since");
    if (since !== null && validators.lastModified > since) return "failed";
  }
  // Steps 3 and 4: If-None-Match, else (GET and HEAD only) If-Modified-Since.
  const safe = method === "GET" || method === "HEAD";
  const ifNoneMatch = listHeader(headers, "If-None-Match");
  if (ifNoneMatch !== undefined) {
    if (etagMatches(validators.etag, parseEntityTags(ifNoneMatch), true)) {
      return safe ? "not-modified" : "failed";
    }
  } else if (safe) {
    const since = dateHeader(headers, "If-Modified-Since");
    if (since !== null && validators.lastModified <= since) return "not-modified";
  }
  return "proceed";
}

/**
 * Whether the Range of a request may be honoured given its If-Range (RFC 9110 13.1.5): an
 * entity tag must match strongly, a date must equal Last-Modified exactly; anything else
 * means the client's copy is stale and gets the whole representation.
 */
export function ifRangeHolds(headers: CIMultiDictProxy, validators: Validators): boolean {
  const value = headers.get("If-Range");
  if (value === undefined) return true;
  const text = value.trim();
  if (text.startsWith('"') || text.startsWith("W/")) {
    const tags = parseEntityTags(text);
    return tags !== "*" && tags.length === 1 && etagMatches(validators.etag, tags, false);
  }
  return parseHttpDate(text) === validators.lastModified;
}

/** A list header, its field lines joined (RFC 9110 5.3). */
function listHeader(headers: CIMultiDictProxy, name: string): string | undefined {
  const values = headers.getAll(name);
  return values.length === 0 ? undefined : values.join(", ");
}

/**
 * A date header, or `null` when absent or invalid: RFC 9110 13.1.3 and 13.1.4 say to ignore a
 * value that is not a valid HTTP-date (or that has several members).
 */
function dateHeader(headers: CIMultiDictProxy, name: string): number | null {
  const values = headers.getAll(name);
  return values.length === 1 ? parseHttpDate(values[0]!) : null;
}
