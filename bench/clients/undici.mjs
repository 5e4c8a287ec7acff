// undici.request with its own Agent of as many connections as requests in flight.
import { Agent, request } from "undici";
import { run } from "./harness.mjs";

await run(({ url, connections }) => {
  const dispatcher = new Agent({ connections });
  return {
    async send() {
      const { statusCode, body } = await request(url, { dispatcher });
      if (statusCode !== 200) {
        await body.dump();
        throw new Error(`status ${statusCode}`);
      }
      return body.json();
    },
    close: () => dispatcher.close(),
  };
});
