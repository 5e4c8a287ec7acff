// DigestAuthMiddleware (aiohttp 3.12): answers a 401's Digest challenge (RFC 7616) by sending
// the hop again with credentials, and, once it knows the server's nonce, sends them at once
// on the next requests to the same protection space.

import { randomBytes } from "node:crypto";
import type { CIMultiDict } from "../http/multidict.js";
import {
  type DigestChallenge,
  digestAuthorization,
  selectDigestChallenge,
} from "./digest-response.js";
import { DigestAuthError } from "./errors.js";
import type { ClientHandler, ClientMiddlewareObject, MiddlewareRequest } from "./middleware.js";
import { checkOptions, type OptionNames } from "./option-check.js";
import type { ClientResponse } from "./response.js";
import { kEntityBody } from "./symbols.js";

/** Options of `DigestAuthMiddleware`. */
export interface DigestAuthOptions {
  /** The user name; it may not contain `:` (RFC 7616 3.4.2 joins A1 with colons). */
  login: string;
  /** The password. */
  password: string;
  /**
   * Once a challenge was answered, send credentials with the next requests to the same
   * protection space at once (RFC 7616 3.6), with the next nonce count, instead of waiting for
   * their 401. @default true
   */
  preemptive?: boolean;
}

const OPTIONS = {
  login: true,
  password: true,
  preemptive: true,
} as const satisfies OptionNames<DigestAuthOptions>;

/**
 * HTTP Digest authentication (RFC 7616) as a client middleware: MD5, SHA-256 and SHA-512-256
 * with their `-sess` variants, qop `auth` and `auth-int` (or RFC 2069's form without qop),
 * `userhash`, `stale` nonces.
 *
 * The credentials belong to the origin of the first request the middleware handles: a request
 * to another origin (a redirect, or a session used for two hosts) passes through untouched. An
 * `Authorization` header of the request's own is left alone. A 401 is answered only when the
 * body can be sent again (not a stream); a 401 that cannot be answered (no Digest challenge, an
 * unknown algorithm) is returned as it is.
 *
 * @example
 * const digest = new DigestAuthMiddleware({ login: "user", password: "pass" });
 * await using session = new ClientSession({ middlewares: [digest] });
 */
export class DigestAuthMiddleware implements ClientMiddlewareObject {
  readonly #login: string;
  readonly #password: string;
  readonly #preemptive: boolean;
  /** The origin the credentials are for: the first request's. */
  #origin: string | undefined;
  /** The last challenge answered, for preemptive requests. */
  #challenge: DigestChallenge | undefined;
  /** Where `#challenge` applies: URL prefixes (RFC 7616 3.3 `domain`, or the whole origin). */
  #space: readonly string[] = [];
  /** The nonce of the last Authorization sent, and how many were sent with it. */
  #nonce: string | undefined;
  #nonceCount = 0;
  /** The Authorization value this middleware set on a request's headers, by headers object. */
  readonly #ours = new WeakMap<CIMultiDict, string>();

  constructor(options: DigestAuthOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("DigestAuthMiddleware takes an options object { login, password }");
    }
    checkOptions("DigestAuthMiddleware", options, OPTIONS);
    const { login, password, preemptive = true } = options;
    if (typeof login !== "string") {
      throw new TypeError("DigestAuthMiddleware: login must be a string");
    }
    if (typeof password !== "string") {
      throw new TypeError("DigestAuthMiddleware: password must be a string");
    }
    if (login.includes(":")) {
      throw new TypeError('DigestAuthMiddleware: a ":" is not allowed in the login');
    }
    if (typeof preemptive !== "boolean") {
      throw new TypeError("DigestAuthMiddleware: preemptive must be a boolean");
    }
    this.#login = login;
    this.#password = password;
    this.#preemptive = preemptive;
  }

  async handle(request: MiddlewareRequest, handler: ClientHandler): Promise<ClientResponse> {
    const { url, headers } = request;
    this.#origin ??= url.origin;
    if (url.origin !== this.#origin) return handler(request);
    const present = headers.get("Authorization");
    if (present !== undefined) {
      // The caller's own header wins; ours, from an earlier hop (a redirect), was for another URI.
      if (present !== this.#ours.get(headers)) return handler(request);
      headers.delete("Authorization");
    }
    if (this.#preemptive && this.#challenge !== undefined && this.#inSpace(url)) {
      this.#authorize(request, this.#challenge);
    }
    let answered = false;
    let staleRetried = false;
    for (;;) {
      const response = await handler(request);
      if (response.status !== 401 || !request.bodyReplayable) return response;
      const challenge = selectDigestChallenge(response.headers.getAll("WWW-Authenticate"));
      if (challenge === undefined) return response;
      if (answered) {
        // RFC 7616 3.3: stale=true says the credentials were right but the nonce was old: one
        // more try with the new nonce. Otherwise the credentials are wrong: the caller gets it.
        if (!challenge.stale || staleRetried) return response;
        staleRetried = true;
      }
      await response.release();
      this.#remember(challenge, response.url);
      this.#authorize(request, challenge);
      answered = true;
    }
  }

  /** Sets the Authorization header answering `challenge` for this hop. */
  #authorize(request: MiddlewareRequest, challenge: DigestChallenge): void {
    const body = entityBody(request);
    let qop: "auth" | "auth-int" | null = null;
    if (challenge.qop.length > 0) {
      // auth-int protects the body too: the stronger, when the body is there to hash.
      if (challenge.qop.includes("auth-int") && body !== null) qop = "auth-int";
      else if (challenge.qop.includes("auth")) qop = "auth";
      else {
        throw new DigestAuthError(
          `Cannot answer the Digest challenge for ${request.method} ${request.url.href}: the server accepts qop=auth-int only, which hashes the body, and this body is not in memory (a stream, a multipart body or a compressed one); send it as a string or a Buffer`,
        );
      }
    }
    // RFC 7616 3.4: nc counts the requests sent with one nonce, so the server can spot replays.
    this.#nonceCount = challenge.nonce === this.#nonce ? this.#nonceCount + 1 : 1;
    this.#nonce = challenge.nonce;
    const value = digestAuthorization(challenge, {
      login: this.#login,
      password: this.#password,
      method: request.method,
      uri: `${request.url.pathname}${request.url.search}`,
      qop,
      body,
      nc: this.#nonceCount,
      cnonce: randomBytes(16).toString("hex"),
    });
    request.headers.set("Authorization", value);
    this.#ours.set(request.headers, value);
  }

  /**
   * Keeps `challenge` for preemptive requests, with its protection space (RFC 7616 3.3): the
   * `domain` URIs on our origin, or the whole origin without any.
   */
  #remember(challenge: DigestChallenge, responseUrl: URL): void {
    this.#challenge = challenge;
    const space: string[] = [];
    for (const uri of challenge.domain) {
      let resolved: URL;
      try {
        resolved = new URL(uri, responseUrl);
      } catch {
        continue;
      }
      // Another origin's URIs are left out: the credentials never leave their origin.
      if (resolved.origin === this.#origin) space.push(`${resolved.origin}${resolved.pathname}`);
    }
    this.#space = space.length > 0 ? space : [`${this.#origin}/`];
  }

  /** Whether `url` is under one of the protection space's URIs, on a path boundary. */
  #inSpace(url: URL): boolean {
    const target = `${url.origin}${url.pathname}`;
    return this.#space.some(
      (prefix) =>
        target === prefix ||
        (target.startsWith(prefix) && (prefix.endsWith("/") || target[prefix.length] === "/")),
    );
  }
}

/** The request's body bytes, from the request itself, or from `body` for a request made elsewhere. */
function entityBody(request: MiddlewareRequest): Uint8Array | null {
  const own = request[kEntityBody];
  if (own !== undefined) return own();
  const { body } = request;
  if (body === undefined) return new Uint8Array(0);
  if (typeof body === "string" || body instanceof URLSearchParams) return Buffer.from(String(body));
  return body instanceof Uint8Array ? body : null;
}
