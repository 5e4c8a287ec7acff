// got with a keep-alive Agent of as many sockets as requests in flight, retries off.
import { Agent } from "node:http";
import got from "got";
import { run } from "./harness.mjs";

await run(({ url, connections }) => {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const client = got.extend({ agent: { http: agent }, retry: { limit: 0 } });
  return {
    // got rejects a status other than 2xx by itself (throwHttpErrors).
    send: () => client.get(url).json(),
    close: () => agent.destroy(),
  };
});
