// The connection of a WebSocket upgrade request, as Node's 'upgrade' event hands it over, shared
// by the request and its clones. Its HTTP response object is made only when something asks
// for it, and let go once the 101 is out, as is node's request, so an idle WebSocket keeps
// none of the handshake.

import { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "./application.js";
import type { StreamResponse } from "./response.js";

const EMPTY = Buffer.alloc(0);

/**
 * A server's sockets that node:http handed over for upgrade requests, until a WebSocket owns
 * them: node removed its own error handling from them, and shutdown must be able to cut them.
 * Once `ws` owns a socket, its listeners do both (and shutdown reaches the session through the
 * server's open WebSockets), so the socket leaves: two listeners fewer on each idle session.
 */
export class UpgradedSockets {
  readonly #sockets = new Set<Duplex>();
  // Shared by every socket (`this` is the socket): a session costs no closure of its own.
  readonly #onError: (this: Duplex, err: Error) => void;
  readonly #onClose: (this: Duplex) => void;

  constructor(logger: Logger) {
    this.#onError = function (this: Duplex, err: Error): void {
      logger.debug?.(`WebSocket connection error: ${err.message}`);
      this.destroy();
    };
    const sockets = this.#sockets;
    this.#onClose = function (this: Duplex): void {
      sockets.delete(this);
    };
  }

  add(socket: Duplex): void {
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
    this.#sockets.add(socket);
  }

  /** The socket went back to node:http, or a WebSocket took it over. */
  remove(socket: Duplex): void {
    socket.off("error", this.#onError);
    socket.off("close", this.#onClose);
    this.#sockets.delete(socket);
  }

  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }
}

export class UpgradeInfo {
  readonly socket: Duplex;
  /** Bytes the client sent after the request head (the first WebSocket frames). */
  head: Buffer;
  /** The response that took the connection over (the 101 is out), `null` until then. */
  owner: StreamResponse | null = null;
  #res: ServerResponse | null = null;
  /** Node's request until the 101 is out; after it, one made again when asked for. */
  #req: IncomingMessage | null;
  /** After the 101: node's request's line and headers, packed (see `pack`). */
  #packed: string | null = null;

  constructor(req: IncomingMessage, socket: Duplex, head: Buffer) {
    this.#req = req;
    this.socket = socket;
    // Node's head is a slice of the buffer the request was read into: an empty one would keep
    // that whole buffer alive as long as the connection.
    this.head = head.length === 0 ? EMPTY : head;
  }

  /**
   * The connection's HTTP response, made on first use: to refuse the handshake, or for a
   * handler that reads `request.rawResponse`.
   */
  response(): ServerResponse {
    if (this.#res === null) this.#res = upgradeResponse(this.request, this.socket as Socket);
    return this.#res;
  }

  /**
   * Node's request (`request.raw`). During a session it is a copy made on first use, with the
   * same request line, headers and socket: node's own, about 1 KB with its stream state and
   * header strings, is not kept as long as the connection.
   */
  get request(): IncomingMessage {
    this.#req ??= unpack(this.#packed as string, this.socket as Socket);
    return this.#req;
  }

  /** The 101 is out: the connection is `owner`'s, and the HTTP side of it is over. */
  release(owner: StreamResponse): void {
    this.owner = owner;
    this.head = EMPTY;
    const res = this.#res;
    this.#res = null;
    // Else the socket keeps it (`socket._httpMessage` and a 'close' listener).
    if (res !== null && res.socket !== null) res.detachSocket(res.socket);
    const req = this.#req as IncomingMessage;
    const packed = pack(req);
    if (packed !== null) {
      this.#packed = packed;
      this.#req = null;
    }
  }
}

/**
 * Node's request line and headers as one string, LF-separated (for the `ws` client's handshake
 * 224 bytes, where the header list's array and strings took about 560), or `null` when a field
 * holds an LF (node's strict parser refuses those; then the request is kept as it is).
 */
function pack(req: IncomingMessage): string | null {
  const fields = [req.method ?? "GET", req.url ?? "/", req.httpVersion, ...req.rawHeaders];
  for (const field of fields) if (field.includes("\n")) return null;
  return fields.join("\n");
}

/** IncomingMessage's method its parser calls with the header list (not in @types/node). */
type HeaderLines = IncomingMessage & { _addHeaderLines(headers: string[], n: number): void };

/** An IncomingMessage like the one `pack` read: same line, headers and socket; no body. */
function unpack(packed: string, socket: Socket): IncomingMessage {
  const [method, url, version, ...rawHeaders] = packed.split("\n") as [string, string, string];
  const req = new IncomingMessage(socket);
  req.method = method;
  req.url = url;
  req.httpVersion = version;
  const dot = version.indexOf(".");
  req.httpVersionMajor = Number(version.slice(0, dot));
  req.httpVersionMinor = Number(version.slice(dot + 1));
  // How node's parser gives a request its headers: `headers` and `headersDistinct` are then
  // built from them on first use, as on node's own request.
  (req as HeaderLines)._addHeaderLines(rawHeaders, rawHeaders.length);
  req.complete = true;
  // A handshake has no body (one with a body is refused), and node's request had ended.
  req.push(null);
  return req;
}

/**
 * An HTTP response on an upgraded connection. The parser is gone: whatever the answer, unless
 * it is 101 the connection ends after it, so nothing sent behind the handshake can be read as
 * another request.
 */
function upgradeResponse(req: IncomingMessage, socket: Socket): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  if (socket.destroyed) {
    // Made after the connection ended (the handler returned after the session): nothing can
    // be written, and the server must see that as it would on a response that saw the close.
    res.destroy();
    return res;
  }
  res.assignSocket(socket);
  res.once("finish", endAfterResponse);
  return res;
}

function endAfterResponse(this: ServerResponse): void {
  const socket = this.socket as (Socket & { destroySoon(): void }) | null;
  if (socket === null) return;
  this.detachSocket(socket);
  socket.destroySoon();
}
