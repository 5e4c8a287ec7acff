// The `multipart/byteranges` body of a 206 response to several ranges (RFC 9110 14.6 and
// 15.3.7.2): each part has its own Content-Type and Content-Range, the boundary is random.

import { randomBytes } from "node:crypto";
import { type ByteRange, contentRange } from "./ranges.js";

/** One part: the delimiter and headers to write, then the bytes of `range`. */
export interface BytePart {
  head: Buffer;
  range: ByteRange;
}

/** The layout of a `multipart/byteranges` body, known before a byte of it is read. */
export interface ByteRangesBody {
  /** The response's Content-Type, with the boundary. */
  contentType: string;
  parts: BytePart[];
  /** The closing delimiter. */
  tail: Buffer;
  /** The exact length of the body, for Content-Length. */
  length: number;
}

/** Lays out the parts of `ranges` of a representation of `size` bytes and type `partType`. */
export function byteRangesBody(
  ranges: ByteRange[],
  size: number,
  partType: string,
): ByteRangesBody {
  // 24 hex characters of randomness: a file cannot guess the boundary it must not contain.
  const boundary = randomBytes(12).toString("hex");
  const parts: BytePart[] = [];
  let length = 0;
  for (const [i, range] of ranges.entries()) {
    // RFC 2046 5.1.1: the CRLF before a delimiter belongs to the delimiter; the first part
    // needs none.
    const head = Buffer.from(
      `${i === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${partType}\r\n` +
        `Content-Range: ${contentRange(range, size)}\r\n\r\n`,
      "latin1",
    );
    parts.push({ head, range });
    length += head.length + range.end - range.start + 1;
  }
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, "latin1");
  length += tail.length;
  return { contentType: `multipart/byteranges; boundary=${boundary}`, parts, tail, length };
}
