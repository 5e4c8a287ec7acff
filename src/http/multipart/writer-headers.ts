// Header values of the parts a MultipartWriter writes: boundaries (RFC 2046 5.1.1) and
// Content-Disposition parameters (RFC 7578 4.2), made so that no value can add a header line.

import { randomBytes } from "node:crypto";

/** RFC 2046 5.1.1 `bchars`: 1 to 70 of them, the last one not a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const LINE_BREAK = /[\r\n\0]/;

/** A random boundary, as aiohttp's (32 hex digits) with a prefix that shows who wrote it. */
export function randomBoundary(): string {
  return `----aiohttp-ts-${randomBytes(16).toString("hex")}`;
}

/**
 * The boundary given, checked against RFC 2046.
 * @throws {TypeError} when it has characters outside `bchars`, ends in a space or is too long
 */
export function checkBoundary(boundary: string): string {
  if (!BOUNDARY.test(boundary)) {
    throw new TypeError(
      `Invalid multipart boundary ${JSON.stringify(boundary)}: RFC 2046 allows 1 to 70 of 0-9 A-Z a-z '()+_,-./:=? and space, not ending in a space`,
    );
  }
  return boundary;
}

/**
 * A header value given by the caller.
 * @throws {TypeError} when it holds CR, LF or NUL, which would start a header line of its own
 */
export function checkHeaderValue(name: string, value: string): string {
  if (!TOKEN.test(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}`);
  if (LINE_BREAK.test(value)) {
    throw new TypeError(`The ${name} header value must not contain CR, LF or NUL`);
  }
  return value;
}

/**
 * A quoted Content-Disposition parameter value as browsers write it (the HTML standard's
 * multipart/form-data encoding, which RFC 7578 4.2 points to): `"`, CR and LF percent-encoded,
 * so a filename can never end the quoted string or the header line; a backslash escaped as a
 * quoted-pair (RFC 9110 5.6.4) so readers that unescape get it back; other characters,
 * non-ASCII included, as UTF-8.
 */
export function quoteParam(value: string): string {
  const escaped = value
    .replace(/\\/g, "\\\\")
    .replace(/"/g, "%22")
    .replace(/\r/g, "%0D")
    .replace(/\n/g, "%0A")
    .replace(/\0/g, "%00");
  return `"${escaped}"`;
}

/**
 * A Content-Disposition value, e.g. `form-data; name="a"; filename="b.txt"`.
 * @throws {TypeError} when the type or a parameter name is not a token
 */
export function contentDisposition(
  type: string,
  params: Readonly<Record<string, string>> = {},
): string {
  if (!TOKEN.test(type)) throw new TypeError(`Invalid disposition type ${JSON.stringify(type)}`);
  let out = type;
  for (const [key, value] of Object.entries(params)) {
    if (!TOKEN.test(key))
      throw new TypeError(`Invalid disposition parameter ${JSON.stringify(key)}`);
    out += `; ${key}=${quoteParam(value)}`;
  }
  return out;
}
