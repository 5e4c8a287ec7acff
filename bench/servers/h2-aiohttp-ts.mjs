// Ours over HTTP/2 (TLS, ALPN h2): the BUILT package (dist/), run with plain node.
// Usage: node h2-aiohttp-ts.mjs PORT KEY_FILE CERT_FILE

import { readFileSync } from "node:fs";
import { web } from "../../dist/index.js";

const [port, keyFile, certFile] = process.argv.slice(2);
const ssl = { key: readFileSync(keyFile), cert: readFileSync(certFile) };

const app = new web.Application();
app.router.addGet(
  "/hello/{name}",
  async (request) => new web.Response({ text: `Hello, ${request.matchInfo.name}` }),
);

const runner = new web.AppRunner(app, { accessLog: null });
await runner.setup();
await new web.TCPSite(runner, "127.0.0.1", Number(port), { ssl, http2: true }).start();
console.log("READY");
process.on("SIGTERM", () => process.exit(0));
