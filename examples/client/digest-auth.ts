// Digest authentication (RFC 7616) with DigestAuthMiddleware: the 401's challenge is answered
// by sending the request again with credentials, and later requests carry them at once.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/digest-auth.ts

import { ClientSession, DigestAuthError, DigestAuthMiddleware, TraceConfig } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

// Counts the requests that really went out: the middleware's second try is one of them.
let sent = 0;
const trace = new TraceConfig();
trace.onRequestStart.push(async () => {
  sent++;
});

{
  const digest = new DigestAuthMiddleware({ login: "user", password: "pass" });
  await using session = new ClientSession({
    baseUrl: BASE_URL,
    middlewares: [digest],
    traceConfigs: [trace],
  });

  await using first = await session.get("/digest-auth/auth/user/pass/SHA-256");
  console.log("digest auth:", first.status, JSON.stringify(await first.json()));
  console.log("requests sent for the first call:", sent);

  // Preemptive (the default): the next request answers the known challenge at once.
  sent = 0;
  await using second = await session.get("/digest-auth/auth/user/pass/SHA-256");
  console.log("second call:", second.status, "requests sent:", sent);

  // qop=auth-int also protects the body: it has to be in memory (a string, bytes, a form, JSON).
  await using posted = await session.post("/digest-auth/auth-int/user/pass/SHA-256", {
    data: "signed body",
  });
  console.log("auth-int POST:", posted.status);

  // A stream cannot be hashed ahead of sending it: a server that wants auth-int only refuses.
  try {
    await using resp = await session.post("/digest-auth/auth-int/user/pass/SHA-256", {
      data: (async function* () {
        yield new TextEncoder().encode("streamed");
      })(),
    });
    console.log("auth-int with a stream:", resp.status);
  } catch (err) {
    if (!(err instanceof DigestAuthError)) throw err;
    console.log("auth-int with a stream:", err.code);
  }
}

// Every algorithm of RFC 7616, each with its own middleware (credentials per origin).
for (const algorithm of ["MD5", "SHA-256-sess", "SHA-512-256"]) {
  const digest = new DigestAuthMiddleware({ login: "user", password: "pass" });
  await using session = new ClientSession({ baseUrl: BASE_URL, middlewares: [digest] });
  await using resp = await session.get(`/digest-auth/auth/user/pass/${algorithm}`);
  console.log(`${algorithm}:`, resp.status);
}

// A wrong password: the server's second 401 comes back, and no loop.
{
  const digest = new DigestAuthMiddleware({ login: "user", password: "wrong" });
  await using session = new ClientSession({ baseUrl: BASE_URL, middlewares: [digest] });
  await using refused = await session.get("/digest-auth/auth/user/pass/MD5");
  console.log("wrong password:", refused.status);
}
