// Temporary files of uploads that are too large to keep in memory: one directory per request,
// made when the first file spills and removed with everything in it when the request ends.

import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The temporary directory of one request. */
export class UploadDir {
  #dir: Promise<string> | null = null;
  #count = 0;
  #removed = false;

  /** A path for a new file in the directory, which is made on first use. */
  async newFile(): Promise<string> {
    if (this.#removed) throw new Error("The request has ended; its uploads are deleted");
    this.#dir ??= mkdtemp(join(tmpdir(), "aiohttp-ts-upload-"));
    const dir = await this.#dir;
    return join(dir, `part-${++this.#count}`);
  }

  /** Deletes the directory and its files; later `newFile()` calls fail. */
  async remove(): Promise<void> {
    this.#removed = true;
    if (this.#dir === null) return;
    const dir = await this.#dir.catch(() => null);
    if (dir !== null) await rm(dir, { recursive: true, force: true });
  }
}

// Keyed by Node's request rather than held by `Request`: clones made by middlewares share the
// node request, and the server that ends the request knows only the original.
const dirs = new WeakMap<IncomingMessage, UploadDir>();

/** The upload directory of a request, created (lazily, on disk) on first call. */
export function uploadDirOf(raw: IncomingMessage): UploadDir {
  let dir = dirs.get(raw);
  if (dir === undefined) {
    dir = new UploadDir();
    dirs.set(raw, dir);
  }
  return dir;
}

/**
 * Deletes the request's temporary files, if it has any; the server calls it when the request
 * ends, however it ends. The deletion, or `undefined` when there was nothing to delete (most
 * requests: the caller then makes no error handler).
 */
export function discardUploads(raw: IncomingMessage): Promise<void> | undefined {
  const dir = dirs.get(raw);
  if (dir === undefined) return undefined;
  dirs.delete(raw);
  return dir.remove();
}
