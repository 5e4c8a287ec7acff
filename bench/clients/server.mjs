// The peer every client talks to: raw node:http answering a small JSON body on a keep-alive
// connection, so the figures are about the clients and not the server.
// Usage: node server.mjs PORT

import { createServer } from "node:http";

const port = Number(process.argv[2]);
const BODY = JSON.stringify({ message: "Hello, World!", id: 12345, tags: ["a", "b"] });
const HEADERS = {
  "Content-Type": "application/json; charset=utf-8",
  "Content-Length": Buffer.byteLength(BODY),
};

const server = createServer((_req, res) => {
  res.writeHead(200, HEADERS);
  res.end(BODY);
});
// Idle connections survive the gap between a client's warm-up and its measured run.
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => console.log("READY"));
process.on("SIGTERM", () => process.exit(0));
