// Ours: ClientSession from the BUILT package (dist/), run with plain node.
import { ClientSession, TCPConnector } from "../../dist/index.js";
import { run } from "./harness.mjs";

await run(({ url, connections }) => {
  const session = new ClientSession({ connector: new TCPConnector({ limit: connections }) });
  return {
    async get() {
      const resp = await session.get(url);
      if (resp.status !== 200) {
        await resp.release();
        throw new Error(`status ${resp.status}`);
      }
      return resp.json();
    },
    close: () => session.close(),
  };
});
