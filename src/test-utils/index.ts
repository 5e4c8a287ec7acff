// Helpers for testing applications (aiohttp's test_utils), imported as "aiohttp-ts/test-utils":
// servers on a loopback port, a client bound to one, and requests made without sockets.

export { type MakeTestClientOptions, makeTestClient } from "./make-test-client.js";
export { type MockedRequestOptions, makeMockedRequest } from "./mocked-request.js";
export { TestClient, type TestClientOptions } from "./test-client.js";
export {
  BaseTestServer,
  RawTestServer,
  TestServer,
  type TestServerOptions,
} from "./test-server.js";
