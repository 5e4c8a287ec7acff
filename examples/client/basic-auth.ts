// Authentication (aiohttp advanced client usage): Basic auth for a session, per request, or
// from the URL's user:password@.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/basic-auth.ts

import { BasicAuth, ClientSession } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

// For every request of the session.
{
  await using session = new ClientSession({
    baseUrl: BASE_URL,
    auth: new BasicAuth("user", "pass"),
  });
  await using resp = await session.get("/basic-auth/user/pass");
  console.log("session auth:", resp.status, JSON.stringify(await resp.json()));
}

// Per request, and what a wrong password gets.
{
  await using session = new ClientSession({ baseUrl: BASE_URL });
  await using ok = await session.get("/basic-auth/user/pass", {
    auth: new BasicAuth("user", "pass"),
  });
  await using refused = await session.get("/basic-auth/user/pass", {
    auth: new BasicAuth("user", "wrong"),
  });
  console.log("request auth:", ok.status, "wrong password:", refused.status);
  console.log("WWW-Authenticate:", refused.headers.get("WWW-Authenticate"));
}

// In the URL: the credentials are taken out of it and sent as Authorization.
{
  await using session = new ClientSession();
  const url = new URL("/basic-auth/user/pass", BASE_URL);
  url.username = "user";
  url.password = "pass";
  await using resp = await session.get(url);
  console.log("URL credentials:", resp.status, "url shown as", resp.url.href);
}

// The header value itself.
console.log("encode():", new BasicAuth("login", "pass").encode());
