// The building blocks of header values (RFC 9110 5.6), shared by the client and the server so
// that a token or a quoted string means the same thing on both sides.

/** RFC 9110 5.6.2: `token = 1*tchar`. */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Whether `text` is an RFC 9110 token (a method, a header name, a parameter name...). */
export function isToken(text: string): boolean {
  return TOKEN.test(text);
}

/** Options of `splitOutsideQuotes`. */
export interface SplitOptions {
  /** Also keep `<...>` together, as `Link` values need (RFC 8288 3: a URI may hold commas). */
  readonly angleBrackets?: boolean;
  /** Keep empty parts (`a,,b` gives three), for grammars where one is an error. */
  readonly keepEmpty?: boolean;
}

/**
 * Splits a header value at `sep` where it is not inside a quoted string (RFC 9110 5.6.4, with
 * its backslash escapes). Parts are trimmed; empty ones are left out unless `keepEmpty`.
 */
export function splitOutsideQuotes(
  text: string,
  sep: string,
  options: SplitOptions = {},
): string[] {
  const brackets = options.angleBrackets === true;
  const keepEmpty = options.keepEmpty === true;
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === "\\") i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (brackets && ch === "<") angle++;
    else if (brackets && ch === ">" && angle > 0) angle--;
    else if (ch === sep && angle === 0) {
      const part = text.slice(start, i).trim();
      if (part !== "" || keepEmpty) parts.push(part);
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last !== "" || keepEmpty) parts.push(last);
  return parts;
}

/** The content of a quoted string with its escapes undone; other text is returned as is. */
export function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    return text.slice(1, -1).replace(/\\(.)/g, "$1");
  }
  return text;
}

/**
 * Whether `text` holds an ASCII control character (U+0000-U+001F or DEL), a horizontal tab
 * excepted when `allowTab` (RFC 9110 5.5 allows it inside field values).
 */
export function hasControlCharacter(text: string, allowTab = false): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && !(allowTab && c === 0x09)) || c === 0x7f) return true;
  }
  return false;
}
