// The request line and headers: sizes past the limits, bytes no header may hold, and Host
// confusion (RFC 9112 3.2). Each refusal closes the connection and nothing behind it is handled.

import { describe, it } from "vitest";
import { type CaseRow, cases, expectCase, useCorpusServer } from "./corpus.js";

/** A GET of `/` with `headers` (each ending in CRLF) after `Host: x`. */
const get = (headers: string): string => `GET / HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;
/** `n` small header lines. */
const many = (n: number): string => Array.from({ length: n }, (_, i) => `X-${i}: v\r\n`).join("");

const SIZES: CaseRow[] = [
  [
    "a request line over 8190 bytes",
    `GET /${"a".repeat(8200)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    414,
    true,
  ],
  [
    "a request line of 100 KB",
    `GET /${"a".repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    414,
    true,
  ],
  ["a header value over 8190 bytes", get(`X-A: ${"a".repeat(8200)}\r\n`), 431, true],
  ["a header name over 8190 bytes", get(`${"X".repeat(8200)}: a\r\n`), 431, true],
  ["129 header fields", get(many(128)), 431, true],
  ["5,000 header fields", get(many(5000)), 431, true],
  ["1 MB of headers", get(`X-A: ${"a".repeat(1000)}\r\n`.repeat(1000)), 431, true],
  ["control: 128 header fields", get(many(127)), 200, false],
];

const BYTES: CaseRow[] = [
  ["NUL in a header value", get("X-A: a\x00b\r\n"), 400, true],
  ["NUL in a header name", get("X\x00A: b\r\n"), 400, true],
  ["NUL in the target", "GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n", 400, true],
  ["NUL in the method", "G\x00ET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, true],
  ["DEL in a header value", get("X-A: a\x7fb\r\n"), 400, true],
  ["ESC in a header value", get("X-A: a\x1bb\r\n"), 400, true],
  ["backspace in a header value", get("X-A: a\x08b\r\n"), 400, true],
  ["a control character in a header name", get("X\x01A: b\r\n"), 400, true],
  ["a tab inside a header name", get("X\tA: b\r\n"), 400, true],
  ["a latin-1 byte in a header name", get("X-\xe9: b\r\n"), 400, true],
  ["UTF-8 in a header name", get("X-\xc3\xa9: b\r\n"), 400, true],
  ["an empty header name", get(": b\r\n"), 400, true],
  ["a header line without a colon", get("XA\r\n"), 400, true],
  ["a space in the target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400, true],
  ["a lower-case method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", 400, true],
  ["an unknown method", "FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 400, true],
  ["a lower-case protocol name", "GET / http/1.1\r\nHost: x\r\n\r\n", 400, true],
  ["HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 400, true],
  ["HTTP/2.0 in an HTTP/1 request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, true],
  ["an HTTP/0.9 request line", "GET /\r\n\r\n", 505, true],
  [
    "a TLS ClientHello on the cleartext port",
    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    400,
    true,
  ],
  ["the HTTP/2 preface on an HTTP/1 port", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, true],
  ["control: latin-1 text in a header value (obs-text)", get("X-A: caf\xe9\r\n"), 200, false],
  [
    "control: an empty line before the request line",
    "\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n",
    200,
    false,
  ],
];

const HOST: CaseRow[] = [
  ["two Host headers that differ", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, true],
  ["two Host headers that agree", "GET / HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n", 400, true],
  ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400, true],
  ["Host as a list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400, true],
  ["Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, true],
  ["Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, true],
  ["Host with userinfo", "GET / HTTP/1.1\r\nHost: user@evil.example\r\n\r\n", 400, true],
  [
    "an absolute-form target naming another host",
    "GET http://evil.example/a HTTP/1.1\r\nHost: x\r\n\r\n",
    400,
    true,
  ],
  [
    "an absolute-form https target naming another host",
    "GET https://evil.example:8443/a HTTP/1.1\r\nHost: x\r\n\r\n",
    400,
    true,
  ],
  [
    "an absolute-form target with an unknown scheme",
    "GET ftp://x/a HTTP/1.1\r\nHost: x\r\n\r\n",
    400,
    true,
  ],
  [
    "an authority-form target on GET",
    "GET evil.example:443 HTTP/1.1\r\nHost: x\r\n\r\n",
    400,
    true,
  ],
  [
    "control: an absolute-form target naming its Host is routed by its path",
    "GET http://x/a HTTP/1.1\r\nHost: x\r\n\r\n",
    200,
    false,
  ],
  ["control: an empty Host (RFC 9112 3.2)", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 200, false],
  [
    "control: HTTP/1.0 without Host",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    200,
    false,
  ],
  [
    "control: Host as an IPv6 literal with a port",
    "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    200,
    false,
  ],
];

describe("request line and header limits: refused, connection closed, nothing behind handled", () => {
  const port = useCorpusServer();

  describe("sizes (maxLineSize, maxFieldSize, maxHeaders)", () => {
    it.each(cases(SIZES))("$name: $status", async (c) => {
      await expectCase(port(), c);
    });
  });

  describe("bytes no request line or header may hold", () => {
    it.each(cases(BYTES))("$name: $status", async (c) => {
      await expectCase(port(), c);
    });
  });

  describe("Host and the request target", () => {
    it.each(cases(HOST))("$name: $status", async (c) => {
      await expectCase(port(), c);
    });
  });
});
