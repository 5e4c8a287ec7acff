// The stream-API baseline (h2-raw.mjs), unchanged, in a process that has also imported the
// built package and never uses it: node:http2's bare cost in a process the size of ours. In
// a fresh process a larger heap (0.5 MB more of old objects is enough) ends V8's cheaper
// young-generation regime sooner; after the bench's warm-up every server is in the costlier
// one (bench/RESULTS.md). Not a framework: a yardstick for how much of the gap to h2-raw.mjs
// is the heap's size rather than work done per request.
// Usage: node h2-raw-imported.mjs PORT KEY_FILE CERT_FILE

import "../../dist/index.js";
import "./h2-raw.mjs";
