// DigestAuthMiddleware's parts that need no digest server: its options, the parsing of
// WWW-Authenticate, the Authorization value against RFC 7616's own example, and the cases where
// it leaves a request alone. The exchanges with a real digest server are in
// test/interop/digest-python.test.ts and test/interop/digest-curl.test.ts.
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseChallenges } from "../../src/client/auth-challenge.js";
import { digestAuthorization, selectDigestChallenge } from "../../src/client/digest-response.js";
import { ClientOptionError, DigestAuthMiddleware, web } from "../../src/index.js";
import { useSessions, useTestClients } from "../helpers.js";

const serve = useTestClients();
const session = useSessions();

/** `value`, which the test needs to be there. */
function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("expected a value");
  return value;
}

/** The parameters of an Authorization (or challenge) value, as the raw text after `name=`. */
function rawParams(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of header.matchAll(/([\w*]+)=("(?:[^"\\]|\\.)*"|[^\s,]+)/g)) {
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

describe("options", () => {
  it("an unknown option is refused with ClientOptionError, naming the likely one", () => {
    const make = () =>
      new DigestAuthMiddleware({ login: "u", password: "p", premptive: false } as never);
    expect(make).toThrow(ClientOptionError);
    expect(make).toThrow(/did you mean "preemptive"/);
  });

  it("a login with a colon, or credentials that are not strings, are TypeErrors", () => {
    expect(() => new DigestAuthMiddleware({ login: "a:b", password: "p" })).toThrow(TypeError);
    expect(() => new DigestAuthMiddleware({ login: "a", password: 1 } as never)).toThrow(
      /password must be a string/,
    );
    expect(
      () => new DigestAuthMiddleware({ login: "a", password: "p", preemptive: "no" } as never),
    ).toThrow(/preemptive must be a boolean/);
    expect(
      () => new (DigestAuthMiddleware as never as new (l: string, p: string) => unknown)("a", "p"),
    ).toThrow(TypeError);
  });
});

describe("WWW-Authenticate parsing", () => {
  it("splits several challenges of one header, with commas and escapes inside quoted strings", () => {
    const challenges = parseChallenges([
      'Basic realm="a, b", Digest REALM="say \\"hi\\", then \\\\ go", Nonce=abc, qop="auth,auth-int", Negotiate dG9rZW4=',
    ]);
    expect(challenges.map((c) => c.scheme)).toEqual(["basic", "digest", "negotiate"]);
    expect(challenges[0]?.params.get("realm")).toBe("a, b");
    expect(Object.fromEntries(challenges[1]?.params ?? [])).toEqual({
      realm: 'say "hi", then \\ go',
      nonce: "abc",
      qop: "auth,auth-int",
    });
    expect(challenges[2]?.token68).toBe("dG9rZW4=");
  });

  it("takes challenges from several headers, and the strongest Digest algorithm of them", () => {
    const headers = [
      'Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"',
      'Digest realm="r", nonce="n2", algorithm=SHA-512-256, qop="auth"',
      'Digest realm="r", nonce="n3", algorithm=SHA-256, qop="auth"',
    ];
    expect(selectDigestChallenge(headers)?.algorithm).toBe("SHA-512-256");
    expect(selectDigestChallenge([headers.join(", ")])?.nonce).toBe("n2");
  });

  it("leaves out challenges it cannot answer: unknown algorithm or qop, no nonce, -sess without qop", () => {
    expect(selectDigestChallenge(['Digest realm="r", nonce="n", algorithm=SHA-1'])).toBeUndefined();
    expect(selectDigestChallenge(['Digest realm="r", nonce="n", qop="auth-conf"'])).toBeUndefined();
    expect(selectDigestChallenge(['Digest realm="r"'])).toBeUndefined();
    expect(
      selectDigestChallenge(['Digest realm="r", nonce="n", algorithm=MD5-sess']),
    ).toBeUndefined();
    expect(selectDigestChallenge(['Basic realm="r"'])).toBeUndefined();
    // The one that can be answered is kept, whatever comes around it.
    expect(
      selectDigestChallenge([
        'Digest realm="r", nonce="x", algorithm=SHA-1, Digest realm="r", nonce="y", algorithm=md5',
      ])?.nonce,
    ).toBe("y");
  });
});

describe("the Authorization value", () => {
  // RFC 7616 3.9.1, with the client nonce and count of the example.
  const rfcChallenge = (algorithm: string) =>
    selectDigestChallenge([
      `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
    ]);
  const input = {
    login: "Mufasa",
    password: "Circle of Life",
    method: "GET",
    uri: "/dir/index.html",
    qop: "auth",
    body: null,
    nc: 1,
    cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  } as const;

  it("matches RFC 7616's MD5 and SHA-256 examples (3.9.1)", () => {
    const md5 = rawParams(digestAuthorization(must(rfcChallenge("MD5")), input));
    expect(md5.response).toBe('"8ca523f5e9506fed4657c9700eebdbec"');
    const sha = rawParams(digestAuthorization(must(rfcChallenge("SHA-256")), input));
    expect(sha.response).toBe('"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
  });

  it("quotes what RFC 7616 3.4 quotes, and leaves algorithm, qop and nc as tokens", () => {
    const value = digestAuthorization(must(rfcChallenge("SHA-256")), input);
    expect(value.startsWith("Digest ")).toBe(true);
    expect(rawParams(value)).toEqual({
      username: '"Mufasa"',
      realm: '"http-auth@example.org"',
      uri: '"/dir/index.html"',
      algorithm: "SHA-256",
      nonce: '"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"',
      nc: "00000001",
      cnonce: '"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"',
      qop: "auth",
      response: '"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"',
      opaque: '"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    });
  });

  it("sends a name a quoted string cannot hold as username* (RFC 8187), and a user hash when asked", () => {
    const challenge = must(rfcChallenge("SHA-512-256"));
    const plain = rawParams(digestAuthorization(challenge, { ...input, login: "Jäsøn Doe" }));
    expect(plain["username*"]).toBe("UTF-8''J%C3%A4s%C3%B8n%20Doe");
    expect(plain.username).toBeUndefined();
    const hashed = selectDigestChallenge([
      'Digest realm="api@example.org", nonce="n", algorithm=SHA-512-256, qop=auth, userhash=true',
    ]);
    const value = rawParams(digestAuthorization(must(hashed), { ...input, login: "Jäsøn Doe" }));
    expect(value.userhash).toBe("true");
    expect(value.username).toMatch(/^"[0-9a-f]{64}"$/);
  });

  it("nc is 8 hex digits", () => {
    const value = digestAuthorization(must(rfcChallenge("MD5")), { ...input, nc: 0x1a2 });
    expect(rawParams(value).nc).toBe("000001a2");
  });
});

describe("requests the middleware leaves alone", () => {
  /** A server that always challenges, recording the Authorization of each request. */
  async function challenger(): Promise<{ url: (p: string) => string; seen: (string | null)[] }> {
    const seen: (string | null)[] = [];
    const app = new web.Application();
    app.router.addRoute("*", "/{tail:.*}", async (request) => {
      await request.read();
      seen.push(request.headers.get("Authorization") ?? null);
      throw new web.HTTPUnauthorized({
        headers: { "WWW-Authenticate": 'Digest realm="r", nonce="abc", qop="auth"' },
      });
    });
    const client = await serve(app);
    return { url: (p) => client.makeUrl(p).href, seen };
  }

  it("a request with its own Authorization header is sent as it is, once", async () => {
    const srv = await challenger();
    const digest = new DigestAuthMiddleware({ login: "u", password: "p" });
    const resp = await session({ middlewares: [digest] }).get(srv.url("/"), {
      headers: { Authorization: "Bearer mine" },
    });
    expect(resp.status).toBe(401);
    expect(srv.seen).toEqual(["Bearer mine"]);
  });

  it("a 401 to a stream body is returned as it is: the body cannot be sent again", async () => {
    const srv = await challenger();
    const digest = new DigestAuthMiddleware({ login: "u", password: "p" });
    const resp = await session({ middlewares: [digest] }).post(srv.url("/"), {
      data: Readable.from([Buffer.from("once")]),
    });
    expect(resp.status).toBe(401);
    expect(srv.seen).toEqual([null]);
  });

  it("a 401 without a Digest challenge is returned as it is", async () => {
    const app = new web.Application();
    let hits = 0;
    app.router.addGet("/", () => {
      hits++;
      throw new web.HTTPUnauthorized({ headers: { "WWW-Authenticate": 'Basic realm="r"' } });
    });
    const client = await serve(app);
    const digest = new DigestAuthMiddleware({ login: "u", password: "p" });
    const resp = await session({ middlewares: [digest] }).get(client.makeUrl("/"));
    expect(resp.status).toBe(401);
    expect(resp.headers.get("WWW-Authenticate")).toBe('Basic realm="r"');
    expect(hits).toBe(1);
  });
});

describe("protection space and loops", () => {
  /**
   * A server that grants any Digest answer on `/private/...` (it checks no hash: these tests
   * are about which requests carry credentials) and challenges with `challenge` otherwise.
   */
  async function lenient(challenge: string) {
    const seen: { path: string; auth: string | null }[] = [];
    const app = new web.Application();
    app.router.addRoute("*", "/{tail:.*}", async (request) => {
      const auth = request.headers.get("Authorization") ?? null;
      seen.push({ path: request.path, auth });
      if (auth?.startsWith("Digest ") && request.path.startsWith("/private/")) {
        return new web.Response({ text: "granted" });
      }
      throw new web.HTTPUnauthorized({ headers: { "WWW-Authenticate": challenge } });
    });
    const client = await serve(app);
    return { url: (p: string) => client.makeUrl(p).href, seen };
  }

  it("preemptive credentials go only under the challenge's domain URIs on the origin", async () => {
    const srv = await lenient(
      'Digest realm="r", nonce="n", qop=auth, domain="/private/ http://other.example/"',
    );
    const s = session({ middlewares: [new DigestAuthMiddleware({ login: "u", password: "p" })] });
    expect((await s.get(srv.url("/private/a"))).status).toBe(200);
    await (await s.get(srv.url("/privateer"))).release();
    expect((await s.get(srv.url("/private/b"))).status).toBe(200);
    expect(srv.seen.map((r) => [r.path, r.auth !== null])).toEqual([
      ["/private/a", false],
      ["/private/a", true],
      // Not under /private/: sent bare, then answered after its own 401 (and refused).
      ["/privateer", false],
      ["/privateer", true],
      ["/private/b", true],
    ]);
    expect(srv.seen[4]?.auth).toMatch(/nc=00000003/);
  });

  it("a server that keeps answering stale=true gets one stale retry, then its 401 back", async () => {
    const srv = await lenient('Digest realm="r", nonce="n", qop=auth, stale=true');
    const s = session({ middlewares: [new DigestAuthMiddleware({ login: "u", password: "p" })] });
    const resp = await s.get(srv.url("/public"));
    expect(resp.status).toBe(401);
    expect(srv.seen.map((r) => r.auth !== null)).toEqual([false, true, true]);
  });
});
