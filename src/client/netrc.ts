// Credentials from a netrc file (`$NETRC`, else `~/.netrc`), which aiohttp reads for a request
// without auth when the session trusts the environment. The format is the one of ftp(1) and
// Python's netrc module: whitespace-separated tokens, `machine NAME` entries with `login`,
// `password` and `account`, one `default` entry, `macdef` blocks (skipped), `#` comments and
// double-quoted tokens.

import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { BasicAuth } from "./auth.js";

/** One netrc entry. */
export interface NetrcEntry {
  readonly login: string | undefined;
  readonly password: string | undefined;
  readonly account: string | undefined;
}

/** A parsed netrc file. */
export interface Netrc {
  /** Entries by machine name (lower-case); the first entry of a name counts. */
  readonly machines: ReadonlyMap<string, NetrcEntry>;
  readonly default: NetrcEntry | undefined;
}

/** Parses netrc text. Unknown keywords are skipped with their value, as ftp(1) does. */
export function parseNetrc(text: string): Netrc {
  const machines = new Map<string, NetrcEntry>();
  let fallback: NetrcEntry | undefined;
  const tokens = tokenize(text);
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i++];
    if (token === "macdef") {
      i++;
      continue;
    }
    if (token !== "machine" && token !== "default") continue;
    const name = token === "machine" ? (tokens[i++] ?? "").toLowerCase() : undefined;
    const entry: { login?: string; password?: string; account?: string } = {};
    while (i < tokens.length) {
      const key = tokens[i];
      if (key === "machine" || key === "default" || key === "macdef") break;
      const value = tokens[i + 1];
      i += 2;
      if (key === "login" || key === "password" || key === "account") entry[key] = value;
    }
    const done = { login: entry.login, password: entry.password, account: entry.account };
    if (name === undefined) fallback ??= done;
    else if (!machines.has(name)) machines.set(name, done);
  }
  return { machines, default: fallback };
}

/** The file's tokens; a macro's body (the lines after `macdef NAME` up to an empty one) is none. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "#") {
      i = lineEnd(text, i);
    } else if (c === '"') {
      let value = "";
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i];
      }
      tokens.push(value);
      i++;
    } else {
      const start = i;
      while (i < text.length && !/\s/.test(text[i] as string)) i++;
      tokens.push(text.slice(start, i));
      if (tokens.at(-2) === "macdef") i = macroEnd(text, i);
    }
  }
  return tokens;
}

function lineEnd(text: string, from: number): number {
  const end = text.indexOf("\n", from);
  return end === -1 ? text.length : end;
}

/** Past the macro whose name ends at `from`: its body ends with the first empty line. */
function macroEnd(text: string, from: number): number {
  let i = lineEnd(text, from) + 1;
  while (i < text.length) {
    const end = lineEnd(text, i);
    if (text.slice(i, end).trim() === "") return end;
    i = end + 1;
  }
  return text.length;
}

/**
 * aiohttp's `basicauth_from_netrc`: the entry for `host`, else the default entry, as Basic
 * credentials (the account when the login is empty, an empty password when none is given).
 */
export function netrcCredentials(netrc: Netrc, host: string): BasicAuth | undefined {
  const entry = netrc.machines.get(host.toLowerCase()) ?? netrc.default;
  if (entry === undefined) return undefined;
  const login = entry.login !== undefined && entry.login !== "" ? entry.login : entry.account;
  return new BasicAuth(login ?? "", entry.password ?? "");
}

/**
 * The credentials the netrc file (`$NETRC`, else `~/.netrc`) holds for `host`. A missing or
 * unreadable file means none, as in aiohttp.
 */
export async function netrcAuth(
  host: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BasicAuth | undefined> {
  const path = env.NETRC !== undefined && env.NETRC !== "" ? env.NETRC : join(homedir(), ".netrc");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  return netrcCredentials(parseNetrc(text), host);
}
