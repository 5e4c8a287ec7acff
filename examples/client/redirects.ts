// Redirects (aiohttp advanced client usage, "Redirection History"): followed by default, each
// hop kept in resp.history, off with allowRedirects: false, bounded by maxRedirects.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/redirects.ts

import { ClientSession, TooManyRedirects } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

await using session = new ClientSession({ baseUrl: BASE_URL });

// /redirect/3 redirects three times, then lands on /get.
{
  await using resp = await session.get("/redirect/3");
  console.log("final:", resp.status, resp.url.pathname);
  for (const hop of resp.history) {
    console.log("  history:", hop.status, hop.url.pathname, "->", hop.headers.get("Location"));
  }
}

// Not followed: the 302 itself comes back.
{
  await using resp = await session.get("/redirect/1", { allowRedirects: false });
  console.log("not followed:", resp.status, "Location:", resp.headers.get("Location"));
}

// More hops than maxRedirects (10 by default) is an error that carries the history.
try {
  await session.get("/redirect/5", { maxRedirects: 2 });
} catch (err) {
  if (!(err instanceof TooManyRedirects)) throw err;
  console.log("TooManyRedirects after", err.history.length, "responses");
}

// The method after a redirect: 301/302 turn a POST into a GET, 303 turns anything into a GET,
// 307/308 keep the method and the body.
for (const status of [302, 303, 307, 308]) {
  await using resp = await session.post("/redirect-to", {
    params: { url: "/anything", status_code: status },
    data: "payload",
  });
  const echo = await resp.json<{ method: string; data: string }>();
  console.log(`${status}: followed with ${echo.method}, body "${echo.data}"`);
}
