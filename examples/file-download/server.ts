// File download: web.FileResponse sends a file from disk with ETag and Last-Modified, answers
// a cached copy with 304 and a Range with 206, so a download can be resumed.
//
//   npx tsx examples/file-download/server.ts
//   curl -OJ http://127.0.0.1:8080/download               # saves sample.txt
//   curl --range 0-99 http://127.0.0.1:8080/download      # the first 100 bytes
//   curl -C - -o sample.txt http://127.0.0.1:8080/download # resumes a partial download

import { web } from "aiohttp-ts";

const FILE = new URL("./sample.txt", import.meta.url);

const app = new web.Application();

app.router.addGet("/download", () => {
  return new web.FileResponse(FILE, {
    headers: {
      // Saved under this name rather than shown in the browser.
      "Content-Disposition": 'attachment; filename="sample.txt"',
      "Cache-Control": "no-cache",
    },
  });
});

web.runApp(app, { port: Number(process.env.PORT ?? 8080) });
