// Request bodies (aiohttp client quickstart, "More complicated POST requests" and "JSON
// Request"): a form from an object, bytes, text, JSON, and a multipart form with a file.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/post-data.ts

import { ClientSession } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

interface Echo {
  data: string;
  form: Record<string, string>;
  files: Record<string, string>;
  json: unknown;
  headers: Record<string, string>;
}

await using session = new ClientSession({ baseUrl: BASE_URL });

// A plain object (or URLSearchParams) is sent form-encoded.
{
  await using resp = await session.post("/post", { data: { key1: "value1", key2: "value2" } });
  const echo = await resp.json<Echo>();
  console.log("form:", JSON.stringify(echo.form), echo.headers["Content-Type"]);
}

// Bytes are sent as they are (application/octet-stream unless you set Content-Type).
{
  await using resp = await session.post("/post", { data: Buffer.from("\x00binary\x01") });
  const echo = await resp.json<Echo>();
  console.log("bytes:", echo.headers["Content-Length"], "bytes,", echo.headers["Content-Type"]);
}

// A string is sent as UTF-8 text/plain.
{
  await using resp = await session.post("/post", { data: "Привет, Мир!" });
  const echo = await resp.json<Echo>();
  console.log("text:", echo.data, "|", echo.headers["Content-Type"]);
}

// JSON: `json` serialises the value (with the session's jsonSerialize, JSON.stringify by
// default) and sets Content-Type: application/json.
{
  await using resp = await session.post("/post", { json: { test: "object", n: [1, 2] } });
  const echo = await resp.json<Echo>();
  console.log("json:", JSON.stringify(echo.json), echo.headers["Content-Type"]);
}

// A multipart form with a file: the standard FormData and Blob.
{
  const form = new FormData();
  form.append("field", "value");
  form.append("file", new Blob(["file content\n"], { type: "text/plain" }), "report.txt");
  await using resp = await session.post("/post", { data: form });
  const echo = await resp.json<Echo>();
  console.log("multipart:", JSON.stringify(echo.form), JSON.stringify(echo.files));
  console.log("multipart Content-Type:", echo.headers["Content-Type"]?.split(";")[0]);
}
