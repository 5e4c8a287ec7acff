// Make a request (aiohttp client quickstart, "Make a Request"): one session, a GET whose status
// and body are printed, the other verbs, and baseUrl for several requests to one site.
//
//   npx tsx examples/client/server.ts &
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/make-request.ts

import { ClientSession } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

// `await using` closes the session (and its connection pool) at the end of the block, as
// Python's `async with aiohttp.ClientSession() as session` does.
{
  await using session = new ClientSession();
  await using resp = await session.get(`${BASE_URL}/get`);
  console.log(resp.status);
  console.log(await resp.text());
}

// Every HTTP method has its own call; request() takes any method.
{
  await using session = new ClientSession();
  const calls = [
    session.post(`${BASE_URL}/post`, { data: Buffer.from("data") }),
    session.put(`${BASE_URL}/put`, { data: Buffer.from("data") }),
    session.delete(`${BASE_URL}/delete`),
    session.head(`${BASE_URL}/get`),
    session.options(`${BASE_URL}/get`),
    session.patch(`${BASE_URL}/patch`, { data: Buffer.from("data") }),
    session.request("GET", `${BASE_URL}/get`),
  ];
  for (const resp of await Promise.all(calls)) {
    console.log(resp.method, resp.url.pathname, resp.status);
    await resp.release(); // unread bodies are given back to the pool
  }
}

// baseUrl: relative URLs are resolved against it. Don't create a session per request: one per
// application (or per site) shares its connection pool and keep-alive connections.
{
  await using session = new ClientSession({ baseUrl: BASE_URL });
  for (const [method, path] of [
    ["GET", "/get"],
    ["POST", "/post"],
    ["PUT", "/put"],
  ] as const) {
    await using resp = await session.request(method, path, { data: "data" });
    console.log(`baseUrl ${method} ${resp.url.pathname} -> ${resp.status}`);
  }
}
