// Terminal colours through `util.styleText`, which checks the stream itself: colours only on a
// TTY that has them, NO_COLOR and NODE_DISABLE_COLORS switch them off, FORCE_COLOR on.

import { styleText } from "node:util";

/** A colour or modifier that `styleText` knows. */
export type Style = Parameters<typeof styleText>[0] & string;

/** Writes styled text to one stream (stdout or stderr). */
export interface Painter {
  /** `text` in `style` when `stream` shows colours, else `text` as it is. */
  paint(style: Style, text: string): string;
}

/**
 * A painter for `stream`. One style per call: Node 20's `styleText` skips its stream check for
 * an array of styles, so combinations would leak escape codes into pipes.
 */
export function painterFor(stream: NodeJS.WritableStream): Painter {
  return { paint: (style, text) => styleText(style, text, { stream }) };
}
