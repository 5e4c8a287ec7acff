// Range requests (RFC 9110 14): which bytes of a representation a `Range: bytes=...` asks for.

/** Bytes `start` to `end` of a representation, both included. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * What to do with a Range header: `ignore` it and send the whole representation (no header,
 * another unit, invalid syntax, too many ranges), answer 416 (`unsatisfiable`), or send the
 * `ranges` (206), one or several.
 */
export type RangeRequest =
  | { kind: "ignore" }
  | { kind: "unsatisfiable" }
  | { kind: "ranges"; ranges: ByteRange[] };

/**
 * More ranges than this in one request are ignored (the whole representation is sent): RFC
 * 9110 14.2 lets a server ignore a Range with many small or overlapping ranges, and a request
 * for thousands of one-byte parts costs the server far more than the file. nginx's
 * `max_ranges` does the same.
 */
export const MAX_RANGES = 100;

const IGNORE: RangeRequest = { kind: "ignore" };
const INT_RANGE = /^(\d+)-(\d*)$/;
const SUFFIX_RANGE = /^-(\d+)$/;

/** The ranges a Range header asks of a representation of `size` bytes. */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return IGNORE;
  const eq = header.indexOf("=");
  // RFC 9110 14.1: range units are case-insensitive; other units are ignored.
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== "bytes") return IGNORE;
  const specs = header.slice(eq + 1).split(",");
  if (specs.length > MAX_RANGES) return IGNORE;
  const ranges: ByteRange[] = [];
  let suffixOfEmpty = false;
  let seen = 0;
  for (const raw of specs) {
    const spec = raw.trim();
    // RFC 9110 5.6.1: empty list elements are allowed and do not count.
    if (spec === "") continue;
    seen++;
    let m = INT_RANGE.exec(spec);
    if (m !== null) {
      const first = Number(m[1]);
      const last = m[2] === "" ? Number.POSITIVE_INFINITY : Number(m[2]);
      // RFC 9110 14.1.1: a last position before the first makes the header invalid.
      if (last < first) return IGNORE;
      if (first < size) ranges.push({ start: first, end: Math.min(last, size - 1) });
      continue;
    }
    m = SUFFIX_RANGE.exec(spec);
    if (m === null) return IGNORE;
    const length = Number(m[1]);
    if (length === 0) continue;
    if (size === 0) suffixOfEmpty = true;
    else ranges.push({ start: Math.max(0, size - length), end: size - 1 });
  }
  if (seen === 0) return IGNORE;
  if (ranges.length === 0) {
    // RFC 9110 14.1.3: of an empty representation only a suffix range is satisfiable, and it
    // selects nothing; the empty representation is sent whole.
    return suffixOfEmpty ? IGNORE : { kind: "unsatisfiable" };
  }
  return { kind: "ranges", ranges: coalesce(ranges) };
}

/**
 * The ranges as asked, unless some overlap or touch: then they are merged and sorted (RFC 9110
 * 14.2 and 15.3.7.2 allow coalescing), so that no byte is sent twice.
 */
function coalesce(ranges: ByteRange[]): ByteRange[] {
  if (ranges.length === 1) return ranges;
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let overlapping = false;
  for (let i = 1; i < sorted.length && !overlapping; i++) {
    overlapping = sorted[i]!.start <= sorted[i - 1]!.end + 1;
  }
  if (!overlapping) return ranges;
  const merged: ByteRange[] = [{ ...sorted[0]! }];
  for (let i = 1; i < sorted.length; i++) {
    const range = sorted[i]!;
    const top = merged[merged.length - 1]!;
    if (range.start <= top.end + 1) top.end = Math.max(top.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}

/** The Content-Range of a range of a representation of `size` bytes. */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}
