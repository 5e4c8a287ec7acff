// Debian's redis-server on a free loopback port, for the tests of the chat across processes:
// no persistence (`--save ""`, `--appendonly no`), stopped by the test.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { freePort } from "../helpers.js";
import { REDIS_SERVER } from "../peers.js";

export { REDIS_SERVER };

const REDIS_HINT = "apt-get install redis-server";

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts redis-server and resolves once it accepts connections. */
export async function startRedis(timeoutMs = 10_000): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = spawn(
      REDIS_SERVER,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
  } catch (err) {
    throw new Error(`redis-server could not be started (${REDIS_HINT})`, { cause: err });
  }
  let output = "";
  const exited = once(child, "exit");
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail("redis-server did not get ready in time"), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        resolve();
      }
    };
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${why} (${REDIS_HINT})\n${output}`));
    };
    child.stdout?.on("data", onData);
    child.once("error", (err) => fail(`redis-server failed: ${err.message}`));
    child.once("exit", (code) => fail(`redis-server exited with ${code}`));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}
