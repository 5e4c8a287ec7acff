// The download progress bar on stderr: bytes, percentage, rate and ETA when the total is
// known, redrawn at most ten times a second, and nothing at all when stderr is not a TTY.

import type { WriteStream } from "node:tty";
import type { Progress } from "../index.js";

const REDRAW_MS = 100;
const BAR_WIDTH = 24;

/** `n` bytes as "512 B", "1.5 kB", "12.3 MB" (powers of 1000, as httpie). */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Seconds as "m:ss" (or "h:mm:ss"). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** One line of the bar for `progress`, `elapsed` seconds after the start. */
export function progressLine(progress: Progress, elapsed: number): string {
  const { transferred, total } = progress;
  const rate = elapsed > 0 ? transferred / elapsed : 0;
  const rateText = `${formatBytes(Math.round(rate))}/s`;
  if (total === null || total === 0) {
    return `${formatBytes(transferred)}  ${rateText}`;
  }
  const fraction = Math.min(1, transferred / total);
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}`;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const eta = rate > 0 ? formatDuration((total - transferred) / rate) : "-:--";
  return `[${bar}] ${percent}  ${formatBytes(transferred)} / ${formatBytes(total)}  ${rateText}  ETA ${eta}`;
}

/** A progress bar drawn on `stream` if it is a TTY; a no-op otherwise. */
export class ProgressBar {
  readonly #stream: WriteStream | null;
  readonly #started = performance.now();
  #lastDraw = 0;
  #last: Progress = { transferred: 0, total: null };

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream.isTTY ? stream : null;
  }

  /** Records `progress`; redraws when the last drawing is old enough. */
  update(progress: Progress): void {
    this.#last = progress;
    const now = performance.now();
    if (now - this.#lastDraw >= REDRAW_MS) {
      this.#lastDraw = now;
      this.#draw();
    }
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (this.#stream === null) return;
    this.#draw();
    this.#stream.write("\n");
  }

  #draw(): void {
    const stream = this.#stream;
    if (stream === null) return;
    const elapsed = (performance.now() - this.#started) / 1000;
    stream.cursorTo(0);
    stream.write(progressLine(this.#last, elapsed));
    stream.clearLine(1);
  }
}
