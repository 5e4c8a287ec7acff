// A Digest verifier of our own (an aiohttp-ts application, RFC 7616 checked in this file as
// digest_server.py checks it), kept honest by curl: `curl --digest` must pass it and a wrong
// password must not. DigestAuthMiddleware then passes the same verifier.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DigestAuthMiddleware, web } from "../../src/index.js";
import { TestServer } from "../../src/test-utils/index.js";
import { useSessions } from "../helpers.js";
import { hasPeer } from "../peers.js";
import { curl, onlyTransfer } from "./helpers.js";

const USER = "Mufasa";
const PASSWORD = "Circle Of Life";
const REALM = "aiohttp-ts digest test";
const HASHES: Record<string, string> = {
  MD5: "md5",
  "SHA-256": "sha256",
  "SHA-512-256": "sha512-256",
};

/** The parameters of an Authorization value, quoted strings unescaped. */
function parseAuthorization(value: string): Map<string, string> | null {
  const [scheme, rest = ""] = value.split(/ (.*)/s);
  if (scheme?.toLowerCase() !== "digest") return null;
  const params = new Map<string, string>();
  for (const m of rest.matchAll(/([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    const quoted = m[2];
    params.set(
      (m[1] as string).toLowerCase(),
      quoted === undefined ? (m[3] as string) : quoted.replace(/\\(.)/g, "$1"),
    );
  }
  return params;
}

/**
 * An application that asks for Digest on /digest/<qop>/<algorithm>/..., `qop` being "auth",
 * "auth-int" or "none", and records each request's outcome by path.
 */
function verifierApp(outcomes: Map<string, number[]>): web.Application {
  const nonces = new Map<string, number>(); // nonce -> highest nc seen
  const app = new web.Application();
  app.router.addRoute("*", "/digest/{qop}/{algorithm}/{tail:.*}", async (request) => {
    const body = await request.read();
    const { qop: qopPath, algorithm } = request.matchInfo;
    const offered = qopPath === "none" ? [] : [qopPath];
    const hashName = HASHES[algorithm.toUpperCase().replace(/-SESS$/, "")];
    const status = hashName === undefined ? 404 : verify(hashName);
    outcomes.set(request.path, [...(outcomes.get(request.path) ?? []), status]);
    if (status === 200) return web.jsonResponse({ user: USER, algorithm });
    const nonce = randomBytes(16).toString("hex");
    nonces.set(nonce, 0);
    const qop = offered.length === 0 ? "" : `, qop="${offered.join(",")}"`;
    throw new web.HTTPUnauthorized({
      headers: {
        "WWW-Authenticate": `Digest realm="${REALM}"${qop}, algorithm=${algorithm}, nonce="${nonce}", opaque="op"`,
      },
    });

    function verify(hash: string): number {
      const H = (data: string | Uint8Array): string => createHash(hash).update(data).digest("hex");
      const header = request.headers.get("Authorization");
      const auth = header === undefined ? null : parseAuthorization(header);
      if (auth === null) return 401;
      const nonce = auth.get("nonce") ?? "";
      const lastNc = nonces.get(nonce);
      if (
        lastNc === undefined ||
        auth.get("username") !== USER ||
        auth.get("realm") !== REALM ||
        auth.get("opaque") !== "op" ||
        auth.get("uri") !== request.rawPathAndQuery ||
        auth.get("algorithm")?.toUpperCase() !== algorithm.toUpperCase()
      ) {
        return 401;
      }
      const qop = auth.get("qop");
      const nc = auth.get("nc") ?? "";
      const cnonce = auth.get("cnonce") ?? "";
      if (offered.length > 0) {
        if (qop === undefined || !offered.includes(qop) || !/^[0-9a-f]{8}$/i.test(nc)) return 401;
        if (cnonce === "" || Number.parseInt(nc, 16) <= lastNc) return 401;
      } else if (qop !== undefined || auth.has("nc") || auth.has("cnonce")) {
        return 401;
      }
      let ha1 = H(`${USER}:${REALM}:${PASSWORD}`);
      if (/-sess$/i.test(algorithm)) ha1 = H(`${ha1}:${nonce}:${cnonce}`);
      let a2 = `${request.method}:${auth.get("uri")}`;
      if (qop === "auth-int") a2 += `:${H(body)}`;
      const ha2 = H(a2);
      const expected =
        offered.length === 0
          ? H(`${ha1}:${nonce}:${ha2}`)
          : H(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
      const given = Buffer.from(auth.get("response") ?? "");
      if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
        return 401;
      }
      if (offered.length > 0) nonces.set(nonce, Number.parseInt(nc, 16));
      return 200;
    }
  });
  return app;
}

/**
 * qop and algorithm, and whether curl takes part: Debian 12's curl 7.88 hashes "SHA-512-256"
 * with SHA-256 (real SHA-512/256 came in curl 8.8.0), so only Python checks that one for us.
 */
const CASES: ReadonlyArray<readonly [qop: string, algorithm: string, withCurl: boolean]> = [
  ["auth", "MD5", true],
  ["auth", "MD5-sess", true],
  ["auth", "SHA-256", true],
  ["auth", "SHA-256-sess", true],
  ["auth", "SHA-512-256", false],
  ["none", "MD5", true],
];

describe("a Digest verifier that curl passes, and DigestAuthMiddleware too", () => {
  const outcomes = new Map<string, number[]>();
  let server: TestServer;
  const session = useSessions();

  beforeAll(async () => {
    server = new TestServer(verifierApp(outcomes));
    await server.start();
  });
  afterAll(async () => {
    await server?.close();
  });

  for (const [qop, algorithm, withCurl] of CASES) {
    const base = `/digest/${qop}/${algorithm}`;

    it.runIf(withCurl && hasPeer("curl"))(
      `curl --digest passes it: ${algorithm}, qop ${qop}`,
      async () => {
        const path = `${base}/curl?x=1`;
        const t = onlyTransfer(
          await curl({
            url: server.makeUrl(path).href,
            args: ["--digest", "-u", `${USER}:${PASSWORD}`],
          }),
        );
        expect(t.status).toBe(200);
        expect(outcomes.get(`${base}/curl`)).toEqual([401, 200]);
      },
    );

    it.runIf(withCurl && hasPeer("curl"))(
      `curl with a wrong password does not: ${algorithm}, qop ${qop}`,
      async () => {
        const path = `${base}/curl-wrong`;
        const t = onlyTransfer(
          await curl({
            url: server.makeUrl(path).href,
            args: ["--digest", "-u", `${USER}:nope`],
          }),
        );
        expect(t.status).toBe(401);
        expect(outcomes.get(path)).toEqual([401, 401]);
      },
    );

    it(`DigestAuthMiddleware passes it: ${algorithm}, qop ${qop}`, async () => {
      const digest = new DigestAuthMiddleware({ login: USER, password: PASSWORD });
      const resp = await session({ middlewares: [digest] }).get(server.makeUrl(`${base}/ours?x=1`));
      expect(resp.status).toBe(200);
      expect(outcomes.get(`${base}/ours`)).toEqual([401, 200]);
    });
  }

  it("DigestAuthMiddleware passes it with auth-int and a body", async () => {
    const digest = new DigestAuthMiddleware({ login: USER, password: PASSWORD });
    const path = "/digest/auth-int/SHA-256/ours-body";
    const resp = await session({ middlewares: [digest] }).post(server.makeUrl(path), {
      data: "the body, hashed",
    });
    expect(resp.status).toBe(200);
    expect(outcomes.get(path)).toEqual([401, 200]);
  });

  it("DigestAuthMiddleware with a wrong password does not", async () => {
    const digest = new DigestAuthMiddleware({ login: USER, password: "nope" });
    const path = "/digest/auth/SHA-256/ours-wrong";
    const resp = await session({ middlewares: [digest] }).get(server.makeUrl(path));
    expect(resp.status).toBe(401);
    expect(outcomes.get(path)).toEqual([401, 401]);
  });
});
