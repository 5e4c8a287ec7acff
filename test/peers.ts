// The programs some suites talk to that npm does not install (interop peers). The global setup
// (test/peers-setup.ts) probes each once per run and prints one line per missing peer; a suite
// that needs one is declared with `describe.skipIf(!hasPeer("curl"))` (one test: `ctx.skip(
// !hasPeer("curl"))`). With CI=true a missing peer fails those tests instead: .ci/run installs
// them all.

import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { inject } from "vitest";

/** Debian's interpreter, which has python3-aiohttp (a pyenv `python3` on PATH may not). */
export const PYTHON = process.env.AIOHTTP_TS_PYTHON ?? "/usr/bin/python3";
export const CHROMIUM = process.env.AIOHTTP_TS_CHROMIUM ?? "/usr/bin/chromium";
export const TINYPROXY = process.env.AIOHTTP_TS_TINYPROXY ?? "/usr/bin/tinyproxy";
export const REDIS_SERVER = process.env.AIOHTTP_TS_REDIS_SERVER ?? "/usr/bin/redis-server";
export const NGINX = process.env.AIOHTTP_TS_NGINX ?? "/usr/sbin/nginx";
export const H2LOAD = process.env.AIOHTTP_TS_H2LOAD ?? "/usr/bin/h2load";
export const NGHTTPD = process.env.AIOHTTP_TS_NGHTTPD ?? "/usr/sbin/nghttpd";

export type PeerName =
  | "python3"
  | "python3-aiohttp"
  | "python3-websockets"
  | "python3-brotli"
  | "curl"
  | "openssl"
  | "chromium"
  | "tinyproxy"
  | "redis-server"
  | "nginx"
  | "h2load"
  | "nghttpd"
  | "python3-hypercorn"
  | "python3-httpx";

export interface Peer {
  readonly name: PeerName;
  /** Resolves true when the peer can be used. */
  probe(): Promise<boolean>;
  /** The command that installs it on Debian (and in .ci/run). */
  readonly install: string;
}

/** Whether `file args` starts and exits with 0 (a missing program is just false). */
function runs(file: string, args: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 15_000 }, (err) => resolve(err === null));
  });
}

function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

const pythonImports = (module: string) => () => runs(PYTHON, ["-c", `import ${module}`]);
const apt = (pkg: string): string => `sudo apt-get install -y ${pkg}`;

export const PEERS: readonly Peer[] = [
  { name: "python3", probe: () => runs(PYTHON, ["-c", ""]), install: apt("python3") },
  { name: "python3-aiohttp", probe: pythonImports("aiohttp"), install: apt("python3-aiohttp") },
  {
    name: "python3-websockets",
    probe: pythonImports("websockets"),
    install: apt("python3-websockets"),
  },
  // aiohttp compresses with br only when `brotli` (or `brotlicffi`) is importable.
  { name: "python3-brotli", probe: pythonImports("brotli"), install: apt("python3-brotli") },
  { name: "curl", probe: () => runs("curl", ["--version"]), install: apt("curl") },
  { name: "openssl", probe: () => runs("openssl", ["version"]), install: apt("openssl") },
  // Launching a browser to probe it would cost seconds; the tests say why it failed to start.
  { name: "chromium", probe: () => executable(CHROMIUM), install: apt("chromium") },
  { name: "tinyproxy", probe: () => executable(TINYPROXY), install: apt("tinyproxy") },
  { name: "redis-server", probe: () => executable(REDIS_SERVER), install: apt("redis-server") },
  { name: "nginx", probe: () => executable(NGINX), install: apt("nginx") },
  { name: "h2load", probe: () => executable(H2LOAD), install: apt("nghttp2-client") },
  { name: "nghttpd", probe: () => executable(NGHTTPD), install: apt("nghttp2-server") },
  {
    name: "python3-hypercorn",
    probe: pythonImports("hypercorn"),
    install: apt("python3-hypercorn"),
  },
  // httpx speaks HTTP/2 only with h2 installed.
  {
    name: "python3-httpx",
    probe: pythonImports("httpx, h2"),
    install: apt("python3-httpx python3-h2"),
  },
];

/**
 * The peers to treat as missing although installed, to see the suites skip (or, with CI=true,
 * fail): `AIOHTTP_TS_PEERS_HIDE=curl,chromium`, or `all`.
 */
export function hiddenPeers(env: NodeJS.ProcessEnv = process.env): Set<string> {
  const hide = (env.AIOHTTP_TS_PEERS_HIDE ?? "").split(",").map((name) => name.trim());
  return new Set(hide.includes("all") ? PEERS.map((peer) => peer.name) : hide);
}

/** Probes every peer at once; returns the names of those present and not hidden. */
export async function probePeers(): Promise<PeerName[]> {
  const hidden = hiddenPeers();
  const found = await Promise.all(
    PEERS.map(async (peer) => !hidden.has(peer.name) && (await peer.probe())),
  );
  return PEERS.filter((_, i) => found[i]).map((peer) => peer.name);
}

/** Whether a missing peer fails the suites that need it rather than skipping them. */
export const peersRequired = (env: NodeJS.ProcessEnv = process.env): boolean => env.CI === "true";

/** The line printed once per run for a missing peer. */
export function missingLine(peer: Peer, required: boolean): string {
  const outcome = required
    ? "CI=true, so the tests that need it fail"
    : "the tests that need it are skipped";
  return `peer missing: ${peer.name}; ${outcome}. Install it: ${peer.install}`;
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The peers present in this run (test/peers-setup.ts). */
    peers: PeerName[];
  }
}

/**
 * Whether every peer named is present in this run: `describe.skipIf(!hasPeer("curl"))`. With
 * CI=true a missing one throws instead, which fails the test file that asked, naming the peer.
 */
export function hasPeer(...names: PeerName[]): boolean {
  const present = inject("peers");
  const missing = PEERS.filter((peer) => names.includes(peer.name) && !present.includes(peer.name));
  if (missing.length > 0 && peersRequired()) {
    throw new Error(missing.map((peer) => missingLine(peer, true)).join("\n"));
  }
  return missing.length === 0;
}
