// Entity tags (RFC 9110 8.8.3): the strong validator a file is sent with, and the lists that
// If-Match and If-None-Match carry.

import type { BigIntStats } from "node:fs";

/** One entity tag of a request's list; `opaque` keeps its quotes. */
export interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** `*` (any current representation), or the tags listed. */
export type EntityTagList = "*" | EntityTag[];

/**
 * The strong ETag of a file, as aiohttp builds it: modification time in nanoseconds and size,
 * in hexadecimal. A change of either, even within the same second, changes the tag.
 */
export function fileETag(stats: BigIntStats): string {
  return `"${stats.mtimeNs.toString(16)}-${stats.size.toString(16)}"`;
}

// RFC 9110 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a comma-separated list.
const LIST_ITEM = /\s*(W\/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)/y;

/**
 * The tags of an If-Match or If-None-Match value (several header lines joined with commas);
 * unparseable text ends the list, so that a garbled header matches nothing.
 */
export function parseEntityTags(value: string): EntityTagList {
  if (value.trim() === "*") return "*";
  const tags: EntityTag[] = [];
  LIST_ITEM.lastIndex = 0;
  while (LIST_ITEM.lastIndex < value.length) {
    const m = LIST_ITEM.exec(value);
    if (m === null) break;
    tags.push({ weak: m[1] !== undefined, opaque: m[2]! });
  }
  return tags;
}

/**
 * Whether `etag` (the representation's, strong) matches the list. RFC 9110 8.8.3.2: the strong
 * comparison (If-Match, If-Range) never matches a weak tag; the weak one (If-None-Match)
 * compares the opaque parts only.
 */
export function etagMatches(etag: string, list: EntityTagList, weak: boolean): boolean {
  if (list === "*") return true;
  const opaque = etag.startsWith("W/") ? etag.slice(2) : etag;
  const strong = !etag.startsWith("W/");
  for (const tag of list) {
    if (tag.opaque !== opaque) continue;
    if (weak || (strong && !tag.weak)) return true;
  }
  return false;
}
