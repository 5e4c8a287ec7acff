// Limits of `request.post()` form parsing. The sizes that aiohttp has (8190-byte part header
// lines, 128 part headers) keep its values; the others have no aiohttp counterpart.

/** Limits of form parsing in `request.post()`; the total size is `clientMaxSize`. */
export interface FormLimits {
  /** Most fields and files in one form; more is a 413. @default 1000 */
  maxParts?: number;
  /** Longest field name, bytes; longer is a 400. @default 1024 */
  maxFieldNameSize?: number;
  /** Longest header line of a multipart part, bytes; longer is a 400. @default 8190 */
  maxPartHeaderSize?: number;
  /** Most header lines in a multipart part; more is a 400. @default 128 */
  maxPartHeaders?: number;
  /**
   * Files up to this size stay in memory; larger ones are written to a temporary file that is
   * deleted when the request ends. @default 1048576 (1 MiB)
   */
  maxMemoryFileSize?: number;
}

/** Form limits with every default filled in. */
export type ResolvedFormLimits = Readonly<Required<FormLimits>>;

export const DEFAULT_FORM_LIMITS: ResolvedFormLimits = Object.freeze({
  maxParts: 1000,
  maxFieldNameSize: 1024,
  maxPartHeaderSize: 8190,
  maxPartHeaders: 128,
  maxMemoryFileSize: 1024 ** 2,
});

/** Fills in the defaults and checks the values. */
export function resolveFormLimits(limits: FormLimits = {}): ResolvedFormLimits {
  const out = { ...DEFAULT_FORM_LIMITS };
  for (const key of Object.keys(DEFAULT_FORM_LIMITS) as (keyof ResolvedFormLimits)[]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Invalid formLimits.${key}: ${value}`);
    }
    out[key] = value;
  }
  return Object.freeze(out);
}
