// enableCompression() on a StreamResponse written in pieces: each write() reaches the client
// as bytes it can decode at once, and a body the handler encoded itself is left alone.
import { once } from "node:events";
import { request as httpRequest, type IncomingMessage } from "node:http";
import {
  createBrotliDecompress,
  createGunzip,
  createInflate,
  gunzipSync,
  gzipSync,
  type Zlib,
} from "node:zlib";
import { describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { appWith, deferred, httpSend, useTestClients } from "../helpers.js";

const serve = useTestClients();

/** Opens a GET and resolves with the response once its head arrived. */
function openGet(port: number, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/", agent: false, headers });
    req.on("response", resolve);
    req.on("error", reject);
    req.end();
  });
}

/** Decoded text as it comes out of a decompressor, with a way to wait for a piece of it. */
class DecodedText {
  text = "";
  readonly #waiters: Array<{ needle: string; resolve: () => void }> = [];

  constructor(decoder: NodeJS.ReadableStream & Zlib) {
    decoder.on("data", (out: Buffer) => {
      this.text += out.toString();
      for (const w of this.#waiters.splice(0)) {
        if (this.text.includes(w.needle)) w.resolve();
        else this.#waiters.push(w);
      }
    });
  }

  /** Resolves once the decoded text contains `needle`. */
  contains(needle: string): Promise<void> {
    if (this.text.includes(needle)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ needle, resolve }));
  }
}

const DECODERS = {
  gzip: createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
} as const;

describe("enableCompression on a streamed body", () => {
  it.each(["gzip", "deflate", "br"] as const)(
    "%s: the client decodes each write before the handler makes the next",
    async (coding) => {
      const firstSeen = deferred();
      const client = await serve(
        appWith(async (request) => {
          const resp = new web.StreamResponse({ headers: { "Content-Type": "text/plain" } });
          resp.enableCompression(coding);
          await resp.prepare(request);
          await resp.write("first event\n");
          // The second write waits for the client to have decoded the first: a compressor
          // that held the first back would never let this test get past here.
          await firstSeen.promise;
          await resp.write("second event\n");
          await resp.writeEof();
          return resp;
        }),
      );
      const res = await openGet(client.server.port, { "Accept-Encoding": coding });
      expect(res.headers["content-encoding"]).toBe(coding);
      const decoder = DECODERS[coding]();
      const decoded = new DecodedText(decoder);
      res.pipe(decoder);
      await decoded.contains("first event\n");
      expect(decoded.text).toBe("first event\n");
      firstSeen.resolve();
      await once(decoder, "end");
      expect(decoded.text).toBe("first event\nsecond event\n");
    },
  );

  // Regression: a client that accepts no coding got the body uncompressed without Vary, so a
  // cache could hand that copy to clients that accept gzip, and the reverse choice unmarked.
  it("a body left uncompressed for a client that accepts none still carries Vary", async () => {
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse();
        resp.enableCompression();
        await resp.prepare(request);
        await resp.write("plain for this client");
        return resp;
      }),
    );
    const reply = await httpSend(client.server.port, "/", {
      headers: { "Accept-Encoding": "identity" },
    });
    expect(reply.headers["content-encoding"]).toBeUndefined();
    expect(reply.headers.vary).toBe("Accept-Encoding");
    expect(reply.body).toBe("plain for this client");
  });

  it("a body with a Content-Encoding of its own is sent as it is", async () => {
    const encoded = gzipSync("already gzipped by the handler");
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse({ headers: { "Content-Encoding": "gzip" } });
        resp.enableCompression();
        await resp.prepare(request);
        await resp.write(encoded);
        await resp.writeEof();
        return resp;
      }),
    );
    const reply = await httpSend(client.server.port, "/", {
      headers: { "Accept-Encoding": "gzip, br" },
    });
    expect(reply.headers["content-encoding"]).toBe("gzip");
    expect(reply.headers.vary).toBeUndefined();
    expect(reply.bytes.equals(encoded)).toBe(true);
    expect(gunzipSync(reply.bytes).toString()).toBe("already gzipped by the handler");
  });

  it("a Response with Content-Encoding: identity is still compressed", async () => {
    const text = "compressible ".repeat(200);
    const client = await serve(
      appWith(() => {
        const resp = new web.Response({ text, headers: { "Content-Encoding": "identity" } });
        resp.enableCompression();
        return resp;
      }),
    );
    const reply = await httpSend(client.server.port, "/", {
      headers: { "Accept-Encoding": "gzip" },
    });
    expect(reply.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(reply.bytes).toString()).toBe(text);
  });

  it("drain() makes what was written so far decodable", async () => {
    const flushed = deferred();
    const client = await serve(
      appWith(async (request) => {
        const resp = new web.StreamResponse();
        resp.enableCompression("gzip");
        await resp.prepare(request);
        await resp.write("piece");
        await resp.drain();
        await flushed.promise;
        await resp.writeEof();
        return resp;
      }),
    );
    const res = await openGet(client.server.port, { "Accept-Encoding": "gzip" });
    const decoder = createGunzip();
    const decoded = new DecodedText(decoder);
    res.pipe(decoder);
    await decoded.contains("piece");
    flushed.resolve();
    await once(decoder, "end");
    expect(decoded.text).toBe("piece");
  });
});
