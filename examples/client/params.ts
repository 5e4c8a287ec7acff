// Passing parameters in URLs (aiohttp client quickstart): `params` as an object, with arrays for
// repeated keys, as pairs, or as a string; they are added after the URL's own query.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/params.ts

import { ClientSession, MultiDict } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

await using session = new ClientSession({ baseUrl: BASE_URL });

// An object: values are turned into strings.
{
  await using resp = await session.get("/get", { params: { key1: "value1", key2: "value2" } });
  console.log(String(resp.url)); // .../get?key1=value1&key2=value2
}

// Several values for one key: an array, pairs, or a MultiDict.
{
  await using resp = await session.get("/get", {
    params: [
      ["key", "value1"],
      ["key", "value2"],
    ],
  });
  console.log(String(resp.url)); // .../get?key=value1&key=value2
}
{
  await using resp = await session.get("/get", { params: { key: ["value1", "value2"] } });
  console.log(String(resp.url));
}
{
  await using resp = await session.get("/get", {
    params: new MultiDict([
      ["key", "value1"],
      ["key", "value2"],
    ]),
  });
  const body = await resp.json<{ args: Record<string, string | string[]> }>();
  console.log("the server saw", JSON.stringify(body.args)); // {"key":["value1","value2"]}
}

// A string is sent as given (already encoded).
{
  await using resp = await session.get("/get", { params: "key=value+1" });
  console.log(String(resp.url)); // .../get?key=value+1
}

// Merged with the URL's own query, which comes first.
{
  await using resp = await session.get("/get?page=2", { params: { q: "zoë & co" } });
  console.log(String(resp.url)); // .../get?page=2&q=zo%C3%AB+%26+co
}
