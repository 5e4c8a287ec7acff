// Loading `serve`'s `<module>:<factory>`: the module by file path (TypeScript through tsx when
// it is installed), its factory called with the factory's arguments, the result checked.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { web } from "../index.js";
import { CliError, UsageError } from "./errors.js";

const TYPESCRIPT = new Set([".ts", ".mts", ".cts", ".tsx"]);

/** `<module>:<factory>` split; the factory is `default` when the spec names none. */
export function splitSpec(spec: string): { module: string; factory: string } {
  const colon = spec.lastIndexOf(":");
  const tail = spec.slice(colon + 1);
  // A colon followed by something that is not an identifier (a Windows drive, "c:\") is part
  // of the path.
  if (colon > 0 && /^[A-Za-z_$][\w$]*$/.test(tail)) {
    return { module: spec.slice(0, colon), factory: tail };
  }
  if (colon === spec.length - 1)
    throw new UsageError(`"${spec}" names no factory after ":"`, "serve");
  return { module: spec, factory: "default" };
}

/**
 * Registers tsx's ESM hooks (`tsx/esm`, which registers itself on import), found from the
 * module's directory first, then the working directory, then this package.
 */
async function registerTsx(file: string): Promise<void> {
  const bases = [`${resolve(file, "..")}/`, `${process.cwd()}/`, import.meta.url];
  for (const base of bases) {
    let hooks: string;
    try {
      hooks = createRequire(base).resolve("tsx/esm");
    } catch {
      continue;
    }
    await import(pathToFileURL(hooks).href);
    return;
  }
  throw new CliError(
    `${file} is TypeScript and tsx is not installed: run \`npm install -D tsx\`, or build it to JavaScript and serve the .js file`,
  );
}

/** Imports the module file of `spec` and returns its factory. */
export async function loadFactory(spec: string): Promise<(argv: string[]) => unknown> {
  const { module, factory } = splitSpec(spec);
  const file = resolve(module);
  if (!existsSync(file)) throw new CliError(`cannot find the module file ${file}`);
  if (TYPESCRIPT.has(extname(file))) await registerTsx(file);
  const exports: Record<string, unknown> = await import(pathToFileURL(file).href);
  const fn = exports[factory];
  if (typeof fn !== "function") {
    const names = Object.keys(exports).join(", ") || "none";
    throw new CliError(`${module} has no function export "${factory}" (its exports: ${names})`);
  }
  return (argv) => Reflect.apply(fn, undefined, [argv]);
}

/**
 * Calls the factory of `spec` with `argv` and checks that it gave a `web.Application` (or a
 * Promise of one).
 */
export async function loadApp(spec: string, argv: string[]): Promise<web.AnyApplication> {
  const factory = await loadFactory(spec);
  const app = await factory(argv);
  if (app instanceof web.Application) return app;
  const hint =
    typeof app === "object" && app !== null && "router" in app
      ? " (it is one from another copy of aiohttp-ts: run the aiohttp-ts installed beside it, e.g. `npx aiohttp-ts`)"
      : "";
  throw new CliError(`the factory "${spec}" did not return a web.Application${hint}`);
}
