// bench/RESULTS.md holds one `## ` section per benchmark; each benchmark rewrites its own section
// and leaves the others as they are, so the benchmarks can be run separately.

import { existsSync, readFileSync, writeFileSync } from "node:fs";

const TITLE = "# Benchmark results";
const INTRO =
  "Figures written by the scripts in `bench/`; each section is replaced when its script runs.";

/**
 * Replaces the section whose heading is `## {heading}` with `body` (or appends it), and adds an
 * empty section for each of `placeholders` that is missing, so readers see what is to come.
 */
export function writeResultsSection(
  file: string,
  heading: string,
  body: string,
  placeholders: readonly string[] = [],
): void {
  const text = existsSync(file) ? readFileSync(file, "utf8") : `${TITLE}\n\n${INTRO}\n`;
  const sections = splitSections(text);
  const section = `## ${heading}\n\n${body.trim()}\n`;
  const at = sections.findIndex((s) => s.heading === heading);
  if (at === -1) sections.push({ heading, text: section });
  else sections[at] = { heading, text: section };
  for (const name of placeholders) {
    if (!sections.some((s) => s.heading === name)) {
      sections.push({ heading: name, text: `## ${name}\n\n_Not run yet._\n` });
    }
  }
  writeFileSync(file, `${sections.map((s) => s.text.trimEnd()).join("\n\n")}\n`);
}

interface Section {
  /** The `## ` heading, `null` for what precedes the first one. */
  heading: string | null;
  text: string;
}

function splitSections(text: string): Section[] {
  const sections: Section[] = [];
  let current: Section = { heading: null, text: "" };
  let inFence = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) inFence = !inFence;
    if (!inFence && line.startsWith("## ")) {
      sections.push(current);
      current = { heading: line.slice(3).trim(), text: "" };
    }
    current.text += `${line}\n`;
  }
  sections.push(current);
  return sections.filter((s) => s.heading !== null || s.text.trim() !== "");
}
