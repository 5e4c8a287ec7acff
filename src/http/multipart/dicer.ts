// Dicer, the streaming multipart parser inside @fastify/busboy (busboy's own engine), loaded
// through CommonJS: the package has no ESM entry for it, and the dicer.d.ts beside it declares
// a named export that the CommonJS module does not have.

import { createRequire } from "node:module";
import type { Readable, Writable } from "node:stream";

/** The part of Dicer's configuration this package uses. */
export interface DicerConfig {
  boundary: string;
  /** Dicer keeps at most this many header fields of a part and silently drops the rest. */
  maxHeaderPairs: number;
  /** Dicer keeps at most this many bytes of a part's header block and silently drops the rest. */
  maxHeaderSize: number;
}

/**
 * Dicer is a Writable that emits 'part' (a Readable) per body part and 'finish' after the final
 * delimiter; each part emits 'header' (fields by lower-cased name, values decoded as latin1)
 * before its data.
 */
export type DicerParser = Writable;

/** The header of a part as Dicer emits it. */
export type DicerHeader = Record<string, string[]>;

/** A part as Dicer emits it. */
export type DicerPart = Readable;

type DicerConstructor = new (config: DicerConfig) => DicerParser;

const require = createRequire(import.meta.url);
let DicerClass: DicerConstructor | undefined;

/** A new parser; Dicer is loaded on first use so that importing the package stays cheap. */
export function createDicer(config: DicerConfig): DicerParser {
  // The module's export is the Dicer constructor (module.exports = Dicer).
  DicerClass ??= require("@fastify/busboy/deps/dicer/lib/Dicer.js") as DicerConstructor;
  return new DicerClass(config);
}
