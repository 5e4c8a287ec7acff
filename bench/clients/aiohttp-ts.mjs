// Ours: ClientSession from the BUILT package (dist/), run with plain node. With `"trace": true`
// in its options the session gets a TraceConfig with a no-op callback on onRequestStart and
// onRequestEnd: what tracing costs a request when a config is attached.
import { ClientSession, TCPConnector, TraceConfig } from "../../dist/index.js";
import { run } from "./harness.mjs";

await run(({ url, connections, trace }) => {
  const session = new ClientSession({
    connector: new TCPConnector({ limit: connections }),
    ...(trace ? { traceConfigs: [noOpTrace()] } : {}),
  });
  return {
    async send() {
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

function noOpTrace() {
  const trace = new TraceConfig();
  const noOp = async () => {};
  trace.onRequestStart.push(noOp);
  trace.onRequestEnd.push(noOp);
  return trace;
}
