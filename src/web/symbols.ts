// Keys of the members that modules of the web layer share but users must not see: keyed by a
// module-private `unique symbol` and marked `@internal`, they stay out of the published types.

/** @internal StreamResponse: stops a response whose handler failed after prepare(). */
export const kCut: unique symbol = Symbol("cut");
