// The interop peer table (test/peers.ts): what a run without a peer prints and how it is hidden.

import { describe, expect, test } from "vitest";
import { hiddenPeers, missingLine, PEERS, peersRequired } from "./peers.js";

describe("interop peers", () => {
  test("every peer names the apt-get command that installs it", () => {
    for (const peer of PEERS) expect(peer.install).toMatch(/^sudo apt-get install -y \S+( \S+)*$/);
  });

  test("the missing line names the peer, what happens and how to install it", () => {
    const curl = PEERS.find((peer) => peer.name === "curl");
    expect(curl).toBeDefined();
    if (curl === undefined) return;
    expect(missingLine(curl, false)).toBe(
      "peer missing: curl; the tests that need it are skipped. Install it: sudo apt-get install -y curl",
    );
    expect(missingLine(curl, true)).toMatch(/^peer missing: curl; CI=true, so .* fail\./);
  });

  test("AIOHTTP_TS_PEERS_HIDE hides the peers listed, or all of them", () => {
    expect(hiddenPeers({ AIOHTTP_TS_PEERS_HIDE: "curl, chromium" })).toEqual(
      new Set(["curl", "chromium"]),
    );
    expect(hiddenPeers({ AIOHTTP_TS_PEERS_HIDE: "all" }).size).toBe(PEERS.length);
    expect(hiddenPeers({}).has("curl")).toBe(false);
  });

  test("only CI=true makes a missing peer fail", () => {
    expect(peersRequired({ CI: "true" })).toBe(true);
    expect(peersRequired({ CI: "1" })).toBe(false);
    expect(peersRequired({})).toBe(false);
  });
});
