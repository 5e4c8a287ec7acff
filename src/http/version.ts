// The HTTP version of a message, shared by the server's requests and the client's responses.

/** An HTTP version as aiohttp's `HttpVersion`: `{ major: 1, minor: 1 }`, `{ major: 2, minor: 0 }`. */
export interface HttpVersion {
  readonly major: number;
  readonly minor: number;
}
