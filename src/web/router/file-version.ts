// The `?v=` of a static URL built with `appendVersion`: a hash of the file's content, so that a
// changed file gets a new URL and caches may keep old ones forever.

import { createHash } from "node:crypto";
import { readFileSync, type Stats, statSync } from "node:fs";

interface Entry {
  mtimeMs: number;
  size: number;
  hash: string;
}

/** Content hashes of files, recomputed when a file's mtime or size changes. */
export class FileVersions {
  #cache = new Map<string, Entry>();

  /**
   * aiohttp's version string: the URL-safe base64 of the content's SHA-256, padding kept (so
   * the query reads `v=...%3D` as aiohttp's does). `null` when `path` is not a regular file.
   * Synchronous because `urlFor` is: it reads the file once per change, then answers from the
   * cache after a `stat`.
   */
  version(path: string): string | null {
    let st: Stats;
    try {
      st = statSync(path);
    } catch {
      return null;
    }
    if (!st.isFile()) return null;
    const cached = this.#cache.get(path);
    if (cached !== undefined && cached.mtimeMs === st.mtimeMs && cached.size === st.size) {
      return cached.hash;
    }
    let content: Buffer;
    try {
      content = readFileSync(path);
    } catch {
      return null;
    }
    const hash = createHash("sha256")
      .update(content)
      .digest("base64")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    this.#cache.set(path, { mtimeMs: st.mtimeMs, size: st.size, hash });
    return hash;
  }
}
