// The chat showcase: `npm start`, then open the URL it prints (http://localhost:8080/).
//
//   PORT=9000 HOST=0.0.0.0 npm start           another port, every interface
//   DATA_DIR=/var/lib/chat npm start           where the history is kept (default ./data/)
//   REDIS_URL=redis://127.0.0.1:6379 npm start several servers share their rooms
//
// See README.md beside this file.

import { fileURLToPath } from "node:url";
import { web } from "aiohttp-ts";
import { makeApp } from "./app.js";

const dataDir = process.env.DATA_DIR || fileURLToPath(new URL("./data/", import.meta.url));
const redisUrl = process.env.REDIS_URL || undefined;
const host = process.env.HOST || "localhost";
const port = Number(process.env.PORT ?? 8080);

console.log(
  `aiohttp-ts chat: history in ${dataDir}, ${redisUrl ? `rooms shared through ${redisUrl}` : "rooms in this process"}`,
);
await web.runApp(makeApp({ dataDir, redisUrl }), {
  host,
  port,
  // The chat's own access-log middleware writes one line per request, with the nick.
  accessLog: null,
  shutdownTimeout: 10_000,
});
