// Forms and multipart (aiohttp's FormData, MultipartWriter and reading a multipart response):
// a form with a streamed file, a text-only form, a stream of unknown size, a hand-built
// multipart body, and a multipart/mixed response read part by part.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/multipart.ts

import { createReadStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { BodyPartReader, ClientSession, FormData, MultipartWriter } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

interface Echo {
  form: Record<string, string>;
  files: Record<string, string>;
  headers: Record<string, string>;
}

await using session = new ClientSession({ baseUrl: BASE_URL });

// A file makes the form multipart/form-data. A file stream's size is read from the file, so
// the request has a Content-Length; the filename defaults to the file's basename.
{
  const form = new FormData();
  form.addField("title", "holidays");
  form.addField("source", createReadStream(fileURLToPath(import.meta.url)), {
    contentType: "text/plain",
  });
  await using resp = await session.post("/post", { data: form });
  const echo = await resp.json<Echo>();
  const sent = echo.files.source?.includes("aiohttp's FormData") ? "intact" : "missing";
  console.log("form:", JSON.stringify(echo.form), "file:", sent);
  console.log("framing:", echo.headers["Content-Length"] ? "Content-Length" : "chunked");
}

// Text only, no options: the form is urlencoded, as in aiohttp.
{
  await using resp = await session.post("/post", { data: new FormData({ a: "1", b: "2" }) });
  console.log("text only:", (await resp.json<Echo>()).headers["Content-Type"]);
}

// A stream of unknown size (an async generator) makes the body chunked.
{
  async function* lines(): AsyncGenerator<Uint8Array> {
    for (let i = 1; i <= 3; i++) yield new TextEncoder().encode(`line ${i}\n`);
  }
  const form = new FormData();
  form.addField("log", lines(), { filename: "log.txt" });
  await using resp = await session.post("/post", { data: form });
  const echo = await resp.json<Echo>();
  console.log("generator:", JSON.stringify(echo.files.log), echo.headers["Transfer-Encoding"]);
}

// A multipart body built by hand: parts with their own headers and dispositions.
{
  const writer = new MultipartWriter("form-data");
  writer.appendJson({ id: 7 }).setContentDisposition("form-data", { name: "meta" });
  writer.append("hi").setContentDisposition("form-data", { name: "greeting" });
  console.log("writer size:", writer.size, "bytes");
  await using resp = await session.post("/post", { data: writer });
  console.log("writer:", JSON.stringify((await resp.json<Echo>()).form));
}

// A multipart response, part by part.
{
  await using resp = await session.get("/multipart");
  for await (const part of resp.multipart()) {
    if (part instanceof BodyPartReader) {
      console.log("part:", part.headers.get("Content-Type"), await part.text());
    }
  }
}
