// Baseline peer: plain node:http with the routing a hand-written server needs, no framework.
// Usage: node raw-node.mjs PORT

import { createServer } from "node:http";

const port = Number(process.argv[2]);
const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json; charset=utf-8";

function send(res, status, type, body) {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  if (req.method === "GET" || req.method === "HEAD") {
    if (path === "/json") {
      send(res, 200, JSON_TYPE, JSON.stringify({ message: "Hello, World!" }));
      return;
    }
    if (path.startsWith("/hello/") && path.indexOf("/", 7) === -1 && path.length > 7) {
      send(res, 200, TEXT, `Hello, ${decodeURIComponent(path.slice(7))}`);
      return;
    }
  }
  send(res, 404, TEXT, "404: Not Found");
});

server.listen(port, "127.0.0.1", () => console.log("READY"));
process.on("SIGTERM", () => process.exit(0));
