// File uploads with request.post(): GET / serves an HTML form, POST /upload reports the fields
// and files it received. Files over 1 MiB are in temporary files while the request lasts.
//
//   npx tsx examples/upload/server.ts
//   open http://127.0.0.1:8080/ in a browser, or:
//   curl -F note=hello -F files=@README.md -F files=@package.json http://127.0.0.1:8080/upload

import { web } from "aiohttp-ts";

const FORM = `<!doctype html>
<meta charset="utf-8">
<title>Upload</title>
<form method="post" action="/upload" enctype="multipart/form-data">
  <p><label>Note <input name="note"></label></p>
  <p><input type="file" name="files" multiple></p>
  <p><button>Upload</button></p>
</form>
`;

interface Received {
  filename: string;
  contentType: string;
  size: number;
  /** Whether the file was large enough to be in a temporary file. */
  onDisk: boolean;
}

// The whole form may be 20 MiB; a larger one is answered with 413.
const app = new web.Application({ clientMaxSize: 20 * 1024 ** 2 });

app.router.addGet("/", () => new web.Response({ text: FORM, contentType: "text/html" }));

app.router.addPost("/upload", async (request) => {
  const form = await request.post();
  const fields: Record<string, string> = {};
  const files: Received[] = [];
  for (const [name, value] of form) {
    if (typeof value === "string") {
      fields[name] = value;
    } else {
      // To keep a file, save it now with pipeline(value.stream(), createWriteStream(dest)):
      // temporary files are deleted when the request ends (and rename() of value.path fails
      // when dest is on another file system).
      files.push({
        filename: value.filename,
        contentType: value.contentType,
        size: value.size,
        onDisk: value.path !== null,
      });
    }
  }
  return web.jsonResponse({ fields, files });
});

web.runApp(app, { port: Number(process.env.PORT ?? 8080) });
