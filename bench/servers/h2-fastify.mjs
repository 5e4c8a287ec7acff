// Fastify over HTTP/2 (`http2: true` with `https`), default options otherwise.
// Usage: node h2-fastify.mjs PORT KEY_FILE CERT_FILE

import { readFileSync } from "node:fs";
import Fastify from "fastify";

const [port, keyFile, certFile] = process.argv.slice(2);

const app = Fastify({
  logger: false,
  http2: true,
  https: { key: readFileSync(keyFile), cert: readFileSync(certFile) },
});
app.get("/hello/:name", async (request) => `Hello, ${request.params.name}`);

await app.listen({ port: Number(port), host: "127.0.0.1" });
console.log("READY");
process.on("SIGTERM", () => process.exit(0));
