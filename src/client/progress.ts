// Progress callbacks (`onUploadProgress`, `onDownloadProgress`): stream stages that count the
// bytes passing through them and tell the caller after each chunk.

import { Readable, Transform, type TransformCallback } from "node:stream";

/** `({ transferred, total })`: bytes so far, and all of them (`null` when not known). */
export interface Progress {
  readonly transferred: number;
  readonly total: number | null;
}

/** A progress callback (`onUploadProgress`, `onDownloadProgress`). */
export type ProgressCallback = (progress: Progress) => void;

/**
 * `source` as a stream that reports each chunk once its reader has taken it: undici writes a
 * chunk to the socket as it takes it, so nothing is counted before it is sent (nor at all when
 * an `expect100` request gets its answer first). A callback that throws fails the stream with
 * its error. In object mode, so that undici sends it chunked unless told a length.
 */
export function countedUpload(
  source: AsyncIterable<Uint8Array>,
  onProgress: ProgressCallback,
  total: number | null,
): Readable {
  async function* counted(): AsyncGenerator<Uint8Array> {
    let transferred = 0;
    for await (const chunk of source) {
      yield chunk;
      // Resumed: the reader took the chunk and asks for the next one.
      transferred += chunk.byteLength;
      onProgress({ transferred, total });
    }
    // An empty body still reports once, so every body ends with a report of all of it.
    if (transferred === 0) onProgress({ transferred: 0, total });
  }
  return Readable.from(counted(), { objectMode: true, highWaterMark: 1 });
}

/**
 * Counts the bytes its reader takes, as the reader pulls them (for downloads). A callback that
 * throws fails the stream with its error, kept in `thrown`.
 * @internal
 */
export class ProgressCounter extends Transform {
  readonly #onProgress: ProgressCallback;
  readonly #total: number | null;
  #transferred = 0;
  /** The error the callback threw, if it did. */
  thrown: unknown;

  constructor(onProgress: ProgressCallback, total: number | null) {
    super();
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
