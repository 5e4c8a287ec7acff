// The multipart layer's public face, shared by the server and the client.

export { BodyPartReader, type PartReadOptions } from "./body-part-reader.js";
export { type ContentDisposition, parseContentDisposition } from "./content-disposition.js";
export { MultipartError, type MultipartErrorCode, MultipartLimitError } from "./errors.js";
export { type MultipartPart, MultipartReader, type MultipartSource } from "./multipart-reader.js";
export type { MultipartReaderOptions } from "./types.js";
export { MultipartWriter } from "./writer.js";
export { BodyPart, type PartHeaders, type PartValue } from "./writer-part.js";
