#!/usr/bin/env node
// The `aiohttp-ts` command: dispatches to `serve` or a request command, prints help, and turns
// failures into one line on stderr and an exit code (see errors.ts and docs/cli.md).

import { VERSION } from "../version.js";
import { CliError, ExitCode, UsageError } from "./errors.js";
import { requestCommand } from "./request.js";
import { serveCommand } from "./serve.js";
import { helpText, REQUEST_COMMANDS, type RequestCommand, usageLine } from "./usage.js";

function isRequestCommand(name: string): name is RequestCommand {
  return (REQUEST_COMMANDS as readonly string[]).includes(name);
}

/** Whether `args` asks for help (before any "--"). */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === "-h" || a === "--help");
}

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<ExitCode> {
  const [command, ...args] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    // No command at all is a usage error: the help goes to stderr and the exit code is 2.
    const out = command === undefined ? process.stderr : process.stdout;
    out.write(`${helpText(command === "help" ? args[0] : undefined)}\n`);
    return command === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  if (command === "-v" || command === "--version") {
    process.stdout.write(`${VERSION}\n`);
    return ExitCode.OK;
  }
  if (command !== "serve" && !isRequestCommand(command)) {
    throw new UsageError(`unknown command "${command}"`);
  }
  if (wantsHelp(args)) {
    process.stdout.write(`${helpText(command)}\n`);
    return ExitCode.OK;
  }
  return command === "serve" ? serveCommand(args) : requestCommand(command, args);
}

/** Prints `err` as the command reports failures and returns its exit code. */
function report(err: unknown): ExitCode {
  if (err instanceof UsageError) {
    process.stderr.write(`aiohttp-ts: ${err.message}\n${usageLine(err.command)}\n`);
  } else if (err instanceof CliError) {
    process.stderr.write(`aiohttp-ts: ${err.message}\n`);
  } else if (err instanceof Error && "syscall" in err) {
    // A system error (EADDRINUSE when serving, EACCES on a socket path): its message says it.
    process.stderr.write(`aiohttp-ts: ${err.message}\n`);
    return ExitCode.ERROR;
  } else {
    // Not ours (the served module threw, say): the stack is what its author needs.
    process.stderr.write(
      `aiohttp-ts: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return ExitCode.ERROR;
  }
  return err.exitCode;
}

// A reader that stops early (`aiohttp-ts get ... | head -1`) closes the pipe: that ends the
// command quietly, with the exit code of the response when it is known already.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(process.exitCode ?? ExitCode.OK);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
