// The chat application, built from its options so that the server program and the tests make
// it the same way.

import { web } from "aiohttp-ts";
import { openBus } from "./bus.js";
import { Chat, localEvent } from "./chat.js";
import { chatKey, postRateKey, signerKey } from "./keys.js";
import { MAX_BODY } from "./limits.js";
import { accessLog, type ChatLogger, errorPages, securityHeaders } from "./middlewares.js";
import { loadSecret, NickSigner } from "./nick-cookie.js";
import { RateLimiter } from "./rate.js";
import { addRoutes } from "./routes.js";
import { openSqliteStore } from "./store.js";

export interface ChatOptions {
  /** Where the SQLite history (and the cookie secret, without `secret`) live. */
  dataDir: string;
  /** A Redis URL to share room events with other processes and hosts. @default none: in-process */
  redisUrl?: string | undefined;
  /** The secret that signs nick cookies. @default `CHAT_SECRET`, else one kept in `dataDir` */
  secret?: string | undefined;
  /** @default console */
  log?: ChatLogger;
}

const consoleLog: ChatLogger = {
  info: (line) => console.log(line),
  error: (line, err) => console.error(line, err),
};

export function makeApp(options: ChatOptions): web.Application {
  const log = options.log ?? consoleLog;
  const app = new web.Application({
    middlewares: [accessLog(log), errorPages(log)],
    clientMaxSize: MAX_BODY,
  });
  app.set(signerKey, new NickSigner(options.secret ?? loadSecret(options.dataDir)));
  app.set(postRateKey, new RateLimiter());
  app.onResponsePrepare.push(securityHeaders);

  // Opened before the server accepts requests; closed after the last request (WebSockets
  // included, which graceful shutdown closes with 1001 first) has finished with them.
  app.cleanupCtx.push(async function* storeAndBus(app) {
    const store = openSqliteStore(options.dataDir);
    try {
      const bus = await openBus(options.redisUrl, (event) => localEvent(store, event));
      app.set(chatKey, new Chat(store, bus));
      try {
        yield;
      } finally {
        await bus.close();
      }
    } finally {
      store.close();
    }
  });

  addRoutes(app);
  return app;
}
