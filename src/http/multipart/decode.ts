// Decoding of a part's bytes as aiohttp's `BodyPartReader.decode()` does: first the
// Content-Transfer-Encoding (RFC 2045 6), then the Content-Encoding (RFC 9110 8.4).

import * as zlib from "node:zlib";
import type { CIMultiDictProxy } from "../multidict.js";
import { MultipartError, MultipartLimitError } from "./errors.js";

/**
 * Undoes the part's Content-Transfer-Encoding and then its Content-Encoding.
 * @param maxSize most bytes the Content-Encoding may inflate to (0: no limit)
 */
export function decodePart(data: Buffer, headers: CIMultiDictProxy, maxSize: number): Buffer {
  const transfer = headers.get("Content-Transfer-Encoding")?.trim().toLowerCase();
  const coding = headers.get("Content-Encoding")?.trim().toLowerCase();
  return decodeContent(decodeTransfer(data, transfer), coding, maxSize);
}

function decodeTransfer(data: Buffer, encoding: string | undefined): Buffer {
  switch (encoding) {
    case undefined:
    case "":
    case "binary":
    case "8bit":
    case "7bit":
      return data;
    case "base64":
      return Buffer.from(data.toString("latin1"), "base64");
    case "quoted-printable":
      return decodeQuotedPrintable(data);
    default:
      throw new MultipartError(
        `Unknown Content-Transfer-Encoding: ${encoding}`,
        "AIOHTTP_MULTIPART_ENCODING",
      );
  }
}

function decodeContent(data: Buffer, coding: string | undefined, maxSize: number): Buffer {
  // zlib stops at maxOutputLength with ERR_BUFFER_TOO_LARGE, so a bomb never fills memory.
  const limit = maxSize > 0 ? { maxOutputLength: maxSize } : {};
  try {
    switch (coding) {
      case undefined:
      case "":
      case "identity":
        return data;
      case "gzip":
      case "x-gzip":
        return zlib.gunzipSync(data, limit);
      case "deflate":
        // aiohttp writes raw deflate here (its compressor suppresses the zlib header), other
        // writers follow RFC 9110 and wrap it in zlib; a zlib stream starts with 0x?8 and a
        // header whose 16-bit value is a multiple of 31 (RFC 1950 2.2).
        return isZlibHeader(data)
          ? zlib.inflateSync(data, limit)
          : zlib.inflateRawSync(data, limit);
      case "br":
        return zlib.brotliDecompressSync(data, limit);
      default:
        throw new MultipartError(
          `Unknown Content-Encoding: ${coding}`,
          "AIOHTTP_MULTIPART_ENCODING",
        );
    }
  } catch (err) {
    if (err instanceof MultipartError) throw err;
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new MultipartLimitError("decodedSize", maxSize, maxSize + 1);
    }
    throw new MultipartError(
      `Cannot decode the part's ${coding} content: ${(err as Error).message}`,
      "AIOHTTP_MULTIPART_ENCODING",
      err,
    );
  }
}

function isZlibHeader(data: Buffer): boolean {
  return data.length >= 2 && (data[0] & 0x0f) === 8 && ((data[0] << 8) | data[1]) % 31 === 0;
}

const HEX = /^[0-9A-Fa-f]{2}$/;

/** RFC 2045 6.7: `=XX` escapes and `=` soft line breaks. */
function decodeQuotedPrintable(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const byte = data[i];
    if (byte !== 0x3d /* = */) {
      out[n++] = byte;
      continue;
    }
    const next = data.toString("latin1", i + 1, i + 3);
    if (HEX.test(next)) {
      out[n++] = Number.parseInt(next, 16);
      i += 2;
    } else if (next === "\r\n") {
      i += 2;
    } else if (next[0] === "\n") {
      i += 1;
    } else {
      // Rule 1 allows a lone "=" to be kept as is by a robust decoder.
      out[n++] = byte;
    }
  }
  return out.subarray(0, n);
}
