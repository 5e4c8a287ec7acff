// The codings a part's own headers ask for, applied as the part is written (as aiohttp's
// MultipartPayloadWriter): Content-Encoding (gzip, deflate) compresses the content, then
// Content-Transfer-Encoding (base64, quoted-printable) encodes it. A header that names a
// coding is never sent over content that does not have it.

import { createDeflate, createGzip } from "node:zlib";
import type { CIMultiDict } from "../multidict.js";

/** What a part's content goes through on the way out. */
export interface PartCoding {
  readonly compress: "gzip" | "deflate" | null;
  readonly transfer: "base64" | "quoted-printable" | null;
}

const NONE: PartCoding = { compress: null, transfer: null };

/**
 * The codings of a part with `headers`.
 * @throws {TypeError} for a coding the writer cannot apply (aiohttp raises too)
 */
export function partCoding(headers: CIMultiDict): PartCoding {
  const ce = (headers.get("Content-Encoding") ?? "").trim().toLowerCase();
  const te = (headers.get("Content-Transfer-Encoding") ?? "").trim().toLowerCase();
  if (ce === "" && te === "") return NONE;
  if (ce !== "" && ce !== "identity" && ce !== "gzip" && ce !== "deflate") {
    throw new TypeError(`Unknown Content-Encoding of a multipart part: ${ce}`);
  }
  if (te !== "") checkTransferEncoding(te);
  return {
    compress: ce === "gzip" || ce === "deflate" ? ce : null,
    transfer: te === "base64" || te === "quoted-printable" ? te : null,
  };
}

/**
 * Checks a Content-Transfer-Encoding value; 7bit and 8bit only label what the content already
 * is, as binary does.
 * @throws {TypeError} for another value
 */
export function checkTransferEncoding(value: string): void {
  const te = value.trim().toLowerCase();
  if (!["base64", "quoted-printable", "binary", "7bit", "8bit"].includes(te)) {
    throw new TypeError(`Unknown Content-Transfer-Encoding of a multipart part: ${value}`);
  }
}

/** The coded size of `size` bytes, when it can be known without coding them. */
export function codedSize(size: number | null, coding: PartCoding): number | null {
  if (size === null || coding.compress !== null || coding.transfer === "quoted-printable") {
    return coding === NONE ? size : null;
  }
  return coding.transfer === "base64" ? Math.ceil(size / 3) * 4 : size;
}

/** `chunks` with `coding` applied. */
export function encodeChunks(
  chunks: AsyncIterable<Uint8Array>,
  coding: PartCoding,
): AsyncIterable<Uint8Array> {
  let out = chunks;
  if (coding.compress !== null) out = compressed(out, coding.compress);
  if (coding.transfer === "base64") out = base64(out);
  else if (coding.transfer === "quoted-printable") out = quotedPrintable(out);
  return out;
}

async function* compressed(
  chunks: AsyncIterable<Uint8Array>,
  coding: "gzip" | "deflate",
): AsyncGenerator<Uint8Array> {
  const zlib = coding === "gzip" ? createGzip() : createDeflate();
  // Fed chunk by chunk, each awaited, so that memory stays bounded for a large stream.
  const feed = (async () => {
    try {
      for await (const chunk of chunks) {
        if (!zlib.write(chunk)) await new Promise((resolve) => zlib.once("drain", resolve));
      }
      zlib.end();
    } catch (err) {
      zlib.destroy(err as Error);
    }
  })();
  for await (const chunk of zlib) yield chunk as Buffer;
  await feed;
}

/** Base64 without line breaks (as aiohttp writes it), carrying a partial group over. */
async function* base64(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let rest = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const data = rest.length === 0 ? Buffer.from(chunk) : Buffer.concat([rest, chunk]);
    const whole = data.length - (data.length % 3);
    rest = data.subarray(whole);
    if (whole > 0) yield Buffer.from(data.subarray(0, whole).toString("base64"), "latin1");
  }
  if (rest.length > 0) yield Buffer.from(rest.toString("base64"), "latin1");
}

const MAX_LINE = 76;

/**
 * Quoted-printable (RFC 2045 6.7): printable ASCII as is, other bytes as `=XX`, a space or tab
 * before a line break encoded, CRLF kept as a line break, soft breaks keeping lines within 76
 * characters.
 */
async function* quotedPrintable(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let line = "";
  let out = "";
  let pendingCR = false;
  const put = (token: string): void => {
    // A soft break ("=") must fit on the line too.
    if (line.length + token.length > MAX_LINE - 1) {
      out += `${line}=\r\n`;
      line = "";
    }
    line += token;
  };
  // A space or tab at the end of a line would be taken off on the way: it is encoded.
  const endLine = (): void => {
    const last = line.charCodeAt(line.length - 1);
    if (last === 0x20 || last === 0x09) {
      line = line.slice(0, -1);
      put(`=${hex(last)}`);
    }
  };
  for await (const chunk of chunks) {
    for (const byte of chunk) {
      if (pendingCR) {
        pendingCR = false;
        if (byte === 0x0a) {
          endLine();
          out += `${line}\r\n`;
          line = "";
          continue;
        }
        put("=0D");
      }
      if (byte === 0x0d) pendingCR = true;
      else if ((byte >= 33 && byte <= 126 && byte !== 0x3d) || byte === 0x20 || byte === 0x09) {
        put(String.fromCharCode(byte));
      } else put(`=${hex(byte)}`);
    }
    if (out.length > 0) {
      yield Buffer.from(out, "latin1");
      out = "";
    }
  }
  if (pendingCR) put("=0D");
  endLine();
  out += line;
  if (out.length > 0) yield Buffer.from(out, "latin1");
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}
