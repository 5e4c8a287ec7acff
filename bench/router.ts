// Router micro-benchmark: resolves among 1,000 variable routes and prints the cost of one
// lookup. Issue 2's target is under 2 microseconds. Run: npm run bench:router (--no-write
// leaves bench/RESULTS.md as it is).
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { web } from "../src/index.js";
import { writeResultsSection } from "./results-file.js";

const PREFIXES = 100;
const TARGET_NS = 2_000;
const LOOKUPS = 1_000_000;

/** Ten realistic templates under one first segment: ids, regex ids, nested resources, a tail. */
function templates(k: number): string[] {
  const base = `/api${k}`;
  return [
    `${base}/items/{id}`,
    `${base}/items/{id}/edit`,
    `${base}/users/{user:\\d+}`,
    `${base}/users/{user:\\d+}/posts/{post}`,
    `${base}/orders/{order:[0-9a-f]{8}}`,
    `${base}/orders/{order}/lines/{line:\\d+}`,
    `${base}/tags/{tag}/items`,
    `${base}/v{version:\\d+}/status`,
    `${base}/search/{term}/page/{page:\\d+}`,
    `${base}/files/{path:.*}`,
  ];
}

/** A concrete path for each template above. */
function samplePaths(k: number, n: number): string[] {
  const base = `/api${k}`;
  return [
    `${base}/items/item-${n}`,
    `${base}/items/item-${n}/edit`,
    `${base}/users/${n}`,
    `${base}/users/${n}/posts/hello-world`,
    `${base}/orders/${(0xdeadbe00 + n).toString(16)}`,
    `${base}/orders/o${n}/lines/${n % 7}`,
    `${base}/tags/t${n}/items`,
    `${base}/v${n % 3}/status`,
    `${base}/search/term${n}/page/${n % 9}`,
    `${base}/files/a/b/c${n}.txt`,
  ];
}

const handler = async () => new web.Response({ text: "ok" });
const router = new web.UrlDispatcher();
for (let k = 0; k < PREFIXES; k++) {
  for (const t of templates(k)) router.addGet(t, handler);
}
router.freeze();
const routeCount = router.resources().length;

type FakeRequest = { path: string; method: string };
// resolve() reads only `path` and `method`, so a plain object stands in for a Request.
const asRequest = (r: FakeRequest) => r as unknown as web.Request;

const requests: web.Request[] = [];
for (let k = 0; k < PREFIXES; k++) {
  for (const path of samplePaths(k, k * 31 + 7)) requests.push(asRequest({ path, method: "GET" }));
}
// Check every sample resolves, so the benchmark measures hits rather than 404s.
for (const req of requests) {
  const match = router.resolve(req);
  if (match.route === null) throw new Error(`bench path did not resolve: ${req.path}`);
}

function run(n: number): number {
  let found = 0;
  const count = requests.length;
  for (let i = 0; i < n; i++) {
    if (router.resolve(requests[i % count] as web.Request).route !== null) found++;
  }
  return found;
}

run(200_000); // warm-up for the JIT
const start = process.hrtime.bigint();
const found = run(LOOKUPS);
const elapsed = Number(process.hrtime.bigint() - start);
const perLookup = elapsed / LOOKUPS;
console.log(
  `${routeCount} variable routes, ${LOOKUPS.toLocaleString("en")} lookups (${found.toLocaleString("en")} matched): ` +
    `${perLookup.toFixed(0)} ns per lookup (target < ${TARGET_NS} ns) ${perLookup < TARGET_NS ? "OK" : "TOO SLOW"}`,
);

if (!process.argv.includes("--no-write")) {
  const file = fileURLToPath(new URL("RESULTS.md", import.meta.url));
  const body = [
    `Run ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}: Node ${process.version}, ${cpus().length} cores.`,
    "",
    `Method: a \`UrlDispatcher\` with ${routeCount} variable routes (${PREFIXES} first segments x 10 templates:`,
    "plain variables, regex variables, nested resources, a tail), resolving a sample path of every",
    `template in turn, ${LOOKUPS.toLocaleString("en")} lookups after a warm-up, in one process.`,
    "",
    "| Routes | Lookups | ns per lookup | Target |",
    "|---:|---:|---:|---|",
    `| ${routeCount} | ${LOOKUPS.toLocaleString("en")} | ${perLookup.toFixed(0)} | < ${TARGET_NS} ns: ${perLookup < TARGET_NS ? "met" : "NOT met"} |`,
    "",
    "Reproduce: `npm run bench:router`.",
  ].join("\n");
  writeResultsSection(file, "Router (bench/router.ts)", body);
}
