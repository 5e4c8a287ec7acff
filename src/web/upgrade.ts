// The connection of a WebSocket upgrade request, as Node's 'upgrade' event hands it over, shared
// by the request and its clones. Its HTTP response object is made only when something asks
// for it, and let go once the 101 is out, so an idle WebSocket keeps none of the handshake.

import { type IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { StreamResponse } from "./response.js";

const EMPTY = Buffer.alloc(0);

export class UpgradeInfo {
  readonly socket: Duplex;
  /** Bytes the client sent after the request head (the first WebSocket frames). */
  head: Buffer;
  /** The response that took the connection over (the 101 is out), `null` until then. */
  owner: StreamResponse | null = null;
  #res: ServerResponse | null = null;

  constructor(socket: Duplex, head: Buffer) {
    this.socket = socket;
    // Node's head is a slice of the buffer the request was read into: an empty one would keep
    // that whole buffer alive as long as the connection.
    this.head = head.length === 0 ? EMPTY : head;
  }

  /**
   * The connection's HTTP response, made on first use: to refuse the handshake, or for a
   * handler that reads `request.rawResponse`.
   */
  response(req: IncomingMessage): ServerResponse {
    if (this.#res === null) this.#res = upgradeResponse(req, this.socket as Socket);
    return this.#res;
  }

  /** The 101 is out: the connection is `owner`'s, and the HTTP side of it is over. */
  release(owner: StreamResponse): void {
    this.owner = owner;
    this.head = EMPTY;
    const res = this.#res;
    this.#res = null;
    // Else the socket keeps it (`socket._httpMessage` and a 'close' listener).
    if (res !== null && res.socket !== null) res.detachSocket(res.socket);
  }
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
