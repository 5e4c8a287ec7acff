// `--ws`: an interactive WebSocket session. Lines read from stdin go out as text messages,
// messages received are printed; the end of stdin (Ctrl-D) closes with 1000 and still prints
// what arrives until the server's close frame, so piped input gets all its answers.

import { once } from "node:events";
import { createInterface } from "node:readline";
import {
  type ClientSession,
  type ClientWebSocketResponse,
  type WSConnectOptions,
  type WSMessage,
  WSMsgType,
} from "../index.js";
import { type Painter, painterFor } from "./colours.js";
import { ExitCode } from "./errors.js";
import { writeTo } from "./output.js";

/** The streams of a session; the process's by default. */
export interface WsIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** Prints one data message; false when `msg` ends the session (CLOSE, CLOSING, ERROR...). */
async function show(msg: WSMessage, io: WsIo, note: Painter): Promise<boolean> {
  if (msg.type === WSMsgType.TEXT) {
    await writeTo(io.stdout, `${msg.data}\n`);
    return true;
  }
  if (msg.type === WSMsgType.BINARY) {
    // Raw bytes to a pipe; on a terminal, only their size.
    if (io.stdout.isTTY)
      await writeTo(io.stdout, `${note.paint("gray", `[${msg.data.length} bytes of binary]`)}\n`);
    else await writeTo(io.stdout, msg.data);
    return true;
  }
  if (msg.type === WSMsgType.CLOSE) {
    const reason = msg.extra === "" ? "" : ` (${msg.extra})`;
    await writeTo(
      io.stderr,
      `${note.paint("gray", `aiohttp-ts: closed by the server: ${msg.data}${reason}`)}\n`,
    );
  } else if (msg.type === WSMsgType.ERROR) {
    await writeTo(io.stderr, `aiohttp-ts: WebSocket error: ${msg.data.message}\n`);
  }
  // PING/PONG only come with autoping off, which this session does not use.
  return msg.type === WSMsgType.PING || msg.type === WSMsgType.PONG;
}

/** Runs the session on `url` until stdin ends or the server closes; returns the exit code. */
export async function wsSession(
  session: ClientSession,
  url: string,
  options: WSConnectOptions,
  io: WsIo = process,
): Promise<ExitCode> {
  const ws: ClientWebSocketResponse = await session.wsConnect(url, options);
  const note = painterFor(io.stderr);
  if (io.stdin.isTTY) {
    await writeTo(
      io.stderr,
      `${note.paint("gray", `Connected to ${url}; lines you type are sent, Ctrl-D closes.`)}\n`,
    );
  }
  let failed = false;
  const reading = (async () => {
    for (;;) {
      const msg = await ws.receive(null);
      if (msg.type === WSMsgType.ERROR) failed = true;
      if (!(await show(msg, io, note))) return;
    }
  })();
  const lines = createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  // Each line is sent after the one before it; "close" comes after the last "line".
  let sent: Promise<void> = Promise.resolve();
  lines.on("line", (line) => {
    sent = sent.then(async () => {
      if (!ws.closed) await ws.sendStr(line);
    });
  });
  const sending = once(lines, "close").then(() =>
    sent.catch(() => {
      // The connection went away while sending: the reader reports how.
    }),
  );
  const first = await Promise.race([reading.then(() => "server"), sending.then(() => "stdin")]);
  if (first === "stdin") {
    await ws.close({ code: 1000 });
    await reading;
    // Messages that came after close() began wait in the queue until CLOSED.
    for (;;) {
      if (!(await show(await ws.receive(null), io, note))) break;
    }
  } else {
    lines.close();
    io.stdin.destroy();
    await sending;
  }
  return failed ? ExitCode.ERROR : ExitCode.OK;
}
