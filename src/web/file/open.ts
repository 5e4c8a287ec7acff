// Opens the file a FileResponse sends: the file itself or a precompressed sibling (`.br`,
// `.zst`, `.gz`) the client accepts, checked to be a regular file on the open descriptor.

import { type BigIntStats, constants as fsc, lstatSync, type Stats } from "node:fs";
import { realpath } from "node:fs/promises";
import { sep } from "node:path";
import { HAS_ZSTD } from "../../http/compression.js";
import type { AcceptsCoding } from "./accept-encoding.js";
import { type FileHandle, openFileHandle } from "./descriptor.js";

/**
 * Whether a precompressed sibling that is a symbolic link may be sent: `never` (aiohttp's
 * FileResponse: siblings are looked at with lstat), `always`, or when its real path lies
 * under `root` (a real path itself), the rule of a static route without `followSymlinks`.
 */
export type SiblingSymlinks = "never" | "always" | { root: string };

/** A precompressed sibling's coding and file suffix, in order of preference. */
interface SiblingKind {
  coding: string;
  suffix: string;
}

// br compresses text best, zstd decodes fastest, gzip is what every client takes.
const SIBLINGS: readonly SiblingKind[] = [
  { coding: "br", suffix: ".br" },
  ...(HAS_ZSTD ? [{ coding: "zstd", suffix: ".zst" }] : []),
  { coding: "gzip", suffix: ".gz" },
];

/** The file to send. */
export interface OpenedFile {
  kind: "file";
  handle: FileHandle;
  stats: BigIntStats;
  /** The Content-Encoding of a precompressed sibling, `null` for the file itself. */
  coding: string | null;
  /** Whether a sibling exists, so the representation depends on Accept-Encoding. */
  varies: boolean;
}

/** The file, or why it cannot be sent: `missing` answers 404, `forbidden` 403. */
export type OpenResult = OpenedFile | { kind: "missing" | "forbidden"; varies: boolean };

// O_NONBLOCK: opening a FIFO would otherwise wait for a writer, holding a thread of libuv's
// pool for good. It changes nothing for regular files, the only kind sent.
const READ_FLAGS = fsc.O_RDONLY | fsc.O_NONBLOCK;

/**
 * Opens the sibling of `path` preferred among those `accepts` takes, else `path`. The
 * siblings are looked up even when none is accepted: their existence makes the response vary
 * with Accept-Encoding (RFC 9110 12.5.5).
 */
export async function openFile(
  path: string,
  accepts: AcceptsCoding | null,
  symlinks: SiblingSymlinks,
): Promise<OpenResult> {
  const opening = openRegular(path, READ_FLAGS);
  const found = accepts === null ? [] : SIBLINGS.map((kind) => lstatOrNull(path + kind.suffix));
  const main = await opening;
  let varies = false;
  for (const [i, kind] of SIBLINGS.entries()) {
    const st = found[i];
    if (st === undefined || st === null) continue;
    if (!(st.isFile() || (st.isSymbolicLink() && symlinks !== "never"))) continue;
    varies = true;
    if (!accepts?.(kind.coding)) continue;
    const sibling = await openSibling(path + kind.suffix, st, symlinks);
    if (sibling === null) continue;
    if (main.kind === "file") void main.handle.close().catch(ignore);
    return {
      kind: "file",
      handle: sibling.handle,
      stats: sibling.stats,
      coding: kind.coding,
      varies,
    };
  }
  if (main.kind !== "file") return { kind: main.kind, varies };
  return { kind: "file", handle: main.handle, stats: main.stats, coding: null, varies };
}

type Regular =
  | { kind: "file"; handle: FileHandle; stats: BigIntStats }
  | { kind: "missing" | "forbidden" };

/** Opens a file and checks, on the descriptor, that it is a regular file. */
async function openRegular(path: string, flags: number): Promise<Regular> {
  let handle: FileHandle;
  try {
    handle = await openFileHandle(path, flags);
  } catch (err) {
    return { kind: openFailure(err) };
  }
  try {
    const stats = await handle.stat();
    if (stats.isFile()) return { kind: "file", handle, stats };
  } catch (err) {
    void handle.close().catch(ignore);
    throw err;
  }
  // A directory, socket, FIFO or device: forbidden, as aiohttp answers.
  void handle.close().catch(ignore);
  return { kind: "forbidden" };
}

/** Opens a sibling its lstat found, following a symlink only where the rule allows. */
async function openSibling(
  path: string,
  st: Stats,
  symlinks: SiblingSymlinks,
): Promise<{ handle: FileHandle; stats: BigIntStats } | null> {
  let flags = READ_FLAGS;
  if (st.isSymbolicLink()) {
    if (typeof symlinks === "object" && !(await isUnder(path, symlinks.root))) return null;
  } else {
    // O_NOFOLLOW: a file swapped for a symlink since the lstat is not followed.
    flags |= fsc.O_NOFOLLOW;
  }
  try {
    const opened = await openRegular(path, flags);
    return opened.kind === "file" ? opened : null;
  } catch {
    return null;
  }
}

/** Whether the real path of `path` lies under the directory `root` (a real path). */
async function isUnder(path: string, root: string): Promise<boolean> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return false;
  }
  const prefix = root.endsWith(sep) ? root : root + sep;
  return real.startsWith(prefix);
}

/**
 * The lstat of a sibling, `null` when there is none. Synchronous on purpose: every file
 * response looks up its three siblings, almost always to find nothing, and an lstat that
 * misses is a microsecond-long syscall answered from the kernel's dentry cache, while a trip
 * through libuv's thread pool costs far more (1.3 µs of CPU against 18 µs for a callback
 * lstat; three lookups through fs/promises took 40% off the requests/s of a 1 KiB file in
 * bench/file-send.ts). The open of the file itself, which may touch the disk, stays
 * asynchronous and runs meanwhile.
 */
function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

/** 404 for what does not exist, 403 for what may not be read, as aiohttp answers. */
function openFailure(err: unknown): "missing" | "forbidden" {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM" || code === "EISDIR") return "forbidden";
  // ERR_INVALID_ARG_VALUE: a NUL byte in the path, which names no file.
  if (
    code === "ENOENT" ||
    code === "ENOTDIR" ||
    code === "ELOOP" ||
    code === "ENAMETOOLONG" ||
    code === "ERR_INVALID_ARG_VALUE"
  ) {
    return "missing";
  }
  throw err;
}

function ignore(): void {}
