// The nickname travels in a cookie signed with HMAC-SHA256, so that a client cannot claim
// another nick by editing it: `<nick in base64url>.<signature in base64url>`. The server keeps
// no session table; any server that has the same secret accepts the cookie.

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isNick } from "./limits.js";

export const NICK_COOKIE = "chat_nick";

/** Signs and checks nick cookies with one secret. */
export class NickSigner {
  readonly #secret: Buffer;

  constructor(secret: string | Buffer) {
    this.#secret = Buffer.from(secret);
  }

  #mac(payload: string): Buffer {
    return createHmac("sha256", this.#secret).update(payload).digest();
  }

  sign(nick: string): string {
    const payload = Buffer.from(nick).toString("base64url");
    return `${payload}.${this.#mac(payload).toString("base64url")}`;
  }

  /** The nick in a cookie value, or `null` if it was not signed by us or is not a valid nick. */
  verify(value: string | undefined): string | null {
    if (value === undefined) return null;
    const dot = value.indexOf(".");
    if (dot < 0) return null;
    const payload = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1), "base64url");
    const expected = this.#mac(payload);
    // timingSafeEqual throws on a length mismatch, and comparing in constant time only
    // matters for equal lengths anyway.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const nick = Buffer.from(payload, "base64url").toString();
    return isNick(nick) ? nick : null;
  }
}

/**
 * The secret: `CHAT_SECRET` when set (give every host the same one), else a random one kept in
 * `<dataDir>/secret`, so that cookies survive restarts and every process sharing the data
 * directory accepts them. `wx` makes the first process to start the one that creates it.
 */
export function loadSecret(dataDir: string, fromEnv = process.env.CHAT_SECRET): string {
  if (fromEnv) return fromEnv;
  const path = join(dataDir, "secret");
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(path, randomBytes(32).toString("base64url"), { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return readFileSync(path, "utf8").trim();
}
