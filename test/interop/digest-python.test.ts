// DigestAuthMiddleware against a Digest server we did not write with our code: Python's
// http.server with RFC 7616 checked by hashlib (digest_server.py). The server's record of the
// requests it got tells how many went out and with what.
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DigestAuthError, DigestAuthMiddleware, type DigestAuthOptions } from "../../src/index.js";
import { rejection, useSessions } from "../helpers.js";
import { hasPeer } from "../peers.js";
import {
  DIGEST_PASSWORD,
  DIGEST_USER,
  type DigestServer,
  startDigestServer,
} from "./digest-server.js";

const peersMissing = !hasPeer("python3");

const session = useSessions();

/** A session with a fresh middleware holding the server's credentials. */
function digestSession(options: Partial<DigestAuthOptions> = {}) {
  const digest = new DigestAuthMiddleware({
    login: DIGEST_USER,
    password: DIGEST_PASSWORD,
    ...options,
  });
  return session({ middlewares: [digest] });
}

interface Granted {
  user: string;
  algorithm: string;
  qop: string | null;
  nc: string | null;
  body: string;
}

let unique = 0;
/** A path of its own for each test, so the server's record can be read per test. */
function fresh(prefix: string): string {
  unique++;
  return `${prefix}/t${unique}`;
}

describe.skipIf(peersMissing)("DigestAuthMiddleware against Python's http.server", () => {
  let py: DigestServer;
  let other: DigestServer;

  beforeAll(async () => {
    [py, other] = await Promise.all([startDigestServer(), startDigestServer()]);
  }, 20_000);
  afterAll(() => {
    py?.stop();
    other?.stop();
  });

  const ALGORITHMS = [
    "MD5",
    "MD5-sess",
    "SHA-256",
    "SHA-256-sess",
    "SHA-512-256",
    "SHA-512-256-sess",
  ];
  for (const algorithm of ALGORITHMS) {
    for (const qop of ["auth", "auth-int", "none"]) {
      // RFC 2617 3.2.2: a -sess algorithm needs qop (its A1 takes the cnonce).
      if (qop === "none" && algorithm.endsWith("-sess")) continue;
      it(`${algorithm} with qop ${qop}: a POST is answered after one 401`, async () => {
        const path = fresh(`/digest/${qop}/${algorithm}`);
        const resp = await digestSession().post(`${py.base}${path}?q=1%202`, { data: "payload" });
        expect(resp.status).toBe(200);
        const granted = (await resp.json()) as Granted;
        expect(granted).toMatchObject({ algorithm, qop: qop === "none" ? null : qop });
        expect(granted.body).toBe("payload");
        const seen = await py.requests(path);
        expect(seen.map((r) => r.status)).toEqual([401, 200]);
        expect(seen[0]?.authorization).toBeNull();
        expect(seen[1]?.nc).toBe(qop === "none" ? null : "00000001");
      });
    }
  }

  it("a wrong password gets the server's second 401 back, after two requests", async () => {
    const path = fresh("/digest/auth/SHA-256");
    const resp = await digestSession({ password: "wrong" }).get(`${py.base}${path}`);
    expect(resp.status).toBe(401);
    expect(await resp.text()).toBe("unauthorized");
    expect(resp.headers.get("WWW-Authenticate")).toMatch(/^Digest /);
    expect((await py.requests(path)).map((r) => r.status)).toEqual([401, 401]);
  });

  it("a stale nonce (stale=true) is answered again with the new nonce, transparently", async () => {
    const path = fresh("/digest/auth/SHA-256");
    const resp = await digestSession().get(`${py.base}${path}?stale=1`);
    expect(resp.status).toBe(200);
    const seen = await py.requests(path);
    expect(seen.map((r) => r.status)).toEqual([401, 401, 200]);
    // Both answers were right; the second one with the new nonce, hence a count from 1 again.
    expect(seen[1]?.authorization).toMatch(/nc=00000001/);
    expect(seen[2]?.nc).toBe("00000001");
  });

  it("preemptive: later requests to the origin carry credentials at once, nc counting up", async () => {
    const s = digestSession();
    const first = fresh("/digest/auth/SHA-512-256");
    const later = fresh("/digest/auth/SHA-512-256");
    expect((await s.get(`${py.base}${first}`)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await s.get(`${py.base}${later}/${i}`)).status).toBe(200);
    expect((await py.requests(first)).map((r) => r.status)).toEqual([401, 200]);
    const seen = await py.requests(later);
    expect(seen.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(seen.map((r) => r.nc)).toEqual(["00000002", "00000003", "00000004"]);
  });

  it("preemptive: false waits for each request's own 401", async () => {
    const s = digestSession({ preemptive: false });
    const path = fresh("/digest/auth/MD5");
    expect((await s.get(`${py.base}${path}/a`)).status).toBe(200);
    expect((await s.get(`${py.base}${path}/b`)).status).toBe(200);
    expect((await py.requests(path)).map((r) => r.status)).toEqual([401, 200, 401, 200]);
  });

  it("auth-int hashes each in-memory body kind as sent: bytes, a form, JSON, and none", async () => {
    const s = digestSession();
    const path = fresh("/digest/auth-int/SHA-256");
    const bodies = [
      { data: Buffer.from([0xff, 0x00, 0x41]) },
      { data: new URLSearchParams({ a: "1 2", b: "é" }) },
      { data: { form: "field" } },
      { json: { n: [1, 2], s: "x" } },
      {},
    ];
    for (const [i, body] of bodies.entries()) {
      const resp = await s.put(`${py.base}${path}/${i}`, body);
      expect(resp.status, `body ${i}`).toBe(200);
      expect(((await resp.json()) as Granted).qop).toBe("auth-int");
    }
  });

  it("a stream body falls back to qop=auth when the server offers it", async () => {
    const s = digestSession();
    const path = fresh("/digest/auth,auth-int/SHA-256");
    expect((await s.get(`${py.base}${path}/a`)).status).toBe(200);
    const resp = await s.post(`${py.base}${path}/b`, {
      data: Readable.from([Buffer.from("streamed")]),
    });
    expect(resp.status).toBe(200);
    expect((await resp.json()) as Granted).toMatchObject({ qop: "auth", body: "streamed" });
  });

  it("a stream body to a server that wants auth-int only fails with DigestAuthError, nothing sent", async () => {
    const s = digestSession();
    const path = fresh("/digest/auth-int/SHA-256");
    expect((await s.get(`${py.base}${path}/a`)).status).toBe(200);
    const err = await rejection(
      s.post(`${py.base}${path}/b`, { data: Readable.from([Buffer.from("streamed")]) }),
    );
    expect(err).toBeInstanceOf(DigestAuthError);
    expect((err as DigestAuthError).code).toBe("AIOHTTP_DIGEST_AUTH");
    expect(err.message).toMatch(/qop=auth-int only/);
    expect((await py.requests(`${path}/b`)).length).toBe(0);
  });

  it("a compressed body cannot be hashed for auth-int either: DigestAuthError", async () => {
    const s = digestSession();
    const path = fresh("/digest/auth-int/MD5");
    const err = await rejection(s.post(`${py.base}${path}`, { data: "x", compress: "gzip" }));
    expect(err).toBeInstanceOf(DigestAuthError);
  });

  it("several challenges in one header (after a Basic one) or in several: the strongest is used", async () => {
    const s = digestSession();
    for (const oneHeader of ["1", "0"]) {
      const path = fresh("/digest/auth/MD5+SHA-512-256-sess+SHA-256");
      const resp = await s.get(`${py.base}${path}?one-header=${oneHeader}`);
      expect(resp.status).toBe(200);
      expect(((await resp.json()) as Granted).algorithm).toBe("SHA-512-256-sess");
    }
  });

  it("userhash=true: the user name goes out hashed", async () => {
    const path = fresh("/digest/auth/SHA-256");
    const resp = await digestSession().get(`${py.base}${path}?userhash=1`);
    expect(resp.status).toBe(200);
    const [, answer] = await py.requests(path);
    expect(answer?.authorization).not.toContain(DIGEST_USER);
    expect(answer?.authorization).toMatch(/userhash=true/);
  });

  it("an unknown algorithm's 401 is returned as it is, after one request", async () => {
    const path = fresh("/digest/auth/SHA-1");
    const resp = await digestSession().get(`${py.base}${path}`);
    expect(resp.status).toBe(401);
    expect((await py.requests(path)).length).toBe(1);
  });

  it("a same-origin redirect is answered for its own URI", async () => {
    const target = fresh("/digest/auth/SHA-256");
    const start = fresh("/digest/auth/SHA-256");
    const resp = await digestSession().get(
      `${py.base}${start}?redirect=${encodeURIComponent(target)}`,
    );
    expect(resp.status).toBe(200);
    expect(resp.history.map((r) => r.status)).toEqual([302]);
    const [seen] = await py.requests(target);
    expect(seen?.authorization).toContain(`uri="${target}"`);
  });

  it("a redirect to another origin carries no credentials, and its challenge is not answered", async () => {
    const target = fresh("/digest/auth/SHA-256");
    const start = fresh("/digest/auth/SHA-256");
    const resp = await digestSession().get(
      `${py.base}${start}?redirect=${encodeURIComponent(`${other.base}${target}`)}`,
    );
    expect(resp.status).toBe(401);
    expect(resp.url.origin).toBe(other.base);
    expect(await other.requests(target)).toMatchObject([{ authorization: null, status: 401 }]);
  });

  it("a session used for two hosts answers only the first one's challenges", async () => {
    const s = digestSession();
    const path = fresh("/digest/auth/MD5");
    expect((await s.get(`${py.base}${path}`)).status).toBe(200);
    expect((await s.get(`${other.base}${path}`)).status).toBe(401);
    expect(await other.requests(path)).toMatchObject([{ authorization: null }]);
  });
});
