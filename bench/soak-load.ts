// The load of a soak run (bench/soak.ts): keep-alive HTTP requests over an undici Pool and
// WebSocket sessions with the `ws` client, both checking every answer, against the soak server
// (bench/servers/soak-aiohttp-ts.mjs); and the raw node:http server the ClientSession soak
// talks to, counting its connections.

import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import type { Pool } from "undici";
import { WebSocket } from "ws";

/** What a load did so far. */
export interface Tally {
  done: number;
  failed: number;
  firstError: string | null;
}

export function newTally(): Tally {
  return { done: 0, failed: 0, firstError: null };
}

/** The body POST /echo gets, and must send back. */
export const ECHO_BODY = Buffer.alloc(1024, "soak body ");

/** Runs `count` tasks, `concurrency` at a time, until done or `signal` aborts. */
async function inTurn(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
  tally: Tally,
  signal: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && !signal.aborted) {
      const i = next++;
      try {
        await task(i);
        tally.done += 1;
      } catch (err) {
        tally.failed += 1;
        tally.firstError ??= String((err as Error)?.stack ?? err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * `count` requests over `pool` (keep-alive, one request at a time per connection), the mix
 * GET /small, GET /json, POST /echo in turn, each answer checked; `concurrency` in flight.
 */
export function httpLoad(
  pool: Pool,
  count: number,
  concurrency: number,
  tally: Tally,
  signal: AbortSignal,
): Promise<void> {
  return inTurn(count, concurrency, (i) => oneRequest(pool, i, signal), tally, signal);
}

async function oneRequest(pool: Pool, i: number, signal: AbortSignal): Promise<void> {
  const kind = i % 3;
  if (kind === 0) {
    const { statusCode, body } = await pool.request({ path: "/small", method: "GET", signal });
    const text = await body.text();
    if (statusCode !== 200 || text !== "ok") {
      throw new Error(`GET /small: ${statusCode} ${JSON.stringify(text)}`);
    }
  } else if (kind === 1) {
    const { statusCode, body } = await pool.request({ path: "/json", method: "GET", signal });
    const json = (await body.json()) as { id?: number };
    if (statusCode !== 200 || json.id !== 42) {
      throw new Error(`GET /json: ${statusCode} ${JSON.stringify(json)}`);
    }
  } else {
    const { statusCode, body } = await pool.request({
      path: "/echo",
      method: "POST",
      body: ECHO_BODY,
      signal,
    });
    const bytes = Buffer.from(await body.arrayBuffer());
    if (statusCode !== 200 || !ECHO_BODY.equals(bytes)) {
      throw new Error(`POST /echo: ${statusCode}, ${bytes.length} bytes, not the ones sent`);
    }
  }
}

/**
 * `count` WebSocket sessions to `url`, `concurrency` at a time: open, `messages` echoed text
 * messages one after the other, close with 1000 and wait for the server's close.
 */
export function wsLoad(
  url: string,
  count: number,
  concurrency: number,
  messages: number,
  tally: Tally,
  signal: AbortSignal,
): Promise<void> {
  return inTurn(count, concurrency, (i) => wsSession(url, i, messages, signal), tally, signal);
}

async function wsSession(
  url: string,
  i: number,
  messages: number,
  signal: AbortSignal,
): Promise<void> {
  const ws = new WebSocket(url);
  // The run's time limit ends a session that hangs; its close then fails the checks below.
  const onAbort = (): void => ws.terminate();
  signal.addEventListener("abort", onAbort, { once: true });
  const closed = new Promise<number>((resolve) =>
    ws.once("close", (code: number) => resolve(code)),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    ws.on("error", () => {});
    for (let m = 0; m < messages; m++) {
      const text = `session ${i} message ${m}`;
      const echoed = once(ws, "message");
      ws.send(text);
      const [data] = (await echoed) as [Buffer];
      if (String(data) !== text) throw new Error(`echo of ${text}: ${String(data)}`);
    }
    ws.close(1000);
    const code = await closed;
    if (code !== 1000) throw new Error(`closed with ${code}`);
  } finally {
    signal.removeEventListener("abort", onAbort);
    ws.terminate();
  }
}

/** The raw node:http server of the client soak, and the connections it saw. */
export interface RawServer {
  server: Server;
  port: number;
  /** Connections open now. */
  readonly open: number;
  /** The most that were open at once. */
  readonly peak: number;
  /** Connections accepted since start. */
  readonly accepted: number;
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1 with the soak routes (/small, /json, POST /echo). */
export async function startRawServer(): Promise<RawServer> {
  const sockets = new Set<Socket>();
  let peak = 0;
  let accepted = 0;
  const json = JSON.stringify({
    id: 42,
    name: "soak",
    tags: ["a", "b", "c"],
    nested: { ok: true },
  });
  const server = createServer((req, res) => {
    if (req.url === "/small") {
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": 2 });
      res.end("ok");
    } else if (req.url === "/json") {
      res.writeHead(200, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(json),
      });
      res.end(json);
    } else if (req.url === "/echo" && req.method === "POST") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        res.writeHead(200, {
          "Content-Type": "application/octet-stream",
          "Content-Length": body.length,
        });
        res.end(body);
      });
    } else {
      res.writeHead(404, { "Content-Length": 0 });
      res.end();
    }
  });
  server.on("connection", (socket: Socket) => {
    accepted += 1;
    sockets.add(socket);
    peak = Math.max(peak, sockets.size);
    socket.once("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    server,
    port: address.port,
    get open() {
      return sockets.size;
    },
    get peak() {
      return peak;
    },
    get accepted() {
      return accepted;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
