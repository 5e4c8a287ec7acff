// Options the client does not know, or does not support yet, are refused with a TypeError that
// says so, never ignored: a request sent without the `proxy` it was given goes straight to the
// network its caller meant to avoid. JavaScript callers (and `as` casts) get no compile-time
// check, and aiohttp code ported by hand brings snake_case names along.

import { ClientOptionError } from "./errors.js";

/** Every option name of an options type, as `{ name: true }` (`satisfies` keeps it complete). */
export type OptionNames<T> = { readonly [K in keyof Required<T>]: true };

/**
 * aiohttp options, in their camelCase names here, that aiohttp-ts does not support yet, with
 * what to do meanwhile.
 */
const NOT_YET: Readonly<Record<string, string>> = {
  fingerprint: "pin the certificate with `ssl: new Fingerprint(sha256Digest)`",
  verifySsl: "`ssl: false` skips certificate verification",
  sslContext: "pass the SecureContext as `ssl`",
  http2: "set `http2` on the session (or its `TCPConnector`)",
  cache: "set `cache` on the session",
  dedupe: "set `dedupe` on the session",
  version: "only HTTP/1.1 is spoken",
  autoDecompress: "set `autoDecompress` on the session",
  readBufsize: "set `readBufsize` on the session",
  maxLineSize: "set `maxFieldSize` on the session",
  maxFieldSize: "set `maxFieldSize` on the session",
};

/**
 * Throws `ClientOptionError` (a TypeError) for an option of `options` that is not in `known`.
 * Options set to `undefined` count as absent, as they do everywhere else.
 */
export function checkOptions(
  what: string,
  options: object | undefined,
  known: Readonly<Record<string, true>>,
): void {
  if (options === undefined || options === null) return;
  if (typeof options !== "object") {
    throw new TypeError(`${what} must be an object, got ${typeof options}`);
  }
  for (const name in options) {
    if (Object.hasOwn(known, name) || (options as Record<string, unknown>)[name] === undefined) {
      continue;
    }
    throw new ClientOptionError(name, describe(what, name, known));
  }
}

function describe(what: string, name: string, known: Readonly<Record<string, true>>): string {
  const camel = name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const hint = NOT_YET[camel];
  if (hint !== undefined) {
    const spelled = camel === name ? "" : ` (aiohttp's "${name}")`;
    return `${what}: the "${camel}" option${spelled} is not supported yet: ${hint}. The option is refused rather than ignored.`;
  }
  const guess = Object.hasOwn(known, camel) ? camel : closest(name, Object.keys(known));
  const suggestion = guess === undefined ? "" : ` (did you mean "${guess}"?)`;
  return `${what}: unknown option "${name}"${suggestion}`;
}

/** The known name within two edits of `name`, ignoring case, if there is one. */
function closest(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of names) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
    }
    prev = row;
  }
  return prev[b.length] as number;
}
