// Options and shared types of the multipart readers.

import type { MultipartError } from "./errors.js";

/** Options of {@link MultipartReader}, inherited by nested readers and their parts. */
export interface MultipartReaderOptions {
  /**
   * Most bytes in a part's header block: its lines and their CRLFs, without the empty line that
   * ends it. A larger block fails with `MultipartLimitError` (the parser stops keeping it past
   * the limit, so memory stays bounded). aiohttp applies its 8190 to each header line; here it
   * bounds the block, which real parts (a few hundred bytes) are far from.
   * @default 8190
   */
  maxHeaderSize?: number;
  /**
   * Most header fields in a part; more fail with `MultipartLimitError`.
   * @default 128
   */
  maxHeaderCount?: number;
  /**
   * Most bytes a part's content may decode to in `read({ decode: true })`, `text()`, `json()`
   * and `form()`; more fails with `MultipartLimitError` (413 on the server) instead of
   * inflating a compression bomb into memory. `0` removes the limit.
   * @default 64 MiB
   */
  maxDecodedSize?: number;
  /**
   * Turns the reader's own errors into the errors that reads reject with; the server maps them
   * to HTTP 400/413, the client can map them to its payload error. Errors of the source (the
   * connection went away) are not passed through it.
   * @default the error as is
   */
  mapError?: (err: MultipartError) => Error;
}

/** {@link MultipartReaderOptions} with the defaults applied. */
export interface ResolvedMultipartOptions {
  readonly maxHeaderSize: number;
  readonly maxHeaderCount: number;
  readonly maxDecodedSize: number;
  readonly mapError: (err: MultipartError) => Error;
}
