// The load generator, run in its own process so that it shares an event loop with nothing else.
// Usage: node load.mjs '<json options>'; prints one JSON line with the figures the bench keeps.
// Options: url, connections, pipelining, warmup (s), duration (s), expectBody.

import autocannon from "autocannon";

const opts = JSON.parse(process.argv[2] ?? "{}");

const result = await autocannon({
  url: opts.url,
  connections: opts.connections,
  pipelining: opts.pipelining,
  duration: opts.duration,
  // A run that hangs must not stall the whole bench: a request unanswered for 10 s is an error.
  timeout: 10,
  ...(opts.warmup > 0 ? { warmup: { connections: opts.connections, duration: opts.warmup } } : {}),
  ...(opts.expectBody === undefined ? {} : { expectBody: opts.expectBody }),
});

const summary = {
  requestsPerSecond: result.requests.average,
  requestsTotal: result.requests.total,
  duration: result.duration,
  latencyAverage: result.latency.average,
  latencyP50: result.latency.p50,
  latencyP99: result.latency.p99,
  latencyMax: result.latency.max,
  throughputAverage: result.throughput.average,
  errors: result.errors,
  timeouts: result.timeouts,
  non2xx: result.non2xx,
  mismatches: result.mismatches,
  // This process's own CPU time, so the bench can tell what other processes used meanwhile.
  cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
