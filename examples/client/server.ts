// A small httpbin.org look-alike for the client examples, which have no internet to call: the
// same endpoints and JSON shapes the examples of aiohttp's client guide use, served by our own
// web.Application.
//
//   npx tsx examples/client/server.ts            # listens on 8080, or on PORT
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/make-request.ts

import { createHash, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { BasicAuth, MultipartWriter, WSMsgType, web } from "aiohttp-ts";

type Json = Record<string, unknown>;

/** Repeated query keys become arrays, as httpbin shows them. */
function args(request: web.Request): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(request.query.keys())) {
    const values = request.query.getAll(key);
    out[key] = values.length === 1 ? (values[0] as string) : values;
  }
  return out;
}

function headers(request: web.Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of request.headers) {
    // httpbin shows header names in Title-Case.
    const title = name
      .toLowerCase()
      .replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase());
    out[title] = out[title] === undefined ? value : `${out[title]},${value}`;
  }
  return out;
}

function basics(request: web.Request): Json {
  return {
    args: args(request),
    headers: headers(request),
    origin: request.remote,
    url: request.url.href,
  };
}

/** `/post`, `/put`, `/patch`, `/delete`, `/anything`: the request and its parsed body. */
async function withBody(request: web.Request): Promise<web.Response> {
  const body = await request.read();
  const type = request.contentType;
  const form: Record<string, string> = {};
  const files: Record<string, string> = {};
  let json: unknown = null;
  let data = "";
  if (type === "application/x-www-form-urlencoded") {
    for (const [k, v] of new URLSearchParams(body.toString("utf8"))) form[k] = v;
  } else if (type === "multipart/form-data") {
    // The web platform's Response parses multipart bodies; the server has no parser of its own yet.
    const parsed = await new Response(body, {
      headers: { "Content-Type": request.headers.get("Content-Type") ?? "" },
    }).formData();
    for (const [k, v] of parsed) {
      if (typeof v === "string") form[k] = v;
      else files[k] = await v.text();
    }
  } else {
    data = body.toString("utf8");
    if (type === "application/json") json = JSON.parse(data);
  }
  return web.jsonResponse({
    ...basics(request),
    data,
    files,
    form,
    json,
    method: request.method,
  });
}

export function makeApp(): web.Application {
  const app = new web.Application({ clientMaxSize: 64 * 1024 ** 2 });
  const r = app.router;

  r.addGet("/get", (request) => web.jsonResponse(basics(request)));
  r.addPost("/post", withBody);
  r.addPut("/put", withBody);
  r.addPatch("/patch", withBody);
  r.addDelete("/delete", withBody);
  // Any method; the body is read whatever the method.
  r.addRoute("*", "/anything", withBody);
  r.addGet("/headers", (request) => web.jsonResponse({ headers: headers(request) }));
  // Takes bodies of at most 1 MiB; with `Expect: 100-continue` a larger one is refused (413)
  // before the client sends it.
  r.addPost("/limited", withBody, {
    expectHandler: (request) =>
      Number(request.headers.get("Content-Length") ?? 0) > 1024 ** 2
        ? new web.Response({ status: 413, text: "at most 1 MiB here" })
        : web.defaultExpectHandler(request),
  });

  r.addGet("/cookies", (request) => web.jsonResponse({ cookies: request.cookies }));
  // httpbin sets every query pair as a cookie, then redirects to /cookies.
  r.addGet("/cookies/set", (request) => {
    const resp = new web.Response({ status: 302, headers: { Location: "/cookies" } });
    for (const [name, value] of request.query) resp.setCookie(name, value);
    return resp;
  });

  // n redirects, then /get.
  r.addGet("/redirect/{n:\\d+}", (request) => {
    const n = Number(request.matchInfo.n);
    throw new web.HTTPFound(n <= 1 ? "/get" : `/redirect/${n - 1}`);
  });
  // A redirect to any URL, with any redirect status (302 by default).
  r.addRoute("*", "/redirect-to", async (request) => {
    await request.read();
    const url = request.query.get("url") ?? "/get";
    const status = Number(request.query.get("status_code") ?? 302);
    return new web.Response({ status, headers: { Location: url } });
  });

  // Each query pair becomes a response header; the body lists them as JSON (whatever the
  // Content-Type asked for).
  r.addGet("/response-headers", (request) => {
    const out: Record<string, string> = { "Content-Type": "application/json" };
    for (const [name, value] of request.query) out[name] = value;
    return new web.Response({ text: JSON.stringify(out), headers: out });
  });

  r.addGet("/html", () => {
    const html =
      "<!DOCTYPE html>\n<html><body><h1>Herman Melville - Moby-Dick</h1></body></html>\n";
    return new web.Response({ text: html, contentType: "text/html" });
  });

  r.addGet("/gzip", (request) => {
    const resp = web.jsonResponse({ ...basics(request), gzipped: true, method: request.method });
    resp.enableCompression("gzip");
    return resp;
  });

  // n JSON lines, each its own chunk.
  r.addGet("/stream/{n:\\d+}", async (request) => {
    const n = Math.min(Number(request.matchInfo.n), 100);
    const resp = new web.StreamResponse({ headers: { "Content-Type": "application/json" } });
    await resp.prepare(request);
    for (let id = 0; id < n; id++) {
      await resp.write(`${JSON.stringify({ id, ...basics(request) })}\n`);
    }
    await resp.writeEof();
    return resp;
  });

  // n random bytes (at most 100 MiB), streamed in 64 KiB pieces.
  r.addGet("/bytes/{n:\\d+}", async (request) => {
    const n = Math.min(Number(request.matchInfo.n), 100 * 1024 ** 2);
    const resp = new web.StreamResponse({
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(n) },
    });
    await resp.prepare(request);
    for (let sent = 0; sent < n; sent += 65_536) {
      await resp.write(randomBytes(Math.min(65_536, n - sent)));
    }
    await resp.writeEof();
    return resp;
  });

  r.addGet("/basic-auth/{user}/{passwd}", (request) => {
    const { user, passwd } = request.matchInfo;
    const header = request.headers.get("Authorization");
    let given: BasicAuth | undefined;
    try {
      given = header === undefined ? undefined : BasicAuth.decode(header);
    } catch {
      given = undefined;
    }
    if (given?.login !== user || given.password !== passwd) {
      throw new web.HTTPUnauthorized({
        headers: { "WWW-Authenticate": 'Basic realm="Fake Realm"' },
      });
    }
    return web.jsonResponse({ authenticated: true, user });
  });

  // httpbin's Digest endpoint (RFC 7616): qop "auth" or "auth-int", algorithm MD5, SHA-256 or
  // SHA-512-256 (with -sess too). A nonce is this server's own, and each count is used once.
  const nonces = new Map<string, number>(); // nonce -> last nonce count seen
  r.addRoute("*", "/digest-auth/{qop}/{user}/{passwd}/{algorithm}", async (request) => {
    const { qop, user, passwd, algorithm } = request.matchInfo;
    const hash = { MD5: "md5", "SHA-256": "sha256", "SHA-512-256": "sha512-256" }[
      algorithm.toUpperCase().replace(/-SESS$/, "")
    ];
    if (hash === undefined || (qop !== "auth" && qop !== "auth-int")) throw new web.HTTPNotFound();
    const H = (data: string | Uint8Array) => createHash(hash).update(data).digest("hex");
    const body = await request.read();
    const realm = "me@kennethreitz.com";
    const auth = new Map<string, string>();
    for (const m of (request.headers.get("Authorization") ?? "").matchAll(
      /(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g,
    )) {
      auth.set(m[1] as string, m[2]?.replace(/\\(.)/g, "$1") ?? (m[3] as string));
    }
    const nonce = auth.get("nonce") ?? "";
    const nc = Number.parseInt(auth.get("nc") ?? "0", 16);
    const seen = nonces.get(nonce);
    if (
      seen !== undefined &&
      nc > seen &&
      auth.get("username") === user &&
      auth.get("qop") === qop
    ) {
      let ha1 = H(`${user}:${realm}:${passwd}`);
      if (/-sess$/i.test(algorithm)) ha1 = H(`${ha1}:${nonce}:${auth.get("cnonce")}`);
      let a2 = `${request.method}:${auth.get("uri")}`;
      if (auth.get("qop") === "auth-int") a2 += `:${H(body)}`;
      const expected = H(
        `${ha1}:${nonce}:${auth.get("nc")}:${auth.get("cnonce")}:${auth.get("qop")}:${H(a2)}`,
      );
      if (auth.get("uri") === request.rawPathAndQuery && auth.get("response") === expected) {
        nonces.set(nonce, nc);
        return web.jsonResponse({ authenticated: true, user });
      }
    }
    const fresh = randomBytes(16).toString("hex");
    nonces.set(fresh, 0);
    throw new web.HTTPUnauthorized({
      headers: {
        "WWW-Authenticate": `Digest realm="${realm}", nonce="${fresh}", qop="${qop}", algorithm=${algorithm}, opaque="${randomBytes(8).toString("hex")}"`,
      },
    });
  });

  r.addRoute("*", "/status/{code:\\d{3}}", (request) => {
    return new web.Response({ status: Number(request.matchInfo.code) });
  });

  // Answers after s seconds (fractions allowed, at most 10), unless the client goes away.
  // A multipart/mixed answer, read part by part by examples/client/multipart.ts.
  r.addGet("/multipart", async () => {
    const mp = new MultipartWriter("mixed");
    mp.appendJson({ id: 1 });
    mp.append("hello");
    const chunks: Uint8Array[] = [];
    for await (const chunk of mp) chunks.push(chunk);
    return new web.Response({ body: Buffer.concat(chunks), headers: mp.headers });
  });

  r.addGet("/delay/{s}", async (request) => {
    const seconds = Math.min(Number(request.matchInfo.s) || 0, 10);
    await sleep(seconds * 1000, undefined, { signal: request.signal }).catch(() => {});
    return web.jsonResponse(basics(request));
  });

  // A WebSocket that echoes each text message back.
  r.addGet("/ws", async (request) => {
    const ws = new web.WebSocketResponse();
    await ws.prepare(request);
    for await (const msg of ws) {
      if (msg.type === WSMsgType.TEXT) await ws.sendStr(msg.data);
    }
    return ws;
  });

  return app;
}

// Started directly (not imported): listen on PORT, or 8080.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  web.runApp(makeApp(), {
    host: "127.0.0.1",
    port: Number(process.env.PORT ?? 8080),
    accessLog: null,
  });
}
