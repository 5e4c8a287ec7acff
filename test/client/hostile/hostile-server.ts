// A raw TCP server for the hostile-server tests: it parses request heads itself (so that it
// can answer with bytes no well-behaved server would send), records every request and every
// connection, and lets a test wait for the client to close a connection, the proof that a
// failed request left no socket behind.

import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, expect } from "vitest";
import type { ClientSession } from "../../../src/index.js";

/** A request as the server read it. */
export interface SeenRequest {
  method: string;
  target: string;
  /** The head as sent, latin1, up to and including the blank line. */
  head: string;
  /** The connection it came on (0 for the first connection). */
  connection: number;
}

/** One accepted connection. */
export interface SeenConnection {
  readonly socket: Socket;
  /** Settles when the socket is closed, by either side. */
  readonly closed: Promise<void>;
  isClosed: boolean;
}

/** A connection the server accepted, watched for its close. */
export function watchConnection(socket: Socket): SeenConnection {
  const conn: SeenConnection = {
    socket,
    isClosed: false,
    closed: new Promise((resolve) =>
      socket.once("close", () => {
        conn.isClosed = true;
        resolve();
      }),
    ),
  };
  return conn;
}

/** What a route does with a request: write to the socket (or not) as it likes. */
export type Behaviour = (socket: Socket, request: SeenRequest) => void;

/** A hostile server started by `useHostileServers`. */
export interface HostileServer {
  readonly url: string;
  readonly port: number;
  readonly requests: SeenRequest[];
  readonly connections: SeenConnection[];
  /** Settles once every connection accepted so far is closed; fails after `ms`. */
  allClosed(ms?: number): Promise<void>;
}

/** The well-behaved answer of `/ok`: a keep-alive response with a body of "ok". */
export const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/** A route that answers `raw` and keeps the connection. */
export const answer =
  (raw: string | Buffer): Behaviour =>
  (socket) => {
    socket.write(raw);
  };

/** A route that answers `raw`, then closes the connection. */
export const answerAndClose =
  (raw: string | Buffer): Behaviour =>
  (socket) => {
    socket.end(raw);
  };

/** A route that reads the request and never answers. */
export const silence: Behaviour = () => {};

/**
 * Registers an `afterEach` that closes every server the returned factory started. Each server
 * routes by the request target's path; `/ok` always answers `OK`, unknown paths answer 404.
 */
export function useHostileServers(): (routes: Record<string, Behaviour>) => Promise<HostileServer> {
  const started: Array<{ server: Server; connections: SeenConnection[] }> = [];
  afterEach(async () => {
    for (const { server, connections } of started.splice(0)) {
      // Keep-alive and silent routes leave sockets open: the checks are done, drop them.
      for (const c of connections) c.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
  return async (routes) => {
    const requests: SeenRequest[] = [];
    const connections: SeenConnection[] = [];
    const all: Record<string, Behaviour> = { "/ok": answer(OK), ...routes };
    const server = createServer((socket) => {
      const index = connections.length;
      connections.push(watchConnection(socket));
      socket.on("error", () => {});
      let buffered = "";
      socket.on("data", (data: Buffer) => {
        buffered += data.toString("latin1");
        for (;;) {
          const end = buffered.indexOf("\r\n\r\n");
          if (end === -1) return;
          const head = buffered.slice(0, end + 4);
          // A request that waits for 100 Continue is routed on its head: its body comes later.
          const expects = /\r\nexpect: *100-continue/i.test(head);
          const length = expects ? 0 : Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (buffered.length < end + 4 + length) return;
          buffered = buffered.slice(end + 4 + length);
          const [method = "", target = ""] = head.split(" ", 2);
          const request = { method, target, head, connection: index };
          requests.push(request);
          const path = target.split("?")[0] ?? "";
          const route = all[path] ?? answer("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
          route(socket, request);
        }
      });
    });
    started.push({ server, connections });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      requests,
      connections,
      async allClosed(ms = 5000) {
        const closed = Promise.all(connections.map((c) => c.closed));
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const open = connections.filter((c) => !c.isClosed).length;
            reject(new Error(`${open} of ${connections.length} connection(s) still open`));
          }, ms);
        });
        try {
          await Promise.race([closed, late]);
        } finally {
          clearTimeout(timer);
        }
      },
    };
  };
}

/**
 * The checks after a failed request: the client closed every connection the server accepted
 * (unless `closed` is false: a response received in full leaves a reusable connection), the
 * connector holds no slot, and a request to `/ok` on the same session works.
 */
export async function expectCleanAndUsable(
  session: ClientSession,
  server: HostileServer,
  { closed = true }: { closed?: boolean } = {},
): Promise<void> {
  if (closed) await server.allClosed();
  expect(session.connector.active).toBe(0);
  await using resp = await session.get(`${server.url}/ok`);
  expect(resp.status).toBe(200);
  expect(await resp.text()).toBe("ok");
  expect(session.connector.active).toBe(0);
}
