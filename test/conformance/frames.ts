// RFC 6455 frames as bytes: the conformance client builds its frames by hand (masked or not,
// any opcode, reserved bits, length encoding) and parses what the server sends back.
import { randomBytes } from "node:crypto";
import { constants, deflateRawSync, inflateRawSync } from "node:zlib";

export const OP = {
  CONT: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** RSV bits of the first byte, RFC 6455 5.2. */
export const RSV1 = 0x40;
export const RSV2 = 0x20;
export const RSV3 = 0x10;

/** What goes into one client frame. */
export interface FrameSpec {
  opcode: number;
  payload?: string | Uint8Array;
  /** @default true */
  fin?: boolean;
  /** RSV1 | RSV2 | RSV3 bits. @default 0 */
  rsv?: number;
  /** RFC 6455 5.3: clients mask every frame; `false` sends it in the clear. @default true */
  masked?: boolean;
}

/** Bytes of a string or byte payload. */
export function bytes(payload: string | Uint8Array = ""): Buffer {
  return typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
}

/** One client frame, the length in the shortest form (5.2). */
export function frame(spec: FrameSpec): Buffer {
  const data = bytes(spec.payload);
  const masked = spec.masked ?? true;
  const first = ((spec.fin ?? true) ? 0x80 : 0) | (spec.rsv ?? 0) | spec.opcode;
  const maskBit = masked ? 0x80 : 0;
  let head: Buffer;
  if (data.length < 126) {
    head = Buffer.from([first, maskBit | data.length]);
  } else if (data.length < 0x10000) {
    head = Buffer.from([first, maskBit | 126, 0, 0]);
    head.writeUInt16BE(data.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = maskBit | 127;
    head.writeBigUInt64BE(BigInt(data.length), 2);
  }
  if (!masked) return Buffer.concat([head, data]);
  const mask = randomBytes(4);
  const out = Buffer.concat([head, mask, data]);
  const start = head.length + 4;
  for (let i = 0; i < data.length; i++)
    out[start + i] = (data[i] as number) ^ (mask[i & 3] as number);
  return out;
}

/** A frame header announcing `length` payload bytes, masked, without the payload. */
export function frameHead(opcode: number, length: number): Buffer {
  const head = Buffer.alloc(14);
  head[0] = 0x80 | opcode;
  head[1] = 0x80 | 127;
  head.writeBigUInt64BE(BigInt(length), 2);
  randomBytes(4).copy(head, 10);
  return head;
}

export const text = (payload: string | Uint8Array, fin = true): Buffer =>
  frame({ opcode: OP.TEXT, payload, fin });
export const binary = (payload: string | Uint8Array, fin = true): Buffer =>
  frame({ opcode: OP.BINARY, payload, fin });
export const cont = (payload: string | Uint8Array, fin = true): Buffer =>
  frame({ opcode: OP.CONT, payload, fin });
export const ping = (payload: string | Uint8Array = ""): Buffer =>
  frame({ opcode: OP.PING, payload });
export const pong = (payload: string | Uint8Array = ""): Buffer =>
  frame({ opcode: OP.PONG, payload });

/** A close frame: no payload when `code` is undefined, else the code then the reason. */
export function close(code?: number, reason: string | Uint8Array = ""): Buffer {
  return frame({ opcode: OP.CLOSE, payload: closePayload(code, reason) });
}

export function closePayload(code?: number, reason: string | Uint8Array = ""): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code, 0);
  return Buffer.concat([head, bytes(reason)]);
}

/** `payload` cut into pieces of `size` bytes (at least one, possibly empty, piece). */
export function pieces(payload: string | Uint8Array, size: number): Buffer[] {
  const data = bytes(payload);
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out.length === 0 ? [Buffer.alloc(0)] : out;
}

/** A message as fragments of `size` bytes: the first frame `opcode`, then continuations. */
export function fragmented(opcode: number, payload: string | Uint8Array, size: number): Buffer[] {
  const parts = pieces(payload, size);
  return parts.map((part, i) =>
    frame({ opcode: i === 0 ? opcode : OP.CONT, payload: part, fin: i === parts.length - 1 }),
  );
}

// ---- permessage-deflate (RFC 7692) --------------------------------------------------------

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** 7.2.1: a message compressed on its own, the final empty block's 4 bytes removed. */
export function deflate(payload: string | Uint8Array): Buffer {
  const out = deflateRawSync(bytes(payload), { finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - TAIL.length);
}

/**
 * The server's compressed messages, decoded in order: with context takeover a message may refer
 * back up to 32 KiB into the output of earlier ones, given to zlib as a preset dictionary.
 */
export class Inflater {
  #window: Buffer = Buffer.alloc(0);

  inflate(payload: Buffer): Buffer {
    const out = inflateRawSync(Buffer.concat([payload, TAIL]), {
      finishFlush: constants.Z_SYNC_FLUSH,
      ...(this.#window.length > 0 ? { dictionary: this.#window } : {}),
    });
    const history = Buffer.concat([this.#window, out]);
    this.#window = history.subarray(Math.max(0, history.length - WINDOW));
    return out;
  }
}

/** RFC 1951: the farthest a deflate back-reference reaches. */
const WINDOW = 32 * 1024;

// ---- server frames -------------------------------------------------------------------------

/** A frame the server sent. */
export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Takes complete frames off the front of `buf`; returns them and what is left. */
export function parseFrames(buf: Buffer): { frames: ServerFrame[]; rest: Buffer } {
  const frames: ServerFrame[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    const b0 = buf[at] as number;
    const b1 = buf[at + 1] as number;
    let len = b1 & 0x7f;
    let offset = at + 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      offset = at + 4;
    } else if (len === 127) {
      if (buf.length - at < 10) break;
      len = Number(buf.readBigUInt64BE(at + 2));
      offset = at + 10;
    }
    const masked = (b1 & 0x80) !== 0;
    const mask = masked ? buf.subarray(offset, offset + 4) : null;
    if (masked) offset += 4;
    if (buf.length < offset + len) break;
    const payload = Buffer.from(buf.subarray(offset, offset + len));
    if (mask !== null) {
      for (let i = 0; i < len; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
    }
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: b0 & 0x70, opcode: b0 & 0x0f, masked, payload });
    at = offset + len;
  }
  return { frames, rest: buf.subarray(at) };
}
