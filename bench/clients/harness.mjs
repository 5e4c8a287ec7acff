// Drives one node client through one of the bench's workloads in its own process and prints
// one JSON line: `requests` calls of the client's `send` (after `warmup` unmeasured ones),
// `concurrency` at a time, each result checked here. The GET workload: each body decoded as
// JSON by the client, its `message` checked. The upload workload (upload-*.mjs): each answer of
// the server checked against the file sent (see checkUpload).
// Usage (from a client file): node <client>.mjs '{"url":...,"requests":...,"concurrency":...,
//   "warmup":...}' (and the workload's own options, given to the client as they are)

export const EXPECTED_MESSAGE = "Hello, World!";

/** The text field every upload carries besides its file, and the server echoes back. */
export const UPLOAD_NOTE = "aiohttp-ts bench";

/** Checks a GET's decoded body. */
function checkMessage(data) {
  if (data?.message !== EXPECTED_MESSAGE) {
    throw new Error(`unexpected body ${JSON.stringify(data)}`);
  }
}

/**
 * Checks the server's answer to one upload of `opts.file` (`opts.size` bytes): it read the
 * whole file as one file part, and the `note` field.
 */
export function checkUpload(opts) {
  return (reply) => {
    if (reply?.bytes !== opts.size || reply.files !== 1 || reply.fields?.note !== UPLOAD_NOTE) {
      throw new Error(`server read ${JSON.stringify(reply)}, not the ${opts.size}-byte upload`);
    }
  };
}

/**
 * `makeClient(opts)` (the options above, with `connections` as many as `concurrency`) returns
 * `{ send, close? }`, where `send()` sends one request, rejects on a status other than 200 and
 * resolves to the decoded JSON body; `check(opts)` makes the check of each body (by default,
 * the GET workload's).
 */
export async function run(makeClient, check = () => checkMessage) {
  const opts = JSON.parse(process.argv[2] ?? "{}");
  const client = await makeClient({ ...opts, connections: opts.concurrency });
  const checkOne = check(opts);
  const drive = (total) => driveClient(client.send, checkOne, total, opts.concurrency);
  const warm = await drive(opts.warmup);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const measured = await drive(opts.requests);
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  await client.close?.();
  const total = process.cpuUsage();
  const summary = {
    requests: opts.requests,
    wallMs,
    /** CPU this process used during the measured requests, ms (all threads). */
    cpuMs: (cpu.user + cpu.system) / 1000,
    /** CPU this process used from start to end, ms, so the bench can tell others' load apart. */
    cpuTotalMs: (total.user + total.system) / 1000,
    failed: measured.failed + warm.failed,
    firstError: measured.firstError ?? warm.firstError,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  // Keep-alive sockets of some clients (global fetch's dispatcher) would hold the process open.
  process.exit(0);
}

/** `total` calls of `send`, at most `concurrency` in flight, each result given to `check`. */
async function driveClient(send, check, total, concurrency) {
  let issued = 0;
  let failed = 0;
  let firstError;
  const worker = async () => {
    while (issued < total) {
      issued++;
      try {
        check(await send());
      } catch (err) {
        failed++;
        firstError ??= String(err?.stack ?? err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return { failed, firstError };
}
