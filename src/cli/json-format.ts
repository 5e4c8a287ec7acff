// Pretty-printed JSON as httpie shows it: two-space indentation, keys and values coloured by
// kind when the painter shows colours.

import type { Painter } from "./colours.js";

/** `value` (a parsed JSON document) as indented JSON text, coloured by `painter`. */
export function formatJson(value: unknown, painter: Painter, indent = ""): string {
  if (value === null) return painter.paint("gray", "null");
  if (typeof value === "string") return painter.paint("green", JSON.stringify(value));
  if (typeof value === "number") return painter.paint("cyan", JSON.stringify(value));
  if (typeof value === "boolean") return painter.paint("magenta", String(value));
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const items = value.map((item) => `${inner}${formatJson(item, painter, inner)}`);
    return `[\n${items.join(",\n")}\n${indent}]`;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return "{}";
    const items = entries.map(
      ([k, v]) =>
        `${inner}${painter.paint("blue", JSON.stringify(k))}: ${formatJson(v, painter, inner)}`,
    );
    return `{\n${items.join(",\n")}\n${indent}}`;
  }
  // Not reachable for JSON.parse output; kept total for any other value.
  return String(value);
}
