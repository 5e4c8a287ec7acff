// Drives one node WebSocket client through the bench's echo workload in its own process and
// prints one JSON line: `connections` WebSockets each sending a message and awaiting its echo,
// again and again, for `warmupMs` unmeasured then `durationMs` measured; every echo is checked.
// The same workload as bench/clients/ws_aiohttp_client.py.
// Usage (from a client file): node ws-<client>.mjs '{"url":...,"connections":...,"size":...,
//   "binary":...,"warmupMs":...,"durationMs":...}'

import { setTimeout as sleep } from "node:timers/promises";

/** How long the connections may take to finish their last echo, then to close, ms. */
const DRAIN_MS = 5000;

/**
 * The message of `size` bytes every client sends: ASCII text, or bytes of a fixed pattern
 * (the same as the Python client's).
 */
export function payloadOf(size, binary) {
  if (!binary)
    return "abcdefghijklmnopqrstuvwxyz0123456789".repeat(Math.ceil(size / 36)).slice(0, size);
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 31 + 7) & 255;
  return buf;
}

/**
 * `makeClient({ url, binary })` returns `{ connect, close? }`, where `connect()` opens one
 * WebSocket and resolves to `{ roundTrip(payload), close() }`: `roundTrip` sends the payload
 * (text for a string, binary for a Buffer) and resolves to the next message's data.
 */
export async function run(makeClient) {
  const opts = JSON.parse(process.argv[2] ?? "{}");
  const payload = payloadOf(opts.size, opts.binary);
  const client = await makeClient({ url: opts.url, binary: opts.binary });
  const conns = await Promise.all(Array.from({ length: opts.connections }, () => client.connect()));

  // 0: warm-up, 1: measured, 2: stopping.
  let phase = 0;
  let roundTrips = 0;
  let allRoundTrips = 0;
  let failed = 0;
  let firstError = null;
  const loop = async (conn) => {
    while (phase < 2) {
      try {
        const echo = await conn.roundTrip(payload);
        if (!same(echo, payload)) {
          throw new Error(`echo differs: ${String(echo).slice(0, 60)} (${echo?.length} long)`);
        }
      } catch (err) {
        failed++;
        firstError ??= String(err?.stack ?? err);
        return;
      }
      allRoundTrips++;
      if (phase === 1) roundTrips++;
    }
  };
  const loops = Promise.all(conns.map(loop));

  await sleep(opts.warmupMs);
  phase = 1;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await sleep(opts.durationMs);
  phase = 2;
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);

  // A connection whose echo never comes must not hang the bench.
  const drained = await Promise.race([loops.then(() => true), sleep(DRAIN_MS, false)]);
  if (!drained) {
    failed++;
    firstError ??= `some echoes were still missing ${DRAIN_MS} ms after the run`;
  }
  await Promise.race([
    Promise.allSettled(conns.map((c) => c.close())).then(() => client.close?.()),
    sleep(DRAIN_MS),
  ]);
  const total = process.cpuUsage();
  const summary = {
    roundTrips,
    wallMs,
    /** CPU this process used during the measured time, ms (all threads). */
    cpuMs: (cpu.user + cpu.system) / 1000,
    /** Round trips from the first to the last, warm-up included (for the server's CPU/round trip). */
    allRoundTrips,
    /** CPU this process used from start to end, ms, so the bench can tell others' load apart. */
    cpuTotalMs: (total.user + total.system) / 1000,
    failed,
    firstError,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
}

function same(echo, payload) {
  if (typeof payload === "string") return echo === payload;
  return (
    echo instanceof Uint8Array &&
    Buffer.from(echo.buffer, echo.byteOffset, echo.byteLength).equals(payload)
  );
}
