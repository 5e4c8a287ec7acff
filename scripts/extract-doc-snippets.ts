// Extracts every ```ts block of README.md and docs/**/*.md into a folder of modules that the
// type-checker compiles, so that the docs cannot drift from the API (test/docs-snippets.test.ts).
// Run alone, it writes them to .doc-snippets/ and prints where they came from:
//   npx tsx scripts/extract-doc-snippets.ts && npx tsc -p .doc-snippets/tsconfig.json

import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const SNIPPETS_DIR = join(ROOT, ".doc-snippets");

/** A block opts out with an `ignore` word in its info string, or this comment just above it. */
const OPT_OUT_MARKER = "<!-- not-checked -->";
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`]*)$/;
// The header line added above each block's code: error lines below it map back to the doc.
const HEADER_LINES = 1;

/** One ```ts block and the module written for it. */
export interface Snippet {
  /** The Markdown file, relative to the repository root. */
  readonly doc: string;
  /** The line of the block's first code line in that file (1-based). */
  readonly line: number;
  readonly code: string;
  /** The module's file name inside the snippets folder. */
  readonly file: string;
}

export interface Extracted {
  readonly snippets: readonly Snippet[];
  /** Blocks left out on purpose (`ignore` or the marker), as `doc:line`. */
  readonly optedOut: readonly string[];
}

/** The Markdown files whose blocks are checked: README.md and docs/ (but not generated docs/api). */
export async function docFiles(root = ROOT): Promise<string[]> {
  const found = ["README.md"];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && path !== join("docs", "api")) await walk(path);
      else if (entry.isFile() && entry.name.endsWith(".md")) found.push(path);
    }
  };
  await walk("docs");
  return found.sort();
}

/** The TypeScript blocks of one Markdown text. */
export function blocksOf(
  doc: string,
  text: string,
): { snippets: Omit<Snippet, "file">[]; optedOut: string[] } {
  const lines = text.split("\n");
  const snippets: Omit<Snippet, "file">[] = [];
  const optedOut: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const open = FENCE.exec(lines[i] ?? "");
    if (open === null) {
      i++;
      continue;
    }
    const [, indent = "", fence = "```", info = ""] = open;
    const words = info.trim().split(/\s+/);
    // CommonMark: the closing fence is at least as long as the opening one, with the same char.
    let end = i + 1;
    while (end < lines.length) {
      const close = FENCE.exec(lines[end] ?? "");
      if (close?.[2]?.startsWith(fence) === true && (close[3] ?? "").trim() === "") break;
      end++;
    }
    const lang = words[0] ?? "";
    if (lang === "ts" || lang === "typescript") {
      let before = i - 1;
      while (before >= 0 && (lines[before] ?? "").trim() === "") before--;
      const body = lines
        .slice(i + 1, end)
        .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l));
      if (words.includes("ignore") || (lines[before] ?? "").trim() === OPT_OUT_MARKER) {
        optedOut.push(`${doc}:${i + 1}`);
      } else {
        snippets.push({ doc, line: i + 2, code: body.join("\n") });
      }
    }
    i = end + 1;
  }
  return { snippets, optedOut };
}

/** The tsconfig of the snippets folder: the project's, with the package name mapped to src/. */
function tsconfig(files: readonly string[]): string {
  return `${JSON.stringify(
    {
      extends: "../tsconfig.json",
      compilerOptions: { rootDir: "..", noEmit: true },
      files,
      // The project's own `include` would be inherited and checked again.
      include: [],
    },
    null,
    2,
  )}\n`;
}

/** Writes one module per block (and a tsconfig) into `dir`, replacing what was there. */
export async function extractDocSnippets(root = ROOT, dir = SNIPPETS_DIR): Promise<Extracted> {
  const snippets: Snippet[] = [];
  const optedOut: string[] = [];
  for (const doc of await docFiles(root)) {
    const found = blocksOf(doc, await readFile(join(root, doc), "utf8"));
    optedOut.push(...found.optedOut);
    for (const s of found.snippets) {
      const slug = doc.replace(/\.md$/, "").replace(/[^A-Za-z0-9]+/g, "-");
      snippets.push({ ...s, file: `${slug}-L${s.line}.ts` });
    }
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const s of snippets) {
    // `export {}` makes every block a module: top-level await works and names do not clash.
    await writeFile(join(dir, s.file), `// ${s.doc}:${s.line}\n${s.code}\nexport {};\n`);
  }
  await writeFile(join(dir, "tsconfig.json"), tsconfig(snippets.map((s) => s.file)));
  return { snippets, optedOut };
}

/** `.doc-snippets/x.ts(5,3)` → where that line is in the Markdown file. */
export function docLocation(snippet: Snippet, line: number): string {
  return `${snippet.doc}:${snippet.line + line - 1 - HEADER_LINES}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { snippets, optedOut } = await extractDocSnippets();
  console.log(
    `${snippets.length} TypeScript blocks written to ${relative(process.cwd(), SNIPPETS_DIR)}/ ` +
      `(${optedOut.length} opted out${optedOut.length > 0 ? `: ${optedOut.join(", ")}` : ""})`,
  );
}
