// Keeps the hidden class of node's tick objects alive, so that process.nextTick() stays fast.
//
// process.nextTick() makes each tick object with an object literal whose first key is
// computed: `{ [async_id_symbol]: id, [trigger_async_id_symbol]: trigger, callback, args }`.
// The literal's boilerplate therefore holds none of the four maps (hidden classes) that its
// stores pass through; only live tick objects do, and a tick object lives for one turn of the
// event loop. A full GC at an idle moment (V8's memory reducer runs several after a burst of
// work) finds none alive and frees the whole chain; the next tick builds a new one. The
// stores' inline caches see a new map each time, and after four they go megamorphic for good:
// TurboFan then compiles nextTick, and node's stream functions that inline it, with a runtime
// call per store. Under h2load a server process that got there spent about 3 us more per
// HTTP/2 request, and 14 processes of 48 had got there after a few idle spells
// (bench/RESULTS.md).
//
// An object with the same keys, stored in the same order with values of the same kinds,
// follows the same transitions and ends on the same map; while it lives, so does the chain.

import { AsyncResource } from "node:async_hooks";

let kept: object | null | undefined;

/**
 * Keeps one object of the shape of node's tick objects for the life of the process (once per
 * thread). Does nothing if this Node does not key them by the symbols it keys async resources
 * by.
 */
export function keepTickObjectShape(): void {
  if (kept !== undefined) return;
  kept = null;
  // AsyncResource carries the same two symbols as a tick object; node exports neither.
  const keys = Object.getOwnPropertySymbols(new AsyncResource("aiohttp-ts"));
  const asyncId = keys.find((key) => key.description === "async_id_symbol");
  const triggerId = keys.find((key) => key.description === "trigger_async_id_symbol");
  if (asyncId === undefined || triggerId === undefined) return;
  // Node stores its ids as doubles (they come from a Float64Array). An integer here could
  // make fields of small integers where no chain is alive, and node's first tick would then
  // widen them into a new chain that this object is not on.
  kept = { [asyncId]: 0.5, [triggerId]: 0.5, callback: noop, args: undefined };
}

function noop(): void {}
