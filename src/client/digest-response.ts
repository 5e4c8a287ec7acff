// RFC 7616 Digest: which challenge of a 401 to answer, and the Authorization value that answers
// it. No state here: the nonce count and the client nonce are given by the caller.

import { createHash } from "node:crypto";
import { type AuthChallenge, parseChallenges } from "./auth-challenge.js";

/** RFC 7616 6.1 algorithms, by upper-case name: the node:crypto hash and its strength rank. */
const ALGORITHMS: ReadonlyMap<string, { readonly hash: string; readonly rank: number }> = new Map([
  ["MD5", { hash: "md5", rank: 1 }],
  ["MD5-SESS", { hash: "md5", rank: 1 }],
  ["SHA-256", { hash: "sha256", rank: 2 }],
  ["SHA-256-SESS", { hash: "sha256", rank: 2 }],
  ["SHA-512-256", { hash: "sha512-256", rank: 3 }],
  ["SHA-512-256-SESS", { hash: "sha512-256", rank: 3 }],
]);

/** A Digest challenge this client can answer. */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  /** As the server spelled it (echoed back so); `MD5` when it sent none (RFC 7616 3.3). */
  readonly algorithm: string;
  /** The node:crypto hash of the algorithm. */
  readonly hash: string;
  readonly session: boolean;
  /** The qop values offered that we know (`auth`, `auth-int`); empty: RFC 2069 form. */
  readonly qop: readonly ("auth" | "auth-int")[];
  readonly opaque: string | undefined;
  readonly stale: boolean;
  readonly userhash: boolean;
  /** The `domain` URIs as given (RFC 7616 3.3), empty without one. */
  readonly domain: readonly string[];
}

/**
 * The Digest challenge of a 401's WWW-Authenticate values to answer: of those we can answer,
 * the one with the strongest algorithm (SHA-512-256, then SHA-256, then MD5), the first of
 * equals. `undefined` when there is none (no Digest, an unknown algorithm or qop, no nonce).
 */
export function selectDigestChallenge(headers: Iterable<string>): DigestChallenge | undefined {
  let best: DigestChallenge | undefined;
  let bestRank = 0;
  for (const challenge of parseChallenges(headers)) {
    const digest = toDigest(challenge);
    if (digest === undefined) continue;
    const rank = ALGORITHMS.get(digest.algorithm.toUpperCase())?.rank ?? 0;
    if (rank > bestRank) {
      best = digest;
      bestRank = rank;
    }
  }
  return best;
}

function toDigest(challenge: AuthChallenge): DigestChallenge | undefined {
  if (challenge.scheme !== "digest") return undefined;
  const p = challenge.params;
  const realm = p.get("realm");
  const nonce = p.get("nonce");
  // RFC 7616 3.3: realm and nonce are required; an empty nonce would void replay protection.
  if (realm === undefined || nonce === undefined || nonce === "") return undefined;
  const algorithm = p.get("algorithm") ?? "MD5";
  const known = ALGORITHMS.get(algorithm.toUpperCase());
  if (known === undefined) return undefined;
  const session = algorithm.toUpperCase().endsWith("-SESS");
  const offered = p.get("qop");
  const qop: ("auth" | "auth-int")[] = [];
  if (offered !== undefined) {
    for (const value of offered.split(",")) {
      const v = value.trim().toLowerCase();
      if ((v === "auth" || v === "auth-int") && !qop.includes(v)) qop.push(v);
    }
    // Only qop values we do not know: nothing we can send.
    if (qop.length === 0) return undefined;
  } else if (session) {
    // A -sess A1 needs the cnonce, which RFC 2617 3.2.2 forbids sending without qop.
    return undefined;
  }
  return {
    realm,
    nonce,
    algorithm,
    hash: known.hash,
    session,
    qop,
    opaque: p.get("opaque"),
    stale: p.get("stale")?.toLowerCase() === "true",
    userhash: p.get("userhash")?.toLowerCase() === "true",
    domain: (p.get("domain") ?? "").split(/\s+/).filter((uri) => uri !== ""),
  };
}

/** What one Authorization value is computed from, besides the challenge. */
export interface DigestInput {
  readonly login: string;
  readonly password: string;
  readonly method: string;
  /** The request-target as sent (path and query). */
  readonly uri: string;
  /** `auth-int`, `auth`, or `null` for the RFC 2069 form (the challenge offered no qop). */
  readonly qop: "auth" | "auth-int" | null;
  /** The entity body's bytes, needed for `auth-int`. */
  readonly body: Uint8Array | null;
  /** The nonce count, from 1. */
  readonly nc: number;
  readonly cnonce: string;
}

/** The `Authorization` value answering `challenge` (RFC 7616 3.4). */
export function digestAuthorization(challenge: DigestChallenge, input: DigestInput): string {
  const H = (data: string | Uint8Array): string =>
    createHash(challenge.hash).update(data).digest("hex");
  const { login, password, qop, cnonce } = input;
  const nc = input.nc.toString(16).padStart(8, "0");
  // RFC 7616 3.4.2: A1, with the -sess variant's nonce and cnonce.
  let ha1 = H(`${login}:${challenge.realm}:${password}`);
  if (challenge.session) ha1 = H(`${ha1}:${challenge.nonce}:${cnonce}`);
  // RFC 7616 3.4.3: A2; auth-int adds the hash of the entity body.
  let a2 = `${input.method}:${input.uri}`;
  if (qop === "auth-int") a2 += `:${H(input.body ?? new Uint8Array(0))}`;
  const ha2 = H(a2);
  // RFC 7616 3.4.1; without qop, RFC 2069's KD(H(A1), nonce:H(A2)).
  const response =
    qop === null
      ? H(`${ha1}:${challenge.nonce}:${ha2}`)
      : H(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
  const parts: string[] = [];
  if (challenge.userhash) {
    // RFC 7616 3.4.4: the user hash stands for the name, which then never goes on the wire.
    parts.push(`username="${H(`${login}:${challenge.realm}`)}"`);
  } else if (/^[\x20-\x7e]*$/.test(login)) {
    parts.push(`username=${quote(login)}`);
  } else {
    // RFC 7616 3.4.4: a name a quoted string cannot hold goes in RFC 8187 form.
    parts.push(`username*=UTF-8''${encodeRfc8187(login)}`);
  }
  parts.push(`realm=${quote(challenge.realm)}`, `uri=${quote(input.uri)}`);
  // RFC 7616 3.4: algorithm, qop and nc are tokens, never quoted.
  parts.push(`algorithm=${challenge.algorithm}`, `nonce=${quote(challenge.nonce)}`);
  if (qop !== null) parts.push(`nc=${nc}`, `cnonce=${quote(cnonce)}`, `qop=${qop}`);
  parts.push(`response="${response}"`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  if (challenge.userhash) parts.push("userhash=true");
  return `Digest ${parts.join(", ")}`;
}

/** An RFC 9110 5.6.4 quoted string. */
function quote(text: string): string {
  return `"${text.replace(/["\\]/g, "\\$&")}"`;
}

/** RFC 8187 3.2.1 value-chars: attr-char as is, every other UTF-8 byte percent-encoded. */
function encodeRfc8187(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
