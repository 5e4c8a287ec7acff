// Trusted proxies: which hops in front of the server to believe, and what they say about the
// client's address, the host and the scheme, in `Forwarded` (RFC 7239) or, without it, in
// X-Forwarded-For/-Host/-Proto.

import type { IncomingHttpHeaders } from "node:http";
import { splitOutsideQuotes, unquote } from "../http/header-syntax.js";

/** Which proxies to believe about the client's address, host and scheme. */
export type TrustProxy = boolean | number | ((address: string, hop: number) => boolean);

/** One element of a parsed `Forwarded` header (RFC 7239). */
export type ForwardedElement = Readonly<Record<string, string>>;

/** What a proxy can tell: RFC 7239 5.2 `for`, 5.3 `host`, 5.4 `proto`. */
export type ForwardedField = "for" | "host" | "proto";

/**
 * What the outermost trusted proxy says about `field`, or undefined. `trust: true` believes
 * every hop, a number believes that many hops counted from the socket's peer, a function is
 * asked about each hop's address in turn, nearest first.
 *
 * @param forwarded the request's parsed `Forwarded` elements, nearest proxy last
 * @param peer the address of the socket's peer (the nearest proxy)
 */
export function trustedValue(
  field: ForwardedField,
  trust: TrustProxy,
  forwarded: readonly ForwardedElement[],
  headers: IncomingHttpHeaders,
  peer: string,
): string | undefined {
  const useForwarded = forwarded.length > 0;
  const forList = useForwarded
    ? forwarded.map((el) => (el.for === undefined ? "" : stripPort(el.for)))
    : splitList(headers["x-forwarded-for"]);
  const depth = trustedDepth(trust, forList, peer);
  if (depth === 0) return undefined;
  if (useForwarded) {
    for (let i = Math.max(0, forwarded.length - depth); i < forwarded.length; i++) {
      const v = (forwarded[i] as ForwardedElement)[field];
      if (v !== undefined && v !== "") return field === "for" ? stripPort(v) : v;
    }
    return undefined;
  }
  const list =
    field === "for"
      ? forList
      : splitList(field === "host" ? headers["x-forwarded-host"] : headers["x-forwarded-proto"]);
  if (list.length === 0) return undefined;
  return list[Math.max(0, list.length - depth)];
}

/** How many hops, counted from the peer, are believed. */
function trustedDepth(trust: TrustProxy, forList: readonly string[], peer: string): number {
  if (trust === true) return Number.POSITIVE_INFINITY;
  if (typeof trust === "number") return trust;
  if (typeof trust !== "function") return 0;
  let depth = 0;
  let addr = peer;
  while (depth <= forList.length && trust(addr, depth)) {
    depth++;
    addr = forList[forList.length - depth] ?? "";
  }
  return depth;
}

/** Parses `Forwarded` header values (RFC 7239 section 4) into one object per hop. */
export function parseForwarded(values: readonly string[]): ForwardedElement[] {
  const out: ForwardedElement[] = [];
  for (const value of values) {
    for (const element of splitOutsideQuotes(value, ",")) {
      const pairs: Record<string, string> = {};
      for (const pair of splitOutsideQuotes(element, ";")) {
        const eq = pair.indexOf("=");
        if (eq <= 0) continue;
        const name = pair.slice(0, eq).trim().toLowerCase();
        if (!(name in pairs)) pairs[name] = unquote(pair.slice(eq + 1).trim());
      }
      out.push(Object.freeze(pairs));
    }
  }
  return out;
}

function splitList(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const joined = Array.isArray(header) ? header.join(",") : header;
  return joined
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** An address without its port: `[2001:db8::1]:80` and `192.0.2.1:80` lose it, bare IPv6 keeps all. */
function stripPort(value: string): string {
  if (value.startsWith("[")) {
    const end = value.indexOf("]");
    return end === -1 ? value : value.slice(1, end);
  }
  const colon = value.indexOf(":");
  return colon !== -1 && value.indexOf(":", colon + 1) === -1 ? value.slice(0, colon) : value;
}
