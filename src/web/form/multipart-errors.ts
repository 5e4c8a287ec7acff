// The HTTP answers to multipart bodies that cannot be read, shared by `request.multipart()`
// and `request.post()` so that both give the same status for the same fault.

import type { MultipartError } from "../../http/multipart/errors.js";
import { MultipartLimitError } from "../../http/multipart/errors.js";
import { HTTPBadRequest, HTTPRequestEntityTooLarge } from "../exceptions.js";

/**
 * A 413 for content over a size limit, a 400 for everything else, part headers over their
 * limits included (a malformed message, as aiohttp's LineTooLong); the original is the `cause`.
 */
export function multipartHttpError(err: MultipartError): Error {
  if (err instanceof MultipartLimitError && err.limit === "decodedSize") {
    return new HTTPRequestEntityTooLarge(err.max, err.actual, { text: err.message, cause: err });
  }
  return new HTTPBadRequest({ text: err.message, cause: err });
}
