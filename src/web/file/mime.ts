// The Content-Type of a file, from its name's extension (mime-types, loaded on first use: its
// database costs start-up time a server that sends no files should not pay).

import { createRequire } from "node:module";

// mime-types is a CommonJS package, so it loads synchronously.
const require = createRequire(import.meta.url);
let mimeModule: typeof import("mime-types") | undefined;

/**
 * The Content-Type of a file named `path`, with `charset=utf-8` for text types as mime-types
 * gives it; `application/octet-stream` for unknown extensions.
 */
export function contentTypeOf(path: string): string {
  mimeModule ??= require("mime-types") as typeof import("mime-types");
  const base = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  return mimeModule.contentType(base) || "application/octet-stream";
}
