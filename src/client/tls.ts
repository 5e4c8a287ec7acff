// TLS settings of the client (aiohttp's `ssl` argument): certificates verified by default,
// `false` to skip verification, node:tls options or a SecureContext, a pinned certificate
// (`Fingerprint`), and the key that keeps connections of different settings in different pools.

import { createHash, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";
import type { ConnectionOptions, SecureContext, SecureVersion, TLSSocket } from "node:tls";
import type { buildConnector, Dispatcher } from "undici";
import { ServerFingerprintMismatch } from "./errors.js";

/** PEM text or DER/PEM bytes, one or several. */
type Material = string | Buffer | Array<string | Buffer>;

/**
 * `node:tls` connection options (all of them are passed on); the ones aiohttp users reach for
 * most are listed here.
 */
export interface SSLOptions extends ConnectionOptions {
  /** CA certificates (PEM) to trust instead of Node's bundled ones. @default Node's roots */
  ca?: Material;
  /** Client certificate chain (PEM), for servers that ask for one. @default none */
  cert?: Material;
  /** The client certificate's private key (PEM). @default none */
  key?: ConnectionOptions["key"];
  /** Unlocks an encrypted `key`. @default none */
  passphrase?: string;
  /** The name sent in SNI and checked against the certificate. @default the URL's host */
  servername?: string;
  /** Oldest TLS version accepted. @default Node's (`"TLSv1.2"`) */
  minVersion?: SecureVersion;
  /** Newest TLS version offered. @default Node's (`"TLSv1.3"`) */
  maxVersion?: SecureVersion;
  /** OpenSSL cipher list. @default Node's */
  ciphers?: string;
  /** Refuse a certificate that does not verify. @default true */
  rejectUnauthorized?: boolean;
}

/**
 * A TLS setting, as aiohttp's `ssl`: `true` (verify against Node's roots), `false` (skip
 * verification), `SSLOptions`, a `tls.createSecureContext()` result, or a `Fingerprint`.
 */
export type SSLSetting = boolean | SSLOptions | SecureContext | Fingerprint;

/**
 * Pins the server's certificate by the SHA-256 digest of its DER bytes (aiohttp's
 * `Fingerprint`): `ssl: new Fingerprint(digest)`. As in aiohttp, the chain is then not
 * verified: the pin is the check. A different certificate fails with
 * `ServerFingerprintMismatch`.
 *
 * @example
 * const digest = createHash("sha256").update(new X509Certificate(pem).raw).digest();
 * await session.get("https://pinned.example/", { ssl: new Fingerprint(digest) });
 */
export class Fingerprint {
  readonly #digest: Buffer;

  constructor(fingerprint: Uint8Array) {
    if (!(fingerprint instanceof Uint8Array)) {
      throw new TypeError("fingerprint must be the SHA-256 digest as bytes");
    }
    if (fingerprint.length === 16 || fingerprint.length === 20) {
      throw new TypeError("md5 and sha1 are insecure and not supported. Use sha256.");
    }
    if (fingerprint.length !== 32) throw new TypeError("fingerprint has invalid length");
    this.#digest = Buffer.from(fingerprint);
  }

  /** The pinned SHA-256 digest (a copy). */
  get fingerprint(): Buffer {
    return Buffer.from(this.#digest);
  }

  /** Throws `ServerFingerprintMismatch` when `socket`'s certificate is not the pinned one. */
  check(socket: TLSSocket, host: string, port: number): void {
    const raw = socket.getPeerCertificate().raw as Buffer | undefined;
    const got = raw === undefined ? Buffer.alloc(0) : createHash("sha256").update(raw).digest();
    if (got.length !== this.#digest.length || !timingSafeEqual(got, this.#digest)) {
      throw new ServerFingerprintMismatch(this.fingerprint, got, host, port);
    }
  }
}

/** A setting made ready for `tls.connect()`. */
export interface ResolvedTLS {
  readonly options: ConnectionOptions;
  readonly fingerprint: Fingerprint | undefined;
  /** Equal for equal settings: connections are pooled by it. */
  readonly key: string;
}

/** `ssl` (and `serverHostname`, aiohttp's server_hostname) made ready for `tls.connect()`. */
export function resolveTLS(ssl: SSLSetting | undefined, serverHostname?: string): ResolvedTLS {
  let options: ConnectionOptions;
  let fingerprint: Fingerprint | undefined;
  if (ssl === undefined || ssl === true) options = {};
  else if (ssl === false) options = { rejectUnauthorized: false };
  else if (ssl instanceof Fingerprint) {
    fingerprint = ssl;
    options = { rejectUnauthorized: false };
  } else if (typeof ssl !== "object" || ssl === null) {
    throw new TypeError(
      `ssl must be a boolean, TLS options, a SecureContext or a Fingerprint, got ${typeof ssl}`,
    );
  } else if (isSecureContext(ssl)) options = { secureContext: ssl };
  else options = { ...ssl };
  if (serverHostname !== undefined) options.servername = serverHostname;
  const key =
    options.servername === undefined && Object.keys(options).length === 0 && !fingerprint
      ? ""
      : keyOf({ options, fingerprint: fingerprint?.fingerprint });
  return { options, fingerprint, key };
}

function isSecureContext(value: object): value is SecureContext {
  // tls.createSecureContext() returns a SecureContext, a class node:tls does not export.
  return "context" in value && value.constructor?.name === "SecureContext";
}

const identities = new WeakMap<object, number>();
let nextIdentity = 0;

/**
 * A string equal for equal settings: an `ssl` object written inline in each call shares one
 * pool. Key and certificate bytes enter as digests; objects it cannot compare (a SecureContext,
 * a checkServerIdentity function) by identity.
 */
function keyOf(value: unknown): string {
  if (value === undefined || value === null) return "-";
  // PEM bundles are long: their digest keeps the pool keys short.
  if (typeof value === "string") {
    return value.length > 64
      ? `#${createHash("sha256").update(value).digest("hex")}`
      : JSON.stringify(value);
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value instanceof Uint8Array) return `#${createHash("sha256").update(value).digest("hex")}`;
  if (Array.isArray(value)) return `[${value.map(keyOf).join(",")}]`;
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${k}:${keyOf(v)}`).join(",")}}`;
  }
  if (typeof value === "object" || typeof value === "function") {
    let id = identities.get(value);
    if (id === undefined) {
      id = nextIdentity++;
      identities.set(value, id);
    }
    return `@${id}`;
  }
  return String(value);
}

type Connector = buildConnector.connector;

/**
 * undici's `connect` option for `tls`: plain options, or with a pin a connector that checks
 * each new connection's certificate before undici uses it.
 */
export function connectOption(
  connect: Record<string, unknown>,
  tls: ResolvedTLS,
  build: (options: buildConnector.BuildOptions) => Connector,
): Record<string, unknown> | Connector {
  const pin = tls.fingerprint;
  if (pin === undefined) return connect;
  // A resumed session would still name the certificate, but fresh handshakes keep it simple.
  const base = build({ ...connect, maxCachedSessions: 0 });
  return (options, callback) => {
    base(options, (err, socket) => {
      if (err !== null || options.protocol !== "https:") {
        if (err === null) callback(null, socket as Socket);
        else callback(err, null);
        return;
      }
      const tlsSocket = socket as TLSSocket;
      try {
        pin.check(tlsSocket, options.hostname, Number(options.port) || 443);
      } catch (mismatch) {
        tlsSocket.destroy();
        callback(mismatch as Error, null);
        return;
      }
      callback(null, tlsSocket);
    });
  };
}

/**
 * The dispatchers a session made for TLS settings other than its connector's (a request's
 * `ssl` or `serverHostname`), one per setting and connect timeout, closed with the session.
 */
export class TLSPools {
  readonly #pools = new Map<string, Dispatcher>();

  /** The pool for `key`, made with `make` the first time. */
  get(key: string, make: () => Dispatcher): Dispatcher {
    let d = this.#pools.get(key);
    if (d === undefined) {
      d = make();
      this.#pools.set(key, d);
    }
    return d;
  }

  async close(): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(all.map((d) => d.destroy().catch(() => {})));
  }
}

/** What a request with TLS settings of its own hands the connector. @internal */
export interface RequestTLS {
  readonly tls: ResolvedTLS;
  readonly pools: TLSPools;
}
