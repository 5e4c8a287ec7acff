// raiseForStatus (aiohttp client reference): turn error statuses into ClientResponseError, on
// demand, for a whole session, per request, or with your own check.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/raise-for-status.ts

import { ClientResponseError, ClientSession } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

// By default an error status is just a response: check resp.ok or call resp.raiseForStatus().
{
  await using session = new ClientSession({ baseUrl: BASE_URL });
  await using resp = await session.get("/status/404");
  console.log("status:", resp.status, "ok:", resp.ok);
  try {
    resp.raiseForStatus();
  } catch (err) {
    if (!(err instanceof ClientResponseError)) throw err;
    console.log(
      `raiseForStatus(): ${err.status} ${err.reason} for ${err.requestInfo.url.pathname}`,
    );
  }
}

// For every request of a session; a request may opt out.
{
  await using session = new ClientSession({ baseUrl: BASE_URL, raiseForStatus: true });
  try {
    await session.get("/status/500");
  } catch (err) {
    if (!(err instanceof ClientResponseError)) throw err;
    console.log("session raiseForStatus:", err.status, err.code);
  }
  await using resp = await session.get("/status/503", { raiseForStatus: false });
  console.log("opted out:", resp.status);
}

// A function decides: here only 5xx are errors.
{
  await using session = new ClientSession({
    baseUrl: BASE_URL,
    raiseForStatus: async (resp) => {
      if (resp.status >= 500) throw new Error(`server failed with ${resp.status}`);
    },
  });
  await using notFound = await session.get("/status/404");
  console.log("callback let through:", notFound.status);
  await session.get("/status/502").catch((err: Error) => console.log("callback:", err.message));
}
