// A handler that puts CR, LF or other control characters in a header, a reason phrase or a
// cookie gets a 500 and the connection closes; the bytes on the wire never hold a second
// header or a second response (response splitting).

import { describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { getRequest, rawExchange } from "../helpers.js";
import { expectCase, statusesIn, useCorpusServer } from "./corpus.js";

type Make = () => web.StreamResponse;

const withCookie =
  (name: string, value: string, options: web.CookieOptions = {}): Make =>
  () => {
    const res = new web.Response({ text: "x" });
    res.setCookie(name, value, options);
    return res;
  };

/** Handlers whose response cannot be written as given, by route name. */
const REFUSED: ReadonlyArray<readonly [string, Make]> = [
  [
    "a header value with CRLF and a second header",
    () => new web.Response({ text: "x", headers: { "X-A": "a\r\nSet-Cookie: evil=1" } }),
  ],
  [
    "a header value with a bare LF",
    () => new web.Response({ text: "x", headers: { "X-A": "a\nX-Evil: 1" } }),
  ],
  [
    "a header value with a bare CR",
    () => new web.Response({ text: "x", headers: { "X-A": "a\rX-Evil: 1" } }),
  ],
  [
    "a header value with NUL",
    () => new web.Response({ text: "x", headers: { "X-A": "a\x00evil" } }),
  ],
  [
    "a header value with a control character",
    () => new web.Response({ text: "x", headers: { "X-A": "a\x01evil" } }),
  ],
  [
    "a header value with DEL",
    () => new web.Response({ text: "x", headers: { "X-A": "a\x7fevil" } }),
  ],
  [
    "a header value beyond latin-1",
    () => new web.Response({ text: "x", headers: { "X-A": "evil\u2603" } }),
  ],
  [
    "a header set after construction with CRLF",
    () => {
      const res = new web.Response({ text: "x" });
      res.headers.set("X-A", "a\r\nX-Evil: 1");
      return res;
    },
  ],
  [
    "a header name with CRLF",
    () => new web.Response({ text: "x", headers: { "X-A\r\nX-Evil": "1" } }),
  ],
  ["a header name with a space", () => new web.Response({ text: "x", headers: { "X Evil": "1" } })],
  ["a header name with a colon", () => new web.Response({ text: "x", headers: { "X:Evil": "1" } })],
  ["a reason with CRLF", () => new web.Response({ text: "x", reason: "OK\r\nX-Evil: 1" })],
  ["a reason with a bare LF", () => new web.Response({ text: "x", reason: "OK\nX-Evil: 1" })],
  ["a reason with NUL", () => new web.Response({ text: "x", reason: "OK\x00evil" })],
  [
    "a reason set by setStatus with CRLF",
    () => {
      const res = new web.Response({ text: "x" });
      res.setStatus(200, "OK\r\nX-Evil: 1");
      return res;
    },
  ],
  [
    "a content type with CRLF",
    () => new web.Response({ text: "x", contentType: "text/plain\r\nX-Evil: 1" }),
  ],
  ["a charset with CRLF", () => new web.Response({ text: "x", charset: "utf-8\r\nX-Evil: 1" })],
  [
    "a redirect Location with CRLF",
    () => {
      throw new web.HTTPFound("/a\r\nX-Evil: 1");
    },
  ],
  [
    "a streamed response's header with CRLF",
    () => new web.StreamResponse({ headers: { "X-A": "a\r\nX-Evil: 1" } }),
  ],
  ["a cookie name with CRLF", withCookie("a\r\nX-Evil", "1")],
  ["a cookie path with CRLF", withCookie("a", "b", { path: "/\r\nX-Evil: 1" })],
  ["a cookie domain with CRLF", withCookie("a", "b", { domain: "x\r\nX-Evil: 1" })],
];

/** Cookie values are percent-encoded, so that none of their bytes can end the header. */
const ENCODED: ReadonlyArray<readonly [string, Make, string]> = [
  [
    "a cookie value with CRLF and a second cookie",
    withCookie("a", "b\r\nSet-Cookie: evil=1"),
    "a=b%0D%0ASet-Cookie%3A%20evil%3D1; Path=/",
  ],
  [
    "a cookie value with an attribute of its own",
    withCookie("a", "b; Domain=evil.example"),
    "a=b%3B%20Domain%3Devil.example; Path=/",
  ],
];

const routes = [...REFUSED, ...ENCODED].map(([name, make], i) => [name, make, `/r${i}`] as const);
const pathOf = (name: string): string => routes.find(([n]) => n === name)?.[2] ?? "";

describe("response splitting: bad bytes from a handler never reach the wire", () => {
  const port = useCorpusServer({}, (app) => {
    for (const [, make, path] of routes) app.router.addGet(path, make);
  });

  it.each(REFUSED)("%s: a 500 alone, no header of the handler's", async (name) => {
    // A canary follows: a 500 from a failed write closes the connection (it is not answered),
    // one from a handler that threw keeps it (it is); either way nothing of the handler's
    // response is on the wire.
    const request = `GET ${pathOf(name)} HTTP/1.1\r\nHost: x\r\n\r\n${getRequest("/canary")}`;
    const { raw } = await rawExchange(port(), request, { requireClose: true });
    expect([[500], [500, 200]]).toContainEqual(statusesIn(raw));
    expect(raw.startsWith("HTTP/1.1 500 Internal Server Error\r\n")).toBe(true);
    expect(raw.toLowerCase()).not.toContain("evil");
    expect(raw).not.toMatch(/set-cookie/i);
  });

  it.each(ENCODED)("%s: one Set-Cookie, its value encoded", async (name, _make, cookie) => {
    const raw = await expectCase(port(), {
      name,
      request: `GET ${pathOf(name)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      status: 200,
      closes: false,
    });
    const setCookies = raw.split("\r\n").filter((line) => /^set-cookie:/i.test(line));
    expect(setCookies).toEqual([`Set-Cookie: ${cookie}`]);
  });
});
