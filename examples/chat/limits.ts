// The chat's input rules, in one place: the server enforces them, the page and the bot read
// them (the page through GET /api/limits) so that the two never disagree.

/** Longest message, in characters (UTF-16 code units, as the browser's maxlength counts). */
export const MAX_TEXT = 2000;

/** Largest request body the application reads, in bytes; a bigger one gets 413. */
export const MAX_BODY = 16 * 1024;

/** Room names: 1-32 of lowercase letters, digits, `-` and `_`, so they sit in URLs as they are. */
export const ROOM_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** Nicknames: 1-24 letters (any script), digits, `_`, `-` and `.`. */
export const NICK = /^[\p{L}\p{N}_.-]{1,24}$/u;

/** Messages a connection (or a nickname over HTTP) may send in a burst... */
export const RATE_BURST = 8;

/** ...and how many it regains per second after that. */
export const RATE_PER_SECOND = 2;

/** Most messages one history page returns (`?limit=`). */
export const MAX_PAGE = 200;

/** Messages a page gets when it joins a room. */
export const JOIN_HISTORY = 50;

export function isRoomName(name: string): boolean {
  return ROOM_NAME.test(name);
}

export function isNick(nick: string): boolean {
  return NICK.test(nick);
}
