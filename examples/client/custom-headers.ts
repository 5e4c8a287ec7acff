// Custom request headers (aiohttp advanced client usage): per request, per session, and
// default headers a request can do without.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/custom-headers.ts

import { ClientSession } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

interface Echo {
  headers: Record<string, string>;
}

// Per request: here the Content-Type of a GIF body.
{
  await using session = new ClientSession({ baseUrl: BASE_URL });
  const payload = Buffer.from(
    "GIF89a\x01\x00\x01\x00\x00\xff\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x00;",
    "latin1",
  );
  await using resp = await session.post("/post", {
    data: payload,
    headers: { "content-type": "image/gif" },
  });
  const echo = await resp.json<Echo>();
  console.log("Content-Type sent:", echo.headers["Content-Type"]);
}

// Per session: sent with every request; a request's own header of the same name wins.
{
  await using session = new ClientSession({
    baseUrl: BASE_URL,
    headers: { Authorization: "Basic bG9naW46cGFzcw==", "X-Client": "examples" },
  });
  await using resp = await session.get("/headers", { headers: { "X-Client": "override" } });
  const echo = await resp.json<Echo>();
  console.log("Authorization:", echo.headers.Authorization);
  console.log("X-Client:", echo.headers["X-Client"]);
  console.log("User-Agent:", echo.headers["User-Agent"]);
}

// The defaults (User-Agent, Accept, Accept-Encoding) can be left out with skipAutoHeaders.
{
  await using session = new ClientSession({ baseUrl: BASE_URL });
  await using resp = await session.get("/headers", { skipAutoHeaders: ["User-Agent"] });
  const echo = await resp.json<Echo>();
  console.log("without User-Agent:", echo.headers["User-Agent"] === undefined);
}
