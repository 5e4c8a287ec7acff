// Worker processes of `runApp(app, { workers })`: how many to run, which process this is, and
// the messages the primary and its workers exchange over cluster's IPC channel.

import cluster from "node:cluster";
import { availableParallelism } from "node:os";

/** How many worker processes `runApp` runs: a whole number >= 1, or `"auto"`. */
export type WorkersOption = number | "auto";

/** The environment variable through which the primary tells a worker its number. */
export const WORKER_ID_ENV = "AIOHTTP_TS_WORKER_ID";

/**
 * The number of worker processes `workers` asks for: `undefined` is 1, `"auto"` is one per
 * core (`os.availableParallelism()`). Anything else than a whole number >= 1 is a RangeError.
 */
export function workerCount(workers: WorkersOption | undefined): number {
  if (workers === undefined) return 1;
  if (workers === "auto") return availableParallelism();
  if (!Number.isSafeInteger(workers) || workers < 1) {
    throw new RangeError(
      `workers must be a whole number >= 1 or "auto", not ${JSON.stringify(workers) ?? String(workers)}`,
    );
  }
  return workers;
}

/**
 * The number (1..N) of this worker process when `runApp(app, { workers: N })` started it, or
 * `null` in any other process: the primary, or a server without workers. A restarted worker
 * keeps the number of the one it replaces, so `workerId() === 1` picks one process for a job
 * that must run once.
 */
export function workerId(): number | null {
  if (!cluster.isWorker) return null;
  const id = Number(process.env[WORKER_ID_ENV]);
  return Number.isSafeInteger(id) && id >= 1 ? id : null;
}

/** A worker tells the primary that its sites listen (their names, for the banner). */
export interface ReadyMessage {
  aiohttpTs: "ready";
  sites: string[];
}

/** The primary asks a worker to shut down gracefully. */
export interface ShutdownMessage {
  aiohttpTs: "shutdown";
}

export function isReadyMessage(message: unknown): message is ReadyMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    (message as Partial<ReadyMessage>).aiohttpTs === "ready" &&
    Array.isArray((message as Partial<ReadyMessage>).sites)
  );
}

export function isShutdownMessage(message: unknown): message is ShutdownMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    (message as Partial<ShutdownMessage>).aiohttpTs === "shutdown"
  );
}
