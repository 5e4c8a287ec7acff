// Streaming uploads with progress, compressed uploads and `Expect: 100-continue`: an upload
// made by an async generator reports how far it got, a text body goes up gzipped, a server that
// refuses a large body says so before the body is sent, and a download reports its progress.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/upload-progress.ts

import { ClientSession } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";
const MiB = 1024 ** 2;

interface Echo {
  data: string;
  headers: Record<string, string>;
}

await using session = new ClientSession({ baseUrl: BASE_URL });

// 4 MiB made as they are sent; with a Content-Length header the progress has a total.
async function* generate(size: number): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < size; sent += 64 * 1024) {
    yield new Uint8Array(Math.min(64 * 1024, size - sent)).fill(0x61);
  }
}
{
  let shown = 0;
  await using resp = await session.put("/put", {
    data: generate(4 * MiB),
    headers: { "Content-Length": String(4 * MiB), "Content-Type": "text/plain" },
    onUploadProgress: ({ transferred, total }) => {
      const percent = total === null ? 0 : Math.floor((transferred / total) * 100);
      // Every quarter, not every chunk.
      if (percent >= shown + 25) {
        shown = percent;
        console.log(`upload ${percent}% (${transferred} of ${total} bytes)`);
      }
    },
  });
  console.log(`the server got ${(await resp.json<Echo>()).data.length} bytes`);
}

// Compressed on the fly: the server decompresses it (Content-Encoding: gzip, sent chunked).
{
  const text = "a line of a compressible report\n".repeat(10_000);
  let wire = 0;
  await using resp = await session.post("/post", {
    data: text,
    compress: "gzip",
    onUploadProgress: ({ transferred }) => {
      wire = transferred;
    },
  });
  const echo = await resp.json<Echo>();
  console.log(
    `gzip: ${text.length} bytes as ${wire} on the wire, Content-Encoding ${echo.headers["Content-Encoding"]}, ${echo.data.length} bytes arrived`,
  );
}

// Expect: 100-continue: the server refuses the 2 MiB body before it is sent.
{
  let sent = 0;
  await using resp = await session.post("/limited", {
    data: new Uint8Array(2 * MiB),
    expect100: true,
    onUploadProgress: ({ transferred }) => {
      sent = transferred;
    },
  });
  console.log(`expect100: ${resp.status} ${await resp.text()}, ${sent} body bytes sent`);
}
{
  await using resp = await session.post("/limited", { data: "small enough", expect100: true });
  console.log(
    `expect100: ${resp.status}, the server got ${JSON.stringify((await resp.json<Echo>()).data)}`,
  );
}

// Download progress: bytes as they come over the wire, out of Content-Length.
{
  let last = { transferred: 0, total: null as number | null };
  await using resp = await session.get("/bytes/1048576", {
    onDownloadProgress: (progress) => {
      last = progress;
    },
  });
  const body = await resp.read();
  console.log(`download: ${body.length} bytes read, progress ${last.transferred} of ${last.total}`);
}
