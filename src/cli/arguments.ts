// Argument parsing on `node:util` parseArgs: strict (unknown options and stray positionals are
// errors), with the errors turned into `UsageError`s that name the command.

import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./errors.js";

/** The option table of one command, as `parseArgs` takes it. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** What `parseCommand` returns: `parseArgs`'s result for `options`. */
export type Parsed<O extends OptionSpec> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

/**
 * Parses `args` against `options`, strictly. `parseArgs` throws `TypeError`s with
 * `ERR_PARSE_ARGS_*` codes; they become `UsageError`s for `command`.
 */
export function parseCommand<O extends OptionSpec>(
  command: string,
  args: string[],
  options: O,
): Parsed<O> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    if (err instanceof TypeError && String(Reflect.get(err, "code")).startsWith("ERR_PARSE_ARGS")) {
      throw new UsageError(err.message.split("\n")[0] ?? err.message, command, { cause: err });
    }
    throw err;
  }
}

/** `value` as a number of at least `min` (and an integer when `integer`), else a UsageError. */
export function numberOption(
  command: string,
  name: string,
  value: string,
  { min = 0, integer = false }: { min?: number; integer?: boolean } = {},
): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    const kind = integer ? "an integer" : "a number";
    throw new UsageError(`--${name} must be ${kind} >= ${min}, not "${value}"`, command);
  }
  return n;
}
