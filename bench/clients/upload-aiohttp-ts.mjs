// Ours, uploading: ClientSession from the BUILT package (dist/) posting our FormData, the file
// as a read stream, run with plain node.
import { createReadStream } from "node:fs";
import { ClientSession, FormData, TCPConnector } from "../../dist/index.js";
import { checkUpload, run, UPLOAD_NOTE } from "./harness.mjs";

await run(({ url, connections, file, filename, contentType }) => {
  const session = new ClientSession({ connector: new TCPConnector({ limit: connections }) });
  return {
    async send() {
      const form = new FormData();
      form.addField("note", UPLOAD_NOTE);
      form.addField("file", createReadStream(file), { filename, contentType });
      const resp = await session.post(url, { data: form });
      if (resp.status !== 200) throw new Error(`status ${resp.status}: ${await resp.text()}`);
      return resp.json();
    },
    close: () => session.close(),
  };
}, checkUpload);
