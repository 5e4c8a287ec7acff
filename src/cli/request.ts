// The request commands (`aiohttp-ts get|post|put|patch|delete|head <url>`): one request on a
// ClientSession, shown httpie style, with the exit code taken from the status class.

import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { ClientError, ClientSession, type RequestOptions } from "../index.js";
import { numberOption, parseCommand } from "./arguments.js";
import { painterFor } from "./colours.js";
import { CliError, type ExitCode, exitCodeForStatus, UsageError } from "./errors.js";
import { formatHead, writeBody, writeTo } from "./output.js";
import { ProgressBar } from "./progress.js";
import { dataBody, jsonFields, parseHeaders } from "./request-body.js";
import type { RequestCommand } from "./usage.js";
import { wsSession } from "./ws.js";

const OPTIONS = {
  header: { type: "string", short: "H", multiple: true },
  data: { type: "string", short: "d" },
  json: { type: "string", short: "j", multiple: true },
  output: { type: "string", short: "o" },
  body: { type: "boolean", short: "b" },
  timeout: { type: "string" },
  insecure: { type: "boolean" },
  "no-follow": { type: "boolean" },
  ws: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * `url` as typed, completed like httpie: no scheme means http://, and ":8080/x" means
 * localhost.
 */
export function completeUrl(command: string, url: string): string {
  let full = url;
  if (/^:\d*(\/|$)/.test(url)) full = `http://localhost${url}`;
  else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) full = `http://${url}`;
  if (!URL.canParse(full)) throw new UsageError(`not a URL: "${url}"`, command);
  return full;
}

/** Turns a client failure into a one-line CliError (exit 1) naming the method and URL. */
function requestFailed(method: string, url: string, err: unknown): CliError {
  if (err instanceof ClientError) {
    const cause = err.cause instanceof Error ? err.cause.message : "";
    const detail = err.message.includes(cause) ? err.message : `${err.message} (${cause})`;
    return new CliError(`${method} ${url} failed: ${detail}`, undefined, { cause: err });
  }
  return err instanceof CliError ? err : new CliError(String(err), undefined, { cause: err });
}

/** Runs one request command with `args` (the arguments after the command name). */
export async function requestCommand(command: RequestCommand, args: string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommand(command, args, OPTIONS);
  const [typed, extra] = positionals;
  if (typed === undefined) throw new UsageError("missing <url>", command);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`, command);
  const url = completeUrl(command, typed);
  const method = command.toUpperCase();
  if (values.data !== undefined && values.json !== undefined) {
    throw new UsageError("-d and --json cannot be used together", command);
  }
  const headers = parseHeaders(command, values.header ?? []);
  const total =
    values.timeout === undefined
      ? undefined
      : numberOption(command, "timeout", values.timeout) * 1000;
  const options: RequestOptions = { headers };
  if (values.insecure) options.ssl = false;
  if (values["no-follow"]) options.allowRedirects = false;
  if (total !== undefined) options.timeout = { total };
  if (values.json !== undefined) options.json = jsonFields(command, values.json);
  if (values.data !== undefined) {
    try {
      options.data = await dataBody(values.data);
    } catch (err) {
      throw new CliError(
        `cannot read ${values.data.slice(1)}: ${err instanceof Error ? err.message : String(err)}`,
        undefined,
        { cause: err },
      );
    }
  }

  await using session = new ClientSession();
  if (values.ws) {
    if (options.data !== undefined || options.json !== undefined) {
      throw new UsageError("--ws sends stdin; it takes no -d or --json", command);
    }
    try {
      return await wsSession(session, url, {
        headers,
        ...(options.ssl === undefined ? {} : { ssl: false }),
      });
    } catch (err) {
      throw requestFailed("WebSocket", url, err);
    }
  }

  const bar = values.output === undefined ? null : new ProgressBar(process.stderr);
  if (bar !== null) options.onDownloadProgress = (p) => bar.update(p);
  try {
    await using resp = await session.request(method, url, options);
    // Known now, for an exit on EPIPE (see main.ts) before the body is written.
    process.exitCode = exitCodeForStatus(resp.status);
    if (!values.body) await writeTo(process.stdout, formatHead(resp, painterFor(process.stdout)));
    if (values.output !== undefined) {
      await pipeline(resp.content.iterAny(), createWriteStream(values.output));
      bar?.finish();
    } else if (method !== "HEAD") {
      if (!values.body) await writeTo(process.stdout, "\n");
      await writeBody(resp, process.stdout, process.stderr, painterFor(process.stdout));
    }
    return exitCodeForStatus(resp.status);
  } catch (err) {
    throw requestFailed(method, url, err);
  }
}
