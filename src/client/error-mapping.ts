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
  ServerDisconnectedError,
  SocketTimeoutError,
} from "./errors.js";
import { portOf } from "./url.js";

/** Maps undici's, `ws`'s and Node's errors to the client hierarchy. */
export function toClientError(err: unknown, url: URL, method: string): Error {
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
    case "UND_ERR_CLOSED":
    case "UND_ERR_DESTROYED":
      return new ClientClosedError(`Connector is closed (${what})`, { cause: err });
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
