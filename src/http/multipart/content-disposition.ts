// Content-Disposition of a body part (RFC 7578 4.2, RFC 6266 4): the disposition type and its
// parameters, with `filename*` (RFC 8187 extended notation) preferred over `filename`.

import { parseParams } from "../content-type.js";

/** A parsed `Content-Disposition` value. */
export interface ContentDisposition {
  /** The disposition type, lower-cased (`"form-data"`, `"attachment"`), or `null` when absent. */
  readonly type: string | null;
  /** Parameters with lower-cased names and unquoted values; extended (`name*`) ones decoded. */
  readonly params: Readonly<Record<string, string>>;
}

const EMPTY: ContentDisposition = Object.freeze({ type: null, params: Object.freeze({}) });

/** Parses a `Content-Disposition` header value; a missing one has type `null` and no params. */
export function parseContentDisposition(header: string | undefined): ContentDisposition {
  if (header === undefined || header.trim() === "") return EMPTY;
  const semi = header.indexOf(";");
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  const raw = semi === -1 ? {} : parseParams(header.slice(semi + 1));
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!name.endsWith("*")) {
      params[name] ??= value;
      continue;
    }
    // RFC 6266 4.3: the extended form wins over the plain one when a recipient understands it.
    const decoded = decodeExtValue(value);
    if (decoded !== null) params[name.slice(0, -1)] = decoded;
  }
  return Object.freeze({ type: type === "" ? null : type, params: Object.freeze(params) });
}

/** The `filename` of a disposition, `filename*` first, or `null`. */
export function dispositionFilename(disposition: ContentDisposition): string | null {
  return disposition.params.filename ?? null;
}

/** RFC 8187 3.2.1: `charset'language'value-chars`, e.g. `UTF-8''%e2%82%ac%20rates`. */
function decodeExtValue(value: string): string | null {
  const first = value.indexOf("'");
  const second = first === -1 ? -1 : value.indexOf("'", first + 1);
  if (second === -1) return null;
  const charset = value.slice(0, first).toLowerCase();
  const encoded = value.slice(second + 1);
  if (!/^(?:%[0-9A-Fa-f]{2}|[^%])*$/.test(encoded)) return null;
  const bytes = Buffer.from(
    encoded.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    ),
    "latin1",
  );
  if (charset === "utf-8" || charset === "utf8") return bytes.toString("utf8");
  if (charset === "iso-8859-1" || charset === "latin1") return bytes.toString("latin1");
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return null;
  }
}
