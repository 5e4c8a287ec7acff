// The challenges of WWW-Authenticate headers (RFC 9110 11.6.1): one header may carry several
// challenges, a response may carry several headers, and a quoted parameter may hold commas.

import { splitOutsideQuotes, TOKEN, unquote } from "../http/header-syntax.js";

/** One challenge: its scheme (lower case) and its parameters (lower-case names). */
export interface AuthChallenge {
  readonly scheme: string;
  /** Parameters by lower-case name; the first of a repeated name is kept. */
  readonly params: ReadonlyMap<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge has one instead of parameters. */
  readonly token68?: string;
}

interface Building {
  scheme: string;
  params: Map<string, string>;
  token68?: string;
}

/**
 * The challenges of every value of `headers`, in order. RFC 9110 11.6.1:
 * `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`, and list elements are
 * comma-separated, so an element `name = value` continues the challenge before it while an
 * element that starts with a bare token starts the next one.
 */
export function parseChallenges(headers: Iterable<string>): AuthChallenge[] {
  const challenges: Building[] = [];
  for (const header of headers) {
    for (const element of splitOutsideQuotes(header, ",")) {
      const head = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(.*)$/s.exec(element);
      if (head === null) continue;
      const [, token = "", rest = ""] = head;
      const current = challenges.at(-1);
      if (rest.trimStart().startsWith("=")) {
        // `name=value`: a parameter of the challenge before it (none yet: malformed, skipped).
        if (current !== undefined) addParam(current, token, rest.trimStart().slice(1));
        continue;
      }
      const next: Building = { scheme: token.toLowerCase(), params: new Map() };
      challenges.push(next);
      const first = rest.trim();
      if (first === "") continue;
      const param = /^([^\s=]+)\s*=(.*)$/s.exec(first);
      if (param !== null && TOKEN.test(param[1] as string) && !/^\s*=*\s*$/.test(param[2] ?? "")) {
        addParam(next, param[1] as string, param[2] as string);
      } else next.token68 = first;
    }
  }
  return challenges;
}

function addParam(challenge: Building, name: string, raw: string): void {
  const key = name.toLowerCase();
  if (challenge.params.has(key)) return;
  challenge.params.set(key, unquote(raw.trim()));
}
