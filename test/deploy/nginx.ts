// Debian's nginx run as an ordinary child process with the site config that docs/deployment.md
// shows (docs/nginx/aiohttp-ts.conf), its ports, socket and certificate paths replaced by the
// test's own, and everything nginx writes (pid, logs, temporary files) in a temporary directory.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "../helpers.js";
import { NGINX } from "../peers.js";

export { NGINX };

/** The site config, as docs/deployment.md shows it. */
export const SITE_CONF = fileURLToPath(
  new URL("../../docs/nginx/aiohttp-ts.conf", import.meta.url),
);

/** Where the site config's placeholders point in a test. */
export interface SitePlaces {
  httpPort: number;
  httpsPort: number;
  /** The application's TCP port on 127.0.0.1. */
  upstreamPort: number;
  /** The application's unix socket. */
  upstreamSocket: string;
  certFile: string;
  keyFile: string;
}

/**
 * The site config with the documented values replaced by `places`. Each documented value must
 * be there exactly once, so that an edit of the config that the test does not follow fails it.
 */
export async function siteConfig(places: SitePlaces): Promise<string> {
  let text = await readFile(SITE_CONF, "utf8");
  const replacements: Array<[string, string]> = [
    ["listen 80;", `listen 127.0.0.1:${places.httpPort};`],
    ["listen 443 ssl;", `listen 127.0.0.1:${places.httpsPort} ssl;`],
    ["server 127.0.0.1:8080;", `server 127.0.0.1:${places.upstreamPort};`],
    ["server unix:/run/aiohttp-ts/app.sock;", `server unix:${places.upstreamSocket};`],
    ["/etc/ssl/certs/app.example.com.pem;", `${places.certFile};`],
    ["/etc/ssl/private/app.example.com.key;", `${places.keyFile};`],
  ];
  for (const [from, to] of replacements) {
    const count = text.split(from).length - 1;
    if (count !== 1)
      throw new Error(`${SITE_CONF}: expected "${from}" once, found it ${count} times`);
    text = text.replace(from, to);
  }
  return text;
}

/** A running nginx (`startNginx`). */
export interface Nginx {
  readonly child: ChildProcess;
  /** What nginx wrote to stderr (its error log) so far. */
  log(): string;
  /** Resolves with the exit code once nginx has exited. */
  readonly exited: Promise<number | null>;
  /** Graceful stop (SIGQUIT, as Debian's nginx.service does it), then the directory goes. */
  stop(): Promise<number | null>;
}

/**
 * Starts nginx in the foreground, as the current user, serving `site` (a site config in the
 * http context, as a file in /etc/nginx/sites-enabled/ is). Resolves once its worker runs.
 */
export async function startNginx(site: string): Promise<Nginx> {
  if (!existsSync(NGINX)) {
    throw new Error(`${NGINX} is missing (install it with: sudo apt-get install nginx)`);
  }
  const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-nginx-"));
  await writeFile(join(dir, "site.conf"), site);
  // What Debian's /etc/nginx/nginx.conf provides, with every path nginx writes moved to `dir`
  // so that it runs without root. The error log goes to stderr, at notice level for the line
  // that says the worker started.
  const main = [
    // As root, nginx would run its worker as `nobody`, who cannot enter the private `dir`
    // holding the application's socket; in production that is what the socket's group is for.
    ...(process.getuid?.() === 0 ? ["user root root;"] : []),
    "daemon off;",
    "worker_processes 1;",
    `pid ${join(dir, "nginx.pid")};`,
    "error_log stderr notice;",
    "events { worker_connections 128; }",
    "http {",
    `  access_log ${join(dir, "access.log")};`,
    `  client_body_temp_path ${join(dir, "client_body")};`,
    `  proxy_temp_path ${join(dir, "proxy")};`,
    `  fastcgi_temp_path ${join(dir, "fastcgi")};`,
    `  uwsgi_temp_path ${join(dir, "uwsgi")};`,
    `  scgi_temp_path ${join(dir, "scgi")};`,
    `  include ${join(dir, "site.conf")};`,
    "}",
  ].join("\n");
  const conf = join(dir, "nginx.conf");
  await writeFile(conf, `${main}\n`);
  // -e: the error log used before the config is read (Debian's default is not writable).
  const child = spawn(NGINX, ["-p", dir, "-e", "stderr", "-c", conf], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    log += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      // The master logs this after it has bound the listening sockets.
      if (!log.includes("start worker process ")) return;
      done();
      resolve();
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`nginx exited with ${code} before serving:\n${log}`));
    };
    const onError = (err: Error): void => {
      done();
      reject(err);
    };
    const done = (): void => {
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
    };
    // Registered after the collecting listener, so `log` already has the chunk.
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
  return {
    child,
    log: () => log,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGQUIT");
      const code = await exited;
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Ports for nginx to listen on, picked free just before it binds them. */
export async function nginxPorts(): Promise<{ httpPort: number; httpsPort: number }> {
  const [httpPort, httpsPort] = (await freePorts(2)) as [number, number];
  return { httpPort, httpsPort };
}
