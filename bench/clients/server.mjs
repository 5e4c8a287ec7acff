// The peer every client talks to: raw node:http answering a small JSON body on a keep-alive
// connection (GET /json), so the figures are about the clients and not the server; and taking
// multipart uploads (POST /upload), parsed to the end by @fastify/busboy, answering what it read.
// Usage: node server.mjs PORT

import { createServer } from "node:http";
import Busboy from "@fastify/busboy";

const port = Number(process.argv[2]);
const BODY = JSON.stringify({ message: "Hello, World!", id: 12345, tags: ["a", "b"] });
const HEADERS = {
  "Content-Type": "application/json; charset=utf-8",
  "Content-Length": Buffer.byteLength(BODY),
};

const server = createServer((req, res) => {
  if (req.method === "POST") upload(req, res);
  else {
    res.writeHead(200, HEADERS);
    res.end(BODY);
  }
});

/**
 * Reads every byte of a multipart/form-data body and answers `{ bytes, files, fields }`: the
 * bytes of its file parts, their count, and its text fields, for the client to check.
 */
function upload(req, res) {
  const fail = (err) => {
    res.writeHead(400, { "Content-Type": "text/plain", Connection: "close" });
    res.end(String(err?.message ?? err));
  };
  let busboy;
  try {
    busboy = new Busboy({ headers: req.headers });
  } catch (err) {
    fail(err);
    return;
  }
  let bytes = 0;
  let files = 0;
  const fields = {};
  busboy.on("file", (_name, file) => {
    files++;
    file.on("data", (chunk) => {
      bytes += chunk.length;
    });
  });
  busboy.on("field", (name, value) => {
    fields[name] = value;
  });
  busboy.on("error", fail);
  busboy.on("finish", () => {
    const body = JSON.stringify({ bytes, files, fields });
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  });
  req.pipe(busboy);
}

// Idle connections survive the gap between a client's warm-up and its measured run.
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => console.log("READY"));
process.on("SIGTERM", () => process.exit(0));
