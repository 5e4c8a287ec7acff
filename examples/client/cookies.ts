// Cookies (aiohttp advanced client usage): cookies given to the session, cookies a response
// sets, the session's cookie jar and what it keeps, cookies for one request only, and a jar
// that keeps nothing.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/cookies.ts

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientSession, CookieJar, DummyCookieJar } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

interface Cookies {
  cookies: Record<string, string>;
}

// Custom cookies: given to the session, sent with every request.
{
  await using session = new ClientSession({
    baseUrl: BASE_URL,
    cookies: { cookies_are: "working" },
  });
  await using resp = await session.get("/cookies");
  console.log("session cookies:", JSON.stringify((await resp.json<Cookies>()).cookies));
}

// Response cookies land in the session's jar and go back on later requests. Like aiohttp, the
// default jar ignores cookies from IP-address hosts (127.0.0.1); `unsafe: true` accepts them.
{
  const jar = new CookieJar({ unsafe: true });
  await using session = new ClientSession({ baseUrl: BASE_URL, cookieJar: jar });
  // /cookies/set answers with Set-Cookie and a redirect to /cookies, which gets them back.
  await using resp = await session.get("/cookies/set", { params: { flavour: "oat", size: "xl" } });
  console.log("set by the first response:", [...resp.history[0]!.cookies.keys()].join(", "));
  console.log(
    "sent back after the redirect:",
    JSON.stringify((await resp.json<Cookies>()).cookies),
  );

  // The jar: its size, its cookies, and the ones it would send to a URL.
  console.log("jar size:", jar.size);
  for (const cookie of jar) console.log(" ", cookie.key, "=", cookie.value, "path", cookie.path);
  console.log("for /cookies:", JSON.stringify(jar.filterCookies(new URL("/cookies", BASE_URL))));

  // Saved to a file and loaded into another jar.
  const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-jar-"));
  try {
    await jar.save(join(dir, "cookies.json"));
    const copy = new CookieJar({ unsafe: true });
    await copy.load(join(dir, "cookies.json"));
    console.log("loaded jar size:", copy.size);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  jar.clear((cookie) => cookie.key === "size");
  console.log("after clearing 'size':", jar.size);
}

// Cookies for one request only: sent once, not stored.
{
  await using session = new ClientSession({
    baseUrl: BASE_URL,
    cookieJar: new CookieJar({ unsafe: true }),
  });
  await using once = await session.get("/cookies", { cookies: { once: "1" } });
  await using after = await session.get("/cookies");
  console.log("with per-request cookies:", JSON.stringify((await once.json<Cookies>()).cookies));
  console.log("on the next request:", JSON.stringify((await after.json<Cookies>()).cookies));
}

// DummyCookieJar keeps nothing: useful for a session that must not carry cookies over.
{
  await using session = new ClientSession({ baseUrl: BASE_URL, cookieJar: new DummyCookieJar() });
  await using resp = await session.get("/cookies/set", { params: { ignored: "yes" } });
  console.log("DummyCookieJar:", JSON.stringify((await resp.json<Cookies>()).cookies));
}
