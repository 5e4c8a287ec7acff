// A second baseline over HTTP/2: node:http2.createSecureServer's request handler (the
// compatibility API, as ours and Fastify use it) with hand-written routing.
// Usage: node h2-raw-compat.mjs PORT KEY_FILE CERT_FILE

import { readFileSync } from "node:fs";
import { createSecureServer } from "node:http2";

const [port, keyFile, certFile] = process.argv.slice(2);
const TEXT = "text/plain; charset=utf-8";

const server = createSecureServer(
  { key: readFileSync(keyFile), cert: readFileSync(certFile) },
  (req, res) => {
    const path = req.url;
    const ok = req.method === "GET" && path.startsWith("/hello/") && path.length > 7;
    const body = ok ? `Hello, ${decodeURIComponent(path.slice(7))}` : "404: Not Found";
    res.writeHead(ok ? 200 : 404, {
      "Content-Type": TEXT,
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  },
);

server.listen(Number(port), "127.0.0.1", () => console.log("READY"));
process.on("SIGTERM", () => process.exit(0));
