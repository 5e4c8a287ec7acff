// undici.request uploading undici's FormData, the file as a Blob from fs.openAsBlob (read from
// disk as it is sent), with its own Agent of as many connections as uploads in flight.
import { openAsBlob } from "node:fs";
import { Agent, FormData, request } from "undici";
import { checkUpload, run, UPLOAD_NOTE } from "./harness.mjs";

await run(async ({ url, connections, file, filename, contentType }) => {
  const dispatcher = new Agent({ connections });
  const blob = await openAsBlob(file, { type: contentType });
  return {
    async send() {
      const form = new FormData();
      form.append("note", UPLOAD_NOTE);
      form.append("file", blob, filename);
      const { statusCode, body } = await request(url, { method: "POST", body: form, dispatcher });
      if (statusCode !== 200) throw new Error(`status ${statusCode}: ${await body.text()}`);
      return body.json();
    },
    close: () => dispatcher.close(),
  };
}, checkUpload);
