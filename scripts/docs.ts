// `npm run docs`: the API reference in docs/api/, made by typedoc from src/. typedoc 0.28
// accepts only TypeScript 5.x as a peer and the project builds with TypeScript 7, so typedoc and
// its TypeScript live in tools/typedoc with a lockfile of their own, installed here on first use
// (and again when that lockfile changes), never into the project's node_modules.

import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const TOOL = fileURLToPath(new URL("../tools/typedoc/", import.meta.url));

/** Modification time in ms, or -1 when the file does not exist. */
function mtime(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -1;
}

function run(file: string, args: readonly string[]): void {
  const done = spawnSync(file, args, { stdio: "inherit", cwd: TOOL });
  if (done.error !== undefined) throw done.error;
  if (done.status !== 0) process.exit(done.status ?? 1);
}

// npm ci writes node_modules/.package-lock.json: older than the lockfile means out of date.
if (mtime(join(TOOL, "node_modules/.package-lock.json")) < mtime(join(TOOL, "package-lock.json"))) {
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}
run(process.execPath, [
  join(TOOL, "node_modules/typedoc/bin/typedoc"),
  "--options",
  "typedoc.json",
  ...process.argv.slice(2),
]);
