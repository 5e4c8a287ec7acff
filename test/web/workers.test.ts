// runApp({ workers }): the worker count, the restart back-off, and, with a server program in a
// child process (test/fixtures/cluster-server.ts), two workers sharing a port, graceful
// shutdown of all of them on SIGTERM, and restarts of crashed workers.
import { type ChildProcess, spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import {
  FIRST_RESTART_DELAY,
  MAX_RESTART_DELAY,
  RestartBackoff,
  STABLE_AFTER,
} from "../../src/web/restart-backoff.js";
import { workerCount } from "../../src/web/workers.js";
import { bannerPort, httpSend, OutputLines, rejection } from "../helpers.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../fixtures/cluster-server.ts", import.meta.url));

describe("the workers option", () => {
  it("is 1 by default, a whole number as given, and one per core with 'auto'", () => {
    expect(workerCount(undefined)).toBe(1);
    expect(workerCount(3)).toBe(3);
    expect(workerCount("auto")).toBe(availableParallelism());
  });

  it("rejects with a RangeError anything but a whole number >= 1 or 'auto', before starting", async () => {
    const app = new web.Application();
    let started = false;
    app.onStartup.push(() => {
      started = true;
    });
    for (const workers of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const err = await rejection(web.runApp(app, { workers, print: null, handleSignals: false }));
      expect(err).toBeInstanceOf(RangeError);
      expect(err.message).toMatch(/workers must be a whole number >= 1 or "auto"/);
    }
    expect(started).toBe(false);
  });

  it("workerId() is null outside a worker process", () => {
    expect(web.workerId()).toBeNull();
  });
});

describe("the restart back-off", () => {
  it("doubles from 100 ms up to 10 s while a worker keeps dying", () => {
    const backoff = new RestartBackoff();
    const delays = Array.from({ length: 9 }, () => backoff.next(null));
    expect(FIRST_RESTART_DELAY).toBe(100);
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
    expect(Math.max(...delays)).toBe(MAX_RESTART_DELAY);
  });

  it("keeps growing for a worker that died soon after it was ready", () => {
    const backoff = new RestartBackoff();
    backoff.next(null);
    expect(backoff.next(STABLE_AFTER - 1)).toBe(200);
  });

  it("starts again from 100 ms after a worker that stayed up a while", () => {
    const backoff = new RestartBackoff();
    for (let i = 0; i < 5; i += 1) backoff.next(null);
    expect(backoff.next(STABLE_AFTER)).toBe(100);
    expect(backoff.next(null)).toBe(200);
  });
});

// ---- in a child process ------------------------------------------------------------------

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // The group is gone already.
    }
  }
});

/** The fixture running in a child process. */
interface Fixture {
  child: ChildProcess;
  /** Settles with the exit code (`null` when a signal ended it). */
  exited: Promise<number | null>;
  stdout: OutputLines;
  stderr: OutputLines;
}

/**
 * Starts the fixture as `node --import tsx` on port 0, in its own process group (killed after
 * the test). It is not the helpers' startServerProcess because the crash-loop test needs the
 * output of a program that never prints a banner.
 */
function spawnFixture(env: NodeJS.ProcessEnv = {}): Fixture {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PORT: "0", WORKERS: "2", ...env },
    detached: true,
  });
  started.push(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    child,
    exited,
    stdout: new OutputLines(child.stdout),
    stderr: new OutputLines(child.stderr),
  };
}

/** Starts the fixture with two workers and waits for the primary's banner. */
async function startCluster(): Promise<Fixture & { port: number }> {
  const fixture = spawnFixture();
  const [banner] = await fixture.stdout.waitFor(
    /Running on http:\/\/127\.0\.0\.1:\d+ =/,
    1,
    30_000,
  );
  expect(fixture.stdout.lines.map((l) => l.text)).toContain(
    "(2 worker processes; Press CTRL+C to quit)",
  );
  return { ...fixture, port: bannerPort(banner?.text ?? "") };
}

/** The pids of the workers that said `worker <id> started pid <pid>`, by worker id. */
function workerPids(stdout: OutputLines): Map<number, number> {
  const pids = new Map<number, number>();
  for (const { text } of stdout.matching(/^worker \d+ started pid \d+$/)) {
    const [, id, pid] = /^worker (\d+) started pid (\d+)$/.exec(text) ?? [];
    pids.set(Number(id), Number(pid));
  }
  return pids;
}

// Each test starts three processes that load TypeScript through tsx: on a busy 2-core machine
// that alone can take several seconds, hence more time than a single-process test gets.
describe("runApp with two workers, in a process", { timeout: 40_000 }, () => {
  it("serves from both workers on one port", async () => {
    const { child, port, stdout } = await startCluster();
    const pids = new Set(workerPids(stdout).values());
    expect(pids.size).toBe(2);
    const replies = await Promise.all(Array.from({ length: 6 }, () => httpSend(port, "/pid")));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const answered = new Set(replies.map((r) => Number(r.body)));
    // Round-robin: the connections go to each worker in turn.
    expect(answered).toEqual(pids);
    expect(pids.has(child.pid ?? 0)).toBe(false);
  });

  it("on SIGTERM finishes every in-flight request in both workers, then exits 0 and refuses connections", async () => {
    const { child, exited, port, stdout } = await startCluster();
    const requests = Array.from({ length: 6 }, () => httpSend(port, "/slow"));
    const inFlight = await stdout.waitFor(/^in flight \d+$/, 6);
    // Both workers hold some of the requests when the primary is told to stop.
    expect(new Set(inFlight.map((l) => l.text)).size).toBe(2);

    child.kill("SIGTERM");
    const replies = await Promise.all(requests);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(replies.every((r) => /^done \d+$/.test(r.body))).toBe(true);
    expect(await exited).toBe(0);
    expect(stdout.matching(/^cleanup ran pid \d+$/)).toHaveLength(2);
    expect(stdout.matching(/^runApp returned in worker$/)).toHaveLength(2);
    expect(stdout.lines.at(-1)?.text).toBe("runApp returned in primary");
    expect(await rejection(httpSend(port, "/pid"))).toMatchObject({ code: "ECONNREFUSED" });
  });

  it("forks a new worker when one is killed, and the port keeps serving", async () => {
    const { child, exited, port, stdout, stderr } = await startCluster();
    const before = workerPids(stdout);
    const victim = before.get(1) ?? 0;
    const survivor = before.get(2) ?? 0;
    process.kill(victim, "SIGKILL");

    const [exit] = await stderr.waitFor(/^Worker 1 \(pid \d+\) exited/);
    expect(exit?.text).toMatch(
      new RegExp(
        `^Worker 1 \\(pid ${victim}\\) exited on SIGKILL after \\d+ ms; restarting in 100 ms$`,
      ),
    );
    await stderr.waitFor(/^Worker 1 \(pid \d+\) restarted$/);
    const replacement = workerPids(stdout).get(1) ?? 0;
    expect(replacement).not.toBe(victim);
    expect(stderr.matching(/restarted$/)[0]?.text).toBe(`Worker 1 (pid ${replacement}) restarted`);

    const replies = await Promise.all(Array.from({ length: 4 }, () => httpSend(port, "/pid")));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(replies.map((r) => Number(r.body)))).toEqual(new Set([survivor, replacement]));

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("waits longer before each restart of a worker that fails at start", async () => {
    const { child, exited, stdout, stderr } = spawnFixture({ CRASH_WORKER: "2" });
    const exits = await stderr.waitFor(
      /^Worker 2 \(pid \d+\) exited with code 1 before it was ready; restarting in \d+ ms$/,
      4,
      30_000,
    );
    const delays = exits.map((l) => Number(/restarting in (\d+) ms/.exec(l.text)?.[1]));
    expect(delays).toEqual([100, 200, 400, 800]);
    // Each restart came no sooner than its delay: the primary does not fork in a tight loop.
    for (let i = 1; i < exits.length; i += 1) {
      const gap = (exits[i]?.at ?? 0) - (exits[i - 1]?.at ?? 0);
      expect(gap).toBeGreaterThanOrEqual(delays[i - 1] ?? Number.POSITIVE_INFINITY);
    }
    // The other worker serves meanwhile; no banner, since not every worker ever started.
    expect(workerPids(stdout).has(1)).toBe(true);
    expect(stdout.matching(/Running on/)).toEqual([]);

    // A pending restart does not hold up the shutdown.
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stdout.matching(/^runApp returned in primary$/)).toHaveLength(1);
  }, 60_000);
});
