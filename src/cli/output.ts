// How a response is shown: the status line and headers (coloured on a terminal), then the
// body: JSON pretty-printed, text as it is, binary refused on a terminal with a hint.

import { once } from "node:events";
import { type ClientResponse, isJsonType } from "../index.js";
import type { Painter, Style } from "./colours.js";
import { formatJson } from "./json-format.js";

/** The status line and the headers as received, each line ending in "\n". */
export function formatHead(resp: ClientResponse, painter: Painter): string {
  const style: Style = resp.status >= 400 ? "red" : resp.status >= 300 ? "yellow" : "green";
  let out = `${painter.paint(style, `${resp.status} ${resp.reason}`)}\n`;
  for (const [name, value] of resp.rawHeaders) out += `${painter.paint("cyan", name)}: ${value}\n`;
  return out;
}

/** Writes `chunk` to `stream`, waiting for it to drain when its buffer is full. */
export async function writeTo(
  stream: NodeJS.WritableStream,
  chunk: string | Uint8Array,
): Promise<void> {
  if (!stream.write(chunk)) await once(stream, "drain");
}

const TEXTUAL = /^(text\/|application\/(javascript|xml|x-www-form-urlencoded)$|.*\+xml$)/;

/** Whether `body` looks binary: a NUL byte near the start, or not UTF-8 without a charset. */
function looksBinary(resp: ClientResponse, body: Buffer): boolean {
  if (body.subarray(0, 8192).includes(0)) return true;
  if (resp.charset !== undefined || TEXTUAL.test(resp.contentType)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(body);
    return false;
  } catch {
    return true;
  }
}

/**
 * Writes the body of `resp` to `stdout`. JSON is parsed and pretty-printed (as text when it
 * does not parse); to a pipe, anything else is copied byte for byte as it arrives. A binary
 * body is not written to a terminal: a note on `stderr` says how to get it.
 */
export async function writeBody(
  resp: ClientResponse,
  stdout: NodeJS.WriteStream,
  stderr: NodeJS.WritableStream,
  painter: Painter,
): Promise<void> {
  if (isJsonType(resp.contentType)) {
    const text = await resp.text();
    let shown = text;
    try {
      if (text.trim() !== "") shown = formatJson(JSON.parse(text), painter);
    } catch {
      // Not JSON after all: shown as received.
    }
    await writeTo(stdout, shown.endsWith("\n") || shown === "" ? shown : `${shown}\n`);
    return;
  }
  if (!stdout.isTTY) {
    // iterAny: iterating the StreamReader itself gives lines, as in aiohttp.
    for await (const chunk of resp.content.iterAny()) await writeTo(stdout, chunk);
    return;
  }
  const body = await resp.read();
  if (looksBinary(resp, body)) {
    await writeTo(
      stderr,
      `aiohttp-ts: binary body (${body.length} bytes, ${resp.contentType}) not shown on a ` +
        "terminal; use -o FILE or redirect the output (> FILE)\n",
    );
    return;
  }
  const text = await resp.text();
  await writeTo(stdout, text.endsWith("\n") || text === "" ? text : `${text}\n`);
}
