// The Content-Length of an HTTP/2 response, enforced. undici checks it on HTTP/1.1 only; over
// HTTP/2 a stream the server ends early (END_STREAM after part of the body, which is what
// node:http2's `stream.close(code)` sends before its RST_STREAM) would otherwise read as a
// complete, shorter body. RFC 9113 8.1.1: such a response is malformed.

import { pipeline, type Readable, Transform, type TransformCallback } from "node:stream";

/** Fails the body when it is longer or shorter than `expected` bytes. */
class LengthCheck extends Transform {
  readonly #expected: number;
  #seen = 0;

  constructor(expected: number) {
    super();
    this.#expected = expected;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#expected) done(this.#mismatch());
    else done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    done(this.#seen === this.#expected ? null : this.#mismatch());
  }

  #mismatch(): Error {
    return Object.assign(
      new Error(
        `Response body length does not match content-length header (${this.#seen} bytes received, ${this.#expected} declared)`,
      ),
      { code: "UND_ERR_RES_CONTENT_LENGTH_MISMATCH" },
    );
  }
}

/** `body` as is without a usable Content-Length, else checked against it. */
export function checkedLength(
  body: Readable,
  contentLength: string | string[] | undefined,
): Readable {
  if (typeof contentLength !== "string" || !/^\d+$/.test(contentLength)) return body;
  return pipeline(body, new LengthCheck(Number(contentLength)), () => {});
}
