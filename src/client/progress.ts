// Progress callbacks (`onUploadProgress`, `onDownloadProgress`): a stream stage that counts the
// bytes passing through it and tells the caller after each chunk.

import { Transform, type TransformCallback } from "node:stream";

/** `({ transferred, total })`: bytes so far, and all of them (`null` when not known). */
export interface Progress {
  readonly transferred: number;
  readonly total: number | null;
}

/** A progress callback (`onUploadProgress`, `onDownloadProgress`). */
export type ProgressCallback = (progress: Progress) => void;

/**
 * Counts the bytes its reader takes: with a one-chunk buffer (`readableHighWaterMark: 1` in
 * object mode, for uploads) the count runs at most a chunk ahead of the reader. A callback that
 * throws fails the stream with its error, kept in `thrown`.
 */
export class ProgressCounter extends Transform {
  readonly #onProgress: ProgressCallback;
  readonly #total: number | null;
  #transferred = 0;
  /** The error the callback threw, if it did. */
  thrown: unknown;

  constructor(onProgress: ProgressCallback, total: number | null, objectMode: boolean) {
    super(objectMode ? { readableObjectMode: true, readableHighWaterMark: 1 } : {});
    this.#onProgress = onProgress;
    this.#total = total;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.push(chunk);
    this.#transferred += chunk.byteLength;
    this.#report(callback);
  }

  override _flush(callback: TransformCallback): void {
    // An empty body still reports once, so every body ends with a report of all of it.
    if (this.#transferred === 0) this.#report(callback);
    else callback();
  }

  #report(callback: TransformCallback): void {
    try {
      this.#onProgress({ transferred: this.#transferred, total: this.#total });
    } catch (err) {
      this.thrown = err;
      callback(err as Error);
      return;
    }
    callback();
  }
}
