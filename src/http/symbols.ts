// Keys of the members that the shared layer's classes offer to the client and the server but
// not to users: symbols no entry point exports, on members marked `@internal` (left out of the
// published types).

/** @internal multidicts: appends the pairs as `[key, value, key, value...]`, Node's raw layout */
export const kAppendFlat: unique symbol = Symbol("appendFlat");
/** @internal multidicts: the arrays behind one, for the mutable subclasses */
export const kEntries: unique symbol = Symbol("entries");
/** @internal `StreamReader`: what a reader fails with when its source emits an error */
export const kReadFailure: unique symbol = Symbol("readFailure");
/** @internal `CIMultiDictProxy`: a read-only view over a multidict's own pairs (no copy) */
export const kViewOf: unique symbol = Symbol("viewOf");
/** @internal WebSocket channels: settles once the connection is fully closed */
export const kEnded: unique symbol = Symbol("ended");
/** @internal WebSocket channels: who is told when the connection is fully closed */
export const kEndListener: unique symbol = Symbol("endListener");
/** @internal the method of a WebSocket channel's end listener */
export const kChannelEnded: unique symbol = Symbol("channelEnded");
/** @internal multipart readers and parts: fails the reads in progress and later ones with an error */
export const kFail: unique symbol = Symbol("fail");
/** @internal the message channel a WebSocket connection reads for (set by the channel) */
export const kChannel: unique symbol = Symbol("channel");
