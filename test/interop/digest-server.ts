// The Python Digest server (digest_server.py) for the client's interop tests: started as a
// child process on a free loopback port, with the record of every request it saw.

import { fileURLToPath } from "node:url";
import { startPythonPeer } from "./python-peer.js";

const SCRIPT = fileURLToPath(new URL("./digest_server.py", import.meta.url));

/** The credentials and realm digest_server.py checks. */
export const DIGEST_USER = "Mufasa";
export const DIGEST_PASSWORD = "Circle Of Life";
export const DIGEST_REALM = 'digest@example.org, "test" \\ realm';

/** One request as the server saw it. */
export interface DigestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | null;
  /** The nonce count of a verified qop answer (8 hex digits), else null. */
  readonly nc: string | null;
  readonly status: number | null;
}

/** A running digest_server.py. */
export interface DigestServer {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** The requests seen whose path starts with `prefix`, in order. */
  requests(prefix: string): Promise<DigestLogEntry[]>;
  stop(): void;
}

export async function startDigestServer(): Promise<DigestServer> {
  const peer = await startPythonPeer(SCRIPT);
  return {
    base: peer.base,
    async requests(prefix) {
      const resp = await fetch(`${peer.base}/_log`);
      const all = (await resp.json()) as DigestLogEntry[];
      return all.filter((entry) => entry.path.startsWith(prefix));
    },
    stop: peer.stop,
  };
}
