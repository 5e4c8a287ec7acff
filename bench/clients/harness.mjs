// Drives one node client through the bench's workload in its own process and prints one JSON
// line: `requests` GETs (after `warmup` unmeasured ones), `concurrency` at a time, each body
// decoded as JSON by the client and checked here.
// Usage (from a client file): node <client>.mjs '{"url":...,"requests":...,"concurrency":...,"warmup":...}'

export const EXPECTED_MESSAGE = "Hello, World!";

/**
 * `makeClient({ url, connections })` returns `{ get, close? }`, where `get()` sends one GET,
 * rejects on a status other than 200 and resolves to the decoded JSON body.
 */
export async function run(makeClient) {
  const opts = JSON.parse(process.argv[2] ?? "{}");
  const client = await makeClient({ url: opts.url, connections: opts.concurrency });
  const warm = await drive(client.get, opts.warmup, opts.concurrency);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const measured = await drive(client.get, opts.requests, opts.concurrency);
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

/** `total` calls of `one`, at most `concurrency` in flight. */
async function drive(one, total, concurrency) {
  let issued = 0;
  let failed = 0;
  let firstError;
  const worker = async () => {
    while (issued < total) {
      issued++;
      try {
        const data = await one();
        if (data?.message !== EXPECTED_MESSAGE) {
          throw new Error(`unexpected body ${JSON.stringify(data)}`);
        }
      } catch (err) {
        failed++;
        firstError ??= String(err?.stack ?? err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return { failed, firstError };
}
