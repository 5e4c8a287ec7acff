// Starts a Python peer server script that binds a free loopback port and prints `READY <port>`.

import { type ChildProcess, spawn } from "node:child_process";
import { PYTHON } from "../peers.js";

/** A Python server running in a child process. */
export interface PythonPeer {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Ends the process unless it has exited. */
  stop(): void;
}

/** Runs `script`; resolves once it printed its READY line, rejects with its stderr otherwise. */
export async function startPythonPeer(script: string, timeoutMs = 10_000): Promise<PythonPeer> {
  const child = spawn(PYTHON, [script], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  };
  const port = await new Promise<number>((resolve, reject) => {
    const fail = (why: string, cause?: unknown): void => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${script}: ${why}\n--- stderr ---\n${stderr}`, { cause }));
    };
    const timer = setTimeout(() => fail("no READY line in time"), timeoutMs);
    child.once("error", (err) => fail(`cannot start ${PYTHON}`, err));
    child.once("exit", (code) => fail(`exited with ${code} before READY`));
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      const line = /^READY (\d+)\n/m.exec(stdout);
      if (line === null) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      resolve(Number(line[1]));
    });
  });
  return { child, base: `http://127.0.0.1:${port}`, stop };
}
