// HTTP/2 frames written by hand (RFC 9113 4.1, 6), for attacks node:http2's client will not
// send: a raw cleartext connection (h2c with prior knowledge) that writes frames and collects
// the server's.

import { connect, type Socket } from "node:net";

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;

/** RFC 9113 7: the error codes the tests look for. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  CANCEL: 0x8,
  REFUSED_STREAM: 0x7,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** A SETTINGS frame with `[id, value]` entries. */
export function settings(entries: ReadonlyArray<readonly [number, number]> = []): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

export function rstStream(stream: number, code: number = ErrorCode.CANCEL): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, stream, payload);
}

/** RFC 7541 5.1: an integer with an `n`-bit prefix, `first` holding the pattern bits. */
function hpackInt(value: number, n: number, first: number): Buffer {
  const max = (1 << n) - 1;
  if (value < max) return Buffer.from([first | value]);
  const bytes = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** RFC 7541 6.2.2: a header field literal, never indexed, with a literal name. */
export function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, "latin1");
  const v = Buffer.from(value, "latin1");
  return Buffer.concat([
    hpackInt(0, 4, 0x10),
    hpackInt(n.length, 7, 0),
    n,
    hpackInt(v.length, 7, 0),
    v,
  ]);
}

/** A GET request's header block: `:method GET`, `:scheme http`, `:path`, `:authority x`. */
export function requestBlock(path = "/", extra: Buffer[] = []): Buffer {
  // Static table (RFC 7541 A): 2 = :method GET, 6 = :scheme http, 1 = :authority.
  return Buffer.concat([
    Buffer.from([0x82, 0x86]),
    literal(":path", path),
    literal(":authority", "x"),
    ...extra,
  ]);
}

/** The default SETTINGS_MAX_FRAME_SIZE (RFC 9113 6.5.2). */
const MAX_FRAME = 16_384;

/**
 * A whole request opening `stream` (END_STREAM): one HEADERS frame, followed by CONTINUATION
 * frames when the block is larger than a frame may be.
 */
export function request(stream: number, path = "/", extra: Buffer[] = []): Buffer {
  const block = requestBlock(path, extra);
  const frames: Buffer[] = [];
  for (let at = 0; at === 0 || at < block.length; at += MAX_FRAME) {
    const last = at + MAX_FRAME >= block.length;
    const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (last ? Flag.END_HEADERS : 0) | (at === 0 ? Flag.END_STREAM : 0);
    frames.push(frame(type, flags, stream, block.subarray(at, at + MAX_FRAME)));
  }
  return Buffer.concat(frames);
}

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** A raw h2c connection: the preface and an empty SETTINGS are sent on connect. */
export class RawH2 {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  #buffer: Buffer = Buffer.alloc(0);
  #waiters = new Set<() => void>();

  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.on("error", () => {});
    this.socket.on("data", (data: Buffer) => this.#onData(data));
    this.closed = new Promise((resolve) => this.socket.once("close", () => resolve()));
    this.socket.once("close", () => this.#wake());
    this.socket.write(Buffer.concat([PREFACE, settings()]));
  }

  /** Writes `bytes`; false once the connection is gone. */
  write(bytes: Buffer): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    this.socket.write(bytes);
    return true;
  }

  /** The server's GOAWAY, if it sent one: its error code. */
  get goaway(): number | undefined {
    const f = this.frames.find((x) => x.type === FrameType.GOAWAY);
    return f?.payload.readUInt32BE(4);
  }

  /** Streams the server reset, with their error codes. */
  resets(): Map<number, number> {
    const out = new Map<number, number>();
    for (const f of this.frames) {
      if (f.type === FrameType.RST_STREAM) out.set(f.stream, f.payload.readUInt32BE(0));
    }
    return out;
  }

  /** Streams the server answered with a HEADERS frame. */
  answered(): Set<number> {
    return new Set(this.frames.filter((f) => f.type === FrameType.HEADERS).map((f) => f.stream));
  }

  /**
   * Waits until `done()` holds or the connection closes, at most `ms`; returns whether it
   * holds.
   */
  async until(done: () => boolean, ms = 5000): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (!done() && !this.socket.destroyed) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, left);
        function wake(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.add(wake);
      });
    }
    return done();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #onData(data: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? data : Buffer.concat([this.#buffer, data]);
    while (this.#buffer.length >= 9) {
      const length = this.#buffer.readUIntBE(0, 3);
      if (this.#buffer.length < 9 + length) break;
      const f = {
        type: this.#buffer[3] as number,
        flags: this.#buffer[4] as number,
        stream: this.#buffer.readUInt32BE(5) & 0x7fffffff,
        payload: this.#buffer.subarray(9, 9 + length),
      };
      this.#buffer = this.#buffer.subarray(9 + length);
      this.frames.push(f);
      // SETTINGS must be acknowledged (RFC 9113 6.5.3).
      if (f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0) {
        this.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
      }
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}
