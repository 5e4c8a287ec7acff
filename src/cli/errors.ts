// The command's errors and exit codes: a failure the user can fix says so in one line and
// leaves with a code a script can switch on.

/**
 * Exit codes of the `aiohttp-ts` command. The request commands exit by the response's status
 * class (like httpie's `--check-status`, but always on).
 */
export const ExitCode = {
  /** Success: a 1xx/2xx response, a server that shut down cleanly. */
  OK: 0,
  /** Connection refused or lost, timeout, TLS failure, an unreadable file. */
  ERROR: 1,
  /** Bad arguments. */
  USAGE: 2,
  /** The final response was a 3xx (redirects are followed unless `--no-follow`). */
  REDIRECT: 3,
  /** The response was a 4xx. */
  CLIENT_ERROR: 4,
  /** The response was a 5xx. */
  SERVER_ERROR: 5,
} as const;

/** One of `ExitCode`'s values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure of the command, reported as one line on stderr; exits with `exitCode`. */
export class CliError extends Error {
  override name = "CliError";
  readonly code: string = "AIOHTTP_CLI_ERROR";
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = ExitCode.ERROR, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** Bad arguments: reported with the command's usage line; exits 2. */
export class UsageError extends CliError {
  override name = "UsageError";
  override readonly code: string = "AIOHTTP_CLI_USAGE";
  /** The command whose usage line is shown (`undefined`: the top level). */
  readonly command: string | undefined;

  constructor(message: string, command?: string, options?: ErrorOptions) {
    super(message, ExitCode.USAGE, options);
    this.command = command;
  }
}

/** The exit code for a response status (1xx and 2xx: 0). */
export function exitCodeForStatus(status: number): ExitCode {
  if (status >= 500) return ExitCode.SERVER_ERROR;
  if (status >= 400) return ExitCode.CLIENT_ERROR;
  if (status >= 300) return ExitCode.REDIRECT;
  return ExitCode.OK;
}
