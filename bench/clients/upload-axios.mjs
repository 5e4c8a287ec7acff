// axios uploading a form-data package form, the file as a read stream (axios asks form-data for
// the length, which stats the file), with a keep-alive Agent of as many sockets as uploads in
// flight.
import { createReadStream } from "node:fs";
import { Agent } from "node:http";
import axios from "axios";
import FormData from "form-data";
import { checkUpload, run, UPLOAD_NOTE } from "./harness.mjs";

await run(({ url, connections, file, filename, contentType }) => {
  const httpAgent = new Agent({ keepAlive: true, maxSockets: connections });
  const client = axios.create({
    httpAgent,
    responseType: "json",
    maxBodyLength: Number.POSITIVE_INFINITY,
  });
  return {
    async send() {
      const form = new FormData();
      form.append("note", UPLOAD_NOTE);
      form.append("file", createReadStream(file), { filename, contentType });
      const res = await client.post(url, form);
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return res.data;
    },
    close: () => httpAgent.destroy(),
  };
}, checkUpload);
