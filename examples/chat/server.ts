// The chat showcase: `npm start`, then open the URL it prints (http://localhost:8080/).
//
//   PORT=9000 HOST=0.0.0.0 npm start           another port, every interface
//   DATA_DIR=/var/lib/chat npm start           where the history is kept (default ./data/)
//   REDIS_URL=redis://127.0.0.1:6379 npm start several servers share their rooms
//   WORKERS=4 REDIS_URL=... npm start          four worker processes (or WORKERS=auto)
//
// With WORKERS above 1 this module runs once in the primary, which only forks, and once in each
// worker: the store and the bus are opened by the app's cleanup context, so in the workers only.
// The primary still builds the app, which keeps the cookie secret in DATA_DIR before any worker
// starts, so that every worker reads the same one.
// See README.md beside this file.

import { fileURLToPath } from "node:url";
import { web } from "aiohttp-ts";
import { makeApp } from "./app.js";

const dataDir = process.env.DATA_DIR || fileURLToPath(new URL("./data/", import.meta.url));
const redisUrl = process.env.REDIS_URL || undefined;
const host = process.env.HOST || "localhost";
const port = Number(process.env.PORT ?? 8080);
const workers = parseWorkers(process.env.WORKERS);

/** `WORKERS`: unset or empty is 1, else a whole number >= 1 or "auto"; `null` if neither. */
function parseWorkers(value: string | undefined): web.WorkersOption | null {
  if (value === undefined || value === "") return 1;
  if (value === "auto") return value;
  return /^[0-9]+$/.test(value) && Number(value) >= 1 ? Number(value) : null;
}

if (workers === null) {
  console.error(
    `aiohttp-ts chat: WORKERS must be a whole number >= 1 or "auto", not "${process.env.WORKERS}"`,
  );
  process.exitCode = 1;
} else if (workers !== 1 && redisUrl === undefined) {
  // Each worker's bus would be a map of its own: members on different workers would not see
  // each other. ("auto" is refused too, even where it would mean one core, so that the same
  // settings do not start on one machine and misbehave on another.)
  console.error(
    `aiohttp-ts chat: WORKERS=${workers} needs REDIS_URL, so that members on different workers see each other's messages; set REDIS_URL (or WORKERS=1)`,
  );
  process.exitCode = 1;
} else {
  // Once, in the primary (or the only process), not again in every worker.
  if (web.workerId() === null) {
    const rooms = redisUrl ? `rooms shared through ${redisUrl}` : "rooms in this process";
    console.log(`aiohttp-ts chat: history in ${dataDir}, ${rooms}`);
  }
  await web.runApp(makeApp({ dataDir, redisUrl }), {
    host,
    port,
    workers,
    // The chat's own access-log middleware writes one line per request, with the nick.
    accessLog: null,
    shutdownTimeout: 10_000,
  });
}
