// The bounds a soak run (bench/soak.ts) holds a process to, and the summary of its memory
// samples. A bound is checked against samples taken after a full garbage collection.

import { readdirSync } from "node:fs";
import { median } from "./common.js";

const MB = 1024 * 1024;

/**
 * heapUsed at the end may exceed the sample after warm-up (same connections open, nothing in
 * flight) by this much. A leak of one small object (16 bytes or more) per request over
 * 500,000 requests crosses it; what the heap varies by without a leak (compiled code, inline
 * caches, pools sized by the load) stayed under 2 MB in the runs measured.
 */
export const HEAP_BOUND = 8 * MB;
/**
 * The trend under load: the median heapUsed of the last quarter of the samples may exceed that
 * of the first quarter by this much. It tells growth that goes on from a heap that settled.
 */
export const TREND_BOUND = 4 * MB;
/** The fewest samples under load for the trend to be judged (quarters of two samples). */
export const TREND_MIN_SAMPLES = 8;
/**
 * RSS at the end may exceed the sample after warm-up by this much. It is looser than the heap
 * bound: RSS also holds what V8 and malloc keep for reuse after a peak, which gc does not give
 * back to the system.
 */
export const RSS_BOUND = 64 * MB;

/** One memory sample of a process, after a full gc. */
export interface MemorySample {
  rss: number;
  heapUsed: number;
}

/** A bound checked: what was measured, the limit, and whether it held. */
export interface Check {
  name: string;
  measured: string;
  bound: string;
  held: boolean;
}

/** What a run's samples say. */
export interface MemorySummary {
  baseline: MemorySample;
  end: MemorySample;
  /** The samples under load, after warm-up. */
  load: MemorySample[];
  /** Median heapUsed of the last quarter of `load` minus that of the first; null: too few. */
  trend: number | null;
}

export function summarise(
  baseline: MemorySample,
  load: MemorySample[],
  end: MemorySample,
): MemorySummary {
  const quarter = Math.floor(load.length / 4);
  const heap = (s: MemorySample): number => s.heapUsed;
  const trend =
    load.length < TREND_MIN_SAMPLES
      ? null
      : median(load.slice(-quarter).map(heap)) - median(load.slice(0, quarter).map(heap));
  return { baseline, end, load, trend };
}

/** The memory bounds of `summary`, checked; `who` names the process. */
export function memoryChecks(who: string, summary: MemorySummary): Check[] {
  const { baseline, end, trend } = summary;
  const heapGrowth = end.heapUsed - baseline.heapUsed;
  const rssGrowth = end.rss - baseline.rss;
  const checks: Check[] = [
    {
      name: `${who}: heapUsed at the end vs after warm-up`,
      measured: signedMb(heapGrowth),
      bound: `<= +${mb(HEAP_BOUND)} MB`,
      held: heapGrowth <= HEAP_BOUND,
    },
    {
      name: `${who}: RSS at the end vs after warm-up`,
      measured: signedMb(rssGrowth),
      bound: `<= +${mb(RSS_BOUND)} MB`,
      held: rssGrowth <= RSS_BOUND,
    },
  ];
  if (trend !== null) {
    checks.push({
      name: `${who}: heapUsed trend under load (last quarter vs first, medians)`,
      measured: signedMb(trend),
      bound: `<= +${mb(TREND_BOUND)} MB`,
      held: trend <= TREND_BOUND,
    });
  }
  return checks;
}

/** A check that `measured` is exactly `expected` (counts of faults, of file descriptors). */
export function exactly(name: string, measured: number, expected: number): Check {
  return { name, measured: String(measured), bound: `= ${expected}`, held: measured === expected };
}

/** A check that `measured` is at most `max`. */
export function atMost(name: string, measured: number, max: number): Check {
  return { name, measured: String(measured), bound: `<= ${max}`, held: measured <= max };
}

/** Open file descriptors of process `pid` now (Linux /proc). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * Waits (polling /proc: no event says a socket was closed in another process) until `pid` has
 * at most `target` file descriptors open, or `ms` passed; returns the last count.
 */
export async function fdsSettle(pid: number, target: number, ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  let count = fdCount(pid);
  while (count > target && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    count = fdCount(pid);
  }
  return count;
}

/** Bytes as MB with one decimal. */
export function mb(bytes: number): string {
  return (bytes / MB).toFixed(1);
}

/** A change in bytes as signed MB, `+1.2` or `-0.4`. */
export function signedMb(bytes: number): string {
  return `${bytes >= 0 ? "+" : ""}${mb(bytes)}`;
}

/** min / median / max of `values` (bytes) as MB. */
export function spreadMb(values: number[]): string {
  if (values.length === 0) return "-";
  return `${mb(Math.min(...values))} / ${mb(median(values))} / ${mb(Math.max(...values))}`;
}
