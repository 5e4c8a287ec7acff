// The client cookie jar: cookies from responses stored and sent back by RFC 6265's domain,
// path, secure and expiry rules (over real sockets, `localhost` and `127.0.0.1` being two hosts
// of one server), the jar's own API, and DummyCookieJar.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, test } from "vitest";
import { type ClientSession, CookieJar, DummyCookieJar, web } from "../../src/index.js";
import { useSessions, useTestClients } from "../helpers.js";

const serve = useTestClients();

const session = useSessions();

/**
 * A server where `/set?c=<Set-Cookie line>&c=...` sets the given cookies and any other path
 * answers with the Cookie header it received (or "" when there was none).
 */
async function cookieServer(): Promise<{ port: number; local: string; ip: string }> {
  const app = new web.Application();
  app.router.addGet("/{tail:.*}", (request) => {
    if (request.path === "/set" || request.path.endsWith("/set")) {
      const resp = new web.Response({ text: "set" });
      for (const line of request.query.getAll("c")) resp.headers.add("Set-Cookie", line);
      return resp;
    }
    return new web.Response({ text: request.headers.get("Cookie") ?? "" });
  });
  const client = await serve(app);
  const port = client.server.port;
  return { port, local: `http://localhost:${port}`, ip: `http://127.0.0.1:${port}` };
}

async function setCookies(s: ClientSession, url: string, ...lines: string[]): Promise<void> {
  const target = new URL(url);
  for (const line of lines) target.searchParams.append("c", line);
  const resp = await s.get(target);
  expect(await resp.text()).toBe("set");
}

async function sentCookie(s: ClientSession, url: string): Promise<string> {
  return (await s.get(url)).text();
}

describe("cookies over a session", () => {
  test("a cookie from a response is sent on later requests to the same host", async () => {
    const { local } = await cookieServer();
    const s = session();
    await setCookies(s, `${local}/set`, "sid=abc123");
    expect(await sentCookie(s, `${local}/page`)).toBe("sid=abc123");
    expect(s.cookieJar.size).toBe(1);
  });

  test("cookies named __proto__, from the session's cookies or a response, are sent like any other (regression: they set the prototype of the jar's lookup and were lost)", async () => {
    const { local } = await cookieServer();
    const s = session({ cookies: Object.fromEntries([["__proto__", "shared"]]) });
    expect(await sentCookie(s, `${local}/page`)).toBe("__proto__=shared");
    await setCookies(s, `${local}/set`, "__proto__=stored");
    expect(await sentCookie(s, `${local}/page`)).toBe("__proto__=stored");
    expect(Object.keys(s.cookieJar.filterCookies(new URL(local)))).toEqual(["__proto__"]);
  });

  test("a cookie is not sent to another host, even one at the same address", async () => {
    const { local, ip } = await cookieServer();
    const s = session({ cookieJar: new CookieJar({ unsafe: true }) });
    await setCookies(s, `${local}/set`, "host=localhost-only");
    expect(await sentCookie(s, `${ip}/page`)).toBe("");
    expect(await sentCookie(s, `${local}/page`)).toBe("host=localhost-only");
  });

  test("a cookie with Domain=localhost is sent to localhost", async () => {
    const { local } = await cookieServer();
    const s = session();
    await setCookies(s, `${local}/set`, "d=1; Domain=localhost; Path=/");
    expect(await sentCookie(s, `${local}/x`)).toBe("d=1");
  });

  test("a cookie for another domain is refused", async () => {
    const { local } = await cookieServer();
    const s = session();
    await setCookies(s, `${local}/set`, "evil=1; Domain=example.com");
    expect(s.cookieJar.size).toBe(0);
    expect(await sentCookie(s, `${local}/x`)).toBe("");
  });

  test("a cookie with a Path is sent only under that path", async () => {
    const { local } = await cookieServer();
    const s = session();
    await setCookies(s, `${local}/set`, "admin=1; Path=/admin");
    expect(await sentCookie(s, `${local}/admin`)).toBe("admin=1");
    expect(await sentCookie(s, `${local}/admin/users`)).toBe("admin=1");
    expect(await sentCookie(s, `${local}/administrator`)).toBe("");
    expect(await sentCookie(s, `${local}/public`)).toBe("");
  });

  test("without a Path the default path is the directory of the request (RFC 6265 5.1.4)", async () => {
    const { local } = await cookieServer();
    const s = session();
    await setCookies(s, `${local}/app/set`, "scoped=1");
    expect(await sentCookie(s, `${local}/app/page`)).toBe("scoped=1");
    expect(await sentCookie(s, `${local}/other`)).toBe("");
  });

  test("more specific paths are sent first (RFC 6265 5.4)", async () => {
    const { local } = await cookieServer();
    const s = session();
    await setCookies(s, `${local}/set`, "a=root; Path=/", "b=deep; Path=/x/y");
    expect(await sentCookie(s, `${local}/x/y/z`)).toBe("b=deep; a=root");
  });

  test("a later cookie of the same name, domain and path replaces the earlier one", async () => {
    const { local } = await cookieServer();
    const s = session();
    await setCookies(s, `${local}/set`, "v=1; Path=/");
    await setCookies(s, `${local}/set`, "v=2; Path=/");
    expect(await sentCookie(s, `${local}/`)).toBe("v=2");
    expect(s.cookieJar.size).toBe(1);
  });

  test("Max-Age=0 deletes a stored cookie", async () => {
    const { local } = await cookieServer();
    const s = session();
    await setCookies(s, `${local}/set`, "gone=1; Path=/", "stays=1; Path=/");
    await setCookies(s, `${local}/set`, "gone=; Max-Age=0; Path=/");
    expect(await sentCookie(s, `${local}/`)).toBe("stays=1");
    expect(s.cookieJar.size).toBe(1);
  });

  test("a cookie with an Expires date in the past is not stored", async () => {
    const { local } = await cookieServer();
    const s = session();
    await setCookies(s, `${local}/set`, "old=1; Path=/; Expires=Wed, 21 Oct 2015 07:28:00 GMT");
    expect(s.cookieJar.size).toBe(0);
    expect(await sentCookie(s, `${local}/`)).toBe("");
  });

  test("a cookie stops being sent once its Max-Age has passed", async () => {
    const { local } = await cookieServer();
    const s = session();
    await setCookies(s, `${local}/set`, "brief=1; Max-Age=1; Path=/");
    expect(await sentCookie(s, `${local}/`)).toBe("brief=1");
    await sleep(1100);
    expect(s.cookieJar.size).toBe(0);
    expect(await sentCookie(s, `${local}/`)).toBe("");
  });

  test("Secure cookies over plain http to localhost are stored and sent (loopback is a secure context)", async () => {
    // tough-cookie follows browsers: http://localhost and 127.0.0.1 are "potentially
    // trustworthy", so Secure cookies work there; for other hosts see the jar tests below.
    const { local } = await cookieServer();
    const s = session();
    await setCookies(s, `${local}/set`, "sec=1; Secure; Path=/");
    expect(await sentCookie(s, `${local}/`)).toBe("sec=1");
  });

  test("cookies from an IP-address host are refused by default", async () => {
    const { ip } = await cookieServer();
    const s = session();
    await setCookies(s, `${ip}/set`, "ipcookie=1");
    expect(s.cookieJar.size).toBe(0);
    expect(await sentCookie(s, `${ip}/`)).toBe("");
  });

  test("unsafe: true accepts cookies from an IP-address host", async () => {
    const { ip } = await cookieServer();
    const s = session({ cookieJar: new CookieJar({ unsafe: true }) });
    await setCookies(s, `${ip}/set`, "ipcookie=1; Path=/");
    expect(await sentCookie(s, `${ip}/`)).toBe("ipcookie=1");
  });

  test("cookies set by a redirect response are stored and sent on the next hop", async () => {
    const app = new web.Application();
    app.router.addGet("/login", () => {
      throw new web.HTTPFound("/home", { headers: { "Set-Cookie": "session=s1; Path=/" } });
    });
    app.router.addGet(
      "/home",
      (request) => new web.Response({ text: request.cookies.session ?? "" }),
    );
    const client = await serve(app);
    const s = session();
    const resp = await s.get(`http://localhost:${client.server.port}/login`);
    expect(await resp.text()).toBe("s1");
    expect(resp.history[0]?.cookies.get("session")?.value).toBe("s1");
  });

  test("values outside RFC 6265's cookie-octet are quoted by default", async () => {
    const { local } = await cookieServer();
    const s = session({ cookies: { spaced: "a b", plain: "x" } });
    expect(await sentCookie(s, `${local}/`)).toBe('spaced="a b"; plain=x');
  });

  test("quoteCookie: false sends values as they are", async () => {
    const { local } = await cookieServer();
    const jar = new CookieJar({ quoteCookie: false });
    const s = session({ cookieJar: jar, cookies: { spaced: "a b" } });
    expect(jar.quoteCookie).toBe(false);
    expect(await sentCookie(s, `${local}/`)).toBe("spaced=a b");
  });

  test("session cookies go to every host", async () => {
    const { local, ip } = await cookieServer();
    const s = session({ cookies: { everywhere: "1" } });
    expect(await sentCookie(s, `${local}/`)).toBe("everywhere=1");
    expect(await sentCookie(s, `${ip}/`)).toBe("everywhere=1");
  });

  test("DummyCookieJar stores nothing and sends nothing", async () => {
    const { local } = await cookieServer();
    const jar = new DummyCookieJar();
    const s = session({ cookieJar: jar });
    await setCookies(s, `${local}/set`, "sid=1; Path=/");
    expect(jar.size).toBe(0);
    expect(await sentCookie(s, `${local}/`)).toBe("");
  });

  test("DummyCookieJar still sends per-request cookies", async () => {
    const { local } = await cookieServer();
    const s = session({ cookieJar: new DummyCookieJar() });
    expect(await (await s.get(`${local}/`, { cookies: { once: "1" } })).text()).toBe("once=1");
  });

  test("a jar shared by two sessions gives both the same cookies", async () => {
    const { local } = await cookieServer();
    const jar = new CookieJar();
    await setCookies(session({ cookieJar: jar }), `${local}/set`, "shared=1; Path=/");
    expect(await sentCookie(session({ cookieJar: jar }), `${local}/`)).toBe("shared=1");
  });
});

describe("CookieJar API", () => {
  const site = new URL("http://www.example.com/");

  test("updateCookies with a URL scopes Set-Cookie lines to its host", () => {
    const jar = new CookieJar();
    jar.updateCookies(["a=1", "b=2; Domain=example.com"], site);
    expect(jar.filterCookies(new URL("http://www.example.com/"))).toEqual({ a: "1", b: "2" });
    expect(jar.filterCookies(new URL("http://api.example.com/"))).toEqual({ b: "2" });
    expect(jar.filterCookies(new URL("http://example.org/"))).toEqual({});
  });

  test("updateCookies takes an object or pairs as well as Set-Cookie lines", () => {
    const jar = new CookieJar();
    jar.updateCookies({ o: "1" }, site);
    jar.updateCookies([["p", "2"]] as const, site);
    expect(jar.filterCookies(site)).toEqual({ o: "1", p: "2" });
    expect(jar.filterCookies(new URL("http://other.test/"))).toEqual({});
  });

  test("updateCookies without a URL stores cookies for every host", () => {
    const jar = new CookieJar();
    jar.updateCookies({ g: "1" });
    expect(jar.filterCookies(new URL("http://anything.test/"))).toEqual({ g: "1" });
    expect(jar.filterCookies(new URL("https://other.example/x"))).toEqual({ g: "1" });
  });

  test("a cookie for a public suffix is refused", () => {
    const jar = new CookieJar();
    jar.updateCookies(["psl=1; Domain=co.uk"], new URL("http://shop.co.uk/"));
    expect(jar.size).toBe(0);
  });

  test("a Secure cookie from plain http on a public host is refused", () => {
    const jar = new CookieJar();
    jar.updateCookies(["sec=1; Secure"], site);
    expect(jar.size).toBe(0);
  });

  test("a Secure cookie from https is sent over https only", () => {
    const jar = new CookieJar();
    jar.updateCookies(["sec=1; Secure", "plain=2"], new URL("https://www.example.com/"));
    expect(jar.filterCookies(new URL("https://www.example.com/"))).toEqual({
      sec: "1",
      plain: "2",
    });
    expect(jar.filterCookies(new URL("http://www.example.com/"))).toEqual({ plain: "2" });
  });

  test("IP-address hosts need unsafe", () => {
    const ip = new URL("http://192.0.2.10/");
    const strict = new CookieJar();
    const unsafe = new CookieJar({ unsafe: true });
    strict.updateCookies(["a=1"], ip);
    unsafe.updateCookies(["a=1"], ip);
    expect(strict.size).toBe(0);
    expect(unsafe.filterCookies(ip)).toEqual({ a: "1" });
    expect(unsafe.filterCookies(new URL("http://192.0.2.11/"))).toEqual({});
  });

  test("IPv6 hosts need unsafe too", () => {
    const ip6 = new URL("http://[2001:db8::1]:8080/");
    const strict = new CookieJar();
    strict.updateCookies(["a=1"], ip6);
    expect(strict.size).toBe(0);
  });

  test("size counts unexpired cookies and iteration yields them", () => {
    const jar = new CookieJar();
    jar.updateCookies(["a=1", "b=2", "c=3; Max-Age=0"], site);
    jar.updateCookies({ g: "9" });
    expect(jar.size).toBe(3);
    expect([...jar].map((c) => `${c.key}=${c.value}`)).toEqual(["a=1", "b=2", "g=9"]);
    expect([...jar].find((c) => c.key === "a")?.domain).toBe("www.example.com");
  });

  test("clear() empties the jar", () => {
    const jar = new CookieJar();
    jar.updateCookies(["a=1"], site);
    jar.updateCookies({ g: "1" });
    jar.clear();
    expect(jar.size).toBe(0);
    expect(jar.filterCookies(site)).toEqual({});
  });

  test("clear(predicate) removes only the cookies it picks", () => {
    const jar = new CookieJar();
    jar.updateCookies(["keep=1", "drop_a=2", "drop_b=3"], site);
    jar.updateCookies({ drop_shared: "4", keep_shared: "5" });
    jar.clear((c) => c.key.startsWith("drop"));
    expect(jar.filterCookies(site)).toEqual({ keep: "1", keep_shared: "5" });
    expect(jar.size).toBe(2);
  });

  test("clearDomain removes a domain's cookies and its subdomains', nothing else", () => {
    const jar = new CookieJar();
    jar.updateCookies(["w=1"], new URL("http://www.example.com/"));
    jar.updateCookies(["apex=2; Domain=example.com"], new URL("http://example.com/"));
    jar.updateCookies(["o=3"], new URL("http://example.org/"));
    jar.clearDomain("example.com");
    expect(jar.filterCookies(new URL("http://www.example.com/"))).toEqual({});
    expect(jar.filterCookies(new URL("http://example.org/"))).toEqual({ o: "3" });
    expect(jar.size).toBe(1);
  });

  test("clearDomain of a subdomain leaves the parent's cookies", () => {
    const jar = new CookieJar();
    jar.updateCookies(["w=1"], new URL("http://www.example.com/"));
    jar.updateCookies(["apex=2"], new URL("http://example.com/"));
    jar.clearDomain("www.example.com");
    expect(jar.filterCookies(new URL("http://example.com/"))).toEqual({ apex: "2" });
    expect(jar.size).toBe(1);
  });

  test("save(path) and load(path) round-trip every cookie with its scope and expiry", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-jar-"));
    try {
      const file = join(dir, "cookies.json");
      const jar = new CookieJar();
      jar.updateCookies(
        ["s=1; Path=/app", "p=2; Max-Age=3600", "sec=3; Secure", "d=4; Domain=example.com"],
        new URL("https://www.example.com/"),
      );
      jar.updateCookies({ g: "5" });
      await jar.save(file);
      expect(JSON.parse(await readFile(file, "utf8"))).toHaveProperty("version", 1);

      const loaded = new CookieJar();
      loaded.updateCookies({ replaced: "x" });
      await loaded.load(file);
      expect(loaded.size).toBe(5);
      expect(loaded.filterCookies(new URL("https://www.example.com/app/x"))).toEqual({
        g: "5",
        s: "1",
        p: "2",
        sec: "3",
        d: "4",
      });
      expect(loaded.filterCookies(new URL("http://api.example.com/"))).toEqual({ g: "5", d: "4" });
      const p = [...loaded].find((c) => c.key === "p");
      expect(p?.expiryTime()).toBeGreaterThan(Date.now() + 3500_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("load keeps the loading jar's public-suffix checks", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-jar-"));
    try {
      const file = join(dir, "cookies.json");
      await new CookieJar({ rejectPublicSuffixes: false }).save(file);
      const jar = new CookieJar();
      await jar.load(file);
      jar.updateCookies(["psl=1; Domain=co.uk"], new URL("http://shop.co.uk/"));
      expect(jar.size).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("cookieHeader formats the Cookie header for a URL, with extra cookies", () => {
    const jar = new CookieJar();
    jar.updateCookies(["a=1"], site);
    expect(jar.cookieHeader(site, { b: "x y" })).toBe('a=1; b="x y"');
    expect(jar.cookieHeader(new URL("http://other.test/"))).toBe("");
  });

  test("DummyCookieJar keeps nothing", () => {
    const jar = new DummyCookieJar();
    jar.updateCookies(["a=1"], site);
    jar.updateCookies({ b: "2" });
    expect(jar.size).toBe(0);
    expect(jar.filterCookies(site)).toEqual({});
  });
});
