// aiohttp's FormData: fields sent as `application/x-www-form-urlencoded` while they are plain
// text without options, as `multipart/form-data` once a file, bytes, a stream or an option is
// added (aiohttp's rule in formdata.py).

import { MultipartWriter } from "./multipart/writer.js";
import { checkTransferEncoding } from "./multipart/writer-coding.js";
import { checkHeaderValue } from "./multipart/writer-headers.js";
import type { PartValue } from "./multipart/writer-part.js";

/** Options of one field. */
export interface FieldOptions {
  /**
   * The `filename` of the part; setting it makes the form multipart.
   * @default a File's name, a file stream's basename, the field name for bytes and other
   *   streams; none for text
   */
  filename?: string;
  /**
   * The part's Content-Type; setting it makes the form multipart.
   * @default what the value implies (`text/plain; charset=utf-8`, a Blob's type,
   *   `application/octet-stream`)
   */
  contentType?: string;
  /**
   * The part's Content-Transfer-Encoding: `base64` or `quoted-printable` encode the content
   * as it is sent (as aiohttp does); `binary`, `7bit` and `8bit` only label it; anything else
   * is refused. Setting it makes the form multipart. RFC 7578 4.7 deprecates it.
   * @default none
   */
  contentTransferEncoding?: string;
}

/** A value of a field: text (numbers and booleans as text) or a file-like value. */
export type FieldValue = PartValue | number | boolean;

/** What `addFields` takes, as aiohttp's `add_fields`. */
export type FieldsInit =
  | FormData
  | URLSearchParams
  | Readonly<Record<string, FieldValue>>
  | Iterable<readonly [string, FieldValue]>;

interface Field {
  readonly name: string;
  readonly value: PartValue;
  readonly options: FieldOptions;
}

/**
 * A form for a request's `data`, with text fields and files.
 *
 * @example
 * const form = new FormData();
 * form.addField("title", "holidays");
 * form.addField("photo", createReadStream("beach.jpg"), { contentType: "image/jpeg" });
 * await session.post(url, { data: form });
 */
export class FormData {
  readonly #fields: Field[] = [];
  #multipart = false;
  #sent = false;

  /**
   * @param fields fields to add first, as `addFields` takes them
   */
  constructor(fields?: FieldsInit) {
    if (fields !== undefined) this.addFields(fields);
  }

  /** Whether the form is sent as `multipart/form-data` (else urlencoded). */
  get isMultipart(): boolean {
    return this.#multipart;
  }

  /** Whether the form can be sent more than once (no field is a stream). */
  get replayable(): boolean {
    return this.#fields.every(
      (f) =>
        typeof f.value === "string" || f.value instanceof Uint8Array || f.value instanceof Blob,
    );
  }

  /**
   * Adds a field. Text stays urlencoded unless an option is given; anything else makes the
   * form multipart.
   * @throws {TypeError} when an option holds CR or LF
   */
  addField(name: string, value: FieldValue, options: FieldOptions = {}): this {
    if (typeof value === "number" || typeof value === "boolean") value = String(value);
    if (options.contentType !== undefined) checkHeaderValue("Content-Type", options.contentType);
    if (options.contentTransferEncoding !== undefined) {
      checkHeaderValue("Content-Transfer-Encoding", options.contentTransferEncoding);
      checkTransferEncoding(options.contentTransferEncoding);
    }
    const hasOption =
      options.filename !== undefined ||
      options.contentType !== undefined ||
      options.contentTransferEncoding !== undefined;
    if (typeof value !== "string" || hasOption) this.#multipart = true;
    this.#fields.push({ name, value, options: { ...options } });
    return this;
  }

  /**
   * Adds several fields: another FormData, URLSearchParams, a record or `[name, value]` pairs.
   */
  addFields(...fields: FieldsInit[]): this {
    for (const init of fields) {
      if (init instanceof FormData) {
        for (const f of init.#fields) this.addField(f.name, f.value, f.options);
        continue;
      }
      const pairs = Symbol.iterator in init ? init : Object.entries(init);
      for (const [name, value] of pairs as Iterable<readonly [string, FieldValue]>) {
        this.addField(name, value);
      }
    }
    return this;
  }

  /**
   * The body to send: a urlencoded string, or a fresh `multipart/form-data` writer.
   * @throws {TypeError} when a stream field was already sent
   */
  encode(): { readonly body: string; readonly contentType: string } | MultipartWriter {
    if (this.#sent && !this.replayable) {
      throw new TypeError("This FormData has a stream field that was already sent");
    }
    this.#sent = true;
    if (!this.#multipart) {
      const params = new URLSearchParams();
      for (const f of this.#fields) params.append(f.name, f.value as string);
      return { body: params.toString(), contentType: "application/x-www-form-urlencoded" };
    }
    const writer = new MultipartWriter("form-data");
    for (const { name, value, options } of this.#fields) {
      const headers: [string, string][] = [];
      if (options.contentType !== undefined) headers.push(["Content-Type", options.contentType]);
      if (options.contentTransferEncoding !== undefined) {
        headers.push(["Content-Transfer-Encoding", options.contentTransferEncoding]);
      }
      const part = writer.append(value, headers);
      const filename = options.filename ?? defaultFilename(name, value, part.valueFilename);
      part.setContentDisposition("form-data", filename === null ? { name } : { name, filename });
    }
    return writer;
  }

  /** A short description for logs. */
  toString(): string {
    return `<FormData ${this.#multipart ? "multipart" : "urlencoded"} fields=${this.#fields.length}>`;
  }
}

/** aiohttp: bytes and files are file fields, named after the file or else the field. */
function defaultFilename(name: string, value: PartValue, carried: string | null): string | null {
  if (typeof value === "string") return null;
  // Browsers name a Blob that is not a File "blob".
  return carried ?? (value instanceof Blob ? "blob" : name);
}
