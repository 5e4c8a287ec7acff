// Reads WebSocket frames (RFC 6455 5) from a client into messages, as `ws`'s Receiver does for
// a server, with the same checks, limits, error codes and close codes, but as plain state on
// the connection object rather than a Writable stream of its own: an idle connection keeps a
// few numbers, not a stream.

import { isUtf8 } from "node:buffer";

/** A frame or message the protocol forbids; `closeCode` is what the connection closes with. */
export class FrameError extends RangeError {
  override readonly name = "FrameError";
  /** `ws`'s code for the same failure (`WS_ERR_...`). */
  readonly code: string;
  readonly closeCode: number;
  constructor(message: string, code: string, closeCode: number) {
    super(message);
    this.code = code;
    this.closeCode = closeCode;
  }
}

/** An error that carries the close code the connection answers it with. */
export type ClosingError = Error & { closeCode?: number };

/** Limits of a parser; `ws`'s server defaults are the caller's. */
export interface FrameLimits {
  /** Largest message, inflated (0: none). */
  readonly maxPayload: number;
  /** Most frames in one message (0: none). */
  readonly maxFragments: number;
  /** Most unread chunks held (0: none). */
  readonly maxBufferedChunks: number;
}

const GET_INFO = 0;
const GET_LENGTH_16 = 1;
const GET_LENGTH_64 = 2;
const GET_MASK = 3;
const GET_DATA = 4;
const INFLATING = 5;
/** A failure waits to be told (see #fail). */
const FAILING = 6;

const EMPTY: Buffer = Buffer.alloc(0);
/** While inflating, chunks wait; past this many bytes the socket is paused (a Writable's mark). */
export const PARSER_HIGH_WATER_MARK = 16 * 1024;

function invalidFrame(message: string, code: string, closeCode = 1002): FrameError {
  return new FrameError(`Invalid WebSocket frame: ${message}`, code, closeCode);
}

/** RFC 6455 7.4: the close codes a peer may send. */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/**
 * The receiving half of a server's WebSocket. A subclass feeds it the socket's chunks with
 * `parse()` and gets messages, control frames and failures through the hooks.
 */
export abstract class FrameParser {
  // Unread chunks: `null` while there are none (the idle state).
  #buffers: Buffer[] | null = null;
  #bufferedBytes = 0;
  #state = GET_INFO;
  #loop = false;
  /** A failure ended parsing for good; a close frame did too. */
  #stopped = false;
  #fin = false;
  #opcode = 0;
  #compressed = false;
  #payloadLength = 0;
  #mask: Buffer | null = null;
  /** The opcode of a fragmented message under way, 0 for none. */
  #fragmented = 0;
  #totalPayloadLength = 0;
  #messageLength = 0;
  #numFragments = 0;
  #fragments: Buffer[] | null = null;

  /** The limits (shared by every connection made with the same options). */
  protected abstract readonly limits: FrameLimits;
  /** Whether permessage-deflate was agreed (RSV1 allowed on data frames). */
  protected abstract get deflating(): boolean;
  /** Inflates a compressed payload. */
  protected abstract inflate(
    data: Buffer,
    fin: boolean,
    callback: (err: Error | null, data: Buffer) => void,
  ): void;
  protected abstract onMessage(data: Buffer, binary: boolean): void;
  protected abstract onPing(data: Buffer): void;
  protected abstract onPong(data: Buffer): void;
  /** The peer's close frame: its code (1005 for none) and reason. Parsing stops. */
  protected abstract onCloseFrame(code: number, reason: Buffer): void;
  /** A protocol failure. Parsing stops. */
  protected abstract onFrameError(err: ClosingError): void;
  /** Parsing caught up after an inflation: nothing is pending. */
  protected abstract onIdle(): void;

  /** Whether an inflation is in flight, or a failure waits to be told. */
  protected get parserBusy(): boolean {
    return this.#state === INFLATING || this.#state === FAILING;
  }

  /** Bytes received and not yet parsed. */
  protected get parserBacklog(): number {
    return this.#bufferedBytes;
  }

  /** Takes a chunk from the socket and reads every whole frame it completes. */
  protected parse(chunk: Buffer): void {
    // After a close frame or a failure, nothing more is read.
    if (this.#stopped) return;
    const buffers = (this.#buffers ??= []);
    const limit = this.limits.maxBufferedChunks;
    if (limit > 0 && buffers.length >= limit) {
      this.#fail(
        new FrameError("Too many buffered chunks", "WS_ERR_TOO_MANY_BUFFERED_PARTS", 1008),
      );
      return;
    }
    buffers.push(chunk);
    this.#bufferedBytes += chunk.length;
    if (this.#state !== INFLATING) this.#run();
  }

  #run(): void {
    this.#loop = true;
    do {
      switch (this.#state) {
        case GET_INFO:
          this.#getInfo();
          break;
        case GET_LENGTH_16:
          if (this.#bufferedBytes < 2) this.#loop = false;
          else {
            this.#payloadLength = this.#consume(2).readUInt16BE(0);
            this.#haveLength();
          }
          break;
        case GET_LENGTH_64:
          this.#getLength64();
          break;
        case GET_MASK:
          if (this.#bufferedBytes < 4) this.#loop = false;
          else {
            this.#mask = this.#consume(4);
            this.#state = GET_DATA;
          }
          break;
        case GET_DATA:
          this.#getData();
          break;
        default:
          this.#loop = false;
      }
    } while (this.#loop);
    if (this.#bufferedBytes === 0) this.#buffers = null;
  }

  #consume(n: number): Buffer {
    const buffers = this.#buffers as Buffer[];
    this.#bufferedBytes -= n;
    const first = buffers[0] as Buffer;
    if (n === first.length) return buffers.shift() as Buffer;
    if (n < first.length) {
      buffers[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const buf = buffers[0] as Buffer;
      const take = Math.min(buf.length, n - offset);
      out.set(take === buf.length ? buf : buf.subarray(0, take), offset);
      if (take === buf.length) buffers.shift();
      else buffers[0] = buf.subarray(take);
      offset += take;
    }
    return out;
  }

  /**
   * Stops parsing for good, and tells of the failure once the messages before it had their
   * turn: a handler echoing a message that came in the same packet as a bad frame gets its
   * echo out before the close frame (as Autobahn prefers), instead of finding the connection
   * failed.
   */
  #fail(err: ClosingError): void {
    this.#loop = false;
    this.#state = FAILING;
    this.#stopped = true;
    this.#buffers = null;
    this.#bufferedBytes = 0;
    this.#fragments = null;
    setImmediate(() => {
      this.#state = GET_INFO;
      this.onFrameError(err);
    });
  }

  #getInfo(): void {
    if (this.#bufferedBytes < 2) {
      this.#loop = false;
      return;
    }
    const head = this.#consume(2);
    const b0 = head[0] as number;
    const b1 = head[1] as number;
    if ((b0 & 0x30) !== 0) {
      this.#fail(invalidFrame("RSV2 and RSV3 must be clear", "WS_ERR_UNEXPECTED_RSV_2_3"));
      return;
    }
    const compressed = (b0 & 0x40) === 0x40;
    if (compressed && !this.deflating) {
      this.#rsv1();
      return;
    }
    this.#fin = (b0 & 0x80) === 0x80;
    let opcode = b0 & 0x0f;
    this.#payloadLength = b1 & 0x7f;
    if (opcode === 0x00) {
      if (compressed) {
        this.#rsv1();
        return;
      }
      if (this.#fragmented === 0) {
        this.#fail(invalidFrame("invalid opcode 0", "WS_ERR_INVALID_OPCODE"));
        return;
      }
      opcode = this.#fragmented;
    } else if (opcode === 0x01 || opcode === 0x02) {
      if (this.#fragmented !== 0) {
        this.#fail(invalidFrame(`invalid opcode ${opcode}`, "WS_ERR_INVALID_OPCODE"));
        return;
      }
      this.#compressed = compressed;
    } else if (opcode > 0x07 && opcode < 0x0b) {
      if (!this.#fin) {
        this.#fail(invalidFrame("FIN must be set", "WS_ERR_EXPECTED_FIN"));
        return;
      }
      if (compressed) {
        this.#rsv1();
        return;
      }
      const length = this.#payloadLength;
      if (length > 0x7d || (opcode === 0x08 && length === 1)) {
        this.#fail(
          invalidFrame(`invalid payload length ${length}`, "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH"),
        );
        return;
      }
    } else {
      this.#fail(invalidFrame(`invalid opcode ${opcode}`, "WS_ERR_INVALID_OPCODE"));
      return;
    }
    this.#opcode = opcode;
    if (!this.#fin && this.#fragmented === 0) this.#fragmented = opcode;
    // RFC 6455 5.1: a client masks every frame.
    if ((b1 & 0x80) === 0) {
      this.#fail(invalidFrame("MASK must be set", "WS_ERR_EXPECTED_MASK"));
      return;
    }
    if (this.#payloadLength === 126) this.#state = GET_LENGTH_16;
    else if (this.#payloadLength === 127) this.#state = GET_LENGTH_64;
    else this.#haveLength();
  }

  #rsv1(): void {
    this.#fail(invalidFrame("RSV1 must be clear", "WS_ERR_UNEXPECTED_RSV_1"));
  }

  #getLength64(): void {
    if (this.#bufferedBytes < 8) {
      this.#loop = false;
      return;
    }
    const buf = this.#consume(8);
    const high = buf.readUInt32BE(0);
    // Past 2^53 - 1 a length is no longer exact as a JavaScript number.
    if (high > 2 ** 21 - 1) {
      this.#fail(
        new FrameError(
          "Unsupported WebSocket frame: payload length > 2^53 - 1",
          "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
          1009,
        ),
      );
      return;
    }
    this.#payloadLength = high * 2 ** 32 + buf.readUInt32BE(4);
    this.#haveLength();
  }

  #haveLength(): void {
    if (this.#payloadLength > 0 && this.#opcode < 0x08) {
      this.#totalPayloadLength += this.#payloadLength;
      const max = this.limits.maxPayload;
      if (max > 0 && this.#totalPayloadLength > max) {
        this.#fail(tooLarge());
        return;
      }
    }
    this.#state = GET_MASK;
  }

  #getData(): void {
    let data = EMPTY;
    const length = this.#payloadLength;
    if (length > 0) {
      if (this.#bufferedBytes < length) {
        this.#loop = false;
        return;
      }
      data = this.#consume(length);
      const mask = this.#mask as Buffer;
      if (
        ((mask[0] as number) | (mask[1] as number) | (mask[2] as number) | (mask[3] as number)) !==
        0
      ) {
        unmask(data, mask);
      }
    }
    // A view into the socket's chunk: kept, it would pin that chunk while the connection idles.
    this.#mask = null;
    if (this.#opcode > 0x07) {
      this.#controlFrame(data);
      return;
    }
    const maxFragments = this.limits.maxFragments;
    if (maxFragments > 0 && ++this.#numFragments > maxFragments) {
      this.#fail(
        new FrameError("Too many message fragments", "WS_ERR_TOO_MANY_BUFFERED_PARTS", 1008),
      );
      return;
    }
    if (this.#compressed) {
      this.#state = INFLATING;
      this.#loop = false;
      this.inflate(data, this.#fin, (err, out) => this.#inflated(err, out));
      return;
    }
    if (data.length > 0) {
      // Not compressed: the message is as long as its frames' payloads.
      this.#messageLength = this.#totalPayloadLength;
      (this.#fragments ??= []).push(data);
    }
    this.#dataFrame();
  }

  #inflated(err: Error | null, data: Buffer): void {
    if (this.#stopped) return;
    if (err !== null) {
      this.#fail(err);
      return;
    }
    if (data.length > 0) {
      this.#messageLength += data.length;
      const max = this.limits.maxPayload;
      if (max > 0 && this.#messageLength > max) {
        this.#fail(tooLarge());
        return;
      }
      (this.#fragments ??= []).push(data);
    }
    this.#dataFrame();
    if (this.#state === GET_INFO && !this.#stopped && this.#bufferedBytes > 0) this.#run();
    // Caught up (a whole frame or part of one may still wait for bytes: the socket must be
    // read again). A failure (FAILING) is told later, and its telling does what idling would.
    if (this.#state !== INFLATING && this.#state !== FAILING) this.onIdle();
  }

  #dataFrame(): void {
    this.#state = GET_INFO;
    if (!this.#fin) return;
    const length = this.#messageLength;
    const fragments = this.#fragments;
    const binary = this.#opcode === 0x02;
    this.#totalPayloadLength = 0;
    this.#messageLength = 0;
    this.#fragmented = 0;
    this.#numFragments = 0;
    this.#fragments = null;
    const data =
      fragments === null
        ? EMPTY
        : fragments.length === 1
          ? (fragments[0] as Buffer)
          : Buffer.concat(fragments, length);
    if (!binary && !isUtf8(data)) {
      this.#fail(invalidFrame("invalid UTF-8 sequence", "WS_ERR_INVALID_UTF8", 1007));
      return;
    }
    this.onMessage(data, binary);
  }

  #controlFrame(data: Buffer): void {
    this.#state = GET_INFO;
    if (this.#opcode === 0x08) {
      let code = 1005;
      let reason = EMPTY;
      if (data.length > 0) {
        code = data.readUInt16BE(0);
        if (!isValidCloseCode(code)) {
          this.#fail(invalidFrame(`invalid status code ${code}`, "WS_ERR_INVALID_CLOSE_CODE"));
          return;
        }
        reason = data.subarray(2);
        if (!isUtf8(reason)) {
          this.#fail(invalidFrame("invalid UTF-8 sequence", "WS_ERR_INVALID_UTF8", 1007));
          return;
        }
      }
      this.#loop = false;
      this.#stopped = true;
      this.#buffers = null;
      this.#bufferedBytes = 0;
      this.onCloseFrame(code, reason);
      return;
    }
    if (this.#opcode === 0x09) this.onPing(data);
    else this.onPong(data);
  }
}

function tooLarge(): FrameError {
  return new FrameError("Max payload size exceeded", "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", 1009);
}

// Word-wise XOR needs the platform's byte order to be the wire's view of the mask.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * RFC 6455 5.3: undoes the client's masking, in place. Past a few bytes it works four at a
 * time on the aligned middle of the payload: 64 KiB messages spent most of their CPU here.
 */
function unmask(data: Buffer, mask: Buffer): void {
  const length = data.length;
  let i = 0;
  if (LITTLE_ENDIAN && length >= 32) {
    const lead = (4 - (data.byteOffset & 3)) & 3;
    for (; i < lead; i++) data[i] = (data[i] as number) ^ (mask[i & 3] as number);
    const words = (length - i) >> 2;
    // The mask as a little-endian word starting at byte `i` of the payload.
    const word =
      (mask[i & 3] as number) |
      ((mask[(i + 1) & 3] as number) << 8) |
      ((mask[(i + 2) & 3] as number) << 16) |
      ((mask[(i + 3) & 3] as number) << 24);
    const view = new Int32Array(data.buffer, data.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] = (view[w] as number) ^ word;
    i += words * 4;
  }
  for (; i < length; i++) data[i] = (data[i] as number) ^ (mask[i & 3] as number);
}
