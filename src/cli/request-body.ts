// What the request commands send: headers from `-H "Name: value"`, a body from `-d` (text,
// @file or @- for stdin) or a JSON object from `--json` fields (httpie's k=v and k:=json).

import { readFile } from "node:fs/promises";
import { text as readStream } from "node:stream/consumers";
import { UsageError } from "./errors.js";

/** `-H` values as name/value pairs, in order (repeated names kept). */
export function parseHeaders(command: string, values: readonly string[]): Array<[string, string]> {
  return values.map((h) => {
    const colon = h.indexOf(":");
    const name = colon === -1 ? "" : h.slice(0, colon).trim();
    if (name === "" || /\s/.test(name)) {
      throw new UsageError(`-H takes "Name: value", not "${h}"`, command);
    }
    return [name, h.slice(colon + 1).trim()];
  });
}

/**
 * `--json` fields as one object: `k=v` sets the string "v", `k:=v` the JSON value v (numbers,
 * booleans, null, arrays, objects). A repeated key keeps the last value.
 */
export function jsonFields(command: string, fields: readonly string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const field of fields) {
    const eq = field.indexOf("=");
    if (eq <= 0) throw new UsageError(`--json takes k=v or k:=json, not "${field}"`, command);
    if (field[eq - 1] === ":") {
      const key = field.slice(0, eq - 1);
      const raw = field.slice(eq + 1);
      if (key === "") throw new UsageError(`--json takes k=v or k:=json, not "${field}"`, command);
      try {
        body[key] = JSON.parse(raw);
      } catch {
        throw new UsageError(`--json ${key}:= needs a JSON value, not ${raw}`, command);
      }
    } else {
      body[field.slice(0, eq)] = field.slice(eq + 1);
    }
  }
  return body;
}

/** The `-d` body: the text itself, or the bytes of `@file` (`@-`: all of stdin). */
export async function dataBody(data: string): Promise<string | Buffer> {
  if (!data.startsWith("@")) return data;
  const file = data.slice(1);
  if (file === "-") return Buffer.from(await readStream(process.stdin));
  return readFile(file);
}
