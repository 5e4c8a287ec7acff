// makeTestClient (pytest-aiohttp's `aiohttp_client` fixture): a started server and a client
// for it in one call.

import type { AnyApplication } from "../web/application.js";
import type { Handler } from "../web/router/route.js";
import { TestClient, type TestClientOptions } from "./test-client.js";
import {
  BaseTestServer,
  RawTestServer,
  TestServer,
  type TestServerOptions,
} from "./test-server.js";

/** Options of `makeTestClient`. */
export interface MakeTestClientOptions {
  /** Options of the server it starts (ignored when given a server). @default {} */
  serverOptions?: TestServerOptions;
  /** Options of the client's `ClientSession`. @default {} */
  sessionOptions?: TestClientOptions;
}

/**
 * Starts a server on a free loopback port and returns a started client for it: an
 * `Application` gets a `TestServer`, a bare handler `(request) => response` a `RawTestServer`,
 * and a test server is started as it is.
 *
 * @example
 * await using client = await makeTestClient(app);
 * const resp = await client.get("/");
 */
export async function makeTestClient(
  target: AnyApplication | Handler | BaseTestServer,
  options: MakeTestClientOptions = {},
): Promise<TestClient> {
  const { serverOptions = {}, sessionOptions = {} } = options;
  const server =
    typeof target === "function"
      ? new RawTestServer(target, serverOptions)
      : target instanceof BaseTestServer
        ? target
        : new TestServer(target, serverOptions);
  const client = new TestClient(server, sessionOptions);
  try {
    return await client.start();
  } catch (err) {
    await server.close().catch(() => {});
    throw err;
  }
}
