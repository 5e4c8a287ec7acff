// CR, LF and other control characters in what the caller passes (method, header names and
// values, the URL, cookies) are refused before anything is sent: the server never sees a
// connection, so no value can split the request into two.
import { describe, expect, test } from "vitest";
import {
  type ClientSession,
  CookieJar,
  InvalidUrlClientError,
  RetryMiddleware,
} from "../../../src/index.js";
import { useSessions } from "../../helpers.js";
import { type HostileServer, useHostileServers } from "./hostile-server.js";

const hostile = useHostileServers();
const session = useSessions(() => ({ cookieJar: new CookieJar({ unsafe: true }) }));

const EVIL = "1\r\nEvil: yes";

/** Expects `send` to fail with `errorClass`, and the server to have seen no connection at all. */
async function refusedUnsent(
  server: HostileServer,
  send: () => Promise<unknown>,
  errorClass: abstract new (...args: never[]) => Error,
  message: RegExp,
): Promise<void> {
  const err = await send().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(errorClass);
  expect((err as Error).message).toMatch(message);
  expect(server.connections).toHaveLength(0);
  expect(server.requests).toHaveLength(0);
}

/** The session still works, and what it sends has no injected header. */
async function stillWorks(s: ClientSession, server: HostileServer): Promise<void> {
  expect(s.connector.active).toBe(0);
  await using resp = await s.get(`${server.url}/ok`);
  expect(await resp.text()).toBe("ok");
  for (const r of server.requests) expect(r.head).not.toMatch(/evil/i);
}

describe("the method", () => {
  for (const method of ["GET /x HTTP/1.1\r\nX: y", "GE\nT", "GE T", "GET\0"]) {
    test(`${JSON.stringify(method)} is refused with a TypeError`, async () => {
      const server = await hostile({});
      const s = session();
      await refusedUnsent(server, () => s.request(method, server.url), TypeError, /method/);
      await stillWorks(s, server);
    });
  }
});

describe("header names and values", () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ["CR LF in a value", { "X-A": EVIL }, /Invalid value for header X-A/],
    ["a bare LF in a value", { "X-A": "1\nEvil: yes" }, /Invalid value for header X-A/],
    ["a bare CR in a value", { "X-A": "1\rEvil: yes" }, /Invalid value for header X-A/],
    ["a NUL in a value", { "X-A": "1\0" }, /Invalid value for header X-A/],
    ["CR LF in a Host value", { Host: "x\r\nEvil: yes" }, /Invalid value for header Host/],
    ["CR LF in a name", { "X-A\r\nEvil": "1" }, /Invalid header name/],
    ["a colon in a name", { "X:A": "1" }, /Invalid header name/],
    ["a space in a name", { "X A": "1" }, /Invalid header name/],
  ];
  for (const [name, headers, message] of cases) {
    test(`${name} is refused with a TypeError (regression: a ClientConnectionError, retried)`, async () => {
      const server = await hostile({});
      // A retry middleware retries connection errors: a refused header is not one.
      const s = session({ middlewares: [new RetryMiddleware({ attempts: 3, baseDelay: 1 })] });
      await refusedUnsent(server, () => s.get(`${server.url}/ok`, { headers }), TypeError, message);
      await stillWorks(s, server);
    });
  }

  test("a session header with CR LF fails every request, before sending", async () => {
    const server = await hostile({});
    const s = session({ headers: { "X-A": EVIL } });
    await refusedUnsent(server, () => s.get(`${server.url}/ok`), TypeError, /header X-A/);
  });

  test("a tab inside a value is allowed (RFC 9110 5.5)", async () => {
    const server = await hostile({});
    const s = session();
    await using resp = await s.get(`${server.url}/ok`, { headers: { "X-A": "a\tb" } });
    expect(resp.status).toBe(200);
    expect(server.requests[0]?.head).toContain("X-A: a\tb\r\n");
  });

  test("a header a middleware adds with CR LF is refused too", async () => {
    const server = await hostile({});
    const s = session({
      middlewares: [
        (request, handler) => {
          request.headers.set("X-Mw", EVIL);
          return handler(request);
        },
      ],
    });
    await refusedUnsent(server, () => s.get(`${server.url}/ok`), TypeError, /header X-Mw/);
  });
});

describe("the URL", () => {
  const urls: Record<string, (base: string) => string> = {
    "CR LF in the path": (base) => `${base}/ok\r\nEvil: yes`,
    "CR LF in the query": (base) => `${base}/ok?a=\r\nEvil: yes`,
    "a tab in the path": (base) => `${base}/o\tk`,
    "a NUL in the path": (base) => `${base}/ok\0`,
    "a trailing LF": (base) => `${base}/ok\n`,
  };
  for (const [name, make] of Object.entries(urls)) {
    test(`${name}: InvalidUrlClientError (regression: the parser dropped it and sent another URL)`, async () => {
      const server = await hostile({});
      const s = session();
      await refusedUnsent(
        server,
        () => s.get(make(server.url)),
        InvalidUrlClientError,
        /control characters/,
      );
      await stillWorks(s, server);
    });
  }

  test("CR LF in params is percent-encoded, not refused: it is data", async () => {
    const server = await hostile({});
    const s = session();
    await using resp = await s.get(`${server.url}/ok`, { params: { a: EVIL } });
    expect(resp.status).toBe(200);
    expect(server.requests[0]?.target).toBe("/ok?a=1%0D%0AEvil%3A+yes");
  });

  test("CR LF percent-encoded in a URL stays encoded", async () => {
    const server = await hostile({});
    const s = session();
    await using resp = await s.get(`${server.url}/ok?a=1%0D%0AEvil:%20yes`);
    expect(resp.status).toBe(200);
    expect(server.requests[0]?.head).not.toMatch(/\r\nEvil/);
  });
});

describe("cookies", () => {
  test("CR LF in a request cookie's value is refused before sending", async () => {
    const server = await hostile({});
    const s = session();
    await refusedUnsent(
      server,
      () => s.get(`${server.url}/ok`, { cookies: { a: EVIL } }),
      TypeError,
      /header Cookie/,
    );
    await stillWorks(s, server);
  });

  test("CR LF in a request cookie's name is refused before sending", async () => {
    const server = await hostile({});
    const s = session();
    await refusedUnsent(
      server,
      () => s.get(`${server.url}/ok`, { cookies: { "a\r\nEvil: yes": "1" } }),
      TypeError,
      /header Cookie/,
    );
  });

  test("a session cookie with CR LF is refused when the session is made", () => {
    expect(() => session({ cookies: { a: EVIL } })).toThrow(/Invalid value for cookie a/);
  });

  test("updateCookies refuses CR LF, so the jar is not poisoned (regression: every later request failed)", async () => {
    const server = await hostile({});
    const s = session();
    expect(() => s.cookieJar.updateCookies({ j: EVIL })).toThrow(/Invalid value for cookie j/);
    expect(() => s.cookieJar.updateCookies([["j\r\n", "1"]])).toThrow(/Invalid cookie name/);
    expect(() => s.cookieJar.updateCookies({ k: "1\r\n" }, new URL(server.url))).toThrow(TypeError);
    await stillWorks(s, server);
    expect(server.requests[0]?.head).not.toMatch(/cookie/i);
  });

  test("a cookie value with a semicolon is quoted, not split into two cookies", async () => {
    const server = await hostile({});
    const s = session();
    await using resp = await s.get(`${server.url}/ok`, { cookies: { a: "1; admin=true" } });
    expect(resp.status).toBe(200);
    expect(server.requests[0]?.head).toContain('\r\nCookie: a="1; admin=true"\r\n');
  });
});
