// The HTML listing a static route with `showIndex` answers for a directory, in aiohttp's
// format: names HTML-escaped, links percent-encoded, directories marked with a trailing "/".

import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { relative, sep } from "node:path";
import { encodePath } from "./url-path.js";

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#x27;",
};

/** Escapes text for HTML content and quoted attributes (Python's `html.escape`). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] as string);
}

/** Whether an entry is a directory, following a symlink (a broken or looping one is not). */
async function isDirectory(entry: Dirent, path: string): Promise<boolean> {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The listing of `dir` (a real path under `root`), linking each entry under `prefix` (the
 * route's prefix, unencoded). Hidden entries are listed, as aiohttp lists them.
 */
export async function directoryIndex(dir: string, root: string, prefix: string): Promise<string> {
  const relDir = relative(root, dir).split(sep).join("/");
  const title = `Index of /${escapeHtml(relDir)}`;
  const entries = await readdir(dir, { withFileTypes: true });
  // Code-unit order, like Python's sorted() on names: stable across locales.
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const items: string[] = [];
  for (const entry of entries) {
    const relPath = relDir === "" ? entry.name : `${relDir}/${entry.name}`;
    // Escaped too: sub-delimiters such as "&" stay literal in a path and would start an
    // HTML character reference inside the attribute.
    const href = escapeHtml(encodePath(`${prefix}/${relPath}`));
    const shown = (await isDirectory(entry, `${dir}${sep}${entry.name}`))
      ? `${entry.name}/`
      : entry.name;
    items.push(`<li><a href="${href}">${escapeHtml(shown)}</a></li>`);
  }
  return (
    `<html>\n<head>\n<title>${title}</title>\n</head>\n<body>\n<h1>${title}</h1>\n` +
    `<ul>\n${items.join("\n")}\n</ul>\n</body>\n</html>`
  );
}
