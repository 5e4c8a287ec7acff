// Access logging with aiohttp's format specifiers (which follow Apache's): the format is
// compiled once into a function, so each request costs one string concatenation.

import type { Request } from "./request.js";
import type { StreamResponse } from "./response.js";

/** aiohttp's default: `%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"`. */
export const DEFAULT_ACCESS_LOG_FORMAT = '%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"';

/** Where access log lines go: anything with an `info(line)` method, such as `console`. */
export interface AccessLogSink {
  info(line: string): void;
}

/** A custom access logger: receives the request, the response and the time taken. */
export abstract class AbstractAccessLogger {
  /** Whether `log` should be called at all; returning false skips the bookkeeping. */
  get enabled(): boolean {
    return true;
  }
  abstract log(request: Request, response: StreamResponse | null, durationMs: number): void;
}

type Part = (request: Request, response: StreamResponse | null, durationMs: number) => string;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Apache's `%t`: `[26/Nov/2026:03:51:44 +0000]` in local time. */
function formatTime(d: Date): string {
  const pad = (n: number): string => String(n).padStart(2, "0");
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return `[${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${pad(
    d.getMinutes(),
  )}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}]`;
}

/** aiohttp's `%b`: body bytes sent (before compression), 0 for HEAD, 204 and 304. */
function responseSize(response: StreamResponse | null): string {
  return response === null ? "-" : String(response.bodyLength);
}

const SPECIFIERS: Record<string, Part> = {
  a: (req) => req.remote ?? "-",
  // aiohttp logs when the request started: now minus its duration.
  t: (_q, _r, ms) => formatTime(new Date(Date.now() - ms)),
  P: () => `<${process.pid}>`,
  r: (req) => `${req.method} ${req.rawPathAndQuery} HTTP/${req.version.major}.${req.version.minor}`,
  s: (req, resp) => String(resp?.status ?? req.rawResponse.statusCode),
  b: (_req, resp) => responseSize(resp),
  T: (_q, _r, ms) => String(Math.round(ms / 1000)),
  Tf: (_q, _r, ms) => (ms / 1000).toFixed(6),
  D: (_q, _r, ms) => String(Math.round(ms * 1000)),
};

/**
 * Compiles an aiohttp access log format. Specifiers: `%a` remote address, `%t` time, `%P` pid,
 * `%r` request line, `%s` status, `%b` body size, `%T` seconds, `%Tf` seconds with
 * fractions, `%D` microseconds, `%{Name}i` a request header, `%{Name}o` a response header,
 * `%%` a percent sign.
 */
export function compileAccessLogFormat(format: string): Part {
  const parts: Array<string | Part> = [];
  // A "%" not followed by a known specifier is caught by the last group, so "%%" and
  // "100%% of %b" scan left to right the way Apache and aiohttp read them.
  const re = /%(?:\{([^}]+)\}([io])|(Tf|[atPrsbTD%])|([\s\S]?))/g;
  let last = 0;
  for (let m = re.exec(format); m !== null; m = re.exec(format)) {
    if (m.index > last) parts.push(format.slice(last, m.index));
    last = re.lastIndex;
    const [, header, kind, spec, unknown] = m;
    if (unknown !== undefined) {
      throw new TypeError(
        `Unknown specifier %${unknown} in access log format ${JSON.stringify(format)}`,
      );
    }
    if (header !== undefined) {
      const name = header;
      parts.push(
        kind === "i"
          ? (req) => req.headers.get(name) ?? "-"
          : (_req, resp) => (resp === null ? "-" : (resp.headers.get(name) ?? "-")),
      );
    } else if (spec === "%") {
      parts.push("%");
    } else {
      parts.push(SPECIFIERS[spec as string] as Part);
    }
  }
  if (last < format.length) parts.push(format.slice(last));
  return (req, resp, ms) => {
    let line = "";
    for (const p of parts) line += typeof p === "string" ? p : p(req, resp, ms);
    return line;
  };
}

/** The built-in access logger: formats a line and hands it to a sink (console by default). */
export class AccessLogger extends AbstractAccessLogger {
  readonly #sink: AccessLogSink;
  readonly #format: Part;

  constructor(sink: AccessLogSink = console, format: string = DEFAULT_ACCESS_LOG_FORMAT) {
    super();
    this.#sink = sink;
    this.#format = compileAccessLogFormat(format);
  }

  log(request: Request, response: StreamResponse | null, durationMs: number): void {
    this.#sink.info(this.#format(request, response, durationMs));
  }
}
