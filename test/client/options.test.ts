// Options the client does not support (yet) or does not know are refused with a TypeError,
// never ignored: a `proxy` silently dropped would send the request straight to the network.

import { describe, expect, it } from "vitest";
import {
  ClientOptionError,
  type ClientSession,
  CookieJar,
  type RequestOptions,
  TCPConnector,
  web,
} from "../../src/index.js";
import { appWith, quiet, rejection, useSessions, useTestClients } from "../helpers.js";

const session = useSessions();
const serve = useTestClients();

/** A server counting the requests that reach it. */
async function counted(): Promise<{ url: URL; hits: () => number }> {
  let hits = 0;
  const client = await serve(
    appWith(
      () => {
        hits++;
        return new web.Response({ text: "ok" });
      },
      { logger: quiet },
    ),
  );
  return { url: client.makeUrl("/"), hits: () => hits };
}

/** Options a JavaScript caller could pass that the types do not allow. */
function loose(options: Record<string, unknown>): RequestOptions {
  return options as RequestOptions;
}

describe("request options", () => {
  it.each(["http2", "fingerprint"])(
    "%s, not supported on a request, is refused before anything is sent",
    async (name) => {
      const server = await counted();
      const err = await rejection(session().get(server.url, loose({ [name]: "x" })));
      expect(err).toBeInstanceOf(ClientOptionError);
      expect(err).toBeInstanceOf(TypeError);
      expect((err as ClientOptionError).code).toBe("AIOHTTP_INVALID_OPTION");
      expect((err as ClientOptionError).option).toBe(name);
      expect(err.message).toContain(`"${name}" option`);
      expect(err.message).toContain("not supported yet");
      expect(server.hits()).toBe(0);
    },
  );

  it("an unsupported option says what works instead", async () => {
    const err = await rejection(
      session().get("http://127.0.0.1:9/", loose({ autoDecompress: false })),
    );
    expect(err.message).toContain("set `autoDecompress` on the session");
    expect(err.message).toContain("refused rather than ignored");
  });

  it("aiohttp's snake_case name of an unsupported option is named in both spellings", async () => {
    const err = await rejection(
      session().post("http://127.0.0.1:9/", loose({ verify_ssl: false })),
    );
    expect(err).toBeInstanceOf(ClientOptionError);
    expect(err.message).toContain('"verifySsl" option (aiohttp\'s "verify_ssl")');
  });

  it("aiohttp's snake_case name of a supported option points to the camelCase one", async () => {
    const err = await rejection(
      session().get("http://127.0.0.1:9/", loose({ allow_redirects: false })),
    );
    expect(err).toBeInstanceOf(ClientOptionError);
    expect(err.message).toBe(
      'ClientSession.request(): unknown option "allow_redirects" (did you mean "allowRedirects"?)',
    );
    const expect100 = await rejection(
      session().post("http://127.0.0.1:9/", loose({ expect_100: true })),
    );
    expect(expect100.message).toContain('(did you mean "expect100"?)');
  });

  it("a misspelt option is refused with the closest name", async () => {
    const err = await rejection(session().get("http://127.0.0.1:9/", loose({ paramss: {} })));
    expect(err.message).toBe(
      'ClientSession.request(): unknown option "paramss" (did you mean "params"?)',
    );
  });

  it("an unknown option nothing resembles is refused without a guess", async () => {
    const err = await rejection(session().get("http://127.0.0.1:9/", loose({ zzzzzzzz: 1 })));
    expect(err.message).toBe('ClientSession.request(): unknown option "zzzzzzzz"');
  });

  it("an option set to undefined counts as absent", async () => {
    const server = await counted();
    const resp = await session().get(server.url, loose({ proxy: undefined, params: undefined }));
    expect(await resp.text()).toBe("ok");
    expect(server.hits()).toBe(1);
  });

  it("head() and the other verbs check their options too", async () => {
    const s: ClientSession = session();
    for (const call of [
      () => s.head("http://127.0.0.1:9/", loose({ traceConfigs: [] })),
      () => s.post("http://127.0.0.1:9/", loose({ fingerprint: "x" })),
      () => s.request("PROPFIND", "http://127.0.0.1:9/", loose({ http2: true })),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(ClientOptionError);
    }
  });
});

describe("session, connector, timeout and wsConnect options", () => {
  it("an unknown session option is refused with a guess", () => {
    expect(() => session({ base_url: "http://x/" } as never)).toThrow(
      'ClientSession: unknown option "base_url" (did you mean "baseUrl"?)',
    );
  });

  it("an unknown connector option is refused", () => {
    expect(() => new TCPConnector({ limit_per_host: 2 } as never)).toThrow(
      'TCPConnector: unknown option "limit_per_host" (did you mean "limitPerHost"?)',
    );
  });

  it("a timeout given as a number is refused: it is an object of milliseconds", async () => {
    const err = await rejection(session().get("http://127.0.0.1:9/", loose({ timeout: 5000 })));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain("{ total: 5000 }");
  });

  it("an unknown timeout field is refused", async () => {
    const err = await rejection(
      session().get("http://127.0.0.1:9/", loose({ timeout: { sock_read: 5 } })),
    );
    expect(err.message).toBe('timeout: unknown option "sock_read" (did you mean "sockRead"?)');
  });

  it("CookieJar and response.json() refuse unknown options", async () => {
    expect(() => new CookieJar({ quote_cookie: false } as never)).toThrow(
      'CookieJar: unknown option "quote_cookie" (did you mean "quoteCookie"?)',
    );
    const server = await counted();
    const resp = await session().get(server.url);
    const err = await rejection(resp.json({ content_type: null } as never));
    expect(err).toBeInstanceOf(ClientOptionError);
    expect(err.message).toContain('(did you mean "contentType"?)');
  });

  it("wsConnect refuses what it does not know", async () => {
    const err = await rejection(
      session().wsConnect("ws://127.0.0.1:9/", { autoPing: false } as never),
    );
    expect(err).toBeInstanceOf(ClientOptionError);
    expect(err.message).toBe(
      'ClientSession.wsConnect(): unknown option "autoPing" (did you mean "autoping"?)',
    );
  });
});
