// The headers of one multipart part: checked against the form limits, and its
// Content-Disposition read for the field name and file name.

import { parseParams } from "../../http/content-type.js";
import { CIMultiDictProxy } from "../../http/multidict.js";
import { HTTPBadRequest } from "../exceptions.js";
import type { ResolvedFormLimits } from "./form-limits.js";

/** A part's headers as Dicer gives them: lower-cased names, latin1 values. */
export type PartHeaders = Record<string, string[]>;

/** A 400 whose body says what was wrong. */
export function badRequest(text: string, cause?: unknown): HTTPBadRequest {
  return new HTTPBadRequest({ text, ...(cause === undefined ? {} : { cause }) });
}

/** What a part is, from its headers. */
export interface PartMeta {
  name: string;
  /** The file name; `null` for a text field. */
  filename: string | null;
  contentType: string | undefined;
  charset: string;
  headers: CIMultiDictProxy;
}

/** Checks a part's headers against the limits and reads its Content-Disposition. */
export function describePart(header: PartHeaders, limits: ResolvedFormLimits): PartMeta {
  const pairs: [string, string][] = [];
  for (const [name, values] of Object.entries(header)) {
    for (const value of values) {
      if (name.length + 2 + value.length > limits.maxPartHeaderSize) {
        throw badRequest(`Part header line longer than ${limits.maxPartHeaderSize} bytes`);
      }
      // Header bytes arrive as latin1; clients send UTF-8 (file names above all).
      pairs.push([name, Buffer.from(value, "latin1").toString("utf8")]);
    }
  }
  if (pairs.length > limits.maxPartHeaders) {
    throw badRequest(`More than ${limits.maxPartHeaders} headers in a part`);
  }
  const headers = new CIMultiDictProxy(pairs);
  const disposition = headers.get("Content-Disposition");
  if (disposition === undefined) throw badRequest("Part without Content-Disposition");
  const semi = disposition.indexOf(";");
  const kind = (semi === -1 ? disposition : disposition.slice(0, semi)).trim().toLowerCase();
  if (kind !== "form-data") throw badRequest("Part is not form-data");
  const params = semi === -1 ? {} : parseParams(disposition.slice(semi + 1));
  const name = params.name;
  if (name === undefined) throw badRequest("Part without a name");
  if (Buffer.byteLength(name) > limits.maxFieldNameSize) {
    throw badRequest(`Field name longer than ${limits.maxFieldNameSize} bytes`);
  }
  const type = headers.get("Content-Type");
  const [mimetype = "", ...rest] = (type ?? "").split(";");
  const media = mimetype.trim().toLowerCase();
  const filename = extendedValue(params["filename*"]) ?? params.filename;
  // aiohttp gives bytes for a part without a file name that is not text; here that is a file.
  const isFile = filename !== undefined || (type !== undefined && !media.startsWith("text/"));
  return {
    name,
    filename: isFile ? (filename ?? "") : null,
    contentType: type,
    charset: parseParams(rest.join(";")).charset ?? "utf-8",
    headers,
  };
}

/** An RFC 8187 `charset'lang'value` parameter (`filename*`), UTF-8 only; else undefined. */
function extendedValue(value: string | undefined): string | undefined {
  const match = value === undefined ? null : /^utf-8'[^']*'(.*)$/i.exec(value);
  if (match === null) return undefined;
  try {
    return decodeURIComponent(match[1] as string);
  } catch {
    return undefined;
  }
}
