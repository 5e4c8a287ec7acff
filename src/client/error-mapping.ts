// Maps the errors of undici, `ws` and Node's sockets onto the client's error hierarchy.

import {
  ClientClosedError,
  ClientConnectionError,
  ClientConnectorCertificateError,
  ClientConnectorDNSError,
  ClientConnectorError,
  ClientConnectorSSLError,
  ClientError,
  ClientOSError,
  ConnectionTimeoutError,
  ServerConnectionError,
  ServerDisconnectedError,
  SocketTimeoutError,
} from "./errors.js";
import { portOf } from "./url.js";

/**
 * Why a response head could not be parsed (undici's parser error, or a head over
 * `maxHeaderSize`), or `null` for another error. aiohttp reports a bad head as a
 * `ClientResponseError` with status 400; the caller builds it, as it has the request's info.
 */
export function badResponseHead(err: unknown): string | null {
  const e = err as { name?: unknown; code?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== "object") return null;
  if (e.code === "UND_ERR_HEADERS_OVERFLOW") return "Response headers too large";
  // Before the head is complete, this is undici's report of a head its parser refused with a
  // Content-Length in it (two of them, or one with Transfer-Encoding).
  if (e.code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH") {
    return "Invalid Content-Length in the response head";
  }
  // undici refuses a 100 Continue it did not ask for (it never sends Expect over HTTP/1.1) and a
  // 101 to a request that asked for no upgrade, by closing the connection with these.
  if (e.code === "UND_ERR_SOCKET" && e.message === "bad response") {
    return "Unexpected informational response (an unsolicited 100 Continue)";
  }
  if (e.code === "UND_ERR_SOCKET" && e.message === "bad upgrade") {
    return "Unexpected 101 Switching Protocols to a request that asked for no upgrade";
  }
  // undici's HTTPParserError, and node:http's parse errors (`expect100` requests), have these.
  const parserCode = typeof e.code === "string" && e.code.startsWith("HPE_");
  if ((parserCode || e.name === "HTTPParserError") && typeof e.message === "string") {
    return e.message;
  }
  return null;
}

/** Maps undici's, `ws`'s and Node's errors to the client hierarchy. */
export function toClientError(
  err: unknown,
  url: URL,
  method: string,
  connectorClosed = true,
): Error {
  if (err instanceof ClientError) return err;
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.code ?? "";
  const causeCode = e.cause?.code ?? "";
  const host = url.hostname;
  const port = portOf(url);
  const ssl = url.protocol === "https:";
  const what = `${method} ${url}`.trim();
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return new ConnectionTimeoutError(`Connection timeout to host ${url.href}`, {
        cause: err,
      });
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return new SocketTimeoutError(`Timeout on reading data from socket (${what})`, {
        cause: err,
      });
    case "UND_ERR_SOCKET":
      return new ServerDisconnectedError(`Server disconnected (${what})`, { cause: err });
    case "UND_ERR_HEADERS_OVERFLOW":
      return new ClientConnectionError(`Response headers too large (${what})`, { cause: err });
    case "ERR_HTTP2_STREAM_ERROR":
      // A stream reset by the server (RST_STREAM): its connection lives on. Not a
      // ServerDisconnectedError, which a reused connection retries: the handler may have run.
      return new ServerConnectionError(
        `HTTP/2 stream reset by the server: ${e.message} (${what})`,
        {
          cause: err,
        },
      );
    case "UND_ERR_INFO":
      // undici's word for a stream that ended or closed before its response head.
      if (e.message.startsWith("HTTP/2")) {
        return new ServerConnectionError(`${e.message} (${what})`, { cause: err });
      }
      break;
    case "ERR_HTTP2_INVALID_SESSION":
      // The session was gone before the request went out on it.
      return new ServerDisconnectedError(`Server disconnected (${what})`, { cause: err });
    case "UND_ERR_CLOSED":
    case "UND_ERR_DESTROYED":
      // A pool or an h2 session undici destroyed under the request; "Connector is closed" only
      // when the session's connector was (the caller knows: see `connectorClosed`).
      return connectorClosed
        ? new ClientClosedError(`Connector is closed (${what})`, { cause: err })
        : new ServerConnectionError(`Connection closed under the request (${what})`, {
            cause: err,
          });
  }
  const sys = code.startsWith("UND_ERR") ? causeCode : code;
  if (sys === "ENOTFOUND" || sys === "EAI_AGAIN" || sys === "EAI_NONAME" || sys === "EAI_FAIL") {
    return new ClientConnectorDNSError(host, port, ssl, err);
  }
  if (CERT_CODES.has(sys)) return new ClientConnectorCertificateError(host, port, ssl, err);
  if (sys.startsWith("ERR_SSL") || sys === "EPROTO" || sys.startsWith("ERR_TLS")) {
    return new ClientConnectorSSLError(host, port, ssl, err);
  }
  if (CONNECT_CODES.has(sys)) return new ClientConnectorError(host, port, ssl, err);
  if (sys === "ECONNRESET" || sys === "EPIPE") {
    return new ServerDisconnectedError(`Server disconnected (${what})`, { cause: err });
  }
  if (sys !== "")
    return new ClientOSError(`${(err as Error).message} (${what})`, { cause: err, errno: sys });
  return new ClientConnectionError(`${(err as Error).message ?? String(err)} (${what})`, {
    cause: err,
  });
}

const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "EADDRINUSE",
  "ENOENT",
  "EACCES",
  "ETIMEDOUT",
]);

const CERT_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_UNTRUSTED",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_CHAIN_TOO_LONG",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_FORMAT",
]);
