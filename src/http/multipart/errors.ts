// Errors of the multipart reader. The server maps them to 400 (malformed) and 413 (a limit);
// the client can map them to its payload error through the reader's `mapError` option.

/** Machine-readable codes of {@link MultipartError}. */
export type MultipartErrorCode =
  /** The body is not valid multipart: missing final delimiter, truncated, a part's head unterminated. */
  | "AIOHTTP_MULTIPART_MALFORMED"
  /** The Content-Type is not `multipart/*`, or its boundary is missing or invalid. */
  | "AIOHTTP_MULTIPART_BOUNDARY"
  /** A part's Content-Transfer-Encoding, Content-Encoding or charset cannot be decoded. */
  | "AIOHTTP_MULTIPART_ENCODING"
  /** A part's headers are over a limit; see {@link MultipartLimitError}. */
  | "AIOHTTP_MULTIPART_LIMIT";

/** A multipart body could not be read. `code` says why. */
export class MultipartError extends Error {
  override name = "MultipartError";
  /** Stable machine-readable code. */
  readonly code: MultipartErrorCode;

  /**
   * @param message what went wrong
   * @param code why, @default "AIOHTTP_MULTIPART_MALFORMED"
   * @param cause the underlying error, if any
   */
  constructor(
    message: string,
    code: MultipartErrorCode = "AIOHTTP_MULTIPART_MALFORMED",
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

/** Which limit of the multipart reader was exceeded. */
export type MultipartLimit = "headerSize" | "headerCount" | "decodedSize";

/** A part's header block is larger than `maxHeaderSize` or has more than `maxHeaderCount` fields,
 * or its content decodes to more than `maxDecodedSize` bytes. */
export class MultipartLimitError extends MultipartError {
  override name = "MultipartLimitError";
  /** Which limit: `"headerSize"` (bytes), `"headerCount"` (fields), `"decodedSize"` (bytes). */
  readonly limit: MultipartLimit;
  /** The limit's value. */
  readonly max: number;
  /** What the part had (for `headerSize` and `decodedSize`, at least this much: counting stops past the limit). */
  readonly actual: number;

  /**
   * @param limit which limit was exceeded
   * @param max the limit's value
   * @param actual what the part had
   */
  constructor(limit: MultipartLimit, max: number, actual: number) {
    const what = LIMIT_WHAT[limit];
    super(`More than ${max} ${what} (got ${actual})`, "AIOHTTP_MULTIPART_LIMIT");
    this.limit = limit;
    this.max = max;
    this.actual = actual;
  }
}

const LIMIT_WHAT: Record<MultipartLimit, string> = {
  headerSize: "bytes of part headers",
  headerCount: "part header fields",
  decodedSize: "bytes of decoded part content",
};
