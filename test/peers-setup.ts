// Vitest global setup: probes the interop peers once per run (test/peers.ts), prints one line per
// missing peer, and hands the list of present ones to the test files (`hasPeer`).

import type { TestProject } from "vitest/node";
import { missingLine, PEERS, peersRequired, probePeers } from "./peers.js";

export default async function setup(project: TestProject): Promise<void> {
  const present = await probePeers();
  for (const peer of PEERS) {
    if (!present.includes(peer.name)) console.warn(missingLine(peer, peersRequired()));
  }
  project.provide("peers", present);
}
