// Content-Type parsing (RFC 9110 8.3): media type, parameters and charset, shared by the
// server's request and the client's response.

import { isToken } from "./header-syntax.js";

/** A parsed `Content-Type` value. */
export interface ContentType {
  /** `type/subtype` lower-cased, e.g. `"text/html"`; `"application/octet-stream"` when absent. */
  readonly mimetype: string;
  readonly type: string;
  readonly subtype: string;
  /** Parameters with lower-cased names and unquoted values. */
  readonly params: Readonly<Record<string, string>>;
  /** The `charset` parameter, lower-cased, when given. */
  readonly charset: string | undefined;
}

const DEFAULT_TYPE: ContentType = Object.freeze({
  mimetype: "application/octet-stream",
  type: "application",
  subtype: "octet-stream",
  params: Object.freeze({}),
  charset: undefined,
});

const cache = new Map<string, ContentType>();
const CACHE_LIMIT = 256;

/**
 * Parses a `Content-Type` header value. Missing or malformed values give
 * `application/octet-stream`, as aiohttp does. Results are cached: the same few values recur.
 */
export function parseContentType(header: string | null | undefined): ContentType {
  if (!header) return DEFAULT_TYPE;
  const cached = cache.get(header);
  if (cached !== undefined) return cached;
  const parsed = parseUncached(header);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(header, parsed);
  return parsed;
}

function parseUncached(header: string): ContentType {
  const semi = header.indexOf(";");
  const media = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  const slash = media.indexOf("/");
  if (slash <= 0 || slash === media.length - 1 || !isToken(media.replace("/", ""))) {
    return DEFAULT_TYPE;
  }
  const params = semi === -1 ? {} : parseParams(header.slice(semi + 1));
  return Object.freeze({
    mimetype: media,
    type: media.slice(0, slash),
    subtype: media.slice(slash + 1),
    params: Object.freeze(params),
    charset: params.charset?.toLowerCase(),
  });
}

/** Parses `; name=value; name="quoted \" value"` parameter lists (RFC 9110 5.6.6). */
export function parseParams(text: string): Record<string, string> {
  const params: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === ";" || text[i] === " " || text[i] === "\t")) i++;
    const eq = text.indexOf("=", i);
    if (eq === -1) break;
    // A parameter without "=" (`; junk;`) is skipped, not merged into the next one's name.
    const nextSemi = text.indexOf(";", i);
    if (nextSemi !== -1 && nextSemi < eq) {
      i = nextSemi + 1;
      continue;
    }
    const name = text.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let value = "";
    if (text[i] === '"') {
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < n) i++;
        value += text[i];
        i++;
      }
      i++;
      const semi = text.indexOf(";", i);
      i = semi === -1 ? n : semi;
    } else {
      const semi = text.indexOf(";", i);
      value = text.slice(i, semi === -1 ? n : semi).trim();
      i = semi === -1 ? n : semi;
    }
    if (name && isToken(name) && !(name in params)) params[name] = value;
  }
  return params;
}

/** Whether a media type is JSON (`application/json` or any `+json` suffix). */
export function isJsonType(mimetype: string): boolean {
  return mimetype === "application/json" || mimetype.endsWith("+json");
}

/**
 * Formats a Content-Type header from a media type and a charset, e.g.
 * `text/plain; charset=utf-8`.
 */
export function formatContentType(mimetype: string, charset?: string | null): string {
  return charset ? `${mimetype}; charset=${charset}` : mimetype;
}
