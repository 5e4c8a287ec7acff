// Properties of routing and URL building over random route templates: static segments,
// `{name}`, `{name:regex}` (alone in a segment or after literal text) and a `{tail:.*}` at the
// end. A URL built by `urlFor` from random values resolves to the route it was built from with
// the same values, in-process (through the decoding `request.path` applies) and over a real
// socket; query strings and percent-encoding round-trip. (test/web/router.test.ts has the
// fixed-template cases these generalise.)
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { decodePathSafe, decodeValue, normalizePath } from "../../src/web/router/url-path.js";
import { httpSend, quiet, textHandler, useAppForAll } from "../helpers.js";

/** A stand-in request: `resolve` reads only `path` (already decoded) and `method`. */
function req(method: string, path: string): web.Request {
  return { method, path } as unknown as web.Request;
}

/** What `request.path` makes of the path a client sends (the steps `Request.path` takes). */
function asRequestPath(url: string): string {
  return normalizePath(decodePathSafe(url));
}

// Values that survive a trip through a URL: not "." or ".." (dot segments are resolved before
// routing, RFC 3986 5.2.4) and no braces (the default pattern excludes them, as aiohttp's).
// Anything else goes, "/", "%", "?", "#", spaces and non-ASCII included.
const segmentValue = fc
  .string({ unit: "grapheme", minLength: 1, maxLength: 10 })
  .filter((s) => !/[{}]/.test(s) && s !== "." && s !== "..");

/** One piece of a template, with the arbitrary of the values its variable accepts. */
type Piece =
  | { kind: "static"; text: string }
  | { kind: "var"; regex: string | null; prefix: string; values: fc.Arbitrary<string> };

const staticText = fc
  .stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{1,8}$/)
  .filter((s) => s !== "." && s !== "..");

// Each regex comes with values it matches in full (and that contain no "/").
const VARS: ReadonlyArray<{ regex: string | null; values: fc.Arbitrary<string> }> = [
  { regex: null, values: segmentValue },
  { regex: "\\d+", values: fc.nat().map(String) },
  { regex: "[a-z]{2,5}", values: fc.stringMatching(/^[a-z]{2,5}$/) },
  { regex: "[^/]+", values: segmentValue.filter((s) => !s.includes("/")) },
  { regex: "v\\d\\.\\d", values: fc.tuple(fc.nat(9), fc.nat(9)).map(([a, b]) => `v${a}.${b}`) },
];

const piece: fc.Arbitrary<Piece> = fc.oneof(
  staticText.map((text) => ({ kind: "static" as const, text })),
  fc
    .record({
      v: fc.constantFrom(...VARS),
      // Literal text before a variable in the same segment ("file-{id}"); a regex variable
      // only, so that the default one cannot swallow the text.
      prefix: fc.constantFrom("", "", "file-", "x."),
    })
    .map(({ v, prefix }) => ({
      kind: "var" as const,
      regex: v.regex,
      prefix: v.regex === null ? "" : prefix,
      values: v.values,
    })),
);

interface Template {
  template: string;
  /** Variable names and the arbitraries of their values, in order. */
  vars: Array<[string, fc.Arbitrary<string>]>;
}

/** A template from pieces, under a first segment that tells routes apart, maybe with a tail. */
function template(id: number, pieces: Piece[], tail: boolean): Template {
  const vars: Array<[string, fc.Arbitrary<string>]> = [];
  let path = `/r${id}`;
  for (const p of pieces) {
    if (p.kind === "static") {
      path += `/${p.text}`;
      continue;
    }
    const name = `v${vars.length}`;
    path += `/${p.prefix}{${name}${p.regex === null ? "" : `:${p.regex}`}}`;
    vars.push([name, p.values]);
  }
  if (tail) {
    path += "/{tail:.*}";
    const tailValue = fc
      .array(segmentValue, { maxLength: 3 })
      .map((parts) => parts.join("/"))
      .filter((t) => t.split("/").every((part) => part !== "." && part !== ".."));
    vars.push(["tail", tailValue]);
  }
  return { template: path, vars };
}

const templates = fc
  .array(fc.tuple(fc.array(piece, { maxLength: 4 }), fc.boolean()), {
    minLength: 1,
    maxLength: 5,
  })
  .map((list) => list.map(([pieces, tail], i) => template(i, pieces, tail)));

/** Templates with, for each, one set of values for its variables. */
const routesWithValues = templates.chain((list) =>
  fc.tuple(
    fc.constant(list),
    fc.tuple(...list.map((t) => fc.tuple(...t.vars.map(([, values]) => values)))),
  ),
);

function paramsOf(t: Template, values: readonly string[]): Record<string, string> {
  return Object.fromEntries(t.vars.map(([name], i) => [name, values[i] as string]));
}

describe("urlFor then resolve", () => {
  it("a URL built from any route's template resolves to that route with the same values", () => {
    fc.assert(
      fc.property(routesWithValues, ([list, valueSets]) => {
        const router = new web.UrlDispatcher();
        list.forEach((t, i) => {
          router.addGet(t.template, textHandler(`route ${i}`), { name: `route${i}` });
        });
        router.freeze();
        list.forEach((t, i) => {
          const params = paramsOf(t, valueSets[i] as readonly string[]);
          const url = router.named(`route${i}`).urlFor(params).toString();
          const match = router.resolve(req("GET", asRequestPath(url)));
          expect(match.route?.resource?.name).toBe(`route${i}`);
          expect({ ...match.params }).toEqual(params);
        });
      }),
      { numRuns: 300 },
    );
  });

  it("a built URL is plain ASCII with no raw space, ?, # or % other than escapes", () => {
    fc.assert(
      fc.property(routesWithValues, ([list, valueSets]) => {
        const router = new web.UrlDispatcher();
        list.forEach((t, i) => {
          router.addGet(t.template, textHandler("x"), { name: `route${i}` });
        });
        list.forEach((t, i) => {
          const url = router
            .named(`route${i}`)
            .urlFor(paramsOf(t, valueSets[i] as readonly string[]))
            .toString();
          expect(url).toMatch(/^\/[\x21-\x7e]*$/);
          expect(url).not.toMatch(/[?#]|%(?![0-9A-F]{2})/);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("a query given to urlFor comes back as the same pairs, in order", () => {
    const pairs = fc.array(
      fc.tuple(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" })),
      {
        maxLength: 6,
      },
    );
    fc.assert(
      fc.property(segmentValue, pairs, (id, query) => {
        const router = new web.UrlDispatcher();
        router.addGet("/items/{id}", textHandler("x"), { name: "item" });
        const url = router.named("item").urlFor({ id }, { query }).toString();
        const parsed = new URL(url, "http://h");
        expect([...parsed.searchParams]).toEqual(query);
        expect(router.resolve(req("GET", asRequestPath(parsed.pathname))).params).toEqual({ id });
        // withQuery and extendQuery build the same.
        const built = router.named("item").urlFor({ id });
        const half = Math.floor(query.length / 2);
        expect(
          built.withQuery(query.slice(0, half)).extendQuery(query.slice(half)).toString(),
        ).toBe(url);
      }),
      { numRuns: 200 },
    );
  });
});

describe("templates matched segment by segment", () => {
  // Default variables between literal texts with and without slashes ("{a}.json", "{a}{b}"
  // stay on the regex), against paths made of the same characters, braces and slashes.
  const text = fc.constantFrom("", "/", "/x", "/x/", "x", ".json", "-", "/{", "/%7B");
  const anyTemplate = fc
    .array(fc.tuple(text, fc.boolean()), { minLength: 1, maxLength: 4 })
    .map((parts) => {
      let path = "/t";
      parts.forEach(([literal, variable], i) => {
        path += literal.replace(/[{}]/g, "");
        // At least one variable, or the template is a plain resource, without a pattern.
        if (variable || i === 0) path += `{v${i}}`;
      });
      return path;
    });
  const anyPath = fc
    .array(fc.constantFrom("/", "x", "y", ".json", "-", "{", "}", "%41", "/x"), { maxLength: 8 })
    .map((parts) => `/t${parts.join("")}`);

  it("a path resolves exactly when the route's regex matches it, with its captures", () => {
    fc.assert(
      fc.property(anyTemplate, fc.array(anyPath, { minLength: 1, maxLength: 8 }), (t, paths) => {
        const router = new web.UrlDispatcher();
        const resource = router.addResource(t) as web.DynamicResource;
        resource.addRoute("GET", textHandler("x"));
        router.freeze();
        for (const path of paths) {
          const m = resource.pattern.exec(path);
          const match = router.resolve(req("GET", path));
          if (m === null) {
            expect(match.route).toBeNull();
            continue;
          }
          expect(match.route?.resource).toBe(resource);
          const names = [...t.matchAll(/\{(\w+)\}/g)].map((v) => v[1] as string);
          const captured = Object.fromEntries(
            names.map((name, i) => [name, decodeValue(m[i + 1] as string)]),
          );
          expect({ ...match.params }).toEqual(captured);
        }
      }),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Over a real socket: what a client sends is decoded by the server itself

const port = useAppForAll(() => {
  const app = new web.Application({ logger: quiet });
  const echo: web.Handler = (request) =>
    web.jsonResponse({
      route: request.matchResult?.route?.resource?.name ?? null,
      params: { ...request.matchInfo },
      query: [...request.query],
    });
  app.router.addGet("/plain/{a}", echo, { name: "plain" });
  app.router.addGet("/mixed/{a}/x-{n:\\d+}/{b:[^/]+}", echo, { name: "mixed" });
  app.router.addGet("/tail/{a}/{rest:.*}", echo, { name: "tail" });
  return app;
});

describe("over a real socket", () => {
  const tail = fc
    .array(segmentValue, { maxLength: 3 })
    .map((parts) => parts.join("/"))
    .filter((t) => t.split("/").every((part) => part !== "." && part !== ".."));
  const query = fc.array(
    fc.tuple(
      fc.string({ unit: "grapheme", maxLength: 6 }),
      fc.string({ unit: "grapheme", maxLength: 6 }),
    ),
    {
      maxLength: 3,
    },
  );
  const request = fc.oneof(
    fc.record({ name: fc.constant("plain"), params: fc.record({ a: segmentValue }) }),
    fc.record({
      name: fc.constant("mixed"),
      params: fc.record({
        a: segmentValue,
        n: fc.nat().map(String),
        b: segmentValue.filter((s) => !s.includes("/")),
      }),
    }),
    fc.record({ name: fc.constant("tail"), params: fc.record({ a: segmentValue, rest: tail }) }),
  );

  it("the server routes a urlFor URL to its route with the same values and query", async () => {
    const router = new web.UrlDispatcher();
    router.addGet("/plain/{a}", textHandler("x"), { name: "plain" });
    router.addGet("/mixed/{a}/x-{n:\\d+}/{b:[^/]+}", textHandler("x"), { name: "mixed" });
    router.addGet("/tail/{a}/{rest:.*}", textHandler("x"), { name: "tail" });
    await fc.assert(
      fc.asyncProperty(request, query, async ({ name, params }, q) => {
        const url = router.named(name).urlFor(params, { query: q }).toString();
        const reply = await httpSend(port(), url);
        expect(reply.status).toBe(200);
        expect(JSON.parse(reply.body)).toEqual({ route: name, params, query: q });
      }),
      { numRuns: 100 },
    );
  });
});
