// Charset detection for bodies whose Content-Type names none (aiohttp used cchardet): a BOM,
// then strict UTF-8, then chardet's statistical guess, mapped to a TextDecoder label.

import { chardet } from "./lazy-deps.js";

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * What bytes that are not UTF-8 and that the detector cannot place are decoded as: the WHATWG
 * Encoding Standard's legacy default. Every byte maps to a character, so nothing is lost to
 * U+FFFD as it would be with UTF-8, which the bytes are known not to be.
 */
const NOT_UTF8_FALLBACK = "windows-1252";

/** Whether `TextDecoder` knows `label` (it does not know UTF-32 or ISO-2022-KR/CN, say). */
export function isKnownCharset(label: string): boolean {
  let known = KNOWN.get(label);
  if (known === undefined) {
    try {
      new TextDecoder(label);
      known = true;
    } catch {
      known = false;
    }
    if (KNOWN.size < 256) KNOWN.set(label, known);
  }
  return known;
}

/** Answers of isKnownCharset: a TextDecoder per response is costly. Bounded: labels come from servers. */
const KNOWN = new Map<string, boolean>();

/** The charset a body is most likely in; `"utf-8"` for empty, ASCII and UTF-8 bodies. */
export function detectCharset(body: Uint8Array): string {
  if (body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return "utf-8";
  if (body.length >= 2 && body[0] === 0xff && body[1] === 0xfe) return "utf-16le";
  if (body.length >= 2 && body[0] === 0xfe && body[1] === 0xff) return "utf-16be";
  try {
    UTF8.decode(body);
    return "utf-8";
  } catch {
    // Not UTF-8: ask the detector.
  }
  // The detector ranks candidates; UTF-8 and ASCII are already ruled out above, and a label
  // TextDecoder does not know would only fail later.
  for (const { name } of chardet().analyse(body)) {
    const label = name.toLowerCase();
    if (label === "utf-8" || label === "ascii") continue;
    if (isKnownCharset(label)) return label;
  }
  return NOT_UTF8_FALLBACK;
}
