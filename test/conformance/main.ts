// `npm run conformance`: runs every case against the three servers and writes REPORT.md.
import { writeFile } from "node:fs/promises";
import { renderReport } from "./report.js";
import { OURS, REFERENCE, runSuite, shortfalls, verdictOf } from "./suite.js";

const suite = await runSuite();
const path = new URL("./REPORT.md", import.meta.url);
await writeFile(path, renderReport(suite));
const passed = (server: string): number =>
  suite.cases.filter((c) => verdictOf(suite, server, c.id).verdict !== "FAILED").length;
const missing = shortfalls(suite);
console.log(
  `${suite.cases.length} cases in ${(suite.ms / 1000).toFixed(1)} s: ${OURS} passed ${passed(OURS)}, ` +
    `${REFERENCE} passed ${passed(REFERENCE)}; report in test/conformance/REPORT.md`,
);
if (missing.length > 0) {
  console.error(`${OURS} fails where ${REFERENCE} passes: ${missing.map((c) => c.id).join(", ")}`);
  process.exitCode = 1;
}
