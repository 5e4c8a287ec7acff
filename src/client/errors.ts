// The client's error hierarchy (aiohttp's client_exceptions), each class with a stable `code`
// and, where there is one, the original error as `cause`.

import type { CIMultiDictProxy } from "../http/multidict.js";
// Type only: an error carries the responses that led to it, and responses throw these errors.
import type { ClientResponse } from "./response.js";

/** What was sent, for error messages and `ClientResponse.requestInfo`. */
export interface RequestInfo {
  readonly url: URL;
  readonly method: string;
  readonly headers: CIMultiDictProxy;
  /** The URL before fragments were stripped and auth removed. */
  readonly realUrl: URL;
}

/** Base of every client error. */
export class ClientError extends Error {
  override name = "ClientError";
  readonly code: string = "AIOHTTP_CLIENT_ERROR";
}

/** The connection could not be made or was lost. */
export class ClientConnectionError extends ClientError {
  override name = "ClientConnectionError";
  override readonly code: string = "AIOHTTP_CONNECTION_ERROR";
}

/** An operating-system level failure on the connection. */
export class ClientOSError extends ClientConnectionError {
  override name = "ClientOSError";
  override readonly code: string = "AIOHTTP_OS_ERROR";
  /** The system error code (`ECONNREFUSED`...), when there is one. */
  readonly errno: string | undefined;
  constructor(message: string, options?: ErrorOptions & { errno?: string | undefined }) {
    super(message, options);
    this.errno = options?.errno;
  }
}

/** Connecting to the host failed. */
export class ClientConnectorError extends ClientOSError {
  override name = "ClientConnectorError";
  override readonly code: string = "AIOHTTP_CONNECTOR_ERROR";
  readonly host: string;
  readonly port: number;
  readonly ssl: boolean;
  constructor(host: string, port: number, ssl: boolean, cause: unknown, message?: string) {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    const detail = describeCause(cause);
    super(message ?? `Cannot connect to host ${host}:${port} ssl:${ssl} [${detail}]`, {
      cause,
      errno,
    });
    this.host = host;
    this.port = port;
    this.ssl = ssl;
  }
}

/**
 * A cause's message. Node reports a failed connect to several addresses (happy eyeballs) as an
 * AggregateError with an empty message: its inner errors say what happened.
 */
function describeCause(cause: unknown): string {
  if (cause instanceof AggregateError && cause.message === "" && cause.errors.length > 0) {
    return cause.errors.map(describeCause).join("; ");
  }
  return cause instanceof Error ? cause.message : String(cause);
}

/** The host name could not be resolved. */
export class ClientConnectorDNSError extends ClientConnectorError {
  override name = "ClientConnectorDNSError";
  override readonly code: string = "AIOHTTP_CONNECTOR_DNS_ERROR";
}

/** Connecting to the proxy failed. */
export class ClientProxyConnectionError extends ClientConnectorError {
  override name = "ClientProxyConnectionError";
  override readonly code: string = "AIOHTTP_PROXY_CONNECTION_ERROR";
}

/** The TLS handshake failed. */
export class ClientSSLError extends ClientConnectorError {
  override name = "ClientSSLError";
  override readonly code: string = "AIOHTTP_SSL_ERROR";
}

/** The TLS handshake failed for a reason other than the certificate (protocol version, ciphers...). */
export class ClientConnectorSSLError extends ClientSSLError {
  override name = "ClientConnectorSSLError";
  override readonly code: string = "AIOHTTP_CONNECTOR_SSL_ERROR";
}

/** The server's certificate was refused. */
export class ClientConnectorCertificateError extends ClientSSLError {
  override name = "ClientConnectorCertificateError";
  override readonly code: string = "AIOHTTP_CERTIFICATE_ERROR";
  /**
   * Why, as Node's (OpenSSL's) code: `DEPTH_ZERO_SELF_SIGNED_CERT`, `CERT_HAS_EXPIRED`,
   * `ERR_TLS_CERT_ALTNAME_INVALID`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`...
   */
  get reason(): string {
    return this.errno ?? "";
  }
  /** Node's error (aiohttp's `certificate_error`); also the `cause`. */
  get certificateError(): unknown {
    return this.cause;
  }
}

/** The server side of the connection failed. */
export class ServerConnectionError extends ClientConnectionError {
  override name = "ServerConnectionError";
  override readonly code: string = "AIOHTTP_SERVER_CONNECTION_ERROR";
}

/** The server closed the connection before sending a response. */
export class ServerDisconnectedError extends ServerConnectionError {
  override name = "ServerDisconnectedError";
  override readonly code: string = "AIOHTTP_SERVER_DISCONNECTED";
  constructor(message = "Server disconnected", options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The server's certificate is not the one pinned with `ssl: new Fingerprint(...)`. `expected`
 * and `got` are SHA-256 digests of the DER certificate.
 */
export class ServerFingerprintMismatch extends ServerConnectionError {
  override name = "ServerFingerprintMismatch";
  override readonly code: string = "AIOHTTP_FINGERPRINT_MISMATCH";
  readonly expected: Uint8Array;
  readonly got: Uint8Array;
  readonly host: string;
  readonly port: number;
  constructor(expected: Uint8Array, got: Uint8Array, host: string, port: number) {
    const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
    super(
      `Server certificate fingerprint mismatch for ${host}:${port}: expected sha256 ${hex(expected)}, got ${hex(got)}`,
    );
    this.expected = expected;
    this.got = got;
    this.host = host;
    this.port = port;
  }
}

/** A timeout expired (`ClientTimeout.total` raises this class itself). */
export class ServerTimeoutError extends ServerConnectionError {
  override name = "ServerTimeoutError";
  override readonly code: string = "AIOHTTP_SERVER_TIMEOUT";
}

/** Acquiring or opening a connection took longer than `connect` / `sockConnect`. */
export class ConnectionTimeoutError extends ServerTimeoutError {
  override name = "ConnectionTimeoutError";
  override readonly code: string = "AIOHTTP_CONNECTION_TIMEOUT";
}

/** The server sent nothing for longer than `sockRead`. */
export class SocketTimeoutError extends ServerTimeoutError {
  override name = "SocketTimeoutError";
  override readonly code: string = "AIOHTTP_SOCKET_TIMEOUT";
}

/** Options of `ClientResponseError`. */
export interface ClientResponseErrorOptions extends ErrorOptions {
  status: number;
  message?: string;
  headers?: CIMultiDictProxy | null;
  /** The redirect responses before this one, oldest first. */
  history?: readonly ClientResponse[];
}

/** A response that is an error (`raiseForStatus`) or could not be used as asked. */
export class ClientResponseError extends ClientError {
  override name = "ClientResponseError";
  override readonly code: string = "AIOHTTP_RESPONSE_ERROR";
  readonly status: number;
  readonly requestInfo: RequestInfo;
  readonly headers: CIMultiDictProxy | null;
  /** The redirect responses before the one this error is about, oldest first. */
  readonly history: readonly ClientResponse[];
  /** The reason phrase or description (aiohttp's `message` attribute). */
  readonly reason: string;
  constructor(requestInfo: RequestInfo, options: ClientResponseErrorOptions) {
    const reason = options.message ?? "";
    super(
      `${options.status}, message=${JSON.stringify(reason)}, url=${requestInfo.realUrl}`,
      options,
    );
    this.status = options.status;
    this.reason = reason;
    this.requestInfo = requestInfo;
    this.headers = options.headers ?? null;
    this.history = options.history ?? [];
  }
}

/** `json()` on a response whose Content-Type is not JSON. */
export class ContentTypeError extends ClientResponseError {
  override name = "ContentTypeError";
  override readonly code: string = "AIOHTTP_CONTENT_TYPE_ERROR";
}

/** More redirects than `maxRedirects`. */
export class TooManyRedirects extends ClientResponseError {
  override name = "TooManyRedirects";
  override readonly code: string = "AIOHTTP_TOO_MANY_REDIRECTS";
}

/** The proxy refused to open a tunnel (its answer to CONNECT was not 200). */
export class ClientHttpProxyError extends ClientResponseError {
  override name = "ClientHttpProxyError";
  override readonly code: string = "AIOHTTP_HTTP_PROXY_ERROR";
}

/**
 * The WebSocket handshake was refused: an answer other than 101 (`status` and `headers` are
 * the server's), or a 101 that is not a valid WebSocket answer (`reason` says why).
 */
export class WSServerHandshakeError extends ClientResponseError {
  override name = "WSServerHandshakeError";
  override readonly code: string = "AIOHTTP_WS_HANDSHAKE_ERROR";
  constructor(requestInfo: RequestInfo, options: ClientResponseErrorOptions) {
    super(requestInfo, options);
    // The reason says what went wrong ("Invalid response status: expected 101 Switching
    // Protocols, got 200 OK"); aiohttp's "200, message=..." form would hide what was expected.
    this.message = `${this.reason}, url=${requestInfo.realUrl}`;
  }
}

/** The response body could not be read completely or decoded. */
export class ClientPayloadError extends ClientError {
  override name = "ClientPayloadError";
  override readonly code: string = "AIOHTTP_PAYLOAD_ERROR";
}

/** A compressed body inflated past `maxDecompressedSize` (a zip bomb, or a limit set too low). */
export class DecompressionLimitError extends ClientPayloadError {
  override name = "DecompressionLimitError";
  override readonly code: string = "AIOHTTP_DECOMPRESSION_LIMIT";
}

/** A redirect needs the body again, but it was a stream that is already sent. */
export class RedirectBodyError extends ClientError {
  override name = "RedirectBodyError";
  override readonly code: string = "AIOHTTP_REDIRECT_BODY";
}

/** A middleware sent a request again whose body was a stream, already read. */
export class BodyReplayError extends ClientError {
  override name = "BodyReplayError";
  override readonly code: string = "AIOHTTP_BODY_REPLAY";
}

/**
 * `DigestAuthMiddleware` cannot answer a challenge it must answer: it asks for `qop=auth-int`
 * only, which hashes the body, and the body is not in memory (a stream, a multipart body, or a
 * body compressed on the fly).
 */
export class DigestAuthError extends ClientError {
  override name = "DigestAuthError";
  override readonly code: string = "AIOHTTP_DIGEST_AUTH";
}

/**
 * An option the client does not support (yet), or does not know: refused, never ignored, since
 * a request sent without the `proxy` it was given goes somewhere its caller did not intend.
 */
export class ClientOptionError extends TypeError {
  override name = "ClientOptionError";
  readonly code: string = "AIOHTTP_INVALID_OPTION";
  /** The option's name as given. */
  readonly option: string;
  constructor(option: string, message: string) {
    super(message);
    this.option = option;
  }
}

/** The URL is malformed or unusable. */
export class InvalidURL extends ClientError {
  override name = "InvalidURL";
  override readonly code: string = "AIOHTTP_INVALID_URL";
  readonly url: string;
  constructor(url: string | URL, description?: string, options?: ErrorOptions) {
    super(description ? `${url}: ${description}` : String(url), options);
    this.url = String(url);
  }
}

/** A request URL that cannot be parsed. */
export class InvalidUrlClientError extends InvalidURL {
  override name = "InvalidUrlClientError";
  override readonly code: string = "AIOHTTP_INVALID_URL_CLIENT";
}

/** A redirect `Location` that cannot be parsed. */
export class InvalidUrlRedirectClientError extends InvalidUrlClientError {
  override name = "InvalidUrlRedirectClientError";
  override readonly code: string = "AIOHTTP_INVALID_URL_REDIRECT";
}

/** A request URL whose scheme is not http or https. */
export class NonHttpUrlClientError extends InvalidURL {
  override name = "NonHttpUrlClientError";
  override readonly code: string = "AIOHTTP_NON_HTTP_URL";
}

/** A redirect to a scheme other than http or https. */
export class NonHttpUrlRedirectClientError extends NonHttpUrlClientError {
  override name = "NonHttpUrlRedirectClientError";
  override readonly code: string = "AIOHTTP_NON_HTTP_URL_REDIRECT";
}

/** Something was used after its session or response was closed. */
export class ClientClosedError extends ClientError {
  override name = "ClientClosedError";
  override readonly code: string = "AIOHTTP_SESSION_CLOSED";
}
