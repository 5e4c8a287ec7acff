// The conformance client: one raw TCP connection that performs the opening handshake, sends
// the frames a case gives it, and records everything the server does in an Outcome.
import { connect, type Socket } from "node:net";
import {
  closePayload,
  frame,
  Inflater,
  OP,
  parseFrames,
  RSV1,
  type ServerFrame,
} from "./frames.js";

/** A data message from the server, reassembled from its frames (and inflated). */
export interface Message {
  opcode: number;
  payload: Buffer;
}

/** The server's close frame. */
export interface ServerClose {
  /** `null` for a close frame without a payload. */
  code: number | null;
  reason: Buffer;
  /** Whether our close frame went first (the server answered) or the server started. */
  answered: boolean;
}

/** What the server did during one case. */
export interface Outcome {
  /** The status of the handshake answer (0 when none came). */
  status: number;
  /** The handshake answer's header lines. */
  headers: string[];
  messages: Message[];
  pongs: Buffer[];
  serverClose: ServerClose | null;
  /** The server ended the TCP connection (or reset it). */
  ended: boolean;
  /** Protocol faults of the server itself (masked frames, bad fragments...). */
  faults: string[];
  /** Milliseconds from the connection to its end. */
  ms: number;
  /** Marks of the case ("final fragment sent"...) and "server close", in order. */
  events: string[];
}

/** The handshake request of a case; `extra` holds more header lines. */
export function upgradeRequest(path: string, extra: readonly string[] = [], body = ""): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    "Host: 127.0.0.1",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...extra,
  ];
  return `${lines.join("\r\n")}\r\n\r\n${body}`;
}

export class Peer {
  readonly outcome: Outcome = {
    status: 0,
    headers: [],
    messages: [],
    pongs: [],
    serverClose: null,
    ended: false,
    faults: [],
    ms: 0,
    events: [],
  };
  /** Our close frame is sent (ours first, or our answer to the server's). */
  closeSent = false;
  readonly #socket: Socket;
  readonly #started = performance.now();
  #buf: Buffer = Buffer.alloc(0);
  #headDone = false;
  #fragments: Buffer[] | null = null;
  #fragmentOpcode = 0;
  #fragmentCompressed = false;
  #inflater = new Inflater();
  #wakers = new Set<() => void>();

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    // A reset while we write (the server failed the connection) ends it as well.
    socket.on("error", (e) => {
      if (process.env.DBG) console.log("client error", e);
    });
    socket.on("close", () => {
      this.outcome.ended = true;
      this.outcome.ms = Math.round(performance.now() - this.#started);
      this.#wake();
    });
  }

  /** Connects and sends `request`; resolves once the handshake answer's head came (or not). */
  static async open(port: number, request: string | Buffer, ms: number): Promise<Peer> {
    const socket = connect({ host: "127.0.0.1", port });
    const peer = new Peer(socket);
    socket.write(request);
    await peer.waitFor(() => peer.#headDone, ms);
    return peer;
  }

  get open(): boolean {
    return this.outcome.status === 101 && !this.outcome.ended;
  }

  /**
   * Writes the frames. With `chop`, in writes of at most that many bytes, each handed to the
   * kernel before the next (Autobahn's "chopped" variants): the server sees partial frames.
   */
  async send(data: Buffer | readonly Buffer[], chop?: number): Promise<void> {
    const all = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    if (chop === undefined) {
      await this.#write(all);
      return;
    }
    for (let i = 0; i < all.length && !this.outcome.ended; i += chop) {
      await this.#write(all.subarray(i, i + chop));
    }
  }

  /** Each buffer in its own write, handed to the kernel before the next. */
  async sendEach(frames: readonly Buffer[]): Promise<void> {
    for (const f of frames) {
      if (this.outcome.ended) return;
      await this.#write(f);
    }
  }

  /** Sends our close frame (payload: code and reason, none when `code` is undefined). */
  async close(code?: number, reason: string | Uint8Array = ""): Promise<void> {
    this.closeSent = true;
    await this.#write(frame({ opcode: OP.CLOSE, payload: closePayload(code, reason) }));
  }

  /** Records that the case reached a point, to order it against the server's close. */
  mark(event: string): void {
    this.outcome.events.push(event);
  }

  /** Resolves true once `done()` holds, false after `ms` or when the connection ends first. */
  waitFor(done: () => boolean, ms: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    if (this.outcome.ended) return Promise.resolve(false);
    return new Promise((resolve) => {
      const check = (): void => {
        if (done()) finish(true);
        else if (this.outcome.ended) finish(false);
      };
      const finish = (result: boolean): void => {
        clearTimeout(timer);
        this.#wakers.delete(check);
        resolve(result);
      };
      const timer = setTimeout(() => finish(false), ms);
      this.#wakers.add(check);
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Half-closes the connection (TCP FIN): the client will send nothing more. */
  end(): void {
    this.#socket.end();
  }

  #write(data: Buffer): Promise<void> {
    if (this.#socket.destroyed || this.outcome.ended) return Promise.resolve();
    return new Promise((resolve) => this.#socket.write(data, () => resolve()));
  }

  #wake(): void {
    for (const check of [...this.#wakers]) check();
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    if (!this.#headDone) {
      const end = this.#buf.indexOf("\r\n\r\n");
      if (end === -1) return;
      const lines = this.#buf.subarray(0, end).toString("latin1").split("\r\n");
      this.outcome.status = Number((lines[0] ?? "").split(" ")[1] ?? 0);
      this.outcome.headers = lines.slice(1);
      this.#headDone = true;
      this.#buf = this.#buf.subarray(end + 4);
      if (this.outcome.status !== 101) {
        this.#buf = Buffer.alloc(0);
        this.#wake();
        return;
      }
    }
    if (this.outcome.status !== 101) return;
    const { frames, rest } = parseFrames(this.#buf);
    this.#buf = rest;
    for (const f of frames) this.#onFrame(f);
    this.#wake();
  }

  #onFrame(f: ServerFrame): void {
    const out = this.outcome;
    if (f.masked) out.faults.push("masked frame from the server (RFC 6455 5.1)");
    if (out.serverClose !== null) out.faults.push(`frame 0x${f.opcode.toString(16)} after close`);
    switch (f.opcode) {
      case OP.TEXT:
      case OP.BINARY:
        if (this.#fragments !== null) out.faults.push("new message inside a fragmented one");
        this.#fragments = [f.payload];
        this.#fragmentOpcode = f.opcode;
        this.#fragmentCompressed = (f.rsv & RSV1) !== 0;
        if (f.fin) this.#endMessage();
        return;
      case OP.CONT:
        if (this.#fragments === null) {
          out.faults.push("continuation without a message");
          return;
        }
        this.#fragments.push(f.payload);
        if (f.fin) this.#endMessage();
        return;
      case OP.PONG:
        out.pongs.push(f.payload);
        return;
      case OP.PING:
        return;
      case OP.CLOSE: {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
        out.serverClose = { code, reason: f.payload.subarray(2), answered: this.closeSent };
        out.events.push("server close");
        // RFC 6455 5.5.1: answer the server's close (with its code) unless ours went first.
        if (!this.closeSent) void this.close(code ?? undefined);
        return;
      }
      default:
        out.faults.push(`unknown opcode 0x${f.opcode.toString(16)} from the server`);
    }
  }

  #endMessage(): void {
    const parts = this.#fragments ?? [];
    let payload: Buffer = Buffer.concat(parts);
    if (this.#fragmentCompressed) {
      try {
        payload = this.#inflater.inflate(payload);
      } catch (err) {
        this.outcome.faults.push(`bad compressed message: ${(err as Error).message}`);
      }
    }
    this.outcome.messages.push({ opcode: this.#fragmentOpcode, payload });
    this.#fragments = null;
  }
}
