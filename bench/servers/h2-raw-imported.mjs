// The stream-API baseline (h2-raw.mjs), unchanged, in a process that has also imported the
// built package and never uses it: node:http2's bare cost in a process the size of ours. A
// larger heap puts V8's young generation in a costlier regime (more survivors, more
// promotion, more scavenging on helper threads); any 0.5 MB more of old objects does it
// (bench/RESULTS.md). Not a framework: a yardstick for how much of the gap to h2-raw.mjs is
// the heap's size rather than work done per request.
// Usage: node h2-raw-imported.mjs PORT KEY_FILE CERT_FILE

import "../../dist/index.js";
import "./h2-raw.mjs";
