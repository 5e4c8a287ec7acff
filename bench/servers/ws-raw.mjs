// Baseline WebSocket peer: a raw `ws` WebSocketServer echoing every message as it came (text
// as text, binary as binary), with no framework around it. The WebSocket bench loads it on the
// server side and uses it as the server every client talks to on the client side.
// Usage: node ws-raw.mjs PORT

import { WebSocketServer } from "ws";

const port = Number(process.argv[2]);

// `ws` defaults: no permessage-deflate, 100 MiB max payload, autoPong.
const wss = new WebSocketServer({ host: "127.0.0.1", port, clientTracking: false });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("error", () => {});
});
wss.on("listening", () => console.log("READY"));
process.on("SIGTERM", () => process.exit(0));
