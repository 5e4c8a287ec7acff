// The published declarations (dist/**/*.d.ts, built by `npm run build`, which `npm test` runs
// first) carry no internals: no member or export named `_something` (internals are keyed by
// the `unique symbol`s of each layer's symbols.ts and marked `@internal`, which the build
// strips), and no `@internal` text left behind.

import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const dist = fileURLToPath(new URL("../dist", import.meta.url));
const run = promisify(execFile);

/** Every .d.ts file under `dir`, recursively. */
function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return declarationFiles(path);
    return entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The layer a file belongs to: its first folder under dist/ ("index" for top-level files). */
function layerOf(file: string): string {
  const parts = relative(dist, file).split(/[\\/]/);
  return parts.length > 1 ? (parts[0] as string) : "index";
}

// A declaration starts a line: modifiers, then the name, then what follows a name in a
// declaration (`?`, `:`, `(`, `<`, `=`, `;` or `{`). Parameter lists are printed on one line,
// so a parameter named `_x` never starts one.
const MODIFIERS =
  "(?:(?:export|declare|default|readonly|static|public|protected|private|abstract|override|" +
  "get|set|async|function|const|let|var|class|interface|type|enum|namespace)\\s+)*";
const UNDERSCORE_DECLARATION = new RegExp(
  `^\\s*${MODIFIERS}["']?(_[\\w$]*)["']?\\s*[?!]?\\s*[:(<=;{]`,
);

/** What a declaration file publishes that it should not: `_name` declarations and `@internal`. */
function leaks(file: string): string[] {
  const found: string[] = [];
  const text = readFileSync(file, "utf8");
  if (text.includes("@internal")) found.push("@internal text");
  // Comments may mention `_names` freely; only declarations count.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  for (const line of code.split("\n")) {
    const match = UNDERSCORE_DECLARATION.exec(line);
    if (match !== null) found.push(match[1] as string);
  }
  return found;
}

describe("the published declarations", () => {
  const built = existsSync(dist);

  it("exist (run `npm run build` first)", () => {
    expect(built, "dist/ is missing: run `npm run build`").toBe(true);
  });

  const files = built ? declarationFiles(dist) : [];
  const layers = [...new Set(files.map(layerOf))].sort();
  for (const layer of layers) {
    it(`of ${layer}/ have no _name members and no @internal text`, () => {
      const found: Record<string, string[]> = {};
      for (const file of files.filter((f) => layerOf(f) === layer)) {
        const names = leaks(file);
        if (names.length > 0) found[relative(dist, file)] = names;
      }
      expect(found).toEqual({});
    });
  }

  it("the check finds a leak where there is one", () => {
    const sample = [
      "export declare class A {",
      "    _hidden(): void;",
      "    get _state(): number;",
      "    protected readonly _options: object;",
      "    fine(_param: string): void;",
      "}",
    ];
    const names = sample.map((l) => UNDERSCORE_DECLARATION.exec(l)?.[1]).filter(Boolean);
    expect(names).toEqual(["_hidden", "_state", "_options"]);
  });

  it("type-check for a user's program with skipLibCheck off (nothing stripped is still referenced)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-consumer-"));
    try {
      const paths = Object.fromEntries(
        [
          ["aiohttp-ts", "index.d.ts"],
          ["aiohttp-ts/web", "web/index.d.ts"],
          ["aiohttp-ts/test-utils", "test-utils/index.d.ts"],
        ].map(([name, file]) => [name, [join(dist, file as string)]]),
      );
      const root = fileURLToPath(new URL("..", import.meta.url));
      await writeFile(join(dir, "package.json"), '{ "type": "module" }');
      await writeFile(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            module: "nodenext",
            moduleResolution: "nodenext",
            target: "es2022",
            lib: ["es2023", "esnext.disposable"],
            types: ["node"],
            typeRoots: [join(root, "node_modules/@types")],
            paths,
          },
          files: ["main.ts"],
        }),
      );
      await writeFile(
        join(dir, "main.ts"),
        [
          'import { ClientSession, web } from "aiohttp-ts";',
          'import { makeTestClient } from "aiohttp-ts/test-utils";',
          "const app = new web.Application();",
          'app.router.addGet("/{id}", (r) => new web.Response({ text: r.matchInfo.id }));',
          "await using client = await makeTestClient(app);",
          "await using session = new ClientSession();",
          'const wrong: number = "the check runs";',
          "void client; void session; void wrong;",
        ].join("\n"),
      );
      const tsc = join(root, "node_modules/.bin/tsc");
      const result = await run(tsc, ["-p", dir]).catch((err: { stdout?: string }) => err);
      const output = (result as { stdout?: string }).stdout ?? "";
      // Exactly the one planted error: the published files themselves have none.
      expect(output.trim().split("\n")).toEqual([
        expect.stringMatching(/main\.ts\(7,7\): error TS2322/),
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
