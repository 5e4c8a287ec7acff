// The undici pools of a connector with `http2: true`. undici negotiates h2 by ALPN
// (`allowH2`), but its pools multiplex poorly on their own: a Client runs only `pipelining`
// requests at a time (1 by default) on any connection, and a pool opens another connection for
// each request that arrives while the first is still connecting. Here each origin's pool learns
// the protocol of every connection it opens: an h2 one takes as many streams as undici's
// `maxConcurrentStreams`, an HTTP/1.1 one `pipelining` requests (a server that picked http/1.1
// sees the same traffic as without the option), and requests that arrive while the origin's
// first connection is being opened wait for it to know which.

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Agent, buildConnector, Client, Dispatcher } from "undici";
import type { AttemptInfo, PoolConnection } from "./attempt.js";
import { undici } from "./lazy-deps.js";
import { kAttemptInfo } from "./symbols.js";

/** undici's default, the most concurrent streams of one h2 connection (a SETTINGS frame lowers it). */
export const H2_MAX_STREAMS = 100;

/**
 * Agent options that multiplex h2 connections: `connect` (undici connect options or a connector
 * function) opens each connection; an h2 one with no request for `keepalive` ms is closed.
 */
export function h2AgentOptions(
  connect: Record<string, unknown> | buildConnector.connector,
  keepalive: number,
): Pick<Agent.Options, "factory" | "connect"> & { allowH2: true } {
  const open =
    typeof connect === "function"
      ? connect
      : undici().buildConnector({ ...connect, allowH2: true } as buildConnector.BuildOptions);
  return {
    allowH2: true,
    connect: open,
    // undici's Agent calls its factory as a method: `this` is the Agent, through which the
    // requests waiting on a failed first connection go again (see H2Origin).
    factory(this: Dispatcher | undefined, origin, options) {
      return new H2Origin(open, keepalive, this).pool(origin, options);
    },
  };
}

type Dispatch = Dispatcher["dispatch"];

/** The connections to one origin and what is known of their protocol. */
class H2Origin {
  readonly #open: buildConnector.connector;
  readonly #keepalive: number;
  /** Connections open now. */
  #connected = 0;
  /** A connection is being opened while none is open: later requests wait for it. */
  #probing = false;
  /** The last connection opened spoke HTTP/1.1: requests spread over connections as usual. */
  #h1 = false;
  #waiting: Array<(via: Dispatch | null) => void> = [];
  /** The Agent the pool belongs to (undefined when unknown). */
  readonly #agent: Dispatcher | undefined;

  constructor(open: buildConnector.connector, keepalive: number, agent: Dispatcher | undefined) {
    this.#open = open;
    this.#keepalive = keepalive;
    this.#agent = agent;
  }

  pool(origin: string | URL, options: object): Dispatcher {
    const pool = new (undici().Pool)(origin, {
      ...options,
      factory: (o: string | URL, clientOptions: object) => this.#client(o, clientOptions),
    });
    // Not `pool.compose()`: that puts a proxy in front of the pool and, per request, adapters
    // between undici's two handler interfaces that turn the response headers into an object
    // and back into raw bytes.
    const dispatch = pool.dispatch.bind(pool);
    pool.dispatch = (opts, handler) => this.#dispatch(dispatch, opts, handler);
    return pool;
  }

  #dispatch(
    dispatch: Dispatch,
    opts: Parameters<Dispatch>[0],
    handler: Parameters<Dispatch>[1],
  ): boolean {
    // undici holds a request its method calls non-idempotent (a POST) until the connection's
    // other streams are done, so that an error cannot hit it alongside them, and the pool opens
    // another connection meanwhile. HTTP/2 streams fail one by one (RFC 9113 8.7: a GOAWAY or
    // RST_STREAM says which were left unprocessed), and the session decides retries by method,
    // not by this flag; on an HTTP/1.1 connection (pipelining 1) the flag changes nothing.
    // undici still holds a streamed upload back the same way.
    const o = opts.idempotent === undefined ? { ...opts, idempotent: true } : opts;
    if (this.#connected > 0 || this.#h1) return dispatch(o, handler);
    if (!this.#probing) {
      this.#probing = true;
      return dispatch(o, handler);
    }
    this.#waiting.push((via) => (via ?? dispatch)(o, handler));
    return true;
  }

  #client(origin: string | URL, options: object): Dispatcher {
    let client: Client | undefined;
    const connection: PoolConnection = { socket: null, http2: false };
    const watched: buildConnector.connector = (params, callback) =>
      this.#open(params, (...args) => {
        // A failed connection (a refused port, a certificate that does not verify) has no socket.
        const [err, socket] = args;
        if (err === null && socket !== null && socket !== undefined && client !== undefined) {
          const h2 = (socket as TLSSocket).alpnProtocol === "h2";
          connection.socket = socket;
          connection.http2 = h2;
          this.#h1 = !h2;
          this.#connected++;
          socket.once("close", () => this.#connected--);
          // Before undici takes the socket, so that an HTTP/1.1 one is never pipelined.
          client.pipelining = h2 ? H2_MAX_STREAMS : 1;
          if (h2) closeWhenIdle(socket, client, this.#keepalive);
        }
        callback(...args);
        this.#probing = false;
        const waiting = this.#waiting.splice(0);
        if (waiting.length === 0) return;
        if (err === null) {
          for (const go of waiting) go(null);
          return;
        }
        // A failed first connection closes this pool (undici's Agent drops an origin's pool
        // that has no connection): the requests that waited for it go through the Agent, which
        // makes the origin a new one, once undici is done with the failure.
        const agent = this.#agent;
        const via = agent === undefined ? null : agent.dispatch.bind(agent);
        setImmediate(() => {
          for (const go of waiting) go(via);
        });
      });
    client = new (undici().Client)(origin, { ...options, connect: watched });
    // Each attempt learns which connection its request went to (src/client/attempt.ts).
    const dispatch = client.dispatch.bind(client);
    client.dispatch = (opts, handler) => {
      const info = (opts as { [kAttemptInfo]?: AttemptInfo })[kAttemptInfo];
      if (info !== undefined) info.via = connection;
      return dispatch(opts, handler);
    };
    return client;
  }
}

/**
 * undici applies `keepAliveTimeout` to HTTP/1.1 sockets only: an h2 connection would stay open
 * until the server's GOAWAY. This closes it once nothing went over it for `ms` and it carries no
 * request. undici's PING (every 60 s) counts as traffic, so a longer `keepaliveTimeout` keeps
 * the connection as long as the server does.
 */
function closeWhenIdle(socket: Socket, client: Client, ms: number): void {
  socket.setTimeout(ms);
  socket.on("timeout", () => {
    const { running, pending } = client.stats;
    // With an error, as undici closes an idle HTTP/1.1 socket: its h2 session-close handler
    // expects one (it reads the gone socket otherwise).
    if (running === 0 && pending === 0) {
      socket.destroy(new (undici().errors.InformationalError)("socket idle timeout"));
    }
  });
}
