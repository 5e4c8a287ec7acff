// Typed application state, and reading the nick a request's signed cookie carries.

import { web } from "aiohttp-ts";
import type { Chat } from "./chat.js";
import { NICK_COOKIE, type NickSigner } from "./nick-cookie.js";
import type { RateLimiter } from "./rate.js";

/** The store and the bus, opened and closed by the application's cleanup context. */
export const chatKey = new web.AppKey<Chat>("chat");
export const signerKey = new web.AppKey<NickSigner>("signer");
/** Messages posted over HTTP, by nick, and rooms opened over HTTP, by address. */
export const postRateKey = new web.AppKey<RateLimiter>("postRate");

/** The nick of a valid signed cookie, else `null`. */
export function nickOf(request: web.Request): string | null {
  return request.app.require(signerKey).verify(request.cookies[NICK_COOKIE]);
}
