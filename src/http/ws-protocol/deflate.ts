// permessage-deflate (RFC 7692) for one connection: a raw inflater and deflater made on first
// use, with the agreed windows and context takeover. zlib work runs on node's thread pool; as
// in `ws`, at most ten operations are in flight at once across the process (zlib under heavy
// concurrency fragments memory badly: nodejs/node#8871).

import {
  constants,
  createDeflateRaw,
  createInflateRaw,
  type DeflateRaw,
  type InflateRaw,
} from "node:zlib";
import type { DeflateParams } from "./handshake.js";

/** An inflated message went past the connection's limit (RFC 6455 7.4.1: 1009). */
export class InflatedTooLargeError extends RangeError {
  override readonly name = "InflatedTooLargeError";
  readonly code = "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";
}

type Done = () => void;
type Job = (done: Done) => void;

/** Runs zlib jobs, `limit` at a time. */
class Limiter {
  readonly #limit: number;
  readonly #jobs: Job[] = [];
  #running = 0;
  readonly #done: Done = () => {
    this.#running--;
    this.#next();
  };

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(job: Job): void {
    this.#jobs.push(job);
    this.#next();
  }

  #next(): void {
    if (this.#running === this.#limit) return;
    const job = this.#jobs.shift();
    if (job === undefined) return;
    this.#running++;
    job(this.#done);
  }
}

const limiter = new Limiter(10);
// RFC 7692 7.2.1: the empty stored block each compressed message ends with, left out on the
// wire and put back before inflating.
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

type Callback = (err: Error | null, data: Buffer) => void;
const EMPTY = Buffer.alloc(0);

/** Collects what one zlib stream produces for one message. */
interface Output {
  chunks: Buffer[];
  length: number;
  /** An inflated message past the limit. */
  error: Error | null;
}

/** A connection's permessage-deflate state (the server's side). */
export class MessageDeflate {
  readonly #params: DeflateParams;
  readonly #maxPayload: number;
  #inflate: InflateRaw | null = null;
  #inflated: Output | null = null;
  /** The inflation in flight, told of a zlib error (corrupt data). */
  #inflateCallback: Callback | null = null;
  #deflate: DeflateRaw | null = null;
  #deflated: Output | null = null;
  /** The compression in flight, told of a close that cuts it short. */
  #deflateCallback: Callback | null = null;
  /** cleanup() ran: a job still waiting for its turn must not make zlib streams again. */
  #closed = false;

  constructor(params: DeflateParams, maxPayload: number) {
    this.#params = params;
    this.#maxPayload = maxPayload;
  }

  /** Inflates a frame's payload; `fin` ends the message. */
  decompress(data: Buffer, fin: boolean, callback: Callback): void {
    this.#inTurn((done) => this.#decompress(data, fin, done), callback);
  }

  /** Deflates a message or fragment; `fin` ends the message (its 4-byte tail left out). */
  compress(data: Buffer | string, fin: boolean, callback: Callback): void {
    this.#inTurn((done) => this.#compress(data, fin, done), callback);
  }

  /** Runs `work` when the limiter gives it a turn, and frees the turn when it calls back. */
  #inTurn(work: (done: Callback) => void, callback: Callback): void {
    limiter.add((release) => {
      if (this.#closed) {
        release();
        callback(closedError(), EMPTY);
        return;
      }
      work((err, out) => {
        release();
        callback(err, out);
      });
    });
  }

  /**
   * The connection closed: zlib's memory goes at once, and an operation in flight fails (its
   * callback is told, which also frees its place among the ten).
   */
  cleanup(): void {
    this.#closed = true;
    if (this.#inflate !== null) {
      this.#dropInflater();
      const callback = this.#inflateCallback;
      this.#inflateCallback = null;
      callback?.(closedError(), EMPTY);
    }
    const deflate = this.#deflate;
    if (deflate !== null) {
      this.#deflate = null;
      deflate.close();
      const callback = this.#deflateCallback;
      this.#deflateCallback = null;
      callback?.(closedError(), EMPTY);
    }
  }

  /** The inflater is done with (it failed, its stream ended, or the connection closed). */
  #dropInflater(): void {
    this.#inflate?.close();
    this.#inflate = null;
    this.#inflated = null;
  }

  #decompress(data: Buffer, fin: boolean, callback: Callback): void {
    const stream = this.#inflate ?? this.#newInflater();
    const out = this.#inflated as Output;
    this.#inflateCallback = callback;
    stream.write(data);
    if (fin) stream.write(TRAILER);
    stream.flush(() => {
      if (this.#inflate !== stream) return;
      this.#inflateCallback = null;
      if (out.error !== null) {
        this.#dropInflater();
        callback(out.error, EMPTY);
        return;
      }
      const result = take(out);
      // The peer's data held a final deflate block: that stream is over, and the next message
      // starts a new one (as `ws` does), with no window behind it.
      if (stream.readableEnded) this.#dropInflater();
      else if (fin && this.#params.clientNoContextTakeover) stream.reset();
      callback(null, result);
    });
  }

  /** The inflater for the client's messages, with the agreed window; past the limit it stops. */
  #newInflater(): InflateRaw {
    const windowBits = this.#params.clientMaxWindowBits ?? constants.Z_DEFAULT_WINDOWBITS;
    const stream = createInflateRaw({ windowBits });
    const out: Output = { chunks: [], length: 0, error: null };
    const max = this.#maxPayload;
    const onData = (chunk: Buffer): void => {
      out.length += chunk.length;
      if (max < 1 || out.length <= max) {
        out.chunks.push(chunk);
        return;
      }
      out.error = Object.assign(new InflatedTooLargeError("Max payload size exceeded"), {
        closeCode: 1009,
      });
      stream.removeListener("data", onData);
      // reset(), not close(): the flush callback still runs.
      stream.reset();
    };
    stream.on("data", onData);
    stream.on("error", (err: Error) => {
      // As in the flush callback: a stream already let go has nobody left to tell.
      if (this.#inflate !== stream) return;
      this.#dropInflater();
      const failed = this.#inflateCallback;
      this.#inflateCallback = null;
      // RFC 6455 7.4.1: data that cannot be inflated is inconsistent with the message type.
      failed?.(Object.assign(err, { closeCode: 1007 }), EMPTY);
    });
    this.#inflate = stream;
    this.#inflated = out;
    return stream;
  }

  #compress(data: Buffer | string, fin: boolean, callback: Callback): void {
    const stream = this.#deflate ?? this.#newDeflater();
    const out = this.#deflated as Output;
    this.#deflateCallback = callback;
    stream.write(data);
    stream.flush(constants.Z_SYNC_FLUSH, () => {
      // Closed while compressing: cleanup() told the callback.
      if (this.#deflate !== stream) return;
      let result = take(out);
      if (fin) result = result.subarray(0, result.length - 4);
      this.#deflateCallback = null;
      if (fin && this.#params.serverNoContextTakeover) stream.reset();
      callback(null, result);
    });
  }

  /** The deflater for the server's messages, with the agreed window. */
  #newDeflater(): DeflateRaw {
    const windowBits = this.#params.serverMaxWindowBits ?? constants.Z_DEFAULT_WINDOWBITS;
    const stream = createDeflateRaw({ windowBits });
    const out: Output = { chunks: [], length: 0, error: null };
    stream.on("data", (chunk: Buffer) => {
      out.chunks.push(chunk);
      out.length += chunk.length;
    });
    this.#deflate = stream;
    this.#deflated = out;
    return stream;
  }
}

function closedError(): Error {
  return new Error("The connection closed while zlib was processing its data");
}

/** What `out` collected for one message; `out` starts empty for the next. */
function take(out: Output): Buffer {
  const chunks = out.chunks;
  const result = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, out.length);
  out.chunks = [];
  out.length = 0;
  return result;
}
