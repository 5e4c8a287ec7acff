// Charset detection for bodies whose Content-Type names none (aiohttp used cchardet): a BOM,
// then strict UTF-8, then chardet's statistical guess, mapped to a TextDecoder label.

import chardet from "chardet";

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The charset a body is most likely in; `"utf-8"` when nothing better is known. */
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
  const guess = chardet.detect(body);
  if (guess === null) return "utf-8";
  const label = guess.toLowerCase();
  try {
    new TextDecoder(label);
    return label;
  } catch {
    return "utf-8";
  }
}
