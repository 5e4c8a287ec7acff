// Runs cases against a server and compares two servers' verdicts.
import type { Case, Judgement } from "./case.js";
import { Peer, upgradeRequest } from "./peer.js";
import type { EchoServer } from "./servers.js";

/** How long a case waits for the handshake answer and, at the end, for the TCP close. */
const HANDSHAKE_MS = 3000;
const CLOSE_MS = 3000;

export interface CaseResult extends Judgement {
  id: string;
  ms: number;
}

/** One case against one server: handshake, the case's frames, then a close if still open. */
export async function runCase(c: Case, server: EchoServer): Promise<CaseResult> {
  const started = performance.now();
  const request = c.request?.(server.path) ?? upgradeRequest(server.path, c.headers);
  const peer = await Peer.open(server.port, request, HANDSHAKE_MS);
  try {
    if (peer.open) {
      await c.send(peer);
      await peer.waitFor(() => c.expect.done(peer.outcome), c.timeout ?? 2000);
      // Autobahn ends every case with a close handshake started by the client.
      if (peer.open && !peer.closeSent) await peer.close(1000);
    }
    // A refused handshake may leave the connection open for the next request.
    if (peer.outcome.status === 101) await peer.waitFor(() => peer.outcome.ended, CLOSE_MS);
  } finally {
    peer.destroy();
  }
  const judgement = c.expect.judge(peer.outcome);
  return { id: c.id, ...judgement, ms: Math.round(performance.now() - started) };
}

/** Every case in order, `parallel` at a time (cases are independent connections). */
export async function runCases(
  cases: readonly Case[],
  server: EchoServer,
  parallel = 4,
): Promise<Map<string, CaseResult>> {
  const results = new Map<string, CaseResult>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const c = cases[next++] as Case;
      results.set(c.id, await runCase(c, server));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}
