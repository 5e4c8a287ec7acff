// The client of the soak run (bench/soak.ts): one ClientSession from the BUILT package (dist/),
// run with plain `node --expose-gc` and an IPC channel. Usage: node --expose-gc
// soak-aiohttp-ts.mjs, then {type: "run", url, requests, warmup, concurrency, limit,
// sampleEveryMs} over IPC. It makes `warmup` then `requests` requests (GET /small, GET /json and
// POST /echo with 1 KiB in turn, each answer checked), `concurrency` at a time through a
// connector with `limit` connections, and says over IPC:
//   {type: "sample", phase: "baseline" | "load" | "end", ...}  memory after a full gc, the
//        requests done, and the connector's slots in use and waiters
//   {type: "done", ...}  the tally, once the session is closed
// It stays up (so that its file descriptors can be counted) until the IPC channel closes.
import { ClientSession, TCPConnector } from "../../dist/index.js";

if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc");
const gc = globalThis.gc;

const faults = { unhandledRejections: 0, uncaughtExceptions: 0 };
let firstError = null;
process.on("unhandledRejection", (reason) => {
  faults.unhandledRejections += 1;
  firstError ??= `unhandledRejection: ${String(reason?.stack ?? reason)}`;
});
process.on("uncaughtException", (err) => {
  faults.uncaughtExceptions += 1;
  firstError ??= `uncaughtException: ${String(err?.stack ?? err)}`;
});

const ECHO_BODY = Buffer.alloc(1024, "soak body ");

/** One request of the mix: the `i`-th kind, its answer checked. */
async function oneRequest(session, url, i) {
  const kind = i % 3;
  if (kind === 0) {
    const text = await (await session.get(`${url}/small`)).text();
    if (text !== "ok") throw new Error(`GET /small answered ${JSON.stringify(text)}`);
  } else if (kind === 1) {
    const body = await (await session.get(`${url}/json`)).json();
    if (body?.id !== 42) throw new Error(`GET /json answered ${JSON.stringify(body)}`);
  } else {
    const bytes = await (await session.post(`${url}/echo`, { data: ECHO_BODY })).read();
    if (!ECHO_BODY.equals(Buffer.from(bytes))) throw new Error("POST /echo answered other bytes");
  }
}

/** Makes `count` requests, `concurrency` at a time; adds to `tally`. */
async function load(session, url, count, concurrency, tally) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      try {
        await oneRequest(session, url, i);
        tally.done += 1;
      } catch (err) {
        tally.failed += 1;
        firstError ??= String(err?.stack ?? err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function sample(phase, connector, tally) {
  gc();
  gc();
  const memory = process.memoryUsage();
  process.send({
    type: "sample",
    phase,
    done: tally.done,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
    active: connector.active,
    waiting: connector.waiting,
  });
}

async function run({ url, requests, warmup, concurrency, limit, sampleEveryMs }) {
  const connector = new TCPConnector({ limit });
  const session = new ClientSession({ connector });
  const tally = { done: 0, failed: 0 };
  const started = performance.now();
  await load(session, url, warmup, concurrency, tally);
  const warmedUp = performance.now();
  sample("baseline", connector, tally);
  const timer = setInterval(() => sample("load", connector, tally), sampleEveryMs);
  await load(session, url, requests, concurrency, tally);
  clearInterval(timer);
  const ended = performance.now();
  sample("end", connector, tally);
  await session.close();
  process.send({
    type: "done",
    ...tally,
    warmupMs: warmedUp - started,
    loadMs: ended - warmedUp,
    closed: connector.closed,
    ...faults,
    firstError,
  });
}

process.on("message", (message) => {
  if (message?.type !== "run") return;
  run(message).catch((err) => {
    process.send({ type: "error", message: String(err?.stack ?? err) });
  });
});
process.on("disconnect", () => process.exit(0));
process.send({ type: "ready" });
