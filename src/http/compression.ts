// What this runtime can compress and decompress. zstd arrived in node:zlib with Node 22.15 /
// 23.8; on older runtimes it is neither offered nor decoded.

import type { Transform } from "node:stream";
import * as zlib from "node:zlib";

type ZstdFactory = () => Transform;

const zstdModule = zlib as unknown as {
  createZstdDecompress?: ZstdFactory;
  createZstdCompress?: ZstdFactory;
};

/** A zstd decompressor, or `null` when the runtime has none. */
export function createZstdDecompress(): Transform | null {
  return zstdModule.createZstdDecompress?.() ?? null;
}

/** Whether the runtime has zstd. */
export const HAS_ZSTD = typeof zstdModule.createZstdDecompress === "function";

/** The codings a client can decode here, for `Accept-Encoding`. */
export const ACCEPT_ENCODING = HAS_ZSTD ? "gzip, deflate, br, zstd" : "gzip, deflate, br";
