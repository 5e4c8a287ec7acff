// The server's half of the WebSocket opening handshake (RFC 6455 4.2, RFC 7692 7): the accept
// key, the subprotocol list and the permessage-deflate negotiation. Refusals are the same as
// `ws`'s server (which answers the client side): a malformed list is a bad request.

import { createHash } from "node:crypto";
import { isToken, splitOutsideQuotes, unquote } from "../header-syntax.js";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** A handshake header the server cannot accept; the request is answered 400. */
export class HandshakeError extends Error {
  override readonly name = "HandshakeError";
  readonly code = "AIOHTTP_WS_HANDSHAKE";
}

/** RFC 6455 4.2.2: the `Sec-WebSocket-Accept` value for a client's key. */
export function acceptKey(key: string): string {
  return createHash("sha1")
    .update(key + GUID)
    .digest("base64");
}

/** RFC 6455 4.1: the client's subprotocols, in its order; distinct tokens, or HandshakeError. */
export function parseProtocols(header: string): string[] {
  const names = header.split(",").map((name) => name.trim());
  if (names.some((name) => !isToken(name)) || new Set(names).size !== names.length) {
    throw new HandshakeError("Invalid Sec-WebSocket-Protocol header");
  }
  return names;
}

/** The parameters of one permessage-deflate offer, as agreed (RFC 7692 7.1). */
export interface DeflateParams {
  /** The server resets its compressor after each message. */
  readonly serverNoContextTakeover: boolean;
  /** The client resets its compressor after each message: the server's inflater does too. */
  readonly clientNoContextTakeover: boolean;
  /** The server's LZ77 window (8-15 bits), `null` for 15. */
  readonly serverMaxWindowBits: number | null;
  /** The client's LZ77 window (8-15 bits), `null` for 15. */
  readonly clientMaxWindowBits: number | null;
}

/** What the server agreed: the parameters and the `Sec-WebSocket-Extensions` answer. */
export interface DeflateAgreement {
  readonly params: DeflateParams;
  readonly header: string;
}

const UNACCEPTABLE = "Invalid or unacceptable Sec-WebSocket-Extensions header";

type Param = readonly [name: string, value: string | true];

/**
 * Agrees permessage-deflate from a `Sec-WebSocket-Extensions` request header: the first
 * valid offer, as the server asks nothing of its own (RFC 7692 5); `null` when none is offered
 * or valid. RFC 7692 7.1 has an invalid offer declined (`ws` refuses the handshake instead); a
 * header that is not an extension list at all refuses it.
 */
export function negotiateDeflate(header: string): DeflateAgreement | null {
  const offers = parseExtensions(header).get("permessage-deflate");
  const agreed = offers?.find(isValidOffer);
  if (agreed === undefined) return null;
  // The client's `client_max_window_bits` without a value only says it could take one.
  const kept = agreed.filter(
    ([name, value]) => !(name === "client_max_window_bits" && value === true),
  );
  const windowBits = (name: string): number | null => {
    const param = kept.find(([n]) => n === name);
    return param === undefined ? null : Number(param[1]);
  };
  const params: DeflateParams = {
    serverNoContextTakeover: kept.some(([n]) => n === "server_no_context_takeover"),
    clientNoContextTakeover: kept.some(([n]) => n === "client_no_context_takeover"),
    serverMaxWindowBits: windowBits("server_max_window_bits"),
    clientMaxWindowBits: windowBits("client_max_window_bits"),
  };
  const answer = ["permessage-deflate"];
  for (const [name, value] of kept) answer.push(value === true ? name : `${name}=${value}`);
  return { params, header: answer.join("; ") };
}

/** RFC 7692 7.1: known parameters, each once, with a valid value. */
function isValidOffer(offer: readonly Param[]): boolean {
  const seen = new Set<string>();
  for (const [name, value] of offer) {
    if (seen.has(name)) return false;
    seen.add(name);
    switch (name) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        if (value !== true) return false;
        break;
      case "client_max_window_bits":
        if (value !== true && !isWindowBits(value)) return false;
        break;
      case "server_max_window_bits":
        if (value === true || !isWindowBits(value)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function isWindowBits(value: string): boolean {
  const bits = Number(value);
  return Number.isInteger(bits) && bits >= 8 && bits <= 15;
}

/**
 * RFC 6455 9.1: `extension-list = 1#( token *( ";" token [ "=" (token | quoted-string) ] ) )`,
 * as offers by extension name. Anything else refuses the handshake.
 */
function parseExtensions(header: string): Map<string, Param[][]> {
  const offers = new Map<string, Param[][]>();
  const elements = splitStrict(header, ",");
  for (const element of elements) {
    const [name, ...rest] = splitStrict(element, ";");
    if (name === undefined || !isToken(name)) throw new HandshakeError(UNACCEPTABLE);
    const params: Param[] = [];
    for (const part of rest) {
      const eq = part.indexOf("=");
      const key = (eq === -1 ? part : part.slice(0, eq)).trim();
      if (!isToken(key)) throw new HandshakeError(UNACCEPTABLE);
      if (eq === -1) {
        params.push([key, true]);
        continue;
      }
      const raw = part.slice(eq + 1).trim();
      const value = raw.startsWith('"') ? unquote(raw) : raw;
      if (!isToken(value) || (raw.startsWith('"') && !raw.endsWith('"'))) {
        throw new HandshakeError(UNACCEPTABLE);
      }
      params.push([key, value]);
    }
    const list = offers.get(name) ?? [];
    list.push(params);
    offers.set(name, list);
  }
  return offers;
}

/** Splits at `sep` outside quoted strings; an empty part (`a,,b`, a trailing `;`) refuses. */
function splitStrict(text: string, sep: string): string[] {
  const parts = splitOutsideQuotes(text, sep, { keepEmpty: true });
  if (parts.includes("")) throw new HandshakeError(UNACCEPTABLE);
  return parts;
}
