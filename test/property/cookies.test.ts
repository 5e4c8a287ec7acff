// Properties of cookies across the wire: what a handler sets with `response.setCookie` (any
// token name, any value, random attributes) the client's cookie jar stores with the same
// attributes and sends back where the path matches, and the server's `request.cookies` reads
// the same values; `delCookie` removes them again.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClientSession, CookieJar, web } from "../../src/index.js";
import { quiet, useAppForAll } from "../helpers.js";

interface CookieSpec {
  name: string;
  value: string;
  path: string;
  maxAge?: number;
  /** Seconds from now. */
  expiresIn?: number;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: "Strict" | "Lax" | "None";
}

const port = useAppForAll(() => {
  const app = new web.Application({ logger: quiet });
  app.router.addPost("/set", async (request) => {
    const specs = (await request.json()) as CookieSpec[];
    const response = new web.Response({ text: "set" });
    for (const { name, value, expiresIn, ...options } of specs) {
      response.setCookie(name, value, {
        ...options,
        ...(expiresIn === undefined ? {} : { expires: new Date(Date.now() + expiresIn * 1000) }),
      });
    }
    return response;
  });
  app.router.addPost("/del", async (request) => {
    const specs = (await request.json()) as Array<{ name: string; path: string }>;
    const response = new web.Response({ text: "deleted" });
    for (const { name, path } of specs) response.delCookie(name, { path });
    return response;
  });
  app.router.addGet("/c/d/e/echo", (request) => web.jsonResponse(request.cookies));
  return app;
});

// RFC 6265 4.1.1: a cookie name is an RFC 2616 token. The __Secure- and __Host- prefixes carry
// rules of their own (RFC 6265bis 4.1.3), left to the cookie-jar tests.
const name = fc
  .stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/)
  .filter((n) => !/^__(secure|host)-/i.test(n));

// Any text: setCookie percent-encodes what RFC 6265's cookie-octet does not allow.
const value = fc.string({ unit: "binary", maxLength: 30 });

// Every path here is a prefix of /c/d/e/echo except /x, whose cookies must not come back.
const path = fc.constantFrom("/", "/c", "/c/d", "/c/d/e", "/x");

const spec: fc.Arbitrary<CookieSpec> = fc.record(
  {
    name,
    value,
    path,
    maxAge: fc.integer({ min: 1, max: 10_000_000 }),
    expiresIn: fc.integer({ min: 60, max: 10_000_000 }),
    secure: fc.boolean(),
    httpOnly: fc.boolean(),
    sameSite: fc.constantFrom("Strict" as const, "Lax" as const),
  },
  { requiredKeys: ["name", "value", "path"] },
);

const specs = fc.uniqueArray(spec, { maxLength: 6, selector: (s) => s.name });

/** A session whose jar takes cookies from 127.0.0.1 (RFC 6265 refuses IP hosts by default). */
function session(): ClientSession {
  return new ClientSession({ cookieJar: new CookieJar({ unsafe: true }) });
}

function sentBack(list: readonly CookieSpec[]): Record<string, string> {
  return Object.fromEntries(list.filter((s) => s.path !== "/x").map((s) => [s.name, s.value]));
}

describe("setCookie, the client's jar, request.cookies", () => {
  it("cookies a handler sets come back to the server with the same values where the path matches", async () => {
    await fc.assert(
      fc.asyncProperty(specs, async (list) => {
        await using client = session();
        const base = `http://127.0.0.1:${port()}`;
        const set = await client.post(`${base}/set`, { json: list });
        expect(set.status).toBe(200);
        await set.release();
        const echo = await client.get(`${base}/c/d/e/echo`);
        expect(await echo.json()).toEqual(sentBack(list));
      }),
      { numRuns: 80 },
    );
  });

  it("the client reads back every attribute the handler set", async () => {
    await using client = session();
    await fc.assert(
      fc.asyncProperty(specs, async (list) => {
        const before = Date.now();
        const resp = await client.post(`http://127.0.0.1:${port()}/set`, { json: list });
        const after = Date.now();
        await resp.release();
        const cookies = resp.cookies;
        expect([...cookies.keys()].sort()).toEqual(list.map((s) => s.name).sort());
        for (const s of list) {
          const c = cookies.get(s.name);
          expect(c?.path).toBe(s.path);
          expect(c?.maxAge ?? undefined).toBe(s.maxAge);
          expect(Boolean(c?.secure)).toBe(s.secure ?? false);
          expect(Boolean(c?.httpOnly)).toBe(s.httpOnly ?? false);
          expect(c?.sameSite?.toLowerCase()).toBe(s.sameSite?.toLowerCase());
          if (s.expiresIn === undefined) {
            expect(c?.expires).toBe("Infinity");
          } else {
            // HTTP dates have whole seconds.
            const expires = c?.expires instanceof Date ? c.expires.getTime() : Number.NaN;
            expect(expires).toBeGreaterThanOrEqual(
              Math.floor(before / 1000) * 1000 + s.expiresIn * 1000 - 1000,
            );
            expect(expires).toBeLessThanOrEqual(after + s.expiresIn * 1000);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it("delCookie removes from the client's jar exactly the cookies it names", async () => {
    await fc.assert(
      fc.asyncProperty(specs, fc.array(fc.boolean(), { maxLength: 6 }), async (list, picks) => {
        await using client = session();
        const base = `http://127.0.0.1:${port()}`;
        await (await client.post(`${base}/set`, { json: list })).release();
        const gone = list.filter((_, i) => picks[i] === true);
        const del = await client.post(`${base}/del`, {
          json: gone.map((s) => ({ name: s.name, path: s.path })),
        });
        await del.release();
        const echo = await client.get(`${base}/c/d/e/echo`);
        expect(await echo.json()).toEqual(sentBack(list.filter((s) => !gone.includes(s))));
      }),
      { numRuns: 50 },
    );
  });

  it("cookies the client is given (session or request) reach request.cookies unchanged", async () => {
    // Cookie values the client sends as given: RFC 6265 cookie-octets (values outside them
    // are quoted by the jar and are the cookie-jar tests' business), without "%":
    // request.cookies percent-decodes, the inverse of setCookie's encoding (as Express does;
    // aiohttp's SimpleCookie does not), so "%0a" reads as a line feed.
    const octets = fc.stringMatching(/^[\x21\x23\x24\x26-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{0,20}$/);
    const pairs = fc.uniqueArray(fc.tuple(name, octets), { maxLength: 5, selector: ([n]) => n });
    await fc.assert(
      fc.asyncProperty(pairs, pairs, async (sessionPairs, requestPairs) => {
        await using client = new ClientSession({
          cookies: Object.fromEntries(sessionPairs),
          cookieJar: new CookieJar({ unsafe: true }),
        });
        const echo = await client.get(`http://127.0.0.1:${port()}/c/d/e/echo`, {
          cookies: Object.fromEntries(requestPairs),
        });
        // A request's own cookies win over the session's of the same name.
        expect(await echo.json()).toEqual({
          ...Object.fromEntries(sessionPairs),
          ...Object.fromEntries(requestPairs),
        });
      }),
      { numRuns: 80 },
    );
  });
});
