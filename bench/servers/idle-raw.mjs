// Baseline peer for the idle-connection memory bench (bench/idle-memory.ts): a raw node:http
// server answering "hello", with a raw `ws` WebSocketServer on it echoing every message
// (permessage-deflate accepted, as ours does by default). The keep-alive timeout is ours
// (75 s) rather than node's 5 s, so idle connections stay open while measured.
// Usage: node --expose-gc idle-raw.mjs PORT

import { createServer } from "node:http";
import { WebSocketServer } from "ws";
import { answerMemoryRequests } from "./idle-memory-probe.mjs";

const port = Number(process.argv[2]);

const server = createServer((_req, res) => res.end("hello"));
server.keepAliveTimeout = 75_000;
const wss = new WebSocketServer({ server, perMessageDeflate: true, clientTracking: false });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("error", () => {});
});
server.listen(port, "127.0.0.1", answerMemoryRequests);
