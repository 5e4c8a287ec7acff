// normalizePathMiddleware answers a path that found no route with a redirect to one that has
// one: a target that starts with `//` or `/\` must never become a Location naming another host
// (aiohttp's CVE-2021-21330), whatever the options. Static traversal is in static-traversal.

import { describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { getRequest, quiet, rawExchange, useAppForAll } from "../helpers.js";

/** `[target, status, Location or null]` */
type RedirectRow = readonly [string, number, string | null];

function useRedirectServer(options: web.NormalizePathOptions): () => number {
  return useAppForAll(() => {
    const app = new web.Application({
      logger: quiet,
      middlewares: [web.normalizePathMiddleware(options)],
    });
    for (const path of ["/evil.com", "/evil.com/", "/evil.com/a", "/evil.com/a/"]) {
      app.router.addGet(path, () => new web.Response({ text: path }));
    }
    return app;
  });
}

async function expectRedirect(port: number, [target, status, location]: RedirectRow) {
  const reply = await rawExchange(port, getRequest(target));
  expect(reply.statusLine.split(" ")[1]).toBe(String(status));
  const header = reply.headerLines.find((line) => /^location:/i.test(line));
  expect(header ?? null).toBe(location === null ? null : `Location: ${location}`);
  // Whatever the case, a Location is a path on this host.
  if (header !== undefined) expect(header).toMatch(/^Location: \/(?![/\\])/);
}

const DEFAULTS: RedirectRow[] = [
  ["//evil.com", 308, "/evil.com"],
  ["///evil.com", 308, "/evil.com"],
  ["/\\evil.com", 308, "/evil.com/"],
  ["/\\\\evil.com", 308, "/evil.com/"],
  ["/\\/evil.com", 308, "/evil.com/"],
  ["//evil.com//", 308, "/evil.com/"],
  ["//evil.com/a?next=//evil", 308, "/evil.com/a?next=//evil"],
  ["//evil.com//a/", 308, "/evil.com/a/"],
  ["/.//evil.com", 308, "/./evil.com"],
  ["/%2fevil.com", 404, null],
  ["/%2f%2fevil.com", 404, null],
  ["/%5cevil.com", 404, null],
  ["//%5cevil.com", 404, null],
  ["/%09/evil.com", 404, null],
  ["/\t/evil.com", 400, null],
];

const NO_MERGE: RedirectRow[] = [
  ["//evil.com", 308, "/evil.com/"],
  ["///evil.com", 308, "/evil.com/"],
  ["/\\evil.com", 308, "/evil.com/"],
  ["//evil.com/a", 308, "/evil.com/a/"],
  ["//evil.com/a?next=//evil", 308, "/evil.com/a/?next=//evil"],
];

const REMOVE_SLASH: RedirectRow[] = [
  ["//evil.com/", 308, "/evil.com/"],
  ["//evil.com//", 308, "/evil.com/"],
  ["/\\evil.com/", 308, "/evil.com"],
  ["///evil.com", 308, "/evil.com"],
];

describe("normalizePathMiddleware never redirects to another host", () => {
  describe("defaults (appendSlash, mergeSlashes)", () => {
    const port = useRedirectServer({});
    it.each(DEFAULTS)("%s: %i %s", async (...row) => {
      await expectRedirect(port(), row);
    });
  });

  describe("mergeSlashes: false", () => {
    const port = useRedirectServer({ mergeSlashes: false });
    it.each(NO_MERGE)("%s: %i %s", async (...row) => {
      await expectRedirect(port(), row);
    });
  });

  describe("removeSlash", () => {
    const port = useRedirectServer({ appendSlash: false, removeSlash: true });
    it.each(REMOVE_SLASH)("%s: %i %s", async (...row) => {
      await expectRedirect(port(), row);
    });
  });
});
