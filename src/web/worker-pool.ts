// The primary process of `runApp(app, { workers: N })`: forks N workers of the same program
// (node:cluster), restarts a worker that dies unasked after a growing delay, and at shutdown
// asks every worker to shut down gracefully and waits until all have exited.

import cluster, { type Worker } from "node:cluster";
import type { Logger } from "./application.js";
import { RestartBackoff } from "./restart-backoff.js";
import {
  isReadyMessage,
  type ReadyMessage,
  type ShutdownMessage,
  WORKER_ID_ENV,
} from "./workers.js";

/** How long, beyond `shutdownTimeout`, the primary waits for a worker before killing it. */
const KILL_GRACE = 10_000;

/** Options of `WorkerPool`. */
export interface WorkerPoolOptions {
  workers: number;
  /** The workers' shutdown timeout, ms. */
  shutdownTimeout: number;
  logger: Logger;
  /** Called once, when every worker has started for the first time, with their site names. */
  onReady: (sites: string[]) => void;
}

/** One of the N places a worker process fills; a restarted worker takes its predecessor's. */
interface Slot {
  readonly id: number;
  readonly backoff: RestartBackoff;
  worker: Worker | null;
  /** When the current worker said it was ready (performance.now()), or `null`. */
  readyAt: number | null;
  restartTimer: NodeJS.Timeout | null;
}

/** The worker processes of one `runApp` call, seen from the primary. */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #slots: Slot[];
  #stopping = false;
  #announced = false;
  /** Resolves when, during `stop()`, the last worker has exited. */
  #allExited: (() => void) | null = null;

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#slots = Array.from({ length: options.workers }, (_, i) => ({
      id: i + 1,
      backoff: new RestartBackoff(),
      worker: null,
      readyAt: null,
      restartTimer: null,
    }));
  }

  /** Forks every worker. */
  start(): void {
    for (const slot of this.#slots) this.#fork(slot);
  }

  /**
   * Asks every worker to shut down gracefully (stop accepting, finish in-flight requests, run
   * the cleanup) and resolves when all have exited. Pending restarts are cancelled; a worker
   * still starting is asked as soon as it is ready. A worker that has not exited
   * `shutdownTimeout` + 10 s later is killed.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const slot of this.#slots) {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
      if (slot.worker !== null && slot.readyAt !== null) askToShutDown(slot.worker);
    }
    if (this.#slots.every((s) => s.worker === null)) return;
    const exited = new Promise<void>((resolve) => {
      this.#allExited = resolve;
    });
    const killTimer = setTimeout(() => {
      for (const slot of this.#slots) {
        if (slot.worker === null) continue;
        this.#options.logger.error(
          `Worker ${slot.id} (pid ${slot.worker.process.pid}) did not shut down in time: killed`,
        );
        slot.worker.process.kill("SIGKILL");
      }
    }, this.#options.shutdownTimeout + KILL_GRACE);
    try {
      await exited;
    } finally {
      clearTimeout(killTimer);
    }
  }

  #fork(slot: Slot): void {
    slot.restartTimer = null;
    slot.readyAt = null;
    const worker = cluster.fork({ [WORKER_ID_ENV]: String(slot.id) });
    slot.worker = worker;
    worker.on("message", (message: unknown) => {
      if (isReadyMessage(message)) this.#onReady(slot, worker, message);
    });
    // A failed fork or IPC error: the 'exit' that follows is handled like any other.
    worker.on("error", (err) => {
      this.#options.logger.error(`Worker ${slot.id} (pid ${worker.process.pid}) failed`, err);
    });
    worker.once("exit", (code: number | null, signal: string | null) => {
      this.#onExit(slot, worker, code, signal);
    });
  }

  #onReady(slot: Slot, worker: Worker, message: ReadyMessage): void {
    if (slot.worker !== worker) return;
    slot.readyAt = performance.now();
    if (this.#stopping) {
      askToShutDown(worker);
      return;
    }
    if (this.#announced) {
      this.#options.logger.info?.(`Worker ${slot.id} (pid ${worker.process.pid}) restarted`);
    } else if (this.#slots.every((s) => s.readyAt !== null)) {
      this.#announced = true;
      this.#options.onReady(message.sites);
    }
  }

  #onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    if (this.#stopping) {
      if (this.#slots.every((s) => s.worker === null)) this.#allExited?.();
      return;
    }
    const served = slot.readyAt === null ? null : performance.now() - slot.readyAt;
    const delay = slot.backoff.next(served);
    const how = signal === null ? `with code ${code}` : `on ${signal}`;
    const when = served === null ? "before it was ready" : `after ${Math.round(served)} ms`;
    this.#options.logger.error(
      `Worker ${slot.id} (pid ${worker.process.pid}) exited ${how} ${when}; restarting in ${delay} ms`,
    );
    slot.restartTimer = setTimeout(() => this.#fork(slot), delay);
  }
}

function askToShutDown(worker: Worker): void {
  if (!worker.isConnected()) return;
  const message: ShutdownMessage = { aiohttpTs: "shutdown" };
  // The channel can close between the check and the send (the worker exiting by itself): the
  // worker's exit is what the pool waits for, so a failed send needs no handling.
  worker.send(message, undefined, () => {});
}
