// node:http2's stream API doing the least an aiohttp-style server does on every request: the
// handler is an async function whose result is awaited, each stream's 'close' is tracked (for
// in-flight counts and graceful shutdown) and its 'error' handled, and the head carries
// `Server` and `Date` (aiohttp sends both). Not a framework: a yardstick for how much of the
// gap between ours and the bare stream API no aiohttp-compatible server can avoid.
// Usage: node h2-raw-aiohttp-shape.mjs PORT KEY_FILE CERT_FILE

import { readFileSync } from "node:fs";
import { createSecureServer } from "node:http2";

const [port, keyFile, certFile] = process.argv.slice(2);
const TEXT = "text/plain; charset=utf-8";
const SERVER = "aiohttp-ts/0.1.0";

let date = new Date().toUTCString();
setInterval(() => {
  date = new Date().toUTCString();
}, 1000).unref();

let inFlight = 0;
function ignoreError() {}
function onClose() {
  inFlight--;
}

async function handler(path) {
  return `Hello, ${decodeURIComponent(path.slice(7))}`;
}

const server = createSecureServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) });
server.on("stream", (stream, headers) => {
  stream.on("error", ignoreError);
  stream.on("close", onClose);
  inFlight++;
  const path = headers[":path"] ?? "/";
  const ok = headers[":method"] === "GET" && path.startsWith("/hello/") && path.length > 7;
  (ok ? handler(path) : Promise.resolve(null)).then((text) => {
    const body = text ?? "404: Not Found";
    stream.respond({
      ":status": text === null ? 404 : 200,
      "content-type": TEXT,
      "content-length": Buffer.byteLength(body),
      server: SERVER,
      date,
    });
    stream.end(body);
  });
});

server.listen(Number(port), "127.0.0.1", () => console.log("READY"));
// The count is what graceful shutdown would wait on; a negative one would be a bookkeeping bug.
process.on("SIGTERM", () => process.exit(inFlight < 0 ? 1 : 0));
