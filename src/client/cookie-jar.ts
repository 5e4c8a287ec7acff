// The client's cookie jar (aiohttp's CookieJar) over tough-cookie: RFC 6265 domain, path,
// secure and expiry rules, public-suffix checks, persistence to a file.

import { readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import type { Cookie, CookieJar as ToughJar } from "tough-cookie";
import { hasControlCharacter, isToken } from "../http/header-syntax.js";
import { toughCookie } from "./lazy-deps.js";
import { checkOptions, type OptionNames } from "./option-check.js";
import { kMayHoldCookies } from "./symbols.js";
import { hostOf } from "./url.js";

/** Cookies given by name and value, or `Set-Cookie` header lines. */
export type CookiesInit =
  | Readonly<Record<string, string>>
  | Iterable<readonly [string, string]>
  | readonly string[];

/** What a session needs from a cookie jar. */
export interface AbstractCookieJar {
  /** Stores cookies; with `url` they are scoped to its host and path as a browser would. */
  updateCookies(cookies: CookiesInit, url?: URL): void;
  /** The cookies to send to `url`, by name. */
  filterCookies(url: URL): Record<string, string>;
  /** Removes the cookies `predicate` picks, or all. */
  clear(predicate?: (cookie: Cookie) => boolean): void;
  readonly size: number;
}

/** Options of `CookieJar`. */
export interface CookieJarOptions {
  /** Accept cookies from IP-address hosts (RFC 6265 forbids domain matching on IPs); @default false */
  unsafe?: boolean;
  /** Quote values that contain characters outside RFC 6265's cookie-octet; @default true */
  quoteCookie?: boolean;
  /** Refuse cookies for public suffixes such as `co.uk`; @default true */
  rejectPublicSuffixes?: boolean;
}

const COOKIE_JAR_OPTION_NAMES = {
  unsafe: true,
  quoteCookie: true,
  rejectPublicSuffixes: true,
} as const satisfies OptionNames<CookieJarOptions>;

// RFC 6265 4.1.1: cookie-octet excludes CTLs, whitespace, DQUOTE, comma, semicolon, backslash.
const COOKIE_OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

/**
 * A cookie jar following RFC 6265, shared by every request of a session. `Secure` cookies are
 * stored from and sent to https URLs only, except on loopback hosts (`localhost`,
 * `127.0.0.1`), which tough-cookie treats as secure contexts, as browsers do.
 */
export class CookieJar implements AbstractCookieJar, Iterable<Cookie> {
  readonly unsafe: boolean;
  readonly quoteCookie: boolean;
  readonly #rejectPublicSuffixes: boolean;
  #jar: ToughJar;
  /** Cookies stored without a URL: sent to every host, as aiohttp does. */
  #shared = new Map<string, string>();
  /** False while the tough-cookie jar is known to be empty, so lookups can be skipped. */
  #mayHold = false;

  constructor(options: CookieJarOptions = {}) {
    checkOptions("CookieJar", options, COOKIE_JAR_OPTION_NAMES);
    this.unsafe = options.unsafe ?? false;
    this.quoteCookie = options.quoteCookie ?? true;
    this.#rejectPublicSuffixes = options.rejectPublicSuffixes ?? true;
    this.#jar = this.#newJar();
  }

  #newJar(): ToughJar {
    return new (toughCookie().CookieJar)(undefined, {
      rejectPublicSuffixes: this.#rejectPublicSuffixes,
      looseMode: true,
      allowSpecialUseDomain: true,
    });
  }

  updateCookies(cookies: CookiesInit, url?: URL): void {
    if (url !== undefined && !this.unsafe && isIP(hostOf(url)) !== 0) return;
    for (const item of entries(cookies)) {
      if (typeof item !== "string") checkCookiePair(item[0], item[1]);
      if (url === undefined) {
        const c =
          typeof item === "string" ? toughCookie().Cookie.parse(item, { loose: true }) : undefined;
        if (typeof item === "string") {
          if (c !== undefined) this.#shared.set(c.key, c.value);
        } else {
          this.#shared.set(item[0], item[1]);
        }
        continue;
      }
      const text =
        typeof item === "string"
          ? item
          : new (toughCookie().Cookie)({ key: item[0], value: item[1] }).toString();
      try {
        this.#mayHold = true;
        this.#jar.setCookieSync(text, url.href, { ignoreError: true });
      } catch {
        // An invalid or refused cookie is dropped, as browsers and aiohttp do.
      }
    }
  }

  /** @internal whether `filterCookies` could give anything at all (false: it gives `{}`) */
  [kMayHoldCookies](): boolean {
    return this.#mayHold || this.#shared.size > 0;
  }

  filterCookies(url: URL): Record<string, string> {
    // fromEntries defines own properties: a cookie named "__proto__" cannot set a prototype
    // (assigned, it did, and was never sent).
    if (!this.#mayHold) return Object.fromEntries(this.#shared);
    const out = new Map(this.#shared);
    for (const c of this.#jar.getCookiesSync(url.href)) out.set(c.key, c.value);
    return Object.fromEntries(out);
  }

  /** The `Cookie` header value for `url` (empty when there are none). */
  cookieHeader(url: URL, extra?: Readonly<Record<string, string>>): string {
    const all = this.filterCookies(url);
    if (extra !== undefined) Object.assign(all, extra);
    return formatCookieHeader(all, this.quoteCookie);
  }

  clear(predicate?: (cookie: Cookie) => boolean): void {
    if (predicate === undefined) {
      this.#jar = this.#newJar();
      this.#shared.clear();
      return;
    }
    for (const [key, value] of this.#shared) {
      if (predicate(new (toughCookie().Cookie)({ key, value }))) this.#shared.delete(key);
    }
    const keep = this.#stored().filter((c) => !predicate(c));
    this.#jar = this.#newJar();
    for (const c of keep) this.#restore(c);
  }

  /** Removes the cookies of `domain` and its subdomains. */
  clearDomain(domain: string): void {
    const d = domain.toLowerCase().replace(/^\./, "");
    this.clear((c) => {
      const cd = (c.domain ?? "").toLowerCase();
      return cd === d || cd.endsWith(`.${d}`);
    });
  }

  /**
   * Every cookie the jar would still send somewhere (tough-cookie `Cookie` objects): those
   * scoped to a host, then those stored without a URL (no domain; sent to every host).
   * Expired cookies are left out, as in aiohttp.
   */
  cookies(): Cookie[] {
    const shared = [...this.#shared].map(
      ([key, value]) => new (toughCookie().Cookie)({ key, value }),
    );
    return [...this.#stored(), ...shared];
  }

  /** The unexpired host-scoped cookies. */
  #stored(): Cookie[] {
    const now = Date.now();
    const data = this.#jar.serializeSync();
    return (data?.cookies ?? [])
      .map((c) => toughCookie().Cookie.fromJSON(c))
      .filter((c): c is Cookie => {
        if (c === null || c === undefined) return false;
        // tough-cookie keeps an expired cookie until a lookup purges it; `Max-Age=0` gives -Infinity.
        const expiry = c.expiryTime();
        return expiry === undefined || expiry > now;
      });
  }

  /** How many cookies `cookies()` holds. */
  get size(): number {
    return this.cookies().length;
  }

  [Symbol.iterator](): Iterator<Cookie> {
    return this.cookies()[Symbol.iterator]();
  }

  /** Writes the jar to a JSON file. */
  async save(path: string): Promise<void> {
    const data = { version: 1, jar: this.#jar.serializeSync(), shared: [...this.#shared] };
    await writeFile(path, JSON.stringify(data));
  }

  /** Replaces the jar's content with a file written by `save`. */
  async load(path: string): Promise<void> {
    const data = JSON.parse(await readFile(path, "utf8")) as {
      jar?: { cookies?: unknown[] };
      shared?: Array<[string, string]>;
    };
    // The cookies are restored into a jar with this jar's own options: a file does not get
    // to switch off public-suffix checks.
    this.#jar = this.#newJar();
    for (const json of data.jar?.cookies ?? []) {
      const cookie = toughCookie().Cookie.fromJSON(json);
      if (cookie !== null && cookie !== undefined) this.#restore(cookie);
    }
    this.#shared = new Map(data.shared ?? []);
  }

  #restore(cookie: Cookie): void {
    this.#mayHold = true;
    const store = this.#jar.store as unknown as {
      putCookie(c: Cookie, cb: (err: unknown) => void): void;
    };
    // MemoryCookieStore is synchronous: the callback runs before putCookie returns.
    store.putCookie(cookie, () => {});
  }
}

/** A jar that keeps nothing (aiohttp's DummyCookieJar). */
export class DummyCookieJar implements AbstractCookieJar {
  updateCookies(_cookies: CookiesInit, _url?: URL): void {}
  filterCookies(_url: URL): Record<string, string> {
    return {};
  }
  clear(_predicate?: (cookie: Cookie) => boolean): void {}
  get size(): number {
    return 0;
  }
}

/**
 * Refuses a cookie given by name and value (not a Set-Cookie line, which is parsed) that could
 * not be sent: a name that is not a token, or a value with control characters (a CR or LF would
 * inject headers). Refused when given, so that the jar never holds a cookie that fails every
 * later request.
 */
function checkCookiePair(name: string, value: string): void {
  if (!isToken(name)) throw new TypeError(`Invalid cookie name ${JSON.stringify(name)}`);
  if (hasControlCharacter(value)) {
    throw new TypeError(
      `Invalid value for cookie ${name}: control characters (CR, LF, NUL...) are refused`,
    );
  }
}

/** Formats `name=value; name2=value2`, quoting values that need it. */
export function formatCookieHeader(
  cookies: Readonly<Record<string, string>>,
  quote = true,
): string {
  let out = "";
  for (const [k, v] of Object.entries(cookies)) {
    const value = quote && !COOKIE_OCTETS.test(v) ? `"${v.replace(/(["\\])/g, "\\$1")}"` : v;
    out += out === "" ? `${k}=${value}` : `; ${k}=${value}`;
  }
  return out;
}

function* entries(cookies: CookiesInit): Iterable<string | readonly [string, string]> {
  if (typeof (cookies as Iterable<unknown>)[Symbol.iterator] === "function") {
    yield* cookies as Iterable<string | readonly [string, string]>;
    return;
  }
  yield* Object.entries(cookies as Record<string, string>);
}
