// A file (or other binary part) of a multipart form, as `request.post()` returns it.

import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import type { CIMultiDictProxy } from "../../http/multidict.js";

/** Where the content of a `FileField` is: in memory, or in a temporary file. */
export type FileFieldContent = { readonly data: Buffer } | { readonly path: string };

/** What a `FileField` is made of. */
export interface FileFieldInit {
  name: string;
  filename: string;
  contentType: string;
  headers: CIMultiDictProxy;
  size: number;
  content: FileFieldContent;
}

/**
 * An uploaded file of a `multipart/form-data` body (aiohttp's `web.FileField`). Small files
 * are kept in memory; larger ones (over `formLimits.maxMemoryFileSize`) are in a temporary
 * file at `path`, deleted when the request ends: move or copy it during the request to keep it.
 */
export class FileField {
  /** The form field's name. */
  readonly name: string;
  /**
   * The file name the client sent, as sent (it may hold directories or `..`: never use it as a
   * path as is); `""` for a binary part without a file name.
   */
  readonly filename: string;
  /** The part's `Content-Type` (`application/octet-stream` when it has none). */
  readonly contentType: string;
  /** The headers of the part. */
  readonly headers: CIMultiDictProxy;
  /** Size of the content, bytes. */
  readonly size: number;
  readonly #content: FileFieldContent;

  /** Made by `request.post()`. */
  constructor(init: FileFieldInit) {
    this.name = init.name;
    this.filename = init.filename;
    this.contentType = init.contentType;
    this.headers = init.headers;
    this.size = init.size;
    this.#content = init.content;
  }

  /** The temporary file that holds the content, or `null` when it is in memory. */
  get path(): string | null {
    return "path" in this.#content ? this.#content.path : null;
  }

  /** The content as a stream, read from memory or from the temporary file. */
  stream(): Readable {
    const content = this.#content;
    return "path" in content
      ? createReadStream(content.path)
      : Readable.from([content.data], { objectMode: false });
  }

  /** The whole content. */
  read(): Promise<Buffer> {
    const content = this.#content;
    return "path" in content ? readFile(content.path) : Promise.resolve(content.data);
  }

  /** The content decoded as UTF-8. */
  async text(): Promise<string> {
    return (await this.read()).toString("utf8");
  }

  toString(): string {
    return `<FileField ${this.name} ${JSON.stringify(this.filename)} ${this.size} bytes>`;
  }
}
