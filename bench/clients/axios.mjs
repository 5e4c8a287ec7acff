// axios (its node:http adapter) with a keep-alive Agent of as many sockets as requests in flight.
import { Agent } from "node:http";
import axios from "axios";
import { run } from "./harness.mjs";

await run(({ url, connections }) => {
  const httpAgent = new Agent({ keepAlive: true, maxSockets: connections });
  const client = axios.create({ httpAgent, responseType: "json" });
  return {
    async send() {
      const res = await client.get(url);
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return res.data;
    },
    close: () => httpAgent.destroy(),
  };
});
