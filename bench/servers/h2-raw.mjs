// Baseline over HTTP/2: node:http2.createSecureServer's stream API with hand-written routing.
// Usage: node h2-raw.mjs PORT KEY_FILE CERT_FILE

import { readFileSync } from "node:fs";
import { createSecureServer } from "node:http2";

const [port, keyFile, certFile] = process.argv.slice(2);
const TEXT = "text/plain; charset=utf-8";

const server = createSecureServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) });
server.on("stream", (stream, headers) => {
  const path = headers[":path"] ?? "/";
  const ok = headers[":method"] === "GET" && path.startsWith("/hello/") && path.length > 7;
  const body = ok ? `Hello, ${decodeURIComponent(path.slice(7))}` : "404: Not Found";
  stream.respond({
    ":status": ok ? 200 : 404,
    "content-type": TEXT,
    "content-length": Buffer.byteLength(body),
  });
  stream.end(body);
});

server.listen(Number(port), "127.0.0.1", () => console.log("READY"));
process.on("SIGTERM", () => process.exit(0));
