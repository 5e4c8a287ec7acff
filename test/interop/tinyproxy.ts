// Debian's tinyproxy as a real forward proxy for the client's proxy tests: started in the
// foreground on a loopback port with a config file of its own, its log (stdout) read to tell
// which requests it carried.

import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers.js";
import { TINYPROXY } from "../peers.js";

/** A running tinyproxy (`startTinyproxy`). */
export interface Tinyproxy {
  /** `http://127.0.0.1:<port>`, without credentials. */
  readonly url: string;
  readonly port: number;
  /** The request lines it received, in order: `GET http://host:port/path`, `CONNECT host:port`. */
  requests(): string[];
  close(): Promise<void>;
}

/** Starts tinyproxy; with `auth`, it asks for those Basic credentials (`BasicAuth user pass`). */
export async function startTinyproxy(
  options: { auth?: { user: string; password: string } } = {},
): Promise<Tinyproxy> {
  const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-tinyproxy-"));
  // tinyproxy binds the port itself, so it is picked free just before; a clash fails the start
  // loudly rather than silently.
  const port = await freePort();
  const lines = [
    `Port ${port}`,
    "Listen 127.0.0.1",
    "Timeout 30",
    "MaxClients 50",
    "LogLevel Info",
    // No ConnectPort line: CONNECT to any port (the test servers' are ephemeral).
  ];
  if (options.auth !== undefined) {
    lines.push(`BasicAuth ${options.auth.user} ${options.auth.password}`);
  }
  const conf = join(dir, "tinyproxy.conf");
  await writeFile(conf, `${lines.join("\n")}\n`);
  const child = spawn(TINYPROXY, ["-d", "-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let log = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    log += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    log += d;
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (!log.includes("Accepting connections")) return;
      child.stdout.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
      resolve();
    };
    const onExit = (code: number | null): void =>
      reject(new Error(`tinyproxy exited with ${code} before listening:\n${log}`));
    const onError = (err: Error): void => reject(err);
    // Registered after the collecting listener, so `log` already has the chunk.
    child.stdout.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () =>
      [...log.matchAll(/Request \(file descriptor \d+\): (\S+ \S+)/g)].map((m) => m[1] ?? ""),
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
