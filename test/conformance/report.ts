// Renders a conformance run as test/conformance/REPORT.md.
import { createRequire } from "node:module";
import { type Case, SECTIONS, type Verdict } from "./case.js";
import {
  DELIBERATE,
  OURS,
  OURS_NO_AUTOCLOSE,
  REFERENCE,
  type SuiteResult,
  shortfalls,
  verdictOf,
  weaker,
} from "./suite.js";

const SERVERS = [OURS, REFERENCE, OURS_NO_AUTOCLOSE];
const VERDICTS: readonly Verdict[] = ["OK", "NON-STRICT", "INFO", "FAILED"];

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function tally(suite: SuiteResult, server: string, cases: readonly Case[]): string {
  const counts = new Map<Verdict, number>();
  for (const c of cases) {
    const v = verdictOf(suite, server, c.id).verdict;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const passed = cases.length - (counts.get("FAILED") ?? 0);
  const parts = VERDICTS.filter((v) => counts.has(v)).map((v) => `${counts.get(v)} ${v}`);
  return `${passed}/${cases.length} (${parts.join(", ")})`;
}

// Where the time bound or what the server chose matters, OK cells say it too.
const DETAILED = new Set<string>(["Limits and performance", "Hostile peers"]);

function verdictCell(suite: SuiteResult, server: string, c: Case): string {
  const r = verdictOf(suite, server, c.id);
  if (r.verdict !== "OK") return `**${r.verdict}**: ${cell(r.detail)}`;
  return DETAILED.has(c.section) ? `OK: ${cell(r.detail)} (${r.ms} ms)` : "OK";
}

function caseList(cases: readonly Case[]): string {
  return cases.length === 0
    ? "None.\n"
    : `${cases.map((c) => `- ${c.id}: ${cell(c.title)}`).join("\n")}\n`;
}

export function renderReport(suite: SuiteResult): string {
  const require = createRequire(import.meta.url);
  const wsVersion = (require("ws/package.json") as { version: string }).version;
  const out: string[] = [];
  out.push(
    "# WebSocket conformance report",
    "",
    "Written by `npm run conformance` (`test/conformance/main.ts`); `test/conformance/conformance.test.ts`",
    "runs the same cases in the default suite. The cases follow the Autobahn testsuite's case list",
    "(its numbers where a case is one of Autobahn's), plus hostile peers (`H.*`). A raw TCP client",
    "masks its own frames, sends each case to an echo endpoint on 127.0.0.1 and records what the",
    "server did: the messages and pongs it sent back, its close frame and code, and whether it closed",
    "the connection. Three servers:",
    "",
    "- **aiohttp-ts**: `web.WebSocketResponse` in a handler with the defaults (autoclose,",
    "  permessage-deflate, 4 MiB `maxMsgSize`), echoing with `for await`.",
    `- **ws**: the reference, a bare \`ws\` ${wsVersion} \`WebSocketServer\` echoing from its \`message\``,
    "  event, with our limits (`maxPayload` 4 MiB, permessage-deflate on).",
    "- **aiohttp-ts, autoclose: false**: ours with `autoclose: false`, for the close handling below.",
    "",
    "Verdicts are Autobahn's: OK; NON-STRICT (allowed, not the best behaviour); INFO (no right answer,",
    "recorded); FAILED. A case passes unless it is FAILED. The rule: every case `ws` passes, ours",
    "passes, except the deliberate differences listed below.",
    "",
    `Node ${process.version}; ${suite.cases.length} cases per server; whole run ${(suite.ms / 1000).toFixed(1)} s.`,
    "",
    "## Summary: cases passed",
    "",
    `| Section | Cases | ${SERVERS.join(" | ")} |`,
    `| --- | --- | ${SERVERS.map(() => "---").join(" | ")} |`,
  );
  for (const section of SECTIONS) {
    const cases = suite.cases.filter((c) => c.section === section);
    if (cases.length === 0) continue;
    const row = SERVERS.map((s) => tally(suite, s, cases));
    out.push(`| ${section} | ${cases.length} | ${row.join(" | ")} |`);
  }
  out.push(
    `| **All** | **${suite.cases.length}** | ${SERVERS.map((s) => `**${tally(suite, s, suite.cases)}**`).join(" | ")} |`,
    "",
    "## Where ours and `ws` differ",
    "",
    "### Ours fails where `ws` passes",
    "",
    caseList(shortfalls(suite)),
    "### Deliberate differences",
    "",
  );
  for (const [id, reason] of Object.entries(DELIBERATE)) {
    const c = suite.cases.find((x) => x.id === id);
    out.push(`- **${id}** (${cell(c?.title ?? "")}): ${reason}`, "");
  }
  if (Object.keys(DELIBERATE).length === 0) out.push("None.", "");
  out.push(
    "### Ours NON-STRICT where `ws` is OK",
    "",
    caseList(weaker(suite)),
    "Where a valid message is followed, in the same read, by a frame that fails the connection,",
    "ours tells the failure after the handler had its turn with the messages before it, so its",
    "echo goes out before the close frame, as from `ws`, which echoes inside its `message` event.",
    "",
    "### `ws` fails where ours passes",
    "",
    caseList(
      suite.cases.filter(
        (c) =>
          verdictOf(suite, REFERENCE, c.id).verdict === "FAILED" &&
          verdictOf(suite, OURS, c.id).verdict !== "FAILED",
      ),
    ),
    "Ours refuses an upgrade request that declares a body (400): Node hands whatever follows the",
    "request head to the upgrade as its first frames, so `ws` reads the body as WebSocket frames",
    "(a frame in the body is delivered as a message).",
    "",
    "## Close handling: when ours answers a client's close",
    "",
    "With `autoclose: true` (the default) ours answers a client's close frame with the client's",
    "code by itself: at once when the handler is waiting for a message (or never reads), else, as",
    "aiohttp does, when the handler reads the CLOSE message, so a message that came before the",
    "close is still answered (7.1.1), and at the latest after the close timeout. `ws` answers at",
    "once and echoes inside its `message` event. With `autoclose: false` the close is answered",
    "when the handler calls `close()` or returns.",
    "",
    "Other differences in configuration, not behaviour: `ws`'s own defaults are `maxPayload`",
    "100 MiB and permessage-deflate off on a server; the reference gets ours. Both cut a flood of",
    "pings with more than 60 pongs waiting to be written (`ws`'s `maxPendingAutoPongs`) by",
    "dropping the connection. A permessage-deflate offer with an invalid parameter is declined by",
    "ours, as RFC 7692 7.1 asks; `ws` refuses the handshake with 400 (NON-STRICT).",
    "",
    "## Cases",
  );
  for (const section of SECTIONS) {
    const cases = suite.cases.filter((c) => c.section === section);
    if (cases.length === 0) continue;
    out.push("", `### ${section}`, "", `| Case | The client sends | ${SERVERS.join(" | ")} |`);
    out.push(`| --- | --- | ${SERVERS.map(() => "---").join(" | ")} |`);
    for (const c of cases) {
      const verdicts = SERVERS.map((s) => verdictCell(suite, s, c));
      out.push(`| ${c.id} | ${cell(c.title)} | ${verdicts.join(" | ")} |`);
    }
  }
  return `${out.join("\n")}\n`;
}
