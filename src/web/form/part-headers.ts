// The headers of one form part: checked against the form limits, and its Content-Disposition
// read for the field name and file name.

import { parseContentType } from "../../http/content-type.js";
import type { BodyPartReader } from "../../http/multipart/body-part-reader.js";
import { parseContentDisposition } from "../../http/multipart/content-disposition.js";
import { HTTPBadRequest } from "../exceptions.js";
import type { ResolvedFormLimits } from "./form-limits.js";

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
}

/** Checks a part's headers against the limits and reads its Content-Disposition. */
export function describePart(part: BodyPartReader, limits: ResolvedFormLimits): PartMeta {
  for (const [name, value] of part.headers) {
    if (name.length + 2 + Buffer.byteLength(value) > limits.maxPartHeaderSize) {
      throw badRequest(`Part header line longer than ${limits.maxPartHeaderSize} bytes`);
    }
  }
  const disposition = part.headers.get("Content-Disposition");
  if (disposition === undefined) throw badRequest("Part without Content-Disposition");
  if (parseContentDisposition(disposition).type !== "form-data") {
    throw badRequest("Part is not form-data");
  }
  const name = part.name;
  if (name === null) throw badRequest("Part without a name");
  if (Buffer.byteLength(name) > limits.maxFieldNameSize) {
    throw badRequest(`Field name longer than ${limits.maxFieldNameSize} bytes`);
  }
  const type = part.headers.get("Content-Type");
  const { mimetype, charset } = parseContentType(type);
  // aiohttp gives bytes for a part without a file name that is not text; here that is a file.
  const isFile = part.filename !== null || (type !== undefined && !mimetype.startsWith("text/"));
  return {
    name,
    filename: isFile ? (part.filename ?? "") : null,
    contentType: type,
    charset: charset ?? "utf-8",
  };
}
