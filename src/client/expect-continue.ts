// `expect100: true`: the request goes out with `Expect: 100-continue` and its body follows only
// once the server said `100 Continue`; a final answer that comes first is the response, and the
// body is not sent at all. undici refuses an Expect header on HTTP/1.1 ("expect header not
// supported"; its `expectContinue` is for HTTP/2 only), so these requests go over node:http, on
// a connection of their own, as WebSockets do.

import type { IncomingHttpHeaders } from "node:http";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { type Duplex, Readable } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import type { WebSocketTransport } from "./connector.js";
import { SocketTimeoutError } from "./errors.js";
import type { RequestAbort } from "./request-control.js";
import { serializeForm, type WireBody } from "./wire-body.js";

/** A response head and its body, as the request turns it into a `ClientResponse`. */
export interface Answer {
  readonly statusCode: number;
  readonly statusText?: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
}

/** One request sent with `Expect: 100-continue`. */
export interface ContinueRequest {
  readonly url: URL;
  readonly method: string;
  /** Header names and values, in turn (Host and framing headers included). */
  readonly headers: readonly string[];
  readonly body: WireBody["body"];
  readonly transport: WebSocketTransport;
  /** Opening the connection may take this long, ms (0: no limit). */
  readonly connectTimeout: number;
  /**
   * `sockRead`: the connection may stay silent this long, ms (0: no limit), until the response
   * head arrives. Sending the body counts as activity: a slow upload is not a slow server.
   */
  readonly readTimeout: number;
  readonly signal: RequestAbort;
}

/** Sends `r`, its body after `100 Continue` only; resolves with the final response head. */
export function requestWithContinue(r: ContinueRequest): Promise<Answer> {
  const { url, transport } = r;
  const secure = url.protocol === "https:";
  const headers = [...r.headers, "Expect", "100-continue"];
  let body = r.body;
  if (body !== null && !(typeof body === "string" || body instanceof Uint8Array)) {
    if (!(body instanceof Readable)) {
      const form = serializeForm(body);
      if (form.contentType !== undefined && !hasHeader(headers, "content-type")) {
        headers.push("Content-Type", form.contentType);
      }
      body = form.stream;
    }
  } else if (body !== null && !hasHeader(headers, "content-length")) {
    headers.push("Content-Length", String(Buffer.byteLength(body)));
  }
  const payload = body;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
  const pin = secure ? transport.tlsSettings.fingerprint : undefined;
  return new Promise<Answer>((resolve, reject) => {
    let connectTimer: NodeJS.Timeout | undefined;
    const req = (secure ? httpsRequest : httpRequest)({
      ...(secure ? transport.tls : {}),
      host,
      port,
      ...(transport.socketPath === undefined ? {} : { socketPath: transport.socketPath }),
      path: `${url.pathname}${url.search}`,
      method: r.method,
      headers,
      setHost: false,
      // A connection of its own: one whose server refused the body cannot carry another request.
      // (node:http uses `createConnection` only without an agent, and closes it after one use.)
      ...(pin === undefined
        ? { agent: false }
        : {
            // The pin is checked before node:http writes a byte (the headers may carry
            // credentials): the socket is handed over once its certificate passed.
            createConnection: (
              _options: unknown,
              oncreate: (err: Error | null, socket: Duplex) => void,
            ): undefined => {
              const socket = tlsConnect({
                ...transport.tls,
                host,
                port,
                ...(transport.socketPath === undefined ? {} : { path: transport.socketPath }),
                ...(transport.tls.servername === undefined && isIP(host) === 0
                  ? { servername: host }
                  : {}),
              });
              // node:http reads only the error when there is one.
              const none: Duplex = socket;
              socket.once("error", (err) => oncreate(err, none));
              socket.once("secureConnect", () => {
                clearTimeout(connectTimer);
                try {
                  pin.check(socket, host, port);
                } catch (mismatch) {
                  socket.destroy();
                  oncreate(mismatch as Error, none);
                  return;
                }
                oncreate(null, socket);
              });
              return undefined;
            },
          }),
    });
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      r.signal.off("abort", onAbort);
      req.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(r.signal.reason);
    r.signal.once("abort", onAbort);
    if (r.readTimeout > 0) {
      req.setTimeout(r.readTimeout, () => {
        fail(
          new SocketTimeoutError(`Timeout on reading data from socket (${r.method} ${url.href})`),
        );
      });
    }
    if (r.connectTimeout > 0) {
      connectTimer = setTimeout(() => {
        const err = Object.assign(new Error(`Connect timeout after ${r.connectTimeout} ms`), {
          code: "UND_ERR_CONNECT_TIMEOUT",
        });
        fail(err);
      }, r.connectTimeout);
      req.once("socket", (socket) => {
        socket.once(secure ? "secureConnect" : "connect", () => clearTimeout(connectTimer));
      });
    }
    // `on`, not `once`: a socket error after the response came must not go unhandled (the
    // response body reports it).
    req.on("error", (err) => {
      clearTimeout(connectTimer);
      fail(err);
    });
    req.once("continue", () => {
      if (payload === null) req.end();
      else if (payload instanceof Readable) {
        payload.once("error", (err) => req.destroy(err));
        payload.pipe(req);
      } else req.end(payload);
    });
    req.once("response", (res: IncomingMessage) => {
      clearTimeout(connectTimer);
      if (settled) {
        res.destroy();
        return;
      }
      settled = true;
      r.signal.off("abort", onAbort);
      // The reader's pace rules from here: a paused reader is not a silent server.
      req.setTimeout(0);
      // Once the answer is read, the connection goes: it may still wait for a body never sent.
      res.once("end", () => req.destroy());
      res.once("close", () => req.destroy());
      resolve({
        statusCode: res.statusCode ?? 0,
        statusText: res.statusMessage ?? "",
        headers: res.headers,
        body: res,
      });
    });
    // Only the head goes now; the body waits for `continue`.
    req.flushHeaders();
  });
}

function hasHeader(flat: readonly string[], lower: string): boolean {
  return flat.some((v, i) => i % 2 === 0 && v.toLowerCase() === lower);
}
