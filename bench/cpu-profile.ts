// Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and ranks where the time went, so
// that a slow benchmark result points at code rather than at guesses. Frames in dist/ are mapped
// back to src/ through the build's source maps.

import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  /** 0-based, like the column. */
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One function's share of the profile. */
export interface HotSpot {
  /** `name (file:line)`, with dist/ frames shown at their src/ position. */
  frame: string;
  /**
   * Where the frame lives: `src` (the library, built or not), `app` (other files such as the
   * bench's server), `node_modules`, `node` (built-ins), `v8` (GC, program...).
   */
  area: "src" | "app" | "node_modules" | "node" | "v8";
  /** Time spent in the function itself, ms. */
  selfMs: number;
  /** Time spent in it and what it called, ms (recursion counted once). */
  totalMs: number;
}

/** What a profile says, in milliseconds. */
export interface ProfileSummary {
  /** Sampled time, idle included. */
  totalMs: number;
  /** Time the thread was idle (waiting for I/O). */
  idleMs: number;
  /** Self time by area. */
  byArea: Record<HotSpot["area"], number>;
  /** Every function but `(idle)` and `(root)`, by self time, largest first. */
  spots: HotSpot[];
}

/** Summarises a `.cpuprofile` file. */
export function summariseProfile(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);

  // timeDeltas[i] is the time from sample i-1 to sample i, so sample i lasted timeDeltas[i+1]
  // (the way Chrome DevTools charges it).
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    const delta = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(id, (self.get(id) ?? 0) + delta);
  }

  const frames = new FrameNamer();
  const spots = new Map<string, HotSpot>();
  let totalMs = 0;
  let idleMs = 0;
  const byArea: Record<HotSpot["area"], number> = {
    src: 0,
    app: 0,
    node_modules: 0,
    node: 0,
    v8: 0,
  };

  // Walk the call tree once; `open` holds the frames on the current path, so a recursive
  // function's total is counted at its outermost call only.
  const root = profile.nodes[0];
  if (root === undefined) return { totalMs, idleMs, byArea, spots: [] };
  const open = new Map<string, number>();
  const visit = (node: ProfileNode): number => {
    const { key, frame, area } = frames.name(node.callFrame);
    const selfMs = self.get(node.id) ?? 0;
    totalMs += selfMs;
    if (node.callFrame.functionName === "(idle)") idleMs += selfMs;
    else byArea[area] += selfMs;
    open.set(key, (open.get(key) ?? 0) + 1);
    let subtree = selfMs;
    for (const childId of node.children ?? []) {
      const child = byId.get(childId);
      if (child !== undefined) subtree += visit(child);
    }
    const depth = (open.get(key) ?? 1) - 1;
    if (depth === 0) open.delete(key);
    else open.set(key, depth);
    let spot = spots.get(key);
    if (spot === undefined) {
      spot = { frame, area, selfMs: 0, totalMs: 0 };
      spots.set(key, spot);
    }
    spot.selfMs += selfMs;
    if (depth === 0) spot.totalMs += subtree;
    return subtree;
  };
  visit(root);

  const ranked = [...spots.values()]
    .filter((s) => s.frame !== "(root)" && s.frame !== "(idle)")
    .sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs, idleMs, byArea, spots: ranked };
}

/** Names frames, mapping built dist/ files back to their src/ lines. */
class FrameNamer {
  readonly #maps = new Map<string, SourceMap | null>();

  name(cf: CallFrame): { key: string; frame: string; area: HotSpot["area"] } {
    const fn = cf.functionName || "(anonymous)";
    if (cf.url === "") {
      return { key: fn, frame: fn, area: fn.startsWith("(") ? "v8" : "node" };
    }
    let where = `${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    let area: HotSpot["area"] = cf.url.startsWith("node:")
      ? "node"
      : cf.url.includes("/node_modules/")
        ? "node_modules"
        : "src";
    if (cf.url.includes("/dist/")) {
      const origin = this.#origin(cf);
      if (origin !== null) where = origin;
    } else if (area === "src" && !cf.url.includes("/src/")) {
      area = "app";
    }
    const frame = `${fn} (${where})`;
    return { key: frame, frame, area };
  }

  #origin(cf: CallFrame): string | null {
    const map = this.#map(cf.url);
    if (map === null) return null;
    const entry = map.findEntry(cf.lineNumber, cf.columnNumber);
    if (!("originalSource" in entry)) return null;
    return `${shortUrl(entry.originalSource)}:${entry.originalLine + 1}`;
  }

  #map(url: string): SourceMap | null {
    let map = this.#maps.get(url);
    if (map !== undefined) return map;
    map = null;
    try {
      const path = fileURLToPath(url);
      if (existsSync(`${path}.map`)) {
        map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, "utf8")));
      }
    } catch {
      map = null;
    }
    this.#maps.set(url, map);
    return map;
  }
}

/** A URL or path from `src/`, `dist/`, `node_modules/` on, or as is. */
function shortUrl(url: string): string {
  for (const marker of ["/node_modules/", "/src/", "/dist/", "/bench/"]) {
    const at = url.lastIndexOf(marker);
    if (at !== -1) return url.slice(at + 1);
  }
  return url.replace(/^file:\/\//, "");
}

/**
 * A text report: time by area, then the top functions by self time. Given the number of
 * requests the profiled server answered, times are also shown in microseconds per request, which
 * compares across servers. `writev` and other syscalls are wall time: under load they include
 * the moments the kernel switched to the load generator, so compare JavaScript frames first.
 */
export function formatProfile(summary: ProfileSummary, requests?: number, top = 30): string {
  const busy = summary.totalMs - summary.idleMs;
  const pct = (ms: number): string => `${((100 * ms) / (busy || 1)).toFixed(1)}%`.padStart(6);
  const per = (ms: number): string =>
    requests === undefined ? "" : `${((1000 * ms) / requests).toFixed(2).padStart(6)} µs `;
  const head = requests === undefined ? "self %, total %" : "self %, total %, self µs/req";
  const lines = [
    `Sampled ${(summary.totalMs / 1000).toFixed(1)} s, busy ${(busy / 1000).toFixed(1)} s ` +
      `(idle ${((100 * summary.idleMs) / (summary.totalMs || 1)).toFixed(1)}%)` +
      (requests === undefined
        ? ""
        : `, ${requests} requests: ${per(busy).trim()} busy per request`),
    "Self time by area (share of busy time): " +
      Object.entries(summary.byArea)
        .map(([area, ms]) => `${area} ${pct(ms).trim()} ${per(ms).trim()}`.trim())
        .join(", "),
    "",
    `Top ${top} functions by self time (${head}):`,
  ];
  for (const s of summary.spots.slice(0, top)) {
    lines.push(`  ${pct(s.selfMs)} ${pct(s.totalMs)} ${per(s.selfMs)} [${s.area}] ${s.frame}`);
  }
  const ours = summary.spots
    .filter((s) => s.frame.includes("(src/"))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, top);
  if (ours.length > 0) {
    lines.push("", `Top ${top} src/ functions by total time (${head}):`);
    for (const s of ours) {
      lines.push(`  ${pct(s.selfMs)} ${pct(s.totalMs)} ${per(s.selfMs)} ${s.frame}`);
    }
  }
  return lines.join("\n");
}
