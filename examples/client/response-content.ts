// Response content (aiohttp client quickstart): status and headers, the body as text, bytes or
// JSON, gzip decoded on the fly, and JSON from a server that does not say it is JSON.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/response-content.ts

import { ClientSession, ContentTypeError } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

await using session = new ClientSession({ baseUrl: BASE_URL });

// Status, headers and the body as text. text() decodes with the charset of Content-Type, or
// detects it when there is none; text("windows-1251") forces one.
{
  await using resp = await session.get("/get");
  console.log("status:", resp.status, resp.reason);
  console.log("content type:", resp.headers.get("Content-Type"));
  console.log("mimetype:", resp.contentType, "charset:", resp.charset);
  console.log("text:", (await resp.text()).slice(0, 40), "...");
}

// Binary content: read() gives a Buffer. gzip and deflate (and br) bodies are decoded already.
{
  await using resp = await session.get("/gzip");
  console.log("Content-Encoding:", resp.headers.get("Content-Encoding"));
  const body = await resp.read();
  console.log("read():", body.length, "bytes, decoded:", body.subarray(0, 10).toString());
}

// JSON content: json() checks Content-Type first.
{
  await using resp = await session.get("/gzip");
  const data = await resp.json<{ gzipped: boolean; method: string }>();
  console.log("json():", data.gzipped, data.method);
}

// json() on a body that is not JSON raises ContentTypeError ...
{
  await using resp = await session.get("/html");
  try {
    await resp.json();
  } catch (err) {
    if (!(err instanceof ContentTypeError)) throw err;
    console.log("ContentTypeError:", err.reason);
  }
}
// ... and so does JSON sent under another Content-Type, unless contentType: null turns the
// check off (aiohttp's `content_type=None`).
{
  await using resp = await session.get("/response-headers", {
    params: { "Content-Type": "text/plain", "X-Answer": "42" },
  });
  const data = await resp.json<Record<string, string>>({ contentType: null });
  console.log("json({ contentType: null }):", resp.contentType, "X-Answer", data["X-Answer"]);
}
