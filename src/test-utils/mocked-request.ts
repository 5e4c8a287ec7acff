// makeMockedRequest (aiohttp's test_utils.make_mocked_request): a web.Request with no socket
// behind it, to call a handler directly in a unit test.

import { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { type AnyApplication, Application } from "../web/application.js";
import type { RequestContext } from "../web/request.js";
import { Request } from "../web/request.js";
import { MatchInfo } from "../web/router/match-info.js";
import { kAddApp, kSetClientMaxSize, kSetCurrentApp, kSetMatchInfo } from "../web/symbols.js";
import { UpgradedSockets } from "../web/upgrade.js";

/** Options of `makeMockedRequest`. */
export interface MockedRequestOptions<P extends Readonly<Record<string, string>>> {
  /** Request headers, in order; repeated names are kept. @default {} (none, not even Host) */
  headers?: Readonly<Record<string, string>> | Iterable<readonly [string, string]>;
  /** `request.matchInfo`, as routing would have set it. @default {} */
  matchInfo?: P;
  /** `request.app`. @default a new `web.Application()` */
  app?: AnyApplication;
  /**
   * The body `read()`, `text()`, `json()`, `post()` and `content` give; a `Content-Length`
   * header is added unless the headers have one (or `Transfer-Encoding`).
   * @default no body
   */
  body?: string | Uint8Array;
  /** Largest body the buffered reads accept, bytes (0: no limit). @default the app's (1 MiB) */
  clientMaxSize?: number;
  /** `request.remote`, the client's address. @default "127.0.0.1" */
  remote?: string;
  /** Whether the request came over TLS (`request.scheme` is then `"https"`). @default false */
  secure?: boolean;
  /** HTTP version. @default { major: 1, minor: 1 } */
  version?: { major: number; minor: number };
}

/**
 * A `web.Request` for `method` and `path` (with its query string) that no socket backs, for
 * unit tests of a handler: call the handler with it and inspect the `web.Response` it returns.
 * A handler that streams (`prepare()`, `write()`) writes into a sink that discards the bytes.
 *
 * @example
 * const req = makeMockedRequest("POST", "/users/7", { matchInfo: { id: "7" }, body: '{"a":1}' });
 * const resp = await handler(req);
 * expect(resp.status).toBe(200);
 */
export function makeMockedRequest<
  P extends Readonly<Record<string, string>> = Readonly<Record<string, string>>,
>(method: string, path: string, options: MockedRequestOptions<P> = {}): Request<P> {
  const app = options.app ?? new Application();
  const socket = new NullSocket(options.remote ?? "127.0.0.1", options.secure ?? false);
  // IncomingMessage and ServerResponse use only the stream side of their socket and the
  // address fields that NullSocket has; nothing here connects.
  const raw = new IncomingMessage(socket as unknown as Socket);
  raw.method = method.toUpperCase();
  raw.url = path;
  const { major, minor } = options.version ?? { major: 1, minor: 1 };
  raw.httpVersionMajor = major;
  raw.httpVersionMinor = minor;
  raw.httpVersion = `${major}.${minor}`;
  const pairs = headerPairs(options.headers, options.body);
  raw.rawHeaders = pairs.flat();
  for (const [name, value] of pairs) {
    // Node's `headers` object: lower-case names, repeated values joined (cookies with "; ").
    const key = name.toLowerCase();
    const seen = raw.headers[key];
    raw.headers[key] =
      seen === undefined ? value : `${String(seen)}${key === "cookie" ? "; " : ", "}${value}`;
  }
  if (options.body !== undefined) raw.push(Buffer.from(options.body));
  raw.push(null);
  raw.complete = true;

  const rawResponse = new ServerResponse(raw);
  rawResponse.assignSocket(socket as unknown as Socket);
  const ctx: RequestContext = {
    trustProxy: app.trustProxy,
    handlerCancellation: false,
    debug: app.debug,
    logger: app.logger,
    closing: false,
    websockets: new Set(),
    eventStreams: new Set(),
    upgraded: new UpgradedSockets(app.logger),
  };
  const request = new Request<P>(raw, rawResponse, ctx);
  const matchInfo = new MatchInfo(options.matchInfo ?? {}, null);
  matchInfo[kAddApp](app);
  request[kSetMatchInfo](matchInfo);
  request[kSetCurrentApp](app);
  if (options.clientMaxSize !== undefined) request[kSetClientMaxSize](options.clientMaxSize);
  return request;
}

function headerPairs(
  headers: MockedRequestOptions<Record<string, string>>["headers"],
  body: string | Uint8Array | undefined,
): Array<[string, string]> {
  const pairs: Array<[string, string]> =
    headers === undefined
      ? []
      : Symbol.iterator in headers
        ? [...(headers as Iterable<readonly [string, string]>)].map(([k, v]) => [k, v])
        : Object.entries(headers);
  const framed = pairs.some(([k]) => /^(content-length|transfer-encoding)$/i.test(k));
  if (body !== undefined && !framed) {
    pairs.push(["Content-Length", String(Buffer.byteLength(body))]);
  }
  return pairs;
}

/** A socket stand-in: never reads, and takes (and drops) whatever the response writes. */
class NullSocket extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort = 0;
  readonly encrypted: boolean;

  constructor(remoteAddress: string, encrypted: boolean) {
    super();
    this.remoteAddress = remoteAddress;
    this.encrypted = encrypted;
  }

  override _read(): void {}

  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: () => void): void {
    callback();
  }

  setTimeout(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }
}
